//! Conversations (docs/PROTOCOL.md §18): four devices, transfer with a history grant,
//! whisper, removal, forged roster events, export/import, and a model-checked property test
//! with an attacker relay.
// Helpers outside `#[test]` functions fail loudly too (clippy.toml covers only the tests).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;

use hushwire::conversation::{Conversation, MemberId, MemberRole, Outgoing, Received, RosterEvent};
use hushwire::{AgentIdentity, AgentKey, Error, OrgRole, OrgSigningKey, StorageKey, VisitorHandshake};
use proptest::prelude::*;

const NOW: u64 = 1_800_000_000;

/// A test network: the organisation, its devices, and every member's conversation.
struct Net {
    org: OrgSigningKey,
    identities: BTreeMap<MemberId, AgentIdentity>,
    convs: BTreeMap<MemberId, Conversation>,
}

fn visitor() -> MemberId {
    MemberId::visitor()
}

impl Net {
    /// A conversation created by `creator` with the visitor.
    fn new(creator: (&str, OrgRole)) -> Net {
        let org = OrgSigningKey::generate().unwrap();
        let mut net = Net {
            org,
            identities: BTreeMap::new(),
            convs: BTreeMap::new(),
        };
        let c = net.device(creator.0, creator.1);
        let id = &net.identities[&c];
        let (mut hs, hello) = VisitorHandshake::start(&net.org.public_key()).unwrap();
        let (agent_side, reply) = id.accept(&hello).unwrap();
        let (conv, welcome) = Conversation::create(id, agent_side).unwrap();
        let v = Conversation::join_as_visitor(
            &net.org.public_key(),
            hs.finish_at(&reply, NOW).unwrap(),
            &welcome.envelope,
        )
        .unwrap();
        net.convs.insert(c, conv);
        net.convs.insert(visitor(), v);
        net
    }

    fn device(&mut self, agent: &str, role: OrgRole) -> MemberId {
        let key = AgentKey::generate().unwrap();
        let cert = self
            .org
            .certify(&key.public_key(), agent, "dev", role, NOW - 60, NOW + 86_400)
            .unwrap();
        let id = MemberId::of_certificate(&cert);
        self.identities.insert(
            id.clone(),
            AgentIdentity::new(key, cert, &self.org.public_key()).unwrap(),
        );
        id
    }

    fn conv(&mut self, m: &MemberId) -> &mut Conversation {
        self.convs.get_mut(m).unwrap()
    }

    /// Deliver every envelope; returns what each recipient made of it.
    fn deliver(&mut self, outs: Vec<Outgoing>) -> Vec<(MemberId, Result<Received, Error>)> {
        outs.into_iter()
            .filter_map(|o| {
                let c = self.convs.get_mut(&o.to)?;
                Some((o.to, c.open(&o.envelope)))
            })
            .collect()
    }

    /// `by` invites a new device, opens the XX session to it and welcomes it; then every
    /// member opens the sessions the roster asks for.
    fn invite(&mut self, by: &MemberId, agent: &str, role: OrgRole) -> MemberId {
        let new = self.device(agent, role);
        let cert = self.identities[&new].certificate().clone();
        let outs = self.conv(by).invite(&cert).unwrap();
        for (_, r) in self.deliver(outs) {
            assert!(matches!(r, Ok(Received::Roster { .. })), "{r:?}");
        }
        let (org_session, peer_session) = self.org_pair(by, &new);
        self.conv(by).attach_org(org_session).unwrap();
        let welcome = self.conv(by).welcome(&cert).unwrap();
        let conv =
            Conversation::join_as_org(&self.identities[&new], peer_session, &welcome.envelope).unwrap();
        self.convs.insert(new.clone(), conv);
        self.connect_all();
        new
    }

    /// An XX handshake between two devices: (initiator's session, responder's session).
    fn org_pair(&self, a: &MemberId, b: &MemberId) -> (hushwire::OrgSession, hushwire::OrgSession) {
        let (mut init, m1) = self.identities[a].start_org_handshake().unwrap();
        let (mut resp, m2) = self.identities[b].accept_org_handshake(&m1).unwrap();
        let (sa, m3) = init.finish_at(&m2, NOW).unwrap();
        (sa, resp.finish_at(&m3, NOW).unwrap())
    }

    fn connect_all(&mut self) {
        let members: Vec<MemberId> = self.convs.keys().cloned().collect();
        for m in members {
            let Some(targets) = self.convs.get(&m).map(|c| c.members_to_connect()) else {
                continue;
            };
            for t in targets {
                if !self.convs.contains_key(&t) {
                    continue;
                }
                if m.is_visitor() {
                    let (mut hs, hello) = VisitorHandshake::start(&self.org.public_key()).unwrap();
                    let (agent_side, reply) = self.identities[&t].accept(&hello).unwrap();
                    self.conv(&t).attach_visitor(agent_side).unwrap();
                    let present = self
                        .conv(&m)
                        .attach_agent(hs.finish_at(&reply, NOW).unwrap())
                        .unwrap();
                    let r = self.conv(&t).open(&present.envelope).unwrap();
                    assert!(matches!(r, Received::Present { .. }));
                } else {
                    let (sa, sb) = self.org_pair(&m, &t);
                    self.conv(&m).attach_org(sa).unwrap();
                    self.conv(&t).attach_org(sb).unwrap();
                }
            }
        }
    }

    fn codes(&self) -> Vec<String> {
        self.convs
            .values()
            .filter(|c| c.is_member())
            .map(|c| c.roster_code())
            .collect()
    }
}

fn text_of(r: &Result<Received, Error>) -> Option<(&MemberId, &[u8])> {
    match r {
        Ok(Received::Message { from, text, .. }) | Ok(Received::Whisper { from, text, .. }) => {
            Some((from, text.as_slice()))
        }
        _ => None,
    }
}

#[test]
fn four_devices_fan_out_and_agree_on_the_roster() {
    let bot = MemberId::device("faq-bot", "dev");
    let mut net = Net::new(("faq-bot", OrgRole::Bot));
    let alice = net.invite(&bot, "alice", OrgRole::Agent);
    let sup = net.invite(&alice, "sue", OrgRole::Supervisor);
    assert_eq!(net.conv(&visitor()).members().len(), 4);
    let roles: Vec<MemberRole> = net.conv(&visitor()).members().iter().map(|m| m.role()).collect();
    assert_eq!(
        roles,
        [
            MemberRole::Visitor,
            MemberRole::Bot,
            MemberRole::Agent,
            MemberRole::Supervisor
        ]
    );
    let codes = net.codes();
    assert!(codes.windows(2).all(|w| w[0] == w[1]), "{codes:?}");
    // Every member's message reaches the three others, authenticated as its sender.
    for sender in [visitor(), bot.clone(), alice.clone(), sup.clone()] {
        let outs = net.conv(&sender).seal(b"hello all").unwrap();
        assert_eq!(outs.len(), 3);
        for (to, r) in net.deliver(outs) {
            assert_ne!(to, sender);
            assert_eq!(text_of(&r), Some((&sender, &b"hello all"[..])));
            assert!(matches!(
                r,
                Ok(Received::Message {
                    gap: 0,
                    roster_matches: true,
                    ..
                })
            ));
        }
    }
}

#[test]
fn whisper_never_reaches_the_visitor_who_still_sees_the_supervisor() {
    let bot = MemberId::device("bot", "dev");
    let mut net = Net::new(("bot", OrgRole::Bot));
    let alice = net.invite(&bot, "alice", OrgRole::Agent);
    let sup = net.invite(&alice, "sue", OrgRole::Supervisor);
    let outs = net.conv(&sup).whisper(b"offer the refund").unwrap();
    let mut to: Vec<&MemberId> = outs.iter().map(|o| &o.to).collect();
    to.sort();
    assert_eq!(to, [&alice, &bot]);
    // Even if the relay hands the visitor a whisper envelope, it opens nothing.
    for o in &outs {
        assert_eq!(
            net.conv(&visitor()).open(&o.envelope).err(),
            Some(Error::NotAMember)
        );
    }
    for (_, r) in net.deliver(outs) {
        assert!(matches!(r, Ok(Received::Whisper { .. })));
    }
    assert!(net
        .conv(&visitor())
        .members()
        .iter()
        .any(|m| m.id() == &sup && m.role() == MemberRole::Supervisor));
    assert_eq!(
        net.conv(&visitor()).whisper(b"x").err(),
        Some(Error::RosterForbidden)
    );
}

#[test]
fn transfer_with_history_grant_is_visible_to_everyone() {
    let bot = MemberId::device("bot", "dev");
    let mut net = Net::new(("bot", OrgRole::Bot));
    let alice = net.invite(&bot, "alice", OrgRole::Agent);
    let outs = net
        .conv(&bot)
        .grant_history(&alice, b"visitor: where is my order?")
        .unwrap();
    let results = net.deliver(outs);
    assert!(results.iter().any(|(to, r)| to == &alice
        && matches!(r, Ok(Received::History { from, history }) if from == &bot && history == b"visitor: where is my order?")));
    let outs = net.conv(&bot).transfer(&alice).unwrap();
    for (_, r) in net.deliver(outs) {
        assert!(
            matches!(&r, Ok(Received::Roster { events }) if events == &[RosterEvent::Transferred { from: bot.clone(), to: alice.clone() }]),
            "{r:?}"
        );
    }
    let v = net.conv(&visitor());
    assert_eq!(v.members().len(), 2);
    let a = v.members().iter().find(|m| m.id() == &alice).unwrap();
    assert_eq!(a.history_shared_by(), Some(&bot));
    assert!(!net.conv(&bot).is_member());
    assert_eq!(net.conv(&bot).seal(b"x").err(), Some(Error::NotAMember));
    // The bot's old messages to the visitor are gone with its session: nothing more reaches it.
    let outs = net.conv(&visitor()).seal(b"thanks").unwrap();
    assert_eq!(outs.iter().map(|o| &o.to).collect::<Vec<_>>(), [&alice]);
}

#[test]
fn history_without_a_grant_is_refused() {
    let bot = MemberId::device("bot", "dev");
    let mut net = Net::new(("bot", OrgRole::Bot));
    let alice = net.invite(&bot, "alice", OrgRole::Agent);
    // The grant event is withheld by the relay: the history alone is refused.
    let outs = net.conv(&bot).grant_history(&alice, b"secret past").unwrap();
    let history = outs.into_iter().rfind(|o| o.to == alice).unwrap();
    assert_eq!(
        net.conv(&alice).open(&history.envelope).err(),
        Some(Error::RosterForbidden)
    );
}

#[test]
fn removed_device_cannot_open_anything_sent_after_its_removal() {
    let bot = MemberId::device("bot", "dev");
    let mut net = Net::new(("bot", OrgRole::Bot));
    let alice = net.invite(&bot, "alice", OrgRole::Agent);
    let mallory = net.invite(&bot, "mallory", OrgRole::Agent);
    let outs = net.conv(&bot).remove(&mallory).unwrap();
    for (to, r) in net.deliver(outs) {
        assert!(matches!(r, Ok(Received::Roster { .. })), "{to:?} {r:?}");
    }
    assert!(!net.conv(&mallory).is_member());
    // Everything anyone sends afterwards, in every kind: the removed device opens none of it,
    // even when the relay hands it every envelope.
    let mut after = Vec::new();
    after.extend(net.conv(&visitor()).seal(b"my card number").unwrap());
    after.extend(net.conv(&alice).seal(b"thanks").unwrap());
    after.extend(net.conv(&alice).whisper(b"psst").unwrap());
    after.extend(net.conv(&bot).seal(b"bye").unwrap());
    assert!(!after.is_empty());
    assert!(after.iter().all(|o| o.to != mallory));
    for o in &after {
        assert_eq!(
            net.conv(&mallory).open(&o.envelope).err(),
            Some(Error::NotAMember)
        );
    }
    // The others refuse anything the removed device still tries to send.
    assert_eq!(net.conv(&mallory).seal(b"x").err(), Some(Error::NotAMember));
    let codes = net.codes();
    assert!(codes.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn forged_roster_events_are_refused() {
    let bot = MemberId::device("bot", "dev");
    let mut net = Net::new(("bot", OrgRole::Bot));
    let alice = net.invite(&bot, "alice", OrgRole::Agent);
    // The visitor cannot add a member: it can build no event, and an agent refuses
    // one that claims another org's certificate.
    let other_org = OrgSigningKey::generate().unwrap();
    let key = AgentKey::generate().unwrap();
    let foreign = other_org
        .certify(&key.public_key(), "eve", "dev", OrgRole::Agent, 0, u64::MAX)
        .unwrap();
    assert_eq!(
        net.conv(&alice).invite(&foreign).err(),
        Some(Error::WrongOrganization)
    );
    // An agent cannot remove a supervisor; nobody removes the visitor.
    let sup = net.invite(&alice, "sue", OrgRole::Supervisor);
    assert_eq!(net.conv(&alice).remove(&sup).err(), Some(Error::RosterForbidden));
    assert_eq!(
        net.conv(&alice).remove(&visitor()).err(),
        Some(Error::RosterForbidden)
    );
    assert_eq!(
        net.conv(&alice).remove(&MemberId::device("x", "y")).err(),
        Some(Error::NotAMember)
    );
    // Joining twice is refused.
    let cert = net.identities[&alice].certificate().clone();
    assert_eq!(net.conv(&bot).invite(&cert).err(), Some(Error::RosterForbidden));
    // A replayed event is refused by the pairwise session.
    let e1 = net.conv(&bot).grant_history(&alice, b"h").unwrap();
    let to_alice = e1.into_iter().find(|o| o.to == alice).unwrap();
    assert!(net.conv(&alice).open(&to_alice.envelope).is_ok());
    assert_eq!(
        net.conv(&alice).open(&to_alice.envelope).err(),
        Some(Error::Replay)
    );
    // Once the bot has left, its session is gone: nothing more from it is accepted.
    let e2 = net.conv(&bot).leave().unwrap();
    let to_alice = e2.into_iter().find(|o| o.to == alice).unwrap();
    assert!(net.conv(&alice).open(&to_alice.envelope).is_ok());
    assert_eq!(
        net.conv(&alice).open(&to_alice.envelope).err(),
        Some(Error::NotAMember)
    );
}

#[test]
fn concurrent_roster_changes_conflict_and_show_in_the_code() {
    let bot = MemberId::device("bot", "dev");
    let mut net = Net::new(("bot", OrgRole::Bot));
    let alice = net.invite(&bot, "alice", OrgRole::Agent);
    let sup = net.invite(&alice, "sue", OrgRole::Supervisor);
    // Bot and Sue change the roster on the same head at once.
    let a = net.conv(&bot).leave().unwrap();
    let b = net.conv(&sup).grant_history(&alice, b"h").unwrap();
    let a_to_sue = a.iter().find(|o| o.to == sup).unwrap().clone();
    assert_eq!(
        net.conv(&sup).open(&a_to_sue.envelope).err(),
        Some(Error::RosterConflict)
    );
    let _ = b;
}

#[test]
fn export_import_continues_the_conversation() {
    let bot = MemberId::device("bot", "dev");
    let mut net = Net::new(("bot", OrgRole::Bot));
    let alice = net.invite(&bot, "alice", OrgRole::Agent);
    let key = StorageKey::generate().unwrap();
    for m in [visitor(), bot.clone(), alice.clone()] {
        let text = net.conv(&m).export(&key).unwrap();
        let restored = Conversation::import(&text, &key).unwrap();
        assert_eq!(restored.roster_code(), net.conv(&m).roster_code());
        let bytes = net.conv(&m).export_bytes(&key).unwrap();
        assert!(Conversation::import_bytes(&bytes, &key).is_ok());
        net.convs.insert(m, restored);
    }
    let outs = net.conv(&visitor()).seal(b"after reload").unwrap();
    for (_, r) in net.deliver(outs) {
        assert!(matches!(r, Ok(Received::Message { .. })));
    }
    let wrong = StorageKey::generate().unwrap();
    let text = net.conv(&alice).export(&key).unwrap();
    assert_eq!(
        Conversation::import(&text, &wrong).err(),
        Some(Error::ExportAuthentication)
    );
    // A conversation export is not a session export.
    assert!(hushwire::Session::import(&text, &key).is_err());
    let dbg = format!("{:?}", net.conv(&alice));
    assert!(dbg.contains("roster_code") && !dbg.contains("chain"));
}

#[test]
fn gaps_are_reported_per_sender() {
    let bot = MemberId::device("bot", "dev");
    let mut net = Net::new(("bot", OrgRole::Bot));
    let _first = net.conv(&visitor()).seal(b"1").unwrap();
    let dropped = net.conv(&visitor()).seal(b"2").unwrap();
    let third = net.conv(&visitor()).seal(b"3").unwrap();
    let r = net.deliver(_first);
    assert!(matches!(r[0].1, Ok(Received::Message { gap: 0, .. })));
    let r = net.deliver(third);
    assert!(
        matches!(
            r[0].1,
            Ok(Received::Message {
                gap: 1,
                counter: 2,
                ..
            })
        ),
        "{r:?}"
    );
    let r = net.deliver(dropped);
    assert!(matches!(
        r[0].1,
        Ok(Received::Message {
            gap: 0,
            counter: 1,
            ..
        })
    ));
    let _ = bot;
}

#[test]
fn v1_certificates_are_agents_and_v2_round_trips() {
    let org = OrgSigningKey::generate().unwrap();
    let key = AgentKey::generate().unwrap();
    let v1 = org.certify_agent(&key.public_key(), "a", "d", 0, 10).unwrap();
    assert_eq!((v1.version(), v1.role()), (1, OrgRole::Agent));
    for role in [OrgRole::Agent, OrgRole::Supervisor, OrgRole::Bot] {
        let v2 = org.certify(&key.public_key(), "a", "d", role, 0, 10).unwrap();
        assert_eq!(v2.to_bytes().len(), v1.to_bytes().len() + 1);
        let back = hushwire::AgentCertificate::from_bytes(&v2.to_bytes()).unwrap();
        assert_eq!((back.version(), back.role()), (2, role));
        back.verify(&org.public_key(), 5).unwrap();
        // The role is signed: changing it breaks the signature.
        let mut b = v2.to_bytes();
        b[57] = if b[57] == 1 { 2 } else { 1 };
        let forged = hushwire::AgentCertificate::from_bytes(&b).unwrap();
        assert_eq!(
            forged.verify(&org.public_key(), 5).err(),
            Some(Error::BadCertificate)
        );
        b[57] = 9;
        assert!(hushwire::AgentCertificate::from_bytes(&b).is_err());
    }
}

// ---------------------------------------------------------------------------------------
// Model-checked property test: random joins, leaves, removals, transfers with grants,
// messages and whispers, through an attacker relay that drops, duplicates, reorders,
// injects and replays. Checked after every step:
//   * every accepted message or whisper was sealed by the member it names, for the member
//     that accepted it, with the text the model recorded for that envelope;
//   * no one outside the sender's roster at sealing time opens it (removed and departed
//     devices, a stranger conversation of the same organisation, the visitor for whispers);
//   * members that saw every roster event agree on the roster code and member list.

#[derive(Debug, Clone)]
enum Op {
    Seal(usize),
    Whisper(usize),
    Invite(usize, u8),
    Remove(usize, usize),
    Leave(usize),
    TransferWithHistory(usize, usize),
    Deliver(usize),
    Drop(usize),
    Duplicate(usize),
    Replay(usize),
    InjectToStranger(usize),
    InjectBytes(Vec<u8>),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => any::<usize>().prop_map(Op::Seal),
        2 => any::<usize>().prop_map(Op::Whisper),
        2 => (any::<usize>(), 0u8..3).prop_map(|(a, r)| Op::Invite(a, r)),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Op::Remove(a, b)),
        1 => any::<usize>().prop_map(Op::Leave),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Op::TransferWithHistory(a, b)),
        6 => any::<usize>().prop_map(Op::Deliver),
        1 => any::<usize>().prop_map(Op::Drop),
        1 => any::<usize>().prop_map(Op::Duplicate),
        1 => any::<usize>().prop_map(Op::Replay),
        1 => any::<usize>().prop_map(Op::InjectToStranger),
        1 => proptest::collection::vec(any::<u8>(), 0..400).prop_map(Op::InjectBytes),
    ]
}

/// What the model knows about one sealed envelope.
#[derive(Clone)]
struct Sent {
    out: Outgoing,
    from: MemberId,
    text: Vec<u8>,
    whisper: bool,
}

struct World {
    net: Net,
    stranger: Net,
    in_flight: Vec<Sent>,
    archive: Vec<Sent>,
    next_agent: usize,
}

impl World {
    fn members(&self) -> Vec<MemberId> {
        let v = &self.net.convs[&visitor()];
        v.members().iter().map(|m| m.id().clone()).collect()
    }

    fn org_members(&self) -> Vec<MemberId> {
        self.members().into_iter().filter(|m| !m.is_visitor()).collect()
    }

    fn pick(list: &[MemberId], i: usize) -> Option<MemberId> {
        if list.is_empty() {
            None
        } else {
            Some(list[i % list.len()].clone())
        }
    }

    /// Roster events go through reliably (the harness's handshakes need a consistent view);
    /// every recipient must accept them.
    fn deliver_events(&mut self, outs: Vec<Outgoing>) {
        for (to, r) in self.net.deliver(outs) {
            assert!(
                matches!(r, Ok(Received::Roster { .. }) | Ok(Received::History { .. })),
                "{to:?}: {r:?}"
            );
        }
    }

    fn record(&mut self, from: &MemberId, text: &[u8], whisper: bool, outs: Vec<Outgoing>) {
        for out in outs {
            let s = Sent {
                out,
                from: from.clone(),
                text: text.to_vec(),
                whisper,
            };
            self.archive.push(s.clone());
            self.in_flight.push(s);
        }
    }

    /// Hand `s` to its recipient, and to every device that must not read it.
    fn deliver(&mut self, s: &Sent) {
        let members = self.members();
        for (id, conv) in self.net.convs.iter_mut() {
            let r = conv.open(&s.out.envelope);
            if id == &s.out.to {
                if let Ok(received) = &r {
                    match received {
                        Received::Message { from, text, .. } => {
                            assert!(!s.whisper);
                            assert_eq!((from, text), (&s.from, &s.text));
                        }
                        Received::Whisper { from, text, .. } => {
                            assert!(s.whisper && !id.is_visitor());
                            assert_eq!((from, text), (&s.from, &s.text));
                        }
                        other => panic!("unexpected {other:?}"),
                    }
                }
            } else {
                assert!(r.is_err(), "{id:?} opened an envelope for {:?}", s.out.to);
            }
            // A device that left the roster opens nothing at all.
            if !members.contains(id) {
                assert!(r.is_err());
            }
        }
        for conv in self.stranger.convs.values_mut() {
            assert!(conv.open(&s.out.envelope).is_err());
        }
    }

    fn step(&mut self, op: Op) {
        let members = self.members();
        let orgs = self.org_members();
        match op {
            Op::Seal(i) => {
                let Some(m) = Self::pick(&members, i) else { return };
                let text = format!("msg {} from {m:?}", self.archive.len()).into_bytes();
                let outs = self.net.conv(&m).seal(&text).unwrap();
                self.record(&m, &text, false, outs);
            }
            Op::Whisper(i) => {
                let Some(m) = Self::pick(&orgs, i) else { return };
                let text = format!("whisper {}", self.archive.len()).into_bytes();
                let outs = self.net.conv(&m).whisper(&text).unwrap();
                assert!(outs.iter().all(|o| !o.to.is_visitor()));
                self.record(&m, &text, true, outs);
            }
            Op::Invite(i, role) => {
                let Some(by) = Self::pick(&orgs, i) else { return };
                if members.len() >= hushwire::conversation::MAX_MEMBERS {
                    return;
                }
                let role = [OrgRole::Agent, OrgRole::Supervisor, OrgRole::Bot][usize::from(role)];
                self.next_agent += 1;
                let name = format!("agent-{}", self.next_agent);
                self.net.invite(&by, &name, role);
            }
            Op::Remove(i, j) => {
                let (Some(by), Some(target)) = (Self::pick(&orgs, i), Self::pick(&orgs, j)) else {
                    return;
                };
                match self.net.conv(&by).remove(&target) {
                    Ok(outs) => self.deliver_events(outs),
                    Err(e) => assert!(matches!(e, Error::RosterForbidden), "{e:?}"),
                }
            }
            Op::Leave(i) => {
                // Keep one organisation member so the conversation goes on.
                if orgs.len() < 2 {
                    return;
                }
                let Some(m) = Self::pick(&orgs, i) else { return };
                let outs = self.net.conv(&m).leave().unwrap();
                self.deliver_events(outs);
            }
            Op::TransferWithHistory(i, j) => {
                let (Some(from), Some(to)) = (Self::pick(&orgs, i), Self::pick(&orgs, j)) else {
                    return;
                };
                if from == to {
                    return;
                }
                let outs = self
                    .net
                    .conv(&from)
                    .grant_history(&to, b"the story so far")
                    .unwrap();
                self.deliver_events(outs);
                let outs = self.net.conv(&from).transfer(&to).unwrap();
                self.deliver_events(outs);
                let v = &self.net.convs[&visitor()];
                assert_eq!(
                    v.members()
                        .iter()
                        .find(|m| m.id() == &to)
                        .unwrap()
                        .history_shared_by(),
                    Some(&from)
                );
            }
            Op::Deliver(i) | Op::Drop(i) | Op::Duplicate(i) => {
                if self.in_flight.is_empty() {
                    return;
                }
                // Any position: the relay reorders freely.
                let k = i % self.in_flight.len();
                let s = if matches!(op, Op::Duplicate(_)) {
                    self.in_flight[k].clone()
                } else {
                    self.in_flight.remove(k)
                };
                if !matches!(op, Op::Drop(_)) {
                    self.deliver(&s);
                }
            }
            Op::Replay(i) => {
                if self.archive.is_empty() {
                    return;
                }
                let s = self.archive[i % self.archive.len()].clone();
                self.deliver(&s);
            }
            Op::InjectToStranger(i) => {
                // An envelope of another conversation of the same organisation.
                let members: Vec<MemberId> = self.stranger.convs.keys().cloned().collect();
                let Some(m) = Self::pick(&members, i) else { return };
                for out in self.stranger.conv(&m).seal(b"injected").unwrap() {
                    for conv in self.net.convs.values_mut() {
                        assert!(conv.open(&out.envelope).is_err());
                    }
                }
            }
            Op::InjectBytes(bytes) => {
                if let Ok(env) = hushwire::Envelope::from_bytes(&bytes) {
                    for conv in self.net.convs.values_mut() {
                        assert!(conv.open(&env).is_err());
                    }
                }
            }
        }
        // Every current member saw every roster event: codes and member lists agree.
        let members = self.members();
        let code = self.net.convs[&visitor()].roster_code();
        for m in &members {
            let c = &self.net.convs[m];
            assert_eq!(c.roster_code(), code, "{m:?}");
            let theirs: Vec<MemberId> = c.members().iter().map(|x| x.id().clone()).collect();
            assert_eq!(theirs, members);
        }
        for (id, c) in &self.net.convs {
            assert_eq!(c.is_member(), members.contains(id), "{id:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn attacker_relay_never_breaks_sender_or_membership(ops in proptest::collection::vec(op(), 1..40)) {
        let mut world = World {
            net: Net::new(("bot", OrgRole::Bot)),
            stranger: Net::new(("other-bot", OrgRole::Bot)),
            in_flight: Vec::new(),
            archive: Vec::new(),
            next_agent: 0,
        };
        for op in ops {
            world.step(op);
        }
        // Finally deliver what is left: it all opens at its recipient, authenticated.
        while let Some(s) = world.in_flight.pop() {
            world.deliver(&s);
        }
    }
}
