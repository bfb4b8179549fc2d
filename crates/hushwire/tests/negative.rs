//! Runs `docs/vectors/negative.json` through the public API: every case must fail with its
//! code (and, for `MALFORMED`, its decoder reason). The wasm, Kotlin and Python bindings and
//! `docs/vectors/verify.py` run the same file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use hushwire::attachment::{self, Manifest};
use hushwire::{
    AgentCertificate, AgentIdentity, DecodeError, Envelope, Error, Hello, OrgPublicKey, OrgSigningKey, Reply,
    Session, SessionConfig, StorageKey, VisitorHandshake,
};
use serde_json::Value;
use std::io::Read;

fn load() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/vectors/negative.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn h(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex")).expect("hex")
}

fn key32(v: &Value) -> [u8; 32] {
    h(v).try_into().unwrap()
}

/// The case's input: `input` (hex bytes) or `input_text` (a text form), decoded as `T`.
fn decode<T: std::str::FromStr<Err = Error>>(
    c: &Value,
    from_bytes: fn(&[u8]) -> Result<T, Error>,
) -> Result<T, Error> {
    match c.get("input_text") {
        Some(t) => t.as_str().unwrap().parse(),
        None => from_bytes(&h(&c["input"])),
    }
}

/// Run one case; returns the error it produced (or `None` if it wrongly succeeded).
fn run(v: &Value, c: &Value) -> Option<Error> {
    let storage_key = StorageKey::from_bytes(&key32(c.get("storage_key").unwrap_or(&v["storage_key"])));
    let now = v["now"].as_u64().unwrap();
    let org = OrgPublicKey::from_bytes(&h(&v["org_public_key"])).unwrap();
    let session = || {
        Session::import(
            v["sessions"][c["session"].as_str().unwrap()].as_str().unwrap(),
            &storage_key,
        )
        .unwrap()
    };
    let identity = || AgentIdentity::import(v["identity"].as_str().unwrap(), &storage_key).unwrap();
    let result: Result<(), Error> = match c["op"].as_str().unwrap() {
        "open" => {
            let mut s = session();
            for prior in c.get("prior").and_then(Value::as_array).into_iter().flatten() {
                s.open(&Envelope::from_bytes(&h(prior)).unwrap())
                    .expect("prior envelope opens");
            }
            decode(c, Envelope::from_bytes).and_then(|e| s.open(&e)).map(drop)
        }
        "seal" => session()
            .seal(&vec![0u8; c["plaintext_length"].as_u64().unwrap() as usize])
            .map(drop),
        "config" => session().set_config(SessionConfig {
            max_skip: c["max_skip"].as_u64().unwrap() as u32,
            max_stored_skipped: c["max_stored_skipped"].as_u64().unwrap() as u32,
        }),
        "accept" => decode(c, Hello::from_bytes)
            .and_then(|hello| identity().accept(&hello))
            .map(drop),
        "finish" => {
            let mut hs = match c["visitor"].as_str().unwrap() {
                "handshake.json" => hushwire::test_vectors::vector_visitor_handshake(&org),
                _ => VisitorHandshake::start(&org).unwrap().0,
            };
            decode(c, Reply::from_bytes)
                .and_then(|r| hs.finish_at(&r, now))
                .map(drop)
        }
        "finish_again" => {
            let (mut hs, hello) = VisitorHandshake::start(&org).unwrap();
            let (_agent, reply) = identity().accept(&hello).unwrap();
            hs.finish_at(&reply, now)
                .expect("first reply completes the handshake");
            hs.finish_at(&reply, now).map(drop)
        }
        "certificate_verify" => {
            let org = c.get("org_public_key").map(|k| OrgPublicKey::from_bytes(&h(k)));
            org.unwrap_or(Ok(org_clone(&v["org_public_key"])))
                .and_then(|org| {
                    decode(c, AgentCertificate::from_bytes).and_then(|cert| cert.verify(&org, now))
                })
        }
        "org_public_key" => decode(c, OrgPublicKey::from_bytes).map(drop),
        "certify" => OrgSigningKey::from_secret_bytes(&key32(&v["org_signing_seed"]))
            .certify_agent(
                &key32(&c["agent_public_key"]),
                c["agent_id"].as_str().unwrap(),
                c["device_id"].as_str().unwrap(),
                c["not_before"].as_u64().unwrap(),
                c["not_after"].as_u64().unwrap(),
            )
            .map(drop),
        "import_session" => Session::import(c["input_text"].as_str().unwrap(), &storage_key).map(drop),
        "import_identity" => AgentIdentity::import(c["input_text"].as_str().unwrap(), &storage_key).map(drop),
        "attachment_manifest" => Manifest::from_bytes(&h(&c["input"])).map(drop),
        "attachment_open" => {
            let manifest = Manifest::from_bytes(&h(&c["manifest"])).expect("case manifest decodes");
            let blob = attachment_blob(v, c);
            // Both readers: the in-memory one and the streaming one must refuse alike.
            let whole = attachment::decrypt_to_vec(&manifest, &blob).map(drop);
            let mut out = Vec::new();
            let streamed = attachment::Decryptor::new(&manifest, &blob[..]).read_to_end(&mut out);
            let streamed = streamed
                .map(drop)
                .map_err(|e| Error::from_io(&e).cloned().expect("a hushwire error"));
            assert_eq!(whole, streamed, "{}", c["name"]);
            whole
        }
        op => panic!("unknown op {op}"),
    };
    result.err()
}

/// The blob of an `attachment_open` case: its pieces concatenated.
fn attachment_blob(v: &Value, c: &Value) -> Vec<u8> {
    let mut blob = Vec::new();
    for p in c["blob"].as_array().unwrap() {
        match p.get("hex") {
            Some(x) => blob.extend_from_slice(&h(x)),
            None => {
                let file = h(&v["attachments"][p["file"].as_str().unwrap()]);
                let (a, b) = (
                    p["start"].as_u64().unwrap() as usize,
                    p["end"].as_u64().unwrap() as usize,
                );
                blob.extend_from_slice(&file[a..b]);
            }
        }
    }
    blob
}

fn org_clone(v: &Value) -> OrgPublicKey {
    OrgPublicKey::from_bytes(&h(v)).unwrap()
}

/// The name of a decoder reason as negative.json spells it (`UnsupportedVersion`, ...).
fn reason(e: &DecodeError) -> String {
    let debug = format!("{e:?}");
    debug.split('(').next().unwrap().to_owned()
}

#[test]
fn every_negative_vector_is_refused_with_its_code() {
    let v = load();
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let want = c["code"].as_str().unwrap();
        match run(&v, c) {
            None => failures.push(format!("{name}: accepted, want {want}")),
            Some(e) if e.code() != want => failures.push(format!("{name}: got {e:?}, want {want}")),
            Some(Error::Malformed(d)) => {
                let want_reason = c["reason"].as_str().unwrap_or_default();
                if reason(&d) != want_reason {
                    failures.push(format!("{name}: reason {d:?}, want {want_reason}"));
                }
            }
            Some(_) => {}
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The controls: the file's sessions and identity import, and the unmodified base message
/// opens, so the negative cases fail for the reason they name.
#[test]
fn negative_vector_inputs_are_valid_apart_from_their_fault() {
    let v = load();
    let key = StorageKey::from_bytes(&key32(&v["storage_key"]));
    let mut agent = Session::import(v["sessions"]["agent"].as_str().unwrap(), &key).unwrap();
    let replay = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "envelope: replay")
        .unwrap();
    let base = Envelope::from_bytes(&h(&replay["prior"][0])).unwrap();
    assert_eq!(agent.open(&base).unwrap(), b"negative vectors: base message");
    // The same envelope as text, with surrounding whitespace (which the text form allows).
    let mut again = Session::import(v["sessions"]["agent"].as_str().unwrap(), &key).unwrap();
    let text = format!(" \t{base}\r\n");
    assert_eq!(
        again.open(&text.parse().unwrap()).unwrap(),
        b"negative vectors: base message"
    );
    let mut exhausted = Session::import(v["sessions"]["exhausted"].as_str().unwrap(), &key).unwrap();
    assert_eq!(exhausted.seal(b"x").err(), Some(Error::SessionExhausted));
    AgentIdentity::import(v["identity"].as_str().unwrap(), &key).unwrap();
    let org = OrgPublicKey::from_bytes(&h(&v["org_public_key"])).unwrap();
    let hs = hushwire::test_vectors::vector_visitor_handshake(&org);
    let hv: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/vectors/handshake.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        hex::encode(hs.session_id().to_bytes()),
        hv["session_id"].as_str().unwrap()
    );
}

// --- The positive side of each boundary (docs/PROTOCOL.md §11.1) ------------------------------

/// A session state (PROTOCOL.md §8.2) with the chosen counters, sealed like an export.
fn crafted(role: u8, send_next: u32, recv_next: u32, key: &StorageKey) -> Session {
    let mut st = vec![1u8, role];
    st.extend_from_slice(&[0x11; 16]);
    st.extend_from_slice(&[0x22; 32]);
    for id in [&b"agent"[..], b"device"] {
        st.push(id.len() as u8);
        st.extend_from_slice(id);
    }
    // Both directions share one chain key, so the two crafted sides can talk.
    st.extend_from_slice(&[0x33; 32]);
    st.extend_from_slice(&send_next.to_be_bytes());
    st.extend_from_slice(&[0x33; 32]);
    st.extend_from_slice(&recv_next.to_be_bytes());
    st.extend_from_slice(&1000u32.to_be_bytes());
    st.extend_from_slice(&1000u32.to_be_bytes());
    st.extend_from_slice(&0u32.to_be_bytes());
    Session::import(&hushwire::test_vectors::seal_state_for_fuzzing(key, &st), key).unwrap()
}

#[test]
fn the_highest_counter_is_sealed_received_and_the_state_reimports() {
    let key = StorageKey::from_bytes(&[5; 32]);
    // Counters are independent per direction; both sides sit at 0xfffffffe.
    let mut visitor = crafted(1, u32::MAX - 1, 0, &key);
    let mut agent = crafted(2, 0, u32::MAX - 1, &key);
    let last = visitor.seal(b"last").unwrap();
    assert_eq!(last.counter(), 0xffff_fffe);
    assert_eq!(visitor.seal(b"more"), Err(Error::SessionExhausted));
    assert_eq!(agent.open(&last).unwrap(), b"last");
    // recv_next = 0xffffffff and send_next = 0xffffffff both export and import again.
    let agent = Session::import(&agent.export(&key).unwrap(), &key).unwrap();
    let mut visitor = Session::import(&visitor.export(&key).unwrap(), &key).unwrap();
    assert_eq!(visitor.seal(b"more"), Err(Error::SessionExhausted));
    let mut agent = agent;
    assert_eq!(agent.open(&last), Err(Error::Replay));
}

#[test]
fn export_text_bound_is_exact() {
    // The largest state: 64-byte ids and 20 000 stored skipped keys.
    let org = OrgSigningKey::from_secret_bytes(&[1; 32]);
    let key = hushwire::AgentKey::from_secret_bytes(&[2; 32]);
    let id = "i".repeat(64);
    let cert = org
        .certify_agent(&key.public_key(), &id, &id, 0, u64::MAX)
        .unwrap();
    let agent = AgentIdentity::new(key, cert, &org.public_key()).unwrap();
    let (mut hs, hello) = VisitorHandshake::start(&org.public_key()).unwrap();
    let (mut a, reply) = agent.accept(&hello).unwrap();
    let mut v = hs.finish_at(&reply, 1).unwrap();
    let config = SessionConfig {
        max_skip: 20_000,
        max_stored_skipped: 20_000,
    };
    v.set_config(config).unwrap();
    a.set_config(config).unwrap();
    // Six agent chains, each leaving one skipped key: five closed chains are kept (v2).
    for _ in 0..6 {
        let _lost = a.seal(b"").unwrap();
        v.open(&a.seal(b"").unwrap()).unwrap();
        a.open(&v.seal(b"").unwrap()).unwrap();
    }
    // The current chain fills the rest: 19 995 skipped keys.
    let envelopes: Vec<Envelope> = (0..19_996).map(|_| a.seal(b"").unwrap()).collect();
    v.open(envelopes.last().unwrap()).unwrap();
    // A sending chain too (the visitor's step after the agent's new key).
    v.seal(b"").unwrap();
    let storage = StorageKey::from_bytes(&[3; 32]);
    let text = v.export(&storage).unwrap();
    assert_eq!(text.len(), 960_775);
    assert_eq!(v.export_bytes(&storage).unwrap().len(), 720_581);
    Session::import(&text, &storage).unwrap();
    // One character more is refused before decoding.
    assert_eq!(
        Session::import(&format!("{text}A"), &storage).err(),
        Some(Error::Malformed(DecodeError::TooLong))
    );
    // The largest v1 identity export: 345 bytes, 460 characters; a v2 certificate (with its
    // role byte) makes the largest: 346 bytes, 462 characters.
    assert_eq!(agent.export(&storage).unwrap().len(), 460);
    assert_eq!(agent.export_bytes(&storage).unwrap().len(), 345);
    let key = hushwire::AgentKey::from_secret_bytes(&[2; 32]);
    let cert = org
        .certify(&key.public_key(), &id, &id, hushwire::OrgRole::Bot, 0, u64::MAX)
        .unwrap();
    let agent = AgentIdentity::new(key, cert, &org.public_key()).unwrap();
    assert_eq!(agent.export(&storage).unwrap().len(), 462);
    assert_eq!(agent.export_bytes(&storage).unwrap().len(), 346);
    // The largest replies carry that certificate: 366 bytes in v1, 1470 in v2.
    let (_, reply) = agent
        .accept(
            &VisitorHandshake::start_with_version(&org.public_key(), 1)
                .unwrap()
                .1,
        )
        .unwrap();
    assert_eq!(reply.to_bytes().len(), 366);
    let (_, reply) = agent
        .accept(&VisitorHandshake::start(&org.public_key()).unwrap().1)
        .unwrap();
    assert_eq!(reply.to_bytes().len(), 1470);
}

#[test]
fn reply_and_envelope_length_limits_are_exact() {
    let mut reply = vec![1u8, 2];
    reply.resize(239, 0);
    assert!(Reply::from_bytes(&reply).is_ok());
    reply.resize(366, 0);
    assert!(Reply::from_bytes(&reply).is_ok());
    reply.resize(367, 0);
    assert!(Reply::from_bytes(&reply).is_err());
    // Every padded size is accepted by the decoder, nothing in between.
    let mut env = vec![1u8, 3];
    env.extend_from_slice(&[0; 16]);
    env.push(1);
    env.extend_from_slice(&[0; 4 + 12]);
    for (padded, ok) in [
        (256, true),
        (257, false),
        (512, true),
        (4096, true),
        (4352, true),
        (4353, false),
        (67_584, true),
    ] {
        let mut e = env.clone();
        e.resize(35 + padded + 16, 0);
        assert_eq!(Envelope::from_bytes(&e).is_ok(), ok, "padded length {padded}");
    }
    assert_eq!(hushwire::MIN_ENVELOPE_LEN, 307);
    // A v2 envelope: 36 header bytes more (ratchet key and `pn`).
    assert_eq!(hushwire::MAX_ENVELOPE_LEN, 67_671);
    let mut reply = vec![2u8, 2];
    reply.resize(1343, 0);
    assert!(Reply::from_bytes(&reply).is_ok());
    reply.resize(1342, 0);
    assert!(Reply::from_bytes(&reply).is_err());
    reply.resize(1470, 0);
    assert!(Reply::from_bytes(&reply).is_ok());
    reply.resize(1471, 0);
    assert!(Reply::from_bytes(&reply).is_err());
}

#[test]
fn empty_plaintext_is_allowed_and_text_forms_trim_unicode_whitespace() {
    let org = OrgSigningKey::from_secret_bytes(&[1; 32]);
    let key = hushwire::AgentKey::from_secret_bytes(&[2; 32]);
    let cert = org
        .certify_agent(&key.public_key(), "a", "d", 0, u64::MAX)
        .unwrap();
    let agent = AgentIdentity::new(key, cert, &org.public_key()).unwrap();
    let (mut hs, hello) = VisitorHandshake::start(&org.public_key()).unwrap();
    let (mut a, reply) = agent.accept(&hello).unwrap();
    let mut v = hs.finish_at(&reply, 1).unwrap();
    let e = a.seal(b"").unwrap();
    // A v2 envelope: the 307-byte minimum of v1 plus the ratchet key and `pn`.
    assert_eq!(e.as_bytes().len(), 343);
    let text = format!("\u{3000}\n{e}\u{a0} ");
    assert_eq!(v.open(&text.parse().unwrap()).unwrap(), b"");
    // Not whitespace in Unicode's sense (U+200B ZERO WIDTH SPACE): refused.
    assert!(format!("{e}\u{200b}").parse::<Envelope>().is_err());
}

#[test]
fn an_expired_identity_still_imports() {
    let org = OrgSigningKey::from_secret_bytes(&[1; 32]);
    let key = hushwire::AgentKey::from_secret_bytes(&[2; 32]);
    let cert = org.certify_agent(&key.public_key(), "a", "d", 10, 20).unwrap();
    let agent = AgentIdentity::new(key, cert, &org.public_key()).unwrap();
    let storage = StorageKey::from_bytes(&[3; 32]);
    let back = AgentIdentity::import(&agent.export(&storage).unwrap(), &storage).unwrap();
    assert_eq!(back.certificate().not_after(), 20);
    // ...and visitors refuse it.
    let (mut hs, hello) = VisitorHandshake::start(&org.public_key()).unwrap();
    let (_, reply) = back.accept(&hello).unwrap();
    assert_eq!(hs.finish_at(&reply, 21).err(), Some(Error::CertificateExpired));
}

#[test]
fn wycheproof_ed25519_keys_of_valid_signatures_are_accepted_org_keys() {
    // The canonical/small-order checks on organisation keys (PROTOCOL.md §1.1) never refuse a
    // key Wycheproof signs validly with; the signatures themselves are checked in the unit
    // tests of the primitive.
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/wycheproof/ed25519_test.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut groups = 0;
    for g in doc["testGroups"].as_array().unwrap() {
        let valid = g["tests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["result"] == "valid");
        if valid {
            OrgPublicKey::from_bytes(&h(&g["publicKey"]["pk"])).unwrap();
            groups += 1;
        }
    }
    assert!(groups > 0);
}

#[test]
fn attachment_negative_vectors_have_an_intact_base() {
    // Control: the cases fail because of their edits, not because the base is broken.
    let v = load();
    let case = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "attachment blob: extended by one byte")
        .unwrap();
    let manifest = Manifest::from_bytes(&h(&case["manifest"])).unwrap();
    let blob = h(&v["attachments"]["a"]);
    let plain = attachment::decrypt_to_vec(&manifest, &blob).unwrap();
    assert_eq!(plain.len(), 131_072);
}
