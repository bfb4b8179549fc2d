//! Conversations (docs/PROTOCOL.md §17): four devices, transfer with a history grant,
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
