//! `conversation.json` (docs/PROTOCOL.md §18): a roster of four organisation devices and the
//! visitor through a transfer with a history grant and a removal, the frames of a message and
//! a whisper with their fan-out, and forged roster events with the code each must get.

use alloc::{format, string::String, vec, vec::Vec};

use super::{draw, hex, s, VectorRng, J, SEED};
use crate::conversation::frame::{Frame, FrameType};
use crate::conversation::roster::{Change, Entry, MemberId, Roster};
use crate::encoding::Reader;
use crate::{AgentCertificate, AgentKey, Error, OrgPublicKey, OrgRole, OrgSigningKey};

fn rng() -> VectorRng {
    let mut seed = SEED.to_vec();
    seed.extend_from_slice(b"/conversation");
    VectorRng::new(&seed)
}

fn entry_bytes(e: &Entry) -> Vec<u8> {
    let mut out = Vec::new();
    e.write(&mut out);
    out
}

fn role_name(r: crate::conversation::MemberRole) -> &'static str {
    use crate::conversation::MemberRole as R;
    match r {
        R::Visitor => "visitor",
        R::Agent => "agent",
        R::Supervisor => "supervisor",
        _ => "bot",
    }
}

/// Apply raw log entries (`member(issuer) ‖ event`) to a fresh roster, stopping at the first
/// refusal. Returns the final head and roster code. For the vector tests of every binding.
///
/// # Errors
///
/// The first entry's decoding (`MALFORMED`) or roster error.
pub fn roster_check(
    org: &OrgPublicKey,
    conversation_id: &[u8; 16],
    entries: &[Vec<u8>],
) -> crate::Result<([u8; 32], String)> {
    let mut roster = Roster::new(*org, conversation_id);
    for e in entries {
        let mut r = Reader::new(e);
        let entry = Entry::read(&mut r)?;
        r.finish()?;
        roster.apply(entry)?;
    }
    Ok((roster.head(), roster.code()))
}

pub(super) fn generate() -> J {
    let mut rng = rng();
    let (nb, na) = (1_700_000_000u64, 1_900_000_000u64);
    let org = OrgSigningKey::from_secret_bytes(&draw(&mut rng));
    let org_pk = org.public_key();
    let device = |rng: &mut VectorRng, id: &str, role| -> AgentCertificate {
        let key = AgentKey::from_secret_bytes(&draw(rng));
        org.certify(&key.public_key(), id, "console", role, nb, na)
            .expect("certify")
    };
    let bot = device(&mut rng, "faq-bot", OrgRole::Bot);
    let alice = device(&mut rng, "alice@shop.example", OrgRole::Agent);
    let sue = device(&mut rng, "sue@shop.example", OrgRole::Supervisor);
    let mallory = device(&mut rng, "mallory@shop.example", OrgRole::Agent);
    let conversation_id: [u8; 16] = draw(&mut rng);
    let id = |c: &AgentCertificate| MemberId::of(c);

    let steps = vec![
        (
            "the bot creates the conversation",
            Entry {
                issuer: id(&bot),
                change: Change::Create(bot.clone()),
            },
        ),
        (
            "the bot invites alice",
            Entry {
                issuer: id(&bot),
                change: Change::Join(alice.clone()),
            },
        ),
        (
            "alice invites the supervisor",
            Entry {
                issuer: id(&alice),
                change: Change::Join(sue.clone()),
            },
        ),
        (
            "the bot invites mallory",
            Entry {
                issuer: id(&bot),
                change: Change::Join(mallory.clone()),
            },
        ),
        (
            "the bot shares the history with alice",
            Entry {
                issuer: id(&bot),
                change: Change::Grant(id(&alice)),
            },
        ),
        (
            "the bot transfers to alice and leaves",
            Entry {
                issuer: id(&bot),
                change: Change::Transfer(id(&alice)),
            },
        ),
        (
            "the supervisor removes mallory",
            Entry {
                issuer: id(&sue),
                change: Change::Remove(id(&mallory)),
            },
        ),
    ];
    let mut roster = Roster::new(org_pk, &conversation_id);
    let mut log = Vec::new();
    let mut items = Vec::new();
    let mut heads = vec![roster.head()];
    for (what, entry) in &steps {
        let bytes = entry_bytes(entry);
        roster.apply(entry.clone()).expect("positive step");
        heads.push(roster.head());
        items.push(J::O(vec![
            ("step", s(what)),
            ("entry", hex(&bytes)),
            ("head", hex(&roster.head())),
            ("roster_code", s(&roster.code())),
        ]));
        log.push(bytes);
    }
    let members = roster
        .members()
        .iter()
        .map(|m| {
            J::O(vec![
                ("agent_id", s(m.id().agent_id())),
                ("device_id", s(m.id().device_id())),
                ("role", s(role_name(m.role()))),
                (
                    "history_shared_by",
                    s(m.history_shared_by().map(|h| h.agent_id()).unwrap_or("")),
                ),
            ])
        })
        .collect();
    let mut welcome = Vec::new();
    roster.write_log(&mut welcome);

    // Frames after the removal: the visitor's message reaches alice and sue; sue's whisper
    // reaches alice only.
    let head = roster.head();
    let frame = |kind, counter, body: &[u8]| {
        Frame {
            kind,
            conversation_id,
            counter,
            head,
            body,
        }
        .to_bytes()
    };
    let frames = J::A(vec![
        J::O(vec![
            ("what", s("the visitor's message 0")),
            ("from", s("")),
            ("to", J::A(vec![s("alice@shop.example"), s("sue@shop.example")])),
            ("frame", hex(&frame(FrameType::Message, 0, b"Where is my order?"))),
        ]),
        J::O(vec![
            (
                "what",
                s("the supervisor's whisper 0, never sealed for the visitor"),
            ),
            ("from", s("sue@shop.example")),
            ("to", J::A(vec![s("alice@shop.example")])),
            ("frame", hex(&frame(FrameType::Whisper, 0, b"Offer a refund"))),
        ]),
        J::O(vec![
            (
                "what",
                s("the history alice received under the grant (before the transfer, head after the grant)"),
            ),
            ("from", s("faq-bot")),
            ("to", J::A(vec![s("alice@shop.example")])),
            (
                "frame",
                hex(&Frame {
                    kind: FrameType::History,
                    conversation_id,
                    counter: 0,
                    head: heads[5],
                    body: b"visitor: hi\nbot: hello!",
                }
                .to_bytes()),
            ),
        ]),
    ]);

    // Forged events: (name, how many positive steps come first, issuer, change bytes or
    // raw entry, expected code).
    let other_org = OrgSigningKey::from_secret_bytes(&draw(&mut rng));
    let eve_key = AgentKey::from_secret_bytes(&draw(&mut rng));
    let foreign = other_org
        .certify(&eve_key.public_key(), "eve", "console", OrgRole::Agent, nb, na)
        .expect("certify");
    let mut bad_sig = bot.to_bytes();
    if let Some(b) = bad_sig.get_mut(70) {
        *b ^= 1; // inside agent_id: the signature no longer verifies
    }
    let bad_sig = AgentCertificate::from_bytes(&bad_sig).expect("decodes");
    let stranger = device(&mut rng, "stranger", OrgRole::Agent);
    let mut extra: Vec<AgentCertificate> = Vec::new();
    for i in 0..12 {
        extra.push(device(&mut rng, &format!("agent-{i}"), OrgRole::Agent));
    }
    let e = |issuer: MemberId, change: Change| entry_bytes(&Entry { issuer, change });
    let v = MemberId::visitor;
    let mut cases: Vec<(&str, usize, Vec<u8>)> = vec![
        (
            "the visitor adds a member",
            2,
            e(v(), Change::Join(stranger.clone())),
        ),
        (
            "a non-member adds a member",
            2,
            e(id(&stranger), Change::Join(stranger.clone())),
        ),
        (
            "a join under another organisation's key",
            2,
            e(id(&bot), Change::Join(foreign)),
        ),
        (
            "a join with an altered certificate",
            2,
            e(id(&alice), Change::Join(bad_sig)),
        ),
        (
            "a member joins twice",
            2,
            e(id(&bot), Change::Join(alice.clone())),
        ),
        (
            "a second creation",
            2,
            e(id(&alice), Change::Create(alice.clone())),
        ),
        (
            "the first event is not a creation",
            0,
            e(id(&bot), Change::Join(bot.clone())),
        ),
        (
            "a creation by another device",
            0,
            e(id(&alice), Change::Create(bot.clone())),
        ),
        (
            "an agent removes the supervisor",
            3,
            e(id(&alice), Change::Remove(id(&sue))),
        ),
        (
            "a member removes the visitor",
            3,
            e(id(&sue), Change::Remove(v())),
        ),
        (
            "a member removes itself",
            3,
            e(id(&alice), Change::Remove(id(&alice))),
        ),
        (
            "a removal of a non-member",
            3,
            e(id(&alice), Change::Remove(id(&stranger))),
        ),
        ("a transfer to the visitor", 3, e(id(&bot), Change::Transfer(v()))),
        ("a grant to oneself", 3, e(id(&bot), Change::Grant(id(&bot)))),
        ("a removed member's event", 7, e(id(&mallory), Change::Leave)),
        (
            "a departed member's event",
            7,
            e(id(&bot), Change::Grant(id(&alice))),
        ),
        ("an unknown event kind", 2, {
            let mut b = Vec::new();
            id(&bot).write(&mut b);
            b.push(9);
            b
        }),
        ("a member id with only an agent id", 2, {
            let mut b = vec![3];
            b.extend_from_slice(b"bot");
            b.push(0);
            b.push(3);
            b
        }),
    ];
    // Eleven more joins fill the roster (the visitor and 15 organisation devices: 16 devices);
    // the next join is refused.
    let mut full = log[..4].to_vec();
    for c in extra.iter().take(11) {
        full.push(e(id(&alice), Change::Join(c.clone())));
    }
    let mut negative = Vec::new();
    for (name, prefix, forged) in cases.drain(..) {
        let mut entries = log[..prefix].to_vec();
        entries.push(forged.clone());
        let code = roster_check(&org_pk, &conversation_id, &entries)
            .err()
            .map(|err| err.code())
            .expect("forged event is refused");
        negative.push(J::O(vec![
            ("name", s(name)),
            ("after_steps", J::N(prefix as u64)),
            ("entry", hex(&forged)),
            ("code", s(code)),
        ]));
    }
    assert!(roster_check(&org_pk, &conversation_id, &full).is_ok());
    let seventeenth = e(id(&alice), Change::Join(extra[11].clone()));
    let mut entries = full.clone();
    entries.push(seventeenth.clone());
    let code = roster_check(&org_pk, &conversation_id, &entries)
        .err()
        .map(|err| err.code())
        .expect("refused");
    assert_eq!(code, Error::ConversationFull.code());
    negative.push(J::O(vec![
        (
            "name",
            s("a seventeenth member: the visitor and 16 organisation devices"),
        ),
        ("after_entries", J::A(full[4..].iter().map(|b| hex(b)).collect())),
        ("after_steps", J::N(4)),
        ("entry", hex(&seventeenth)),
        ("code", s(code)),
    ]));

    J::O(vec![
        ("description", s("hushwire conversations (docs/PROTOCOL.md section 18): roster events of a conversation with the visitor and four organisation devices (bot, agent, supervisor, agent) through a history grant, a transfer and a removal, each with the roster head and code after it; the final members; the welcome body; frames of a message, a whisper and a history with their recipients; forged roster events with their codes. Negative cases apply the first after_steps positive entries (then after_entries, if any), then entry.")),
        ("org_public_key", hex(&org_pk.to_bytes())),
        ("conversation_id", hex(&conversation_id)),
        ("initial_head", hex(&heads[0])),
        ("certificates", J::O(vec![
            ("bot", hex(&bot.to_bytes())),
            ("alice", hex(&alice.to_bytes())),
            ("sue", hex(&sue.to_bytes())),
            ("mallory", hex(&mallory.to_bytes())),
        ])),
        ("steps", J::A(items)),
        ("members", J::A(members)),
        ("welcome_body", hex(&welcome)),
        ("frames", frames),
        ("negative", J::A(negative)),
    ])
}
