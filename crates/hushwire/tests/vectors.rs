//! The committed conformance vectors in `docs/vectors/` are reproduced byte for byte, and
//! their inputs drive the public API to the same outputs.
//!
//! Regenerate after an intentional protocol change with
//! `HUSHWIRE_REGENERATE_VECTORS=1 cargo test -p hushwire --test vectors` (and update
//! `docs/PROTOCOL.md` in the same commit).
// Helpers outside `#[test]` functions fail loudly too (clippy.toml covers only the tests).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use hushwire::{AgentCertificate, Envelope, Hello, OrgPublicKey, Reply, Session, StorageKey};
use serde_json::Value;

fn dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/vectors")
}

fn h(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex")).expect("hex")
}

#[test]
fn vectors_reproduce_byte_for_byte() {
    let regenerate = std::env::var_os("HUSHWIRE_REGENERATE_VECTORS").is_some();
    for (name, text) in hushwire::test_vectors::generate() {
        let path = dir().join(name);
        if regenerate {
            std::fs::write(&path, &text).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == text,
            "{name} differs from the code; see the header of tests/vectors.rs"
        );
    }
}

#[test]
fn generation_is_deterministic() {
    assert_eq!(
        hushwire::test_vectors::generate(),
        hushwire::test_vectors::generate()
    );
}

fn load(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join(name)).unwrap()).unwrap()
}

#[test]
fn handshake_vector_decodes_and_verifies() {
    let v = load("handshake.json");
    let org = OrgPublicKey::from_bytes(&h(&v["org_public_key"])).unwrap();
    assert_eq!(org.key_id().to_vec(), h(&v["org_key_id"]));
    let cert = AgentCertificate::from_bytes(&h(&v["certificate"])).unwrap();
    cert.verify(&org, v["verification_time"].as_u64().unwrap())
        .unwrap();
    assert_eq!(cert.public_key().to_vec(), h(&v["agent_static_public"]));
    let hello = Hello::from_bytes(&h(&v["hello"])).unwrap();
    assert_eq!(hello.to_string(), v["hello_base64url"].as_str().unwrap());
    assert_eq!(hello.session_id().to_bytes().to_vec(), h(&v["session_id"]));
    let reply: Reply = v["reply_base64url"].as_str().unwrap().parse().unwrap();
    assert_eq!(reply.to_bytes(), h(&v["reply"]));
}

#[test]
fn export_vector_imports_and_late_message_opens() {
    let v = load("export.json");
    let key = StorageKey::from_bytes(&h(&v["storage_key"]).try_into().unwrap());
    let mut session = Session::import(v["export"].as_str().unwrap(), &key).unwrap();
    let late = Envelope::from_bytes(&h(&v["late_envelope"])).unwrap();
    assert_eq!(
        session.open(&late).unwrap(),
        v["late_plaintext_utf8"].as_str().unwrap().as_bytes()
    );
    assert_eq!(session.open(&late), Err(hushwire::Error::Replay));
    let m = load("messages.json");
    for msg in m["messages"].as_array().unwrap() {
        let env: Envelope = msg["envelope_base64url"].as_str().unwrap().parse().unwrap();
        assert_eq!(env.to_bytes(), h(&msg["envelope"]));
    }
    // The late envelope is a message of messages.json: the export follows from that file.
    assert!(m["messages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|msg| msg["envelope"] == v["late_envelope"]));
    // The padding vectors continue the same conversation.
    let p = load("padding.json");
    for msg in p["messages"].as_array().unwrap() {
        let Some(bytes) = msg.get("envelope") else {
            continue;
        };
        let env = Envelope::from_bytes(&h(bytes)).unwrap();
        let plain = session.open(&env).unwrap();
        let len = msg["plaintext_length"].as_u64().unwrap() as usize;
        assert_eq!(plain, (0..len).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
        assert_eq!(
            env.as_bytes().len() - 51,
            msg["padded_length"].as_u64().unwrap() as usize
        );
    }
    // The identity export imports and holds the certificate of handshake.json.
    let identity = hushwire::AgentIdentity::import(v["identity_export"].as_str().unwrap(), &key).unwrap();
    let hs = load("handshake.json");
    assert_eq!(identity.certificate().to_bytes(), h(&hs["certificate"]));
}

#[test]
fn safety_code_vector_has_leading_zeros() {
    let v = load("safety_code.json");
    assert!(v["safety_code"].as_str().unwrap().starts_with("00"));
    let reply = Reply::from_bytes(&h(&v["reply"])).unwrap();
    assert_eq!(
        reply.session_id(),
        Hello::from_bytes(&h(&v["hello"])).unwrap().session_id()
    );
}

#[test]
fn conversation_vectors_replay_and_forged_events_get_their_codes() {
    let v = load("conversation.json");
    let org = OrgPublicKey::from_bytes(&h(&v["org_public_key"])).unwrap();
    let cid: [u8; 16] = h(&v["conversation_id"]).try_into().unwrap();
    let steps = v["steps"].as_array().unwrap();
    let entries: Vec<Vec<u8>> = steps.iter().map(|s| h(&s["entry"])).collect();
    for (i, step) in steps.iter().enumerate() {
        let (head, code) = hushwire::test_vectors::roster_check(&org, &cid, &entries[..=i]).unwrap();
        assert_eq!(head.to_vec(), h(&step["head"]), "{}", step["step"]);
        assert_eq!(code, step["roster_code"].as_str().unwrap());
    }
    for case in v["negative"].as_array().unwrap() {
        let mut log = entries[..case["after_steps"].as_u64().unwrap() as usize].to_vec();
        if let Some(more) = case["after_entries"].as_array() {
            log.extend(more.iter().map(h));
        }
        assert!(
            hushwire::test_vectors::roster_check(&org, &cid, &log).is_ok(),
            "{}",
            case["name"]
        );
        log.push(h(&case["entry"]));
        let err = hushwire::test_vectors::roster_check(&org, &cid, &log).unwrap_err();
        assert_eq!(err.code(), case["code"].as_str().unwrap(), "{}", case["name"]);
    }
}
