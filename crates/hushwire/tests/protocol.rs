//! Behaviour of the public API against an active attacker in the relay's position.
// Helpers outside `#[test]` functions fail loudly too (clippy.toml covers only the tests).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use hushwire::{
    AgentCertificate, AgentIdentity, AgentKey, DecodeError, Envelope, Error, Hello, OrgPublicKey,
    OrgSigningKey, Reply, Role, Session, SessionConfig, StorageKey, VisitorHandshake, MAX_PLAINTEXT_LEN,
};

const NOW: u64 = 1_800_000_000;

struct Org {
    key: OrgSigningKey,
    agent: AgentIdentity,
}

fn org() -> Org {
    let key = OrgSigningKey::generate().unwrap();
    let agent = agent_of(&key, "agent-1", NOW - 100, NOW + 100);
    Org { key, agent }
}

fn agent_of(org: &OrgSigningKey, id: &str, not_before: u64, not_after: u64) -> AgentIdentity {
    let device = AgentKey::generate().unwrap();
    let cert = org
        .certify_agent(&device.public_key(), id, "device-1", not_before, not_after)
        .unwrap();
    AgentIdentity::new(device, cert, &org.public_key()).unwrap()
}

fn pair(o: &Org) -> (Session, Session) {
    let (mut hs, hello) = VisitorHandshake::start(&o.key.public_key()).unwrap();
    let (agent, reply) = o.agent.accept(&hello).unwrap();
    let visitor = hs.finish_at(&reply, NOW).unwrap();
    (visitor, agent)
}

fn restore(s: &Session) -> Session {
    let k = StorageKey::from_bytes(&[9; 32]);
    Session::import(&s.export(&k).unwrap(), &k).unwrap()
}

#[test]
fn full_conversation_both_ways() {
    let o = org();
    let (mut v, mut a) = pair(&o);
    assert_eq!(v.role(), Role::Visitor);
    assert_eq!(a.role(), Role::Agent);
    assert_eq!(v.session_id(), a.session_id());
    assert_eq!(v.agent_id(), "agent-1");
    assert_eq!(v.device_id(), "device-1");
    assert_eq!(v.safety_code(), a.safety_code());
    assert_eq!(v.safety_code().len(), 14);
    // The agent may speak first: its session is ready as soon as it replies.
    let first = a.seal(b"Welcome! How can I help?").unwrap();
    assert_eq!(v.open(&first).unwrap(), b"Welcome! How can I help?");
    for i in 0..50u32 {
        let text = format!("message {i}");
        let (from, to) = if i % 3 == 0 {
            (&mut a, &mut v)
        } else {
            (&mut v, &mut a)
        };
        let env = from.seal(text.as_bytes()).unwrap();
        assert_eq!(to.open(&env).unwrap(), text.as_bytes());
    }
}

#[test]
fn sessions_have_distinct_keys_and_codes() {
    let o = org();
    let (v1, _) = pair(&o);
    let (v2, _) = pair(&o);
    assert_ne!(v1.session_id(), v2.session_id());
    assert_ne!(v1.handshake_hash(), v2.handshake_hash());
    assert_ne!(v1.safety_code(), v2.safety_code());
}

#[test]
fn empty_and_maximum_messages() {
    let o = org();
    let (mut v, mut a) = pair(&o);
    let e = v.seal(b"").unwrap();
    assert_eq!(a.open(&e).unwrap(), b"");
    let big = vec![0x5a; MAX_PLAINTEXT_LEN];
    let e = v.seal(&big).unwrap();
    assert!(e.as_bytes().len() <= hushwire::MAX_ENVELOPE_LEN);
    assert_eq!(a.open(&e).unwrap(), big);
    assert_eq!(
        v.seal(&vec![0; MAX_PLAINTEXT_LEN + 1]).err(),
        Some(Error::MessageTooLarge)
    );
    // Trailing zero bytes in the plaintext survive the padding.
    let e = v.seal(&[1, 0, 0, 0x80, 0]).unwrap();
    assert_eq!(a.open(&e).unwrap(), [1, 0, 0, 0x80, 0]);
}

#[test]
fn padding_hides_length_within_a_bucket() {
    let o = org();
    let (mut v, _) = pair(&o);
    let short = v.seal(b"ok").unwrap();
    let card = v.seal(b"my card is 4111 1111 1111 1111, exp 12/29").unwrap();
    let para = v.seal("x".repeat(200).as_bytes()).unwrap();
    assert_eq!(short.as_bytes().len(), card.as_bytes().len());
    assert_eq!(short.as_bytes().len(), para.as_bytes().len());
    // v2 header (59 bytes) and nonce, the 256-byte bucket, the tag.
    assert_eq!(short.as_bytes().len(), 71 + 256 + 16);
}

#[test]
fn replay_is_rejected() {
    let o = org();
    let (mut v, mut a) = pair(&o);
    let e = v.seal(b"pay 10 EUR").unwrap();
    assert!(a.open(&e).is_ok());
    assert_eq!(a.open(&e), Err(Error::Replay));
    // Also after later messages and after a skipped-key round trip.
    let e1 = v.seal(b"1").unwrap();
    let e2 = v.seal(b"2").unwrap();
    a.open(&e2).unwrap();
    a.open(&e1).unwrap();
    assert_eq!(a.open(&e1), Err(Error::Replay));
    assert_eq!(a.open(&e2), Err(Error::Replay));
}

#[test]
fn reorder_within_window_is_accepted() {
    let o = org();
    let (mut v, mut a) = pair(&o);
    let envs: Vec<Envelope> = (0..40)
        .map(|i| v.seal(format!("m{i}").as_bytes()).unwrap())
        .collect();
    // A fixed shuffle: reverse in blocks, then everything else.
    let mut order: Vec<usize> = (0..40).rev().step_by(2).collect();
    order.extend((0..40).step_by(2));
    for i in order {
        assert_eq!(
            a.open(&envs[i]).unwrap(),
            format!("m{i}").as_bytes(),
            "message {i}"
        );
    }
    for e in &envs {
        assert_eq!(a.open(e), Err(Error::Replay));
    }
}

#[test]
fn window_limit_and_eviction() {
    let o = org();
    let (mut v, mut a) = pair(&o);
    a.set_config(SessionConfig {
        max_skip: 10,
        max_stored_skipped: 5,
    })
    .unwrap();
    let envs: Vec<Envelope> = (0..30).map(|_| v.seal(b"x").unwrap()).collect();
    assert_eq!(a.open(&envs[11]), Err(Error::TooFarAhead));
    // Rejected messages leave no trace: the window is still measured from 0.
    a.open(&envs[10]).unwrap();
    // Ten keys were skipped (0..10); only the newest five (5..10) are kept.
    for e in &envs[0..5] {
        assert_eq!(a.open(e), Err(Error::Replay));
    }
    for e in &envs[5..10] {
        assert_eq!(a.open(e).unwrap(), b"x");
    }
    // Next expected is 11 now, so 21 is the furthest acceptable.
    assert_eq!(a.open(&envs[22]), Err(Error::TooFarAhead));
    a.open(&envs[21]).unwrap();
    assert!(a
        .set_config(SessionConfig {
            max_skip: 1_000_000,
            max_stored_skipped: 5
        })
        .is_err());
}

#[test]
fn reflection_is_rejected() {
    let o = org();
    let (mut v, mut a) = pair(&o);
    let e = v.seal(b"to the agent").unwrap();
    assert_eq!(v.open(&e), Err(Error::Reflected));
    let e = a.seal(b"to the visitor").unwrap();
    assert_eq!(a.open(&e), Err(Error::Reflected));
    // Rewriting the sender byte does not help: the header is authenticated.
    let mut bytes = e.to_bytes();
    bytes[18] = 0x01;
    assert_eq!(
        a.open(&Envelope::from_bytes(&bytes).unwrap()),
        Err(Error::Tampered)
    );
}

#[test]
fn cross_session_is_rejected() {
    let o = org();
    let (mut v1, _a1) = pair(&o);
    let (_v2, mut a2) = pair(&o);
    let e = v1.seal(b"for session one").unwrap();
    assert_eq!(a2.open(&e), Err(Error::WrongSession));
    // With the session id rewritten to a2's, authentication fails.
    let mut bytes = e.to_bytes();
    bytes[2..18].copy_from_slice(&a2.session_id().to_bytes());
    assert_eq!(
        a2.open(&Envelope::from_bytes(&bytes).unwrap()),
        Err(Error::Tampered)
    );
}

#[test]
fn failed_open_leaves_state_unchanged() {
    let o = org();
    let (mut v, mut a) = pair(&o);
    let good = v.seal(b"hello").unwrap();
    let mut bad = good.to_bytes();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert_eq!(a.open(&Envelope::from_bytes(&bad).unwrap()), Err(Error::Tampered));
    assert_eq!(a.open(&good).unwrap(), b"hello");
    // A forged far-ahead counter does not move the chain either.
    let future = v.seal(b"later").unwrap();
    let mut forged = future.to_bytes();
    // The v2 counter sits after the ratchet key and `pn` (bytes 55..59).
    forged[55..59].copy_from_slice(&500u32.to_be_bytes());
    assert_eq!(
        a.open(&Envelope::from_bytes(&forged).unwrap()),
        Err(Error::Tampered)
    );
    assert_eq!(a.open(&future).unwrap(), b"later");
}

#[test]
fn rollback_and_duplicate_tabs_never_reuse_a_nonce() {
    let o = org();
    let (mut v, mut a) = pair(&o);
    let key = StorageKey::generate().unwrap();
    let backup = v.export(&key).unwrap();
    let mut tab1 = Session::import(&backup, &key).unwrap();
    let mut tab2 = Session::import(&backup, &key).unwrap();
    let e1 = tab1.seal(b"from tab one").unwrap();
    let e2 = tab2.seal(b"from tab two").unwrap();
    assert_eq!(e1.counter(), e2.counter());
    // Same message key, but different nonces: no (key, nonce) reuse.
    // In v2 each tab even takes its own ratchet step: different keys altogether.
    assert_ne!(e1.as_bytes()[19..51], e2.as_bytes()[19..51]);
    assert_ne!(e1.as_bytes()[59..71], e2.as_bytes()[59..71]);
    assert_eq!(a.open(&e1).unwrap(), b"from tab one");
    // The receiver follows one branch: the other tab's step no longer derives from its
    // root key, so its message does not authenticate.
    assert_eq!(a.open(&e2), Err(Error::Tampered));
    let _ = v.seal(b"original").unwrap();
}

#[test]
fn export_import_mid_conversation_with_skipped_keys() {
    let o = org();
    let (mut v, mut a) = pair(&o);
    let envs: Vec<Envelope> = (0..6)
        .map(|i| v.seal(format!("v{i}").as_bytes()).unwrap())
        .collect();
    a.open(&envs[5]).unwrap();
    a.open(&envs[1]).unwrap();
    let key = StorageKey::generate().unwrap();
    let saved = a.export(&key).unwrap();
    drop(a);
    let mut a = Session::import(&saved, &key).unwrap();
    assert_eq!(a.role(), Role::Agent);
    assert_eq!(a.safety_code(), v.safety_code());
    for i in [0, 2, 3, 4] {
        assert_eq!(a.open(&envs[i]).unwrap(), format!("v{i}").as_bytes());
    }
    assert_eq!(a.open(&envs[1]), Err(Error::Replay));
    assert_eq!(a.open(&envs[5]), Err(Error::Replay));
    let reply = a.seal(b"after import").unwrap();
    let mut v = restore(&v);
    assert_eq!(v.open(&reply).unwrap(), b"after import");
    let cfg = SessionConfig {
        max_skip: 50,
        max_stored_skipped: 7,
    };
    v.set_config(cfg).unwrap();
    assert_eq!(restore(&v).config(), cfg);
}

#[test]
fn export_with_wrong_key_or_tampered_fails() {
    let o = org();
    let (v, _) = pair(&o);
    let key = StorageKey::generate().unwrap();
    let saved = v.export(&key).unwrap();
    let wrong = StorageKey::generate().unwrap();
    assert_eq!(
        Session::import(&saved, &wrong).err(),
        Some(Error::ExportAuthentication)
    );
    let mut chars: Vec<char> = saved.chars().collect();
    let mid = chars.len() / 2;
    chars[mid] = if chars[mid] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    assert!(matches!(
        Session::import(&tampered, &key),
        Err(Error::ExportAuthentication) | Err(Error::Malformed(_))
    ));
    assert!(matches!(Session::import("", &key), Err(Error::Malformed(_))));
    assert!(matches!(
        Session::import("!!!", &key),
        Err(Error::Malformed(DecodeError::Base64))
    ));
    // An agent identity export is not a session export.
    let id_export = o.agent.export(&key).unwrap();
    assert!(matches!(
        Session::import(&id_export, &key),
        Err(Error::Malformed(DecodeError::UnexpectedType(_)))
    ));
}

#[test]
fn agent_identity_export_round_trip() {
    let o = org();
    let key = StorageKey::generate().unwrap();
    let restored = AgentIdentity::import(&o.agent.export(&key).unwrap(), &key).unwrap();
    assert_eq!(restored.certificate(), o.agent.certificate());
    let (mut hs, hello) = VisitorHandshake::start(&o.key.public_key()).unwrap();
    let (_, reply) = restored.accept(&hello).unwrap();
    hs.finish_at(&reply, NOW).unwrap();
    assert_eq!(
        AgentIdentity::import(&o.agent.export(&key).unwrap(), &StorageKey::generate().unwrap()).err(),
        Some(Error::ExportAuthentication)
    );
}

fn handshake_with(visitor_org: &OrgPublicKey, agent: &AgentIdentity, now: u64) -> Result<Session, Error> {
    let (mut hs, hello) = VisitorHandshake::start(visitor_org)?;
    let (_, reply) = agent.accept(&hello)?;
    hs.finish_at(&reply, now)
}

#[test]
fn certificate_validity_window() {
    let o = org();
    let pk = o.key.public_key();
    assert!(handshake_with(&pk, &o.agent, NOW - 100).is_ok());
    assert!(handshake_with(&pk, &o.agent, NOW + 100).is_ok());
    assert_eq!(
        handshake_with(&pk, &o.agent, NOW + 101).err(),
        Some(Error::CertificateExpired)
    );
    assert_eq!(
        handshake_with(&pk, &o.agent, NOW - 101).err(),
        Some(Error::CertificateNotYetValid)
    );
}

#[test]
fn wrong_organisation_key_is_refused() {
    let o = org();
    let other = OrgSigningKey::generate().unwrap();
    // The visitor pins another organisation: the agent refuses the hello ...
    assert_eq!(
        handshake_with(&other.public_key(), &o.agent, NOW).err(),
        Some(Error::WrongOrganization)
    );
    // ... and a relay that rewrites the key id to get past the agent breaks the handshake.
    let (mut hs, hello) = VisitorHandshake::start(&other.public_key()).unwrap();
    let mut bytes = hello.to_bytes();
    bytes[18..26].copy_from_slice(&o.key.public_key().key_id());
    let (_, reply) = o.agent.accept(&Hello::from_bytes(&bytes).unwrap()).unwrap();
    assert_eq!(hs.finish_at(&reply, NOW).err(), Some(Error::HandshakeFailed));
}

#[test]
fn impostor_agent_is_refused() {
    let o = org();
    // An attacker's own organisation certifies its own agent, key id forged to match.
    let evil = OrgSigningKey::generate().unwrap();
    let evil_agent = agent_of(&evil, "mallory", NOW - 10, NOW + 10);
    let (hs, hello) = VisitorHandshake::start(&o.key.public_key()).unwrap();
    assert_eq!(evil_agent.accept(&hello).err(), Some(Error::WrongOrganization));
    // A certificate for a different key than the one used in the handshake.
    let stolen_cert = o.agent.certificate().clone();
    let device = AgentKey::generate().unwrap();
    assert_eq!(
        AgentIdentity::new(device, stolen_cert, &o.key.public_key()).err(),
        Some(Error::CertificateKeyMismatch)
    );
    let _ = hs.session_id();
}

#[test]
fn substituted_agent_key_is_detected_by_visitor() {
    // Build a reply whose certificate certifies one key while the handshake proves another:
    // possible only by bypassing AgentIdentity::new, so simulate with the raw wire pieces:
    // a legitimate reply from a second agent with its certificate swapped is not decryptable,
    // so the best the relay can do is substitute the whole reply.
    let o = org();
    let other_agent = agent_of(&o.key, "agent-2", NOW - 10, NOW + 10);
    let (mut hs, hello) = VisitorHandshake::start(&o.key.public_key()).unwrap();
    // A reply to another hello (same organisation) must not complete this handshake.
    let (_, other_hello) = VisitorHandshake::start(&o.key.public_key()).unwrap();
    let (_, other_reply) = other_agent.accept(&other_hello).unwrap();
    let mut bytes = other_reply.to_bytes();
    bytes[2..18].copy_from_slice(&hello.session_id().to_bytes());
    assert_eq!(
        hs.finish_at(&Reply::from_bytes(&bytes).unwrap(), NOW).err(),
        Some(Error::HandshakeFailed)
    );
    assert_eq!(hs.finish_at(&other_reply, NOW).err(), Some(Error::WrongSession));
    // After those failures the genuine reply still completes the handshake, once.
    let (_, reply) = o.agent.accept(&hello).unwrap();
    hs.finish_at(&reply, NOW).unwrap();
    assert!(hs.finish_at(&reply, NOW).is_err());
}

#[test]
fn certificate_checks() {
    let o = org();
    let pk = o.key.public_key();
    let cert = o.agent.certificate().clone();
    cert.verify(&pk, NOW).unwrap();
    let mut bytes = cert.to_bytes();
    let n = bytes.len();
    bytes[n - 1] ^= 1; // signature
    assert_eq!(
        AgentCertificate::from_bytes(&bytes).unwrap().verify(&pk, NOW),
        Err(Error::BadCertificate)
    );
    let mut bytes = cert.to_bytes();
    bytes[45] ^= 1; // validity
    assert_eq!(
        AgentCertificate::from_bytes(&bytes).unwrap().verify(&pk, NOW),
        Err(Error::BadCertificate)
    );
    let other = OrgSigningKey::generate().unwrap().public_key();
    assert_eq!(cert.verify(&other, NOW), Err(Error::WrongOrganization));
    assert_eq!(AgentCertificate::from_bytes(&cert.to_bytes()).unwrap(), cert);
    assert_eq!(cert.to_string().parse::<AgentCertificate>().unwrap(), cert);
    // Argument validation.
    let k = AgentKey::generate().unwrap().public_key();
    assert!(o.key.certify_agent(&k, "", "d", 0, 1).is_err());
    assert!(o.key.certify_agent(&k, &"a".repeat(65), "d", 0, 1).is_err());
    assert!(o.key.certify_agent(&k, "a", "d", 2, 1).is_err());
    assert!(o
        .key
        .certify_agent(&k, &"é".repeat(32), &"d".repeat(64), 0, u64::MAX)
        .is_ok());
}

#[test]
fn org_key_round_trips() {
    let org = OrgSigningKey::generate().unwrap();
    let restored = OrgSigningKey::from_secret_bytes(&org.secret_bytes());
    assert_eq!(restored.public_key(), org.public_key());
    let text = org.public_key().to_string();
    assert_eq!(text.parse::<OrgPublicKey>().unwrap(), org.public_key());
    assert!(OrgPublicKey::from_bytes(&[0u8; 31]).is_err());
    let agent = AgentKey::generate().unwrap();
    assert_eq!(
        AgentKey::from_secret_bytes(&agent.secret_bytes()).public_key(),
        agent.public_key()
    );
}

#[test]
#[cfg(feature = "serde")]
fn text_forms_and_serde_round_trip() {
    let o = org();
    let (mut hs, hello) = VisitorHandshake::start(&o.key.public_key()).unwrap();
    let (mut a, reply) = o.agent.accept(&hello.to_string().parse().unwrap()).unwrap();
    let mut v = hs.finish_at(&reply.to_string().parse().unwrap(), NOW).unwrap();
    let env = v.seal(b"serde").unwrap();
    let json = serde_json::to_string(&serde_json::json!({ "hello": hello, "reply": reply, "envelope": env }))
        .unwrap();
    let back: serde_json::Value = serde_json::from_str(&json).unwrap();
    let env2: Envelope = serde_json::from_value(back["envelope"].clone()).unwrap();
    let hello2: Hello = serde_json::from_value(back["hello"].clone()).unwrap();
    let reply2: Reply = serde_json::from_value(back["reply"].clone()).unwrap();
    assert_eq!(env2, env);
    assert_eq!(hello2, hello);
    assert_eq!(reply2, reply);
    assert_eq!(a.open(&env2).unwrap(), b"serde");
    assert!(serde_json::from_str::<Envelope>("\"not base64!\"").is_err());
    assert!(serde_json::from_str::<Envelope>("[1,2,3]").is_err());
}

#[test]
fn decoders_reject_wrong_types_and_versions() {
    let o = org();
    let (_, hello) = VisitorHandshake::start(&o.key.public_key()).unwrap();
    let (mut a, reply) = o.agent.accept(&hello).unwrap();
    let env = a.seal(b"x").unwrap();
    assert!(matches!(
        Envelope::from_bytes(&hello.to_bytes()),
        Err(Error::Malformed(DecodeError::UnexpectedType(1)))
    ));
    assert!(matches!(
        // Cut to a hello's length: longer input is refused as too long before its type is read.
        Hello::from_bytes(&reply.to_bytes()[..58]),
        Err(Error::Malformed(DecodeError::UnexpectedType(2)))
    ));
    assert!(matches!(
        Reply::from_bytes(env.as_bytes()),
        Err(Error::Malformed(DecodeError::UnexpectedType(3)))
    ));
    let mut v2 = env.to_bytes();
    v2[0] = 3;
    assert!(matches!(
        Envelope::from_bytes(&v2),
        Err(Error::Malformed(DecodeError::UnsupportedVersion(3)))
    ));
    let mut max_counter = env.to_bytes();
    max_counter[55..59].copy_from_slice(&[0xff; 4]);
    assert!(Envelope::from_bytes(&max_counter).is_err());
    let mut long_hello = hello.to_bytes();
    long_hello.push(0);
    assert!(Hello::from_bytes(&long_hello).is_err());
    assert!(Envelope::from_bytes(&vec![1u8; hushwire::MAX_ENVELOPE_LEN + 1]).is_err());
}

#[test]
fn error_codes_are_stable_and_distinct() {
    let all = hushwire::test_vectors::every_error();
    let codes: std::collections::BTreeSet<_> = all.iter().map(|e| e.code()).collect();
    assert_eq!(codes.len(), all.len());
    assert_eq!(Error::Replay.code(), "REPLAY");
    assert_eq!(Error::Tampered.code(), "TAMPERED");
    assert_eq!(Error::BadCertificate.code(), "BAD_CERTIFICATE");
}

/// Every type that holds a secret prints no key bytes in `Debug`.
#[test]
fn debug_output_holds_no_secrets() {
    let seed = [0x41u8; 32];
    let org = OrgSigningKey::from_secret_bytes(&seed);
    let agent_key = AgentKey::from_secret_bytes(&[0x42; 32]);
    let storage = StorageKey::from_bytes(&[0x43; 32]);
    let cert = org
        .certify_agent(&agent_key.public_key(), "a", "d", 0, u64::MAX)
        .unwrap();
    let agent =
        AgentIdentity::new(AgentKey::from_secret_bytes(&[0x42; 32]), cert, &org.public_key()).unwrap();
    let (hs, hello) = VisitorHandshake::start(&org.public_key()).unwrap();
    let (mut session, _) = agent.accept(&hello).unwrap();
    let storage_export = session.export(&storage).unwrap();
    let _ = session.seal(b"secret plaintext").unwrap();
    let secret_patterns: Vec<String> = [0x41u8, 0x42, 0x43]
        .iter()
        .flat_map(|b| {
            vec![
                format!("{b}, {b}"),
                format!("{b:02x}{b:02x}{b:02x}{b:02x}"),
                format!("{b:#x}, {b:#x}"),
            ]
        })
        .collect();
    let (send_ck, recv_ck) = {
        // The session's chain keys, via its own export, to search for them in Debug output.
        let state = Session::import(&storage_export, &storage).unwrap();
        (format!("{:?}", state.handshake_hash()), state.safety_code())
    };
    let outputs = [
        format!("{org:?}"),
        format!("{agent_key:?}"),
        format!("{storage:?}"),
        format!("{agent:?}"),
        format!("{hs:?}"),
        format!("{session:?}"),
        format!("{:?}", Error::Tampered),
    ];
    for out in &outputs {
        for p in &secret_patterns {
            assert!(!out.contains(p.as_str()), "{out} contains {p}");
        }
        assert!(!out.contains(&send_ck), "{out} shows the handshake hash");
        assert!(!out.contains(&recv_ck), "{out} shows the safety code");
        assert!(!out.contains("secret plaintext"));
        // No long runs of numbers that would be a byte array.
        assert!(
            !out.contains("[") || !out.contains(", 1"),
            "{out} looks like a byte array"
        );
    }
}

#[test]
fn import_requires_skipped_keys_in_ascending_order() {
    // The export vector's state: the visitor's session with one skipped key (counter 2,
    // recv_next 4). Re-seal it with a second key added before or after that one.
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("../../docs/vectors/export.json").unwrap()).unwrap();
    let state = hex::decode(doc["state"].as_str().unwrap()).unwrap();
    let key = StorageKey::from_bytes(&[7; 32]);
    let (head, entry) = state.split_at(state.len() - 36);
    assert_eq!(&entry[..4], &2u32.to_be_bytes(), "the vector's skipped counter");
    let head = &head[..head.len() - 4]; // drop the count
    let with = |entries: &[&[u8]]| {
        let mut s = head.to_vec();
        s.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        for e in entries {
            s.extend_from_slice(e);
        }
        Session::import(&hushwire::test_vectors::seal_state_for_fuzzing(&key, &s), &key)
    };
    let mut zero = entry.to_vec();
    zero[..4].copy_from_slice(&0u32.to_be_bytes());
    assert!(with(&[entry]).is_ok());
    assert!(with(&[&zero, entry]).is_ok());
    for bad in [&[entry, &zero[..]][..], &[entry, entry][..]] {
        assert_eq!(
            with(bad).map(|_| ()),
            Err(Error::Malformed(DecodeError::InvalidField("skipped key")))
        );
    }
}

#[test]
fn binary_exports_are_the_text_exports_bytes() {
    let o = org();
    let (mut visitor, mut agent) = pair(&o);
    agent.open(&visitor.seal(b"hi").unwrap()).unwrap();
    let key = StorageKey::generate().unwrap();
    let bytes = visitor.export_bytes(&key).unwrap();
    let mut back = Session::import_bytes(&bytes, &key).unwrap();
    assert_eq!(agent.open(&back.seal(b"again").unwrap()).unwrap(), b"again");
    // The text form is base64url of the same layout, so either side converts.
    let text = visitor.export(&key).unwrap();
    let decoded = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &text).unwrap();
    assert!(Session::import_bytes(&decoded, &key).is_ok());
    assert_eq!(
        Session::import_bytes(&bytes, &StorageKey::from_bytes(&[0; 32])).map(|_| ()),
        Err(Error::ExportAuthentication)
    );
    assert_eq!(
        Session::import_bytes(&vec![1; 2 << 20], &key).map(|_| ()),
        Err(Error::Malformed(DecodeError::TooLong))
    );
    let id = agent_of(&o.key, "a", 0, u64::MAX);
    let sealed = id.export_bytes(&key).unwrap();
    assert_eq!(
        AgentIdentity::import_bytes(&sealed, &key)
            .unwrap()
            .certificate()
            .agent_id(),
        "a"
    );
    assert!(matches!(
        Session::import_bytes(&sealed, &key),
        Err(Error::Malformed(_))
    ));
}

#[test]
fn open_text_refuses_non_utf8_without_consuming_it() {
    let o = org();
    let (mut v, mut a) = pair(&o);
    // In order and out of order (a skipped key), the refusal leaves the session unchanged.
    let first = v.seal(&[0xff, 0xfe]).unwrap();
    let second = v.seal("héllo".as_bytes()).unwrap();
    let third = v.seal(&[0xc3]).unwrap();
    assert_eq!(
        a.open_text(&first),
        Err(Error::Malformed(DecodeError::InvalidField("utf-8")))
    );
    assert_eq!(
        a.open_text(&third),
        Err(Error::Malformed(DecodeError::InvalidField("utf-8")))
    );
    assert_eq!(a.open_text(&second).unwrap(), "héllo");
    // Both refused messages are still readable as bytes, once.
    assert_eq!(a.open(&third).unwrap(), [0xc3]);
    assert_eq!(a.open(&first).unwrap(), [0xff, 0xfe]);
    assert_eq!(a.open(&first), Err(Error::Replay));
    assert_eq!(a.open_text(&second), Err(Error::Replay));
}
