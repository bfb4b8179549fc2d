//! The bodies of the fuzz targets, shared by `fuzz/fuzz_targets/*.rs` (libFuzzer, nightly)
//! and `benches/tests/fuzz_seeds.rs` (replays `fuzz/seeds/<target>/` in `cargo test`).
//!
//! Every target uses fixed keys: the organisation, agent and storage key of the committed
//! vectors (`docs/vectors/*.json`, embedded at compile time), so the seeds extracted from those
//! vectors are valid inputs and the fuzzer mutates from there. Each target asserts properties,
//! not just "no panic": decoders are canonical (`to_bytes` gives back the input), nothing the
//! attacker makes is accepted, failed calls leave state unchanged, and the stateful `relay`
//! target checks every result against a model of the receiver.
#![allow(dead_code)]

use std::collections::{BTreeSet, HashSet};
use std::sync::OnceLock;

use hushwire::{
    AgentCertificate, AgentIdentity, AgentKey, Envelope, Error, Hello, OrgPublicKey, OrgSigningKey, Reply,
    Session, SessionConfig, StorageKey, VisitorHandshake,
};

const HANDSHAKE_JSON: &str = include_str!("../../docs/vectors/handshake.json");
const EXPORT_JSON: &str = include_str!("../../docs/vectors/export.json");

/// A fuzz target's body.
pub type Target = fn(&[u8]);

/// Every target, by name: the directory names under `fuzz/seeds/`.
pub const TARGETS: &[(&str, Target)] = &[
    ("envelope", envelope),
    ("envelope_text", envelope_text),
    ("hello", hello),
    ("reply", reply),
    ("certificate", certificate),
    ("session_import", session_import),
    ("agent_identity_import", agent_identity_import),
    ("relay", |data| {
        relay(data);
    }),
    ("attachment", attachment),
    ("relay_v2", |data| {
        relay_v2(data);
    }),
    ("conversation", conversation),
];

/// A string field of the vectors' flat JSON (`"name": "value"`).
fn field(json: &str, name: &str) -> String {
    let key = format!("\"{name}\": \"");
    let start = json.find(&key).expect("field in vectors") + key.len();
    let end = json[start..].find('"').expect("closing quote") + start;
    json[start..end].to_owned()
}

/// A number field of the vectors' flat JSON (`"name": 123`).
fn number(json: &str, name: &str) -> u64 {
    let key = format!("\"{name}\": ");
    let start = json.find(&key).expect("field in vectors") + key.len();
    json[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .expect("number")
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len() / 2)
        .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

fn unhex32(text: &str) -> [u8; 32] {
    unhex(text).try_into().expect("32 bytes")
}

/// The fixed world of the vectors.
pub struct Vectors {
    /// The organisation's signing key.
    pub org: OrgSigningKey,
    /// Its public key, pinned by visitors.
    pub org_public: OrgPublicKey,
    /// The certified agent.
    pub agent: AgentIdentity,
    /// The certificate's verification time.
    pub now: u64,
    /// The storage key of export.json.
    pub storage_key: StorageKey,
    /// The visitor's exported session (one skipped key pending).
    pub export: String,
    /// The one agent message that session can still open.
    pub late_envelope: Vec<u8>,
    /// Its plaintext.
    pub late_plaintext: Vec<u8>,
    /// Session state fields of handshake.json, for building session pairs.
    pub session_id: [u8; 16],
    /// The handshake hash.
    pub handshake_hash: [u8; 32],
    /// Initial chain key, visitor to agent.
    pub v2a: [u8; 32],
    /// Initial chain key, agent to visitor.
    pub a2v: [u8; 32],
}

/// The vectors, parsed once.
pub fn vectors() -> &'static Vectors {
    static V: OnceLock<Vectors> = OnceLock::new();
    V.get_or_init(|| {
        let h = HANDSHAKE_JSON;
        let org = OrgSigningKey::from_secret_bytes(&unhex32(&field(h, "org_signing_seed")));
        let key = AgentKey::from_secret_bytes(&unhex32(&field(h, "agent_static_secret")));
        let cert =
            AgentCertificate::from_bytes(&unhex(&field(h, "certificate"))).expect("vector certificate");
        let agent = AgentIdentity::new(key, cert, &org.public_key()).expect("vector identity");
        let e = EXPORT_JSON;
        Vectors {
            org_public: org.public_key(),
            org,
            agent,
            now: number(h, "verification_time"),
            storage_key: StorageKey::from_bytes(&unhex32(&field(e, "storage_key"))),
            export: field(e, "export"),
            late_envelope: unhex(&field(e, "late_envelope")),
            late_plaintext: field(e, "late_plaintext_utf8").into_bytes(),
            session_id: unhex(&field(h, "session_id")).try_into().expect("16 bytes"),
            handshake_hash: unhex32(&field(h, "handshake_hash")),
            v2a: unhex32(&field(h, "chain_key_visitor_to_agent")),
            a2v: unhex32(&field(h, "chain_key_agent_to_visitor")),
        }
    })
}

/// Open `env` against the visitor session of export.json. Its only openable message is the
/// vectors' late envelope; anything else accepted is a forgery. A failed open must leave the
/// session able to open the late envelope.
fn open_against_vector_session(env: &Envelope) {
    let v = vectors();
    let mut session = Session::import(&v.export, &v.storage_key).expect("vector export imports");
    match session.open(env) {
        Ok(plaintext) => {
            assert_eq!(env.as_bytes(), &v.late_envelope[..], "forged envelope accepted");
            assert_eq!(plaintext, v.late_plaintext);
            assert_eq!(session.open(env), Err(Error::Replay), "accepted twice");
        }
        Err(e) => {
            assert!(!e.code().is_empty());
            let late = Envelope::from_bytes(&v.late_envelope).expect("late envelope decodes");
            assert_eq!(
                session.open(&late).expect("failed open changed the session"),
                v.late_plaintext
            );
        }
    }
}

/// `Envelope::from_bytes`, then `open` against a session.
pub fn envelope(data: &[u8]) {
    let Ok(env) = Envelope::from_bytes(data) else {
        return;
    };
    assert_eq!(env.to_bytes(), data, "non-canonical envelope");
    open_against_vector_session(&env);
}

/// The text (base64url) decoders of `Envelope`, `Hello` and `Reply`.
pub fn envelope_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(env) = text.parse::<Envelope>() {
        assert_eq!(env.to_string(), text.trim(), "non-canonical envelope text");
        assert_eq!(Envelope::from_bytes(&env.to_bytes()).as_ref(), Ok(&env));
        open_against_vector_session(&env);
    }
    if let Ok(hello) = text.parse::<Hello>() {
        assert_eq!(hello.to_string(), text.trim(), "non-canonical hello text");
    }
    if let Ok(reply) = text.parse::<Reply>() {
        assert_eq!(reply.to_string(), text.trim(), "non-canonical reply text");
    }
}

/// `Hello::from_bytes`, then `AgentIdentity::accept`.
pub fn hello(data: &[u8]) {
    let Ok(hello) = Hello::from_bytes(data) else {
        return;
    };
    assert_eq!(hello.to_bytes(), data, "non-canonical hello");
    match vectors().agent.accept(&hello) {
        Ok((session, reply)) => {
            assert_eq!(session.session_id(), hello.session_id());
            assert_eq!(reply.session_id(), hello.session_id());
            assert_eq!(Reply::from_bytes(&reply.to_bytes()).as_ref(), Ok(&reply));
        }
        Err(e) => assert!(!e.code().is_empty()),
    }
}

/// Reads bytes from the fuzz input, giving zeros once it is used up.
struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }
    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }
    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        head
    }
    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// `Reply::from_bytes`, then `VisitorHandshake::finish_at`.
///
/// First byte even: the rest is a raw reply (its session id overwritten with the handshake's,
/// so the fuzzer gets past that check); it must never be accepted. First byte odd: the rest
/// describes an agent (key, signing organisation, validity window, ids), a byte mutation of
/// its genuine reply and the visitor's clock; the outcome must be exactly the one the
/// parameters call for, and a refused reply must leave the handshake usable.
pub fn reply(data: &[u8]) {
    let v = vectors();
    let mut input = Input { data };
    let mode = input.u8();
    let (mut handshake, hello) = VisitorHandshake::start(&v.org_public).expect("start");
    if mode & 1 == 0 {
        let mut bytes = input.data.to_vec();
        if bytes.len() >= 18 {
            bytes[2..18].copy_from_slice(&hello.session_id().to_bytes());
        }
        let Ok(reply) = Reply::from_bytes(&bytes) else {
            return;
        };
        assert_eq!(reply.to_bytes(), bytes, "non-canonical reply");
        let result = handshake.finish_at(&reply, v.now);
        assert!(result.is_err(), "a reply no agent made was accepted");
        return;
    }
    let key = AgentKey::from_secret_bytes(&[input.u8(); 32]);
    let flags = input.u8();
    let other_org = flags & 1 == 1;
    let signer = if other_org {
        OrgSigningKey::from_secret_bytes(&[0x55; 32])
    } else {
        OrgSigningKey::from_secret_bytes(&v.org.secret_bytes())
    };
    let offset = |b: u8| (i64::from(b as i8) * 10) as u64;
    let not_before = v.now.wrapping_add(offset(input.u8()));
    let not_after = v.now.wrapping_add(offset(input.u8()));
    let now = v.now.wrapping_add(offset(input.u8()));
    let id_len = (input.u8() % 70) as usize;
    let agent_id = String::from_utf8_lossy(input.bytes(id_len)).into_owned();
    let device_id = if flags & 2 == 2 {
        "d".repeat(65)
    } else {
        "dev".to_owned()
    };
    let (position, xor) = (input.u16() as usize, input.u8());
    let Ok(cert) = signer.certify_agent(&key.public_key(), &agent_id, &device_id, not_before, not_after)
    else {
        return;
    };
    let Ok(agent) = AgentIdentity::new(key, cert, &signer.public_key()) else {
        return;
    };
    // The hello names the vectors' organisation; an agent of another one refuses it.
    let (agent_session, genuine) = match agent.accept(&hello) {
        Ok(pair) => pair,
        Err(e) => {
            assert!(other_org, "agent of the pinned organisation refused: {e:?}");
            assert_eq!(e, Error::WrongOrganization);
            return;
        }
    };
    assert!(!other_org);
    let mut bytes = genuine.to_bytes();
    let mutated = xor != 0;
    if mutated {
        let at = position % bytes.len();
        bytes[at] ^= xor;
    }
    let valid_time = not_before <= now && now <= not_after;
    let result = Reply::from_bytes(&bytes).and_then(|r| handshake.finish_at(&r, now));
    match result {
        Ok(mut visitor) => {
            assert!(!mutated, "an altered reply was accepted");
            assert!(valid_time, "a certificate outside its window was accepted");
            let mut agent_session = agent_session;
            assert_eq!(visitor.agent_id(), agent_id);
            assert_eq!(visitor.safety_code(), agent_session.safety_code());
            let env = visitor.seal(b"ping").expect("seal");
            assert_eq!(agent_session.open(&env).expect("open"), b"ping");
            let env = agent_session.seal(b"pong").expect("seal");
            assert_eq!(visitor.open(&env).expect("open"), b"pong");
        }
        Err(e) => {
            if !mutated {
                assert!(!valid_time, "a genuine reply was refused: {e:?}");
                let expected = if now < not_before {
                    Error::CertificateNotYetValid
                } else {
                    Error::CertificateExpired
                };
                assert_eq!(e, expected);
            } else if valid_time {
                // The genuine reply still completes the handshake.
                handshake
                    .finish_at(&genuine, now)
                    .expect("handshake spoiled by a bad reply");
            }
        }
    }
}

/// `AgentCertificate::from_bytes`, then `verify`.
pub fn certificate(data: &[u8]) {
    let v = vectors();
    let Ok(cert) = AgentCertificate::from_bytes(data) else {
        return;
    };
    assert_eq!(cert.to_bytes(), data, "non-canonical certificate");
    let at_start = cert.verify(&v.org_public, cert.not_before());
    match cert.verify(&v.org_public, v.now) {
        Ok(()) => {
            assert!(cert.not_before() <= v.now && v.now <= cert.not_after());
            assert_eq!(cert.org_key_id(), v.org_public.key_id());
            assert_eq!(at_start, Ok(()));
        }
        Err(Error::CertificateNotYetValid) => assert!(v.now < cert.not_before()),
        Err(Error::CertificateExpired) => assert!(v.now > cert.not_after()),
        Err(e) => {
            assert!(
                matches!(e, Error::BadCertificate | Error::WrongOrganization),
                "{e:?}"
            );
            assert_eq!(at_start, Err(e));
        }
    }
}

/// Checks a session that import accepted: it exports and imports back the same, and works.
fn check_imported(mut session: Session, key: &StorageKey) {
    let config = session.config();
    assert!(config.max_skip <= hushwire::MAX_SKIP_LIMIT);
    assert!(config.max_stored_skipped <= hushwire::MAX_STORED_SKIPPED_LIMIT);
    let again = Session::import(&session.export(key).expect("export"), key).expect("re-import");
    assert_eq!(again.session_id(), session.session_id());
    assert_eq!(again.role(), session.role());
    assert_eq!(again.agent_id(), session.agent_id());
    assert_eq!(again.device_id(), session.device_id());
    assert_eq!(again.handshake_hash(), session.handshake_hash());
    assert_eq!(again.config(), config);
    assert_eq!(again.safety_code(), session.safety_code());
    match session.seal(b"after import") {
        Ok(env) => assert_eq!(env.session_id(), session.session_id()),
        Err(e) => assert_eq!(e, Error::SessionExhausted),
    }
}

/// `Session::import`. First byte even: the rest is the export text. Odd: the rest is sealed
/// as session state with `seal_state_for_fuzzing`, reaching the decoder behind the AEAD.
pub fn session_import(data: &[u8]) {
    let v = vectors();
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 2 != 0 && mode & 1 == 0 {
        // The binary form on arbitrary bytes.
        match Session::import_bytes(rest, &v.storage_key) {
            Ok(session) => check_imported(session, &v.storage_key),
            Err(e) => assert!(!e.code().is_empty()),
        }
        return;
    }
    let text = if mode & 1 == 0 {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        hushwire::test_vectors::seal_state_for_fuzzing(&v.storage_key, rest)
    };
    let imported = Session::import(&text, &v.storage_key);
    if mode & 1 != 0 {
        // The binary form of the same export must give the same answer.
        let binary = Session::import_bytes(&base64url(&text), &v.storage_key);
        assert_eq!(binary.as_ref().err(), imported.as_ref().err());
    }
    match imported {
        Ok(session) => check_imported(session, &v.storage_key),
        Err(e) => assert!(!e.code().is_empty()),
    }
}

/// Unpadded base64url to bytes, for text the library itself produced.
fn base64url(text: &str) -> Vec<u8> {
    let (mut acc, mut bits, mut out) = (0u32, 0, Vec::new());
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => panic!("the library's own export is base64url"),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// `AgentIdentity::import` on arbitrary text. An identity it accepts must export back and
/// complete a handshake that its certificate makes valid.
pub fn agent_identity_import(data: &[u8]) {
    let v = vectors();
    let text = String::from_utf8_lossy(data);
    let Ok(agent) = AgentIdentity::import(&text, &v.storage_key) else {
        return;
    };
    let again = AgentIdentity::import(&agent.export(&v.storage_key).expect("export"), &v.storage_key)
        .expect("re-import");
    assert_eq!(again.certificate().to_bytes(), agent.certificate().to_bytes());
    let cert = agent.certificate();
    let (mut handshake, hello) = VisitorHandshake::start(&agent.org_public_key()).expect("start");
    let (_, reply) = agent.accept(&hello).expect("accept");
    let visitor = handshake.finish_at(&reply, cert.not_before()).expect("finish");
    assert_eq!(visitor.agent_id(), cert.agent_id());
}

/// Session state (docs/PROTOCOL.md §8) of one side of the vectors' session, before any
/// message.
fn fresh_state(visitor: bool) -> Vec<u8> {
    let v = vectors();
    let mut s = vec![1, if visitor { 1 } else { 2 }];
    s.extend_from_slice(&v.session_id);
    s.extend_from_slice(&v.handshake_hash);
    for id in [
        v.agent.certificate().agent_id(),
        v.agent.certificate().device_id(),
    ] {
        s.push(id.len() as u8);
        s.extend_from_slice(id.as_bytes());
    }
    let (send, recv) = if visitor { (v.v2a, v.a2v) } else { (v.a2v, v.v2a) };
    s.extend_from_slice(&send);
    s.extend_from_slice(&0u32.to_be_bytes());
    s.extend_from_slice(&recv);
    s.extend_from_slice(&0u32.to_be_bytes());
    s.extend_from_slice(&1000u32.to_be_bytes());
    s.extend_from_slice(&1000u32.to_be_bytes());
    s.extend_from_slice(&0u32.to_be_bytes());
    s
}

/// What a receiver must do with an original message, per the documented rules.
struct Model {
    next: u32,
    stored: BTreeSet<u32>,
    config: SessionConfig,
}

impl Model {
    fn predict(&self, counter: u32) -> Result<(), Error> {
        if counter < self.next {
            if self.stored.contains(&counter) {
                Ok(())
            } else {
                Err(Error::Replay)
            }
        } else if counter - self.next > self.config.max_skip {
            Err(Error::TooFarAhead)
        } else {
            Ok(())
        }
    }
    fn accept(&mut self, counter: u32) {
        if counter < self.next {
            self.stored.remove(&counter);
            return;
        }
        self.stored.extend(self.next..counter);
        self.next = counter + 1;
        while self.stored.len() > self.config.max_stored_skipped as usize {
            self.stored.pop_first();
        }
    }
}

/// What a `relay` run exercised (the seed replay checks the seeds reach every outcome).
#[derive(Debug, Default, Clone, Copy)]
pub struct RelayStats {
    /// Messages `open` accepted.
    pub accepted: usize,
    /// Original messages refused, as the model predicted (replay, too far ahead, evicted).
    pub refused_originals: usize,
    /// Reflected originals, refused.
    pub refused_reflected: usize,
    /// Altered or injected bytes, refused.
    pub refused_forgeries: usize,
}

/// Two sessions (0 = visitor, 1 = agent) and a relay driven by the input: seal, deliver,
/// duplicate, drop, reorder, alter, truncate, inject, misroute, deliver as text, persist and
/// restore. Whatever `open` accepts must be exactly what was sent under that counter, never
/// twice; originals must get exactly the model's verdict; anything else must be refused.
pub fn relay(data: &[u8]) -> RelayStats {
    let mut stats = RelayStats::default();
    let v = vectors();
    let mut input = Input { data };
    let config = SessionConfig {
        // max_skip 0 is refused (docs/PROTOCOL.md §10); 1 stands in for it.
        max_skip: u32::from(input.u8() % 24).max(1),
        max_stored_skipped: u32::from(input.u8() % 24),
    };
    let mut sessions = [true, false].map(|visitor| {
        let text = hushwire::test_vectors::seal_state_for_fuzzing(&v.storage_key, &fresh_state(visitor));
        let mut s = Session::import(&text, &v.storage_key).expect("fresh state imports");
        s.set_config(config).expect("config");
        s
    });
    let mut models = [0, 1].map(|_| Model {
        next: 0,
        stored: BTreeSet::new(),
        config,
    });
    // sent[side][counter] = (envelope bytes, plaintext)
    let mut sent: [Vec<(Vec<u8>, Vec<u8>)>; 2] = [Vec::new(), Vec::new()];
    let mut accepted: [HashSet<u32>; 2] = [HashSet::new(), HashSet::new()];
    // In flight: (destination side, bytes).
    let mut queue: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut steps = 0;
    while !input.is_empty() && steps < 400 {
        steps += 1;
        let op = input.u8() % 12;
        let pick = |input: &mut Input, len: usize| (len > 0).then(|| input.u8() as usize % len);
        match op {
            0 | 1 => {
                let side = (op & 1) as usize;
                if sent[side].len() >= 300 {
                    continue;
                }
                let len = input.u8() as usize * 3;
                let plaintext: Vec<u8> = (0..len).map(|i| (i + sent[side].len() + side) as u8).collect();
                let env = sessions[side].seal(&plaintext).expect("seal");
                assert_eq!(env.counter() as usize, sent[side].len());
                sent[side].push((env.to_bytes(), plaintext));
                if queue.len() < 64 {
                    queue.push((1 - side, env.to_bytes()));
                }
            }
            2 | 3 => {
                // Deliver (3: through the text form).
                let Some(i) = pick(&mut input, queue.len()) else {
                    continue;
                };
                let (dest, bytes) = queue.remove(i);
                let parsed = if op == 2 {
                    Envelope::from_bytes(&bytes)
                } else {
                    Envelope::from_bytes(&bytes).and_then(|env| env.to_string().parse())
                };
                let result = parsed.and_then(|env| sessions[dest].open(&env).map(|pt| (env.counter(), pt)));
                let sender = 1 - dest;
                let original = sent[sender].iter().position(|(b, _)| *b == bytes);
                let reflected = sent[dest].iter().any(|(b, _)| *b == bytes);
                match result {
                    Ok((counter, plaintext)) => {
                        assert_eq!(
                            original,
                            Some(counter as usize),
                            "accepted bytes that were not sent"
                        );
                        assert_eq!(plaintext, sent[sender][counter as usize].1, "wrong plaintext");
                        assert!(accepted[dest].insert(counter), "message {counter} accepted twice");
                        assert_eq!(models[dest].predict(counter), Ok(()));
                        models[dest].accept(counter);
                        stats.accepted += 1;
                    }
                    Err(e) => {
                        if let Some(counter) = original {
                            assert_eq!(models[dest].predict(counter as u32), Err(e), "original refused");
                            stats.refused_originals += 1;
                        } else if reflected {
                            assert_eq!(e, Error::Reflected);
                            stats.refused_reflected += 1;
                        } else {
                            stats.refused_forgeries += 1;
                        }
                    }
                }
            }
            4 => {
                if let Some(i) = pick(&mut input, queue.len()) {
                    if queue.len() < 64 {
                        let copy = queue[i].clone();
                        queue.push(copy);
                    }
                }
            }
            5 => {
                if let Some(i) = pick(&mut input, queue.len()) {
                    queue.remove(i);
                }
            }
            6 => {
                // Reorder: move one message to the back.
                if let Some(i) = pick(&mut input, queue.len()) {
                    let m = queue.remove(i);
                    queue.push(m);
                }
            }
            7 => {
                // Alter one byte.
                if let Some(i) = pick(&mut input, queue.len()) {
                    let (at, xor) = (input.u16() as usize, input.u8().max(1));
                    let bytes = &mut queue[i].1;
                    if !bytes.is_empty() {
                        let at = at % bytes.len();
                        bytes[at] ^= xor;
                    }
                }
            }
            8 => {
                // Truncate or extend.
                if let Some(i) = pick(&mut input, queue.len()) {
                    let n = input.u16() as usize;
                    let bytes = &mut queue[i].1;
                    if n & 1 == 0 {
                        bytes.truncate((n >> 1) % (bytes.len() + 1));
                    } else {
                        bytes.push((n >> 1) as u8);
                    }
                }
            }
            9 => {
                // Inject attacker bytes.
                let dest = (input.u8() & 1) as usize;
                let len = input.u16() as usize % 600;
                let bytes = input.bytes(len).to_vec();
                if queue.len() < 64 {
                    queue.push((dest, bytes));
                }
            }
            10 => {
                // Misroute: send it back to its sender.
                if let Some(i) = pick(&mut input, queue.len()) {
                    queue[i].0 ^= 1;
                }
            }
            _ => {
                // Persist and restore one side (its current state: nothing is re-opened).
                let side = (input.u8() & 1) as usize;
                let text = sessions[side].export(&v.storage_key).expect("export");
                sessions[side] = Session::import(&text, &v.storage_key).expect("import");
            }
        }
    }
    stats
}

/// The fixed-key attachments of the `attachment` target: a one-segment file and a file of
/// three segments (two full), with their manifests.
struct Attachments {
    small: (hushwire::attachment::Manifest, Vec<u8>),
    large: (hushwire::attachment::Manifest, Vec<u8>),
    large_plain: Vec<u8>,
}

fn attachments() -> &'static Attachments {
    static A: OnceLock<Attachments> = OnceLock::new();
    A.get_or_init(|| {
        let meta = || hushwire::attachment::Metadata::new("image/png").unwrap();
        let large_plain: Vec<u8> = (0..131_072u32).map(|i| (i % 251) as u8).collect();
        Attachments {
            small: hushwire::test_vectors::attachment_for_fuzzing(
                b"fuzz",
                meta().with_name("f.png").unwrap(),
            ),
            large: hushwire::test_vectors::attachment_for_fuzzing(&large_plain, meta()),
            large_plain,
        }
    })
}

/// Decrypt `blob` with the in-memory and the streaming reader; they must agree, and a blob
/// opens exactly when it is the reference one.
fn open_attachment(manifest: &hushwire::attachment::Manifest, blob: &[u8], reference: &[u8], plain: &[u8]) {
    use std::io::Read;
    let whole = hushwire::attachment::decrypt_to_vec(manifest, blob);
    let mut out = Vec::new();
    let streamed = hushwire::attachment::Decryptor::new(manifest, blob)
        .read_to_end(&mut out)
        .map(|_| out)
        .map_err(|e| {
            Error::from_io(&e)
                .cloned()
                .expect("only hushwire errors from a slice")
        });
    assert_eq!(whole, streamed, "the two readers disagree");
    // The push opener (what the async and foreign-language adapters use), fed in pieces
    // whose size the blob's length picks, none aligned with a segment.
    let piece = 1 + blob.len() % 9_973;
    let mut opener = hushwire::attachment::Opener::new(manifest);
    let mut pushed = Vec::new();
    let pushed = blob
        .chunks(piece)
        .try_for_each(|p| opener.update(p, &mut pushed))
        .and_then(|()| opener.finish())
        .map(|()| pushed);
    assert_eq!(whole, pushed, "the push opener disagrees");
    match whole {
        Ok(p) => {
            assert_eq!(blob, reference, "an altered blob opened");
            assert_eq!(p, plain);
        }
        Err(e) => {
            assert_ne!(blob, reference, "the reference blob was refused");
            assert_eq!(e, Error::AttachmentCorrupted);
        }
    }
}

/// `attachment`: first byte mod 3 picks the mode. 0: `Manifest::from_bytes` (canonical: an
/// accepted manifest re-encodes to the input). 1: the input is a blob for the small file's
/// manifest. 2: the input is a list of 5-byte edits (op, u32 position) applied to the large
/// file's blob — flip a bit, truncate, insert a byte, remove 16 bytes, copy one segment over
/// another — and the result is opened. Accepted exactly when unaltered; all three readers
/// (in memory, `Read`, push `Opener`) agree.
pub fn attachment(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let a = attachments();
    match mode % 3 {
        0 => {
            if let Ok(m) = hushwire::attachment::Manifest::from_bytes(rest) {
                assert_eq!(&m.to_bytes()[..], rest, "manifest decoding is not canonical");
            }
        }
        1 => open_attachment(&a.small.0, rest, &a.small.1, b"fuzz"),
        _ => {
            let reference = &a.large.1;
            let mut blob = reference.clone();
            let seg = 65_536 + 16;
            for edit in rest.chunks_exact(5) {
                let pos = u32::from_be_bytes([edit[1], edit[2], edit[3], edit[4]]) as usize;
                let at = if blob.is_empty() { 0 } else { pos % blob.len() };
                match edit[0] % 5 {
                    0 if !blob.is_empty() => blob[at] ^= 1 << (edit[0] >> 5),
                    1 => blob.truncate(at),
                    2 => blob.insert(at, edit[0]),
                    3 => drop(blob.drain(at..(at + 16).min(blob.len()))),
                    4 => {
                        let (from, to) = (35 + (pos % 2) * seg, 35 + ((pos >> 8) % 2) * seg);
                        if blob.len() >= 35 + 2 * seg {
                            let copy = blob[from..from + seg].to_vec();
                            blob[to..to + seg].copy_from_slice(&copy);
                        }
                    }
                    _ => {}
                }
            }
            open_attachment(&a.large.0, &blob, reference, &a.large_plain);
        }
    }
}

/// A v2 pair (0 = visitor, 1 = agent) through the hybrid handshake, with `config` on both.
fn v2_pair(config: SessionConfig) -> [Session; 2] {
    let v = vectors();
    let (mut handshake, hello) = VisitorHandshake::start(&v.org_public).expect("start");
    let (mut agent, reply) = v.agent.accept(&hello).expect("accept");
    let mut visitor = handshake.finish_at(&reply, v.now).expect("finish");
    visitor.set_config(config).expect("config");
    agent.set_config(config).expect("config");
    [visitor, agent]
}

/// `relay` for protocol v2 (docs/PROTOCOL.md §17): the same attacker-relay operations over a
/// pair that ratchets whenever the speaking direction changes. No counter model here (chains
/// restart at every step); instead: whatever `open` accepts is exactly one message the peer
/// sealed, with its plaintext, never twice; altered, injected, misrouted or replayed bytes are
/// refused (genuine ones only as replays or too far ahead); and the two sides keep talking
/// after any of it.
pub fn relay_v2(data: &[u8]) -> RelayStats {
    let mut stats = RelayStats::default();
    let v = vectors();
    let mut input = Input { data };
    let config = SessionConfig {
        max_skip: u32::from(input.u8() % 24).max(1),
        max_stored_skipped: u32::from(input.u8() % 24),
    };
    let mut sessions = v2_pair(config);
    // sent[side] = (envelope bytes, plaintext), in sealing order.
    let mut sent: [Vec<(Vec<u8>, Vec<u8>)>; 2] = [Vec::new(), Vec::new()];
    let mut accepted: [HashSet<usize>; 2] = [HashSet::new(), HashSet::new()];
    let mut queue: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut steps = 0;
    while !input.is_empty() && steps < 300 {
        steps += 1;
        let op = input.u8() % 10;
        let pick = |input: &mut Input, len: usize| (len > 0).then(|| input.u8() as usize % len);
        match op {
            0 | 1 => {
                let side = (op & 1) as usize;
                if sent[side].len() >= 200 {
                    continue;
                }
                let len = input.u8() as usize * 3;
                let plaintext: Vec<u8> = (0..len).map(|i| (i + sent[side].len() + side) as u8).collect();
                let env = sessions[side].seal(&plaintext).expect("seal");
                assert_eq!(env.version(), 2);
                sent[side].push((env.to_bytes(), plaintext));
                if queue.len() < 64 {
                    queue.push((1 - side, env.to_bytes()));
                }
            }
            2 => {
                let Some(i) = pick(&mut input, queue.len()) else {
                    continue;
                };
                let (dest, bytes) = queue.remove(i);
                let sender = 1 - dest;
                let original = sent[sender].iter().position(|(b, _)| *b == bytes);
                let result = Envelope::from_bytes(&bytes).and_then(|env| sessions[dest].open(&env));
                match result {
                    Ok(plaintext) => {
                        let i = original.expect("accepted bytes that were not sent");
                        assert_eq!(plaintext, sent[sender][i].1, "wrong plaintext");
                        assert!(accepted[dest].insert(i), "message {i} accepted twice");
                        stats.accepted += 1;
                    }
                    Err(e) => {
                        match original {
                            Some(i) => {
                                // Refused genuine messages: replays, evicted or too far ahead;
                                // or of a chain closed more than five steps ago, whose key is
                                // then taken for a new one and fails (docs/PROTOCOL.md §17.4).
                                assert!(
                                    matches!(e, Error::Replay | Error::TooFarAhead | Error::Tampered),
                                    "original {i} refused with {e:?}"
                                );
                                stats.refused_originals += 1;
                            }
                            None if sent[dest].iter().any(|(b, _)| *b == bytes) => {
                                assert_eq!(e, Error::Reflected);
                                stats.refused_reflected += 1;
                            }
                            None => stats.refused_forgeries += 1,
                        }
                    }
                }
            }
            3 => {
                if let Some(i) = pick(&mut input, queue.len()) {
                    if queue.len() < 64 {
                        let copy = queue[i].clone();
                        queue.push(copy);
                    }
                }
            }
            4 => {
                if let Some(i) = pick(&mut input, queue.len()) {
                    queue.remove(i);
                }
            }
            5 => {
                // Alter one byte (header, ratchet key, pn, nonce or body).
                if let Some(i) = pick(&mut input, queue.len()) {
                    let (at, xor) = (input.u16() as usize, input.u8().max(1));
                    let bytes = &mut queue[i].1;
                    if !bytes.is_empty() {
                        let at = at % bytes.len();
                        bytes[at] ^= xor;
                    }
                }
            }
            6 => {
                // Inject: a genuine header with the ratchet key, pn or counter rewritten.
                if let Some(i) = pick(&mut input, queue.len()) {
                    let mut bytes = queue[i].1.clone();
                    let field = 19 + (input.u8() as usize % 40);
                    if bytes.len() > 59 {
                        bytes[field] = input.u8();
                    }
                    if queue.len() < 64 {
                        queue.push((queue[i].0, bytes));
                    }
                }
            }
            7 => {
                if let Some(i) = pick(&mut input, queue.len()) {
                    queue[i].0 ^= 1;
                }
            }
            8 => {
                // Replay an old genuine message of either side to either side.
                let side = (input.u8() & 1) as usize;
                if let Some(i) = pick(&mut input, sent[side].len()) {
                    if queue.len() < 64 {
                        queue.push((1 - side, sent[side][i].0.clone()));
                    }
                }
            }
            _ => {
                // Persist and restore one side.
                let side = (input.u8() & 1) as usize;
                let text = sessions[side].export(&v.storage_key).expect("export");
                sessions[side] = Session::import(&text, &v.storage_key).expect("import");
            }
        }
    }
    // Whatever happened, the sides can still talk: a fresh message opens, unless more than
    // `max_skip` messages were lost before it (on its chain or, as `pn`, the one before).
    for side in [0, 1] {
        let env = sessions[side].seal(b"still talking").expect("seal");
        match sessions[1 - side].open(&env) {
            Ok(text) => assert_eq!(text, b"still talking"),
            Err(e) => assert_eq!(e, Error::TooFarAhead, "a fresh message after the run"),
        }
    }
    stats
}

/// A conversation of the visitor (0), a bot (1), an agent (2) and a supervisor (3) of one
/// organisation, and a relay driven by the input. Each operation is one byte, then its
/// arguments: `0 m` member m seals; `1 m` org member m whispers; `2 k` deliver in-flight
/// envelope k (any order); `3 k` duplicate k; `4 k` drop k; `5 k i b` deliver k with byte i
/// xor b; `6 k t` hand k to every member (only its recipient may open it); `7 m n bytes` open n raw bytes at member m;
/// `8 m t` m removes t; `9 m t` m grants t history then transfers to it; `10 m` m exports
/// and re-imports; `11 m` m leaves. Asserts: whatever `open` accepts is exactly what the
/// named sender sealed for that member; nothing opens anywhere else; altered bytes and raw
/// input never open; a removed or departed member opens nothing; current members agree on
/// the roster code whenever every roster event was delivered.
pub fn conversation(data: &[u8]) {
    use hushwire::conversation::{Conversation, MemberId, Outgoing, Received};
    use hushwire::OrgRole;

    const NOW: u64 = 1_800_000_000;
    let mut input = Input { data };
    let org = OrgSigningKey::from_secret_bytes(&[7; 32]);
    let org_pk = org.public_key();
    let ident = |n: u8, role| {
        let key = AgentKey::from_secret_bytes(&[n; 32]);
        let cert = org
            .certify(
                &key.public_key(),
                &format!("member-{n}"),
                "dev",
                role,
                0,
                u64::MAX,
            )
            .expect("certify");
        AgentIdentity::new(key, cert, &org_pk).expect("identity")
    };
    let ids = [
        ident(1, OrgRole::Bot),
        ident(2, OrgRole::Agent),
        ident(3, OrgRole::Supervisor),
    ];
    let member = |i: usize| -> MemberId {
        if i == 0 {
            MemberId::visitor()
        } else {
            MemberId::of_certificate(ids[i - 1].certificate())
        }
    };
    // Build the four-member conversation (roster events delivered reliably).
    let (mut hs, hello) = VisitorHandshake::start(&org_pk).expect("start");
    let (bot_side, reply) = ids[0].accept(&hello).expect("accept");
    let (bot, welcome) = Conversation::create(&ids[0], bot_side).expect("create");
    let v = Conversation::join_as_visitor(
        &org_pk,
        hs.finish_at(&reply, NOW).expect("finish"),
        &welcome.envelope,
    )
    .expect("join");
    let mut convs: Vec<Option<Conversation>> = vec![Some(v), Some(bot), None, None];
    for new in 1..3usize {
        let outs = convs[1]
            .as_mut()
            .expect("bot")
            .invite(ids[new].certificate())
            .expect("invite");
        for o in outs {
            let to = (0..4).find(|&i| member(i) == o.to).expect("recipient");
            convs[to]
                .as_mut()
                .expect("member")
                .open(&o.envelope)
                .expect("event");
        }
        // Every earlier org member connects to the new one; the bot welcomes it.
        for earlier in 1..=new {
            let (mut init, m1) = ids[earlier - 1].start_org_handshake().expect("xx1");
            let (mut resp, m2) = ids[new].accept_org_handshake(&m1).expect("xx2");
            let (a, m3) = init.finish_at(&m2, NOW).expect("xx3");
            let b = resp.finish_at(&m3, NOW).expect("xx4");
            convs[earlier]
                .as_mut()
                .expect("member")
                .attach_org(a)
                .expect("attach");
            if earlier == 1 {
                let w = convs[1]
                    .as_mut()
                    .expect("bot")
                    .welcome(ids[new].certificate())
                    .expect("welcome");
                convs[new + 1] =
                    Some(Conversation::join_as_org(&ids[new], b, &w.envelope).expect("join org"));
            } else {
                convs[new + 1]
                    .as_mut()
                    .expect("new")
                    .attach_org(b)
                    .expect("attach");
            }
        }
        let (mut hs, hello) = VisitorHandshake::start(&org_pk).expect("start");
        let (agent_side, reply) = ids[new].accept(&hello).expect("accept");
        convs[new + 1]
            .as_mut()
            .expect("new")
            .attach_visitor(agent_side)
            .expect("attach visitor");
        let present = convs[0]
            .as_mut()
            .expect("visitor")
            .attach_agent(hs.finish_at(&reply, NOW).expect("finish"))
            .expect("attach agent");
        convs[new + 1]
            .as_mut()
            .expect("new")
            .open(&present.envelope)
            .expect("present");
    }
    let storage = StorageKey::from_bytes(&[9; 32]);
    // In flight: (envelope, sender index, recipient index, text, whisper).
    let mut flight: Vec<(Outgoing, usize, usize, Vec<u8>, bool)> = Vec::new();
    let mut gone = [false; 4];
    let mut seq = 0u32;
    let index_of = |m: &MemberId| (0..4).find(|&i| member(i) == *m);
    while !input.is_empty() {
        let op = input.u8() % 12;
        let m = usize::from(input.u8() % 4);
        match op {
            0 | 1 => {
                let whisper = op == 1;
                let Some(c) = convs[m].as_mut() else { continue };
                seq += 1;
                let text = seq.to_be_bytes().to_vec();
                let r = if whisper { c.whisper(&text) } else { c.seal(&text) };
                match r {
                    Ok(outs) => {
                        for o in outs {
                            let to = index_of(&o.to).expect("recipient is a member");
                            assert!(!(whisper && to == 0), "whisper sealed for the visitor");
                            assert!(!gone[to], "sealed for a departed member");
                            flight.push((o, m, to, text.clone(), whisper));
                        }
                    }
                    Err(e) => assert!(gone[m] || (whisper && m == 0), "seal failed for a member: {e:?}"),
                }
            }
            2..=6 if !flight.is_empty() => {
                let k = usize::from(input.u8()) % flight.len();
                let entry = if op == 3 {
                    flight[k].clone()
                } else {
                    flight.remove(k)
                };
                if op == 4 {
                    continue;
                }
                let (out, from, to, text, whisper) = entry;
                let mut bytes = out.envelope.to_bytes();
                let mut target = to;
                if op == 5 {
                    let i = usize::from(input.u16()) % bytes.len();
                    bytes[i] ^= input.u8().max(1);
                }
                if op == 6 {
                    target = usize::from(input.u8() % 4);
                }
                let altered = op == 5;
                for (i, c) in convs.iter_mut().enumerate() {
                    let Some(c) = c.as_mut() else { continue };
                    let Ok(env) = Envelope::from_bytes(&bytes) else {
                        continue;
                    };
                    if i != target && op != 6 {
                        continue;
                    }
                    let r = c.open(&env);
                    match r {
                        Ok(Received::Message { from: f, text: t, .. }) => {
                            assert!(!altered && !whisper && i == to && !gone[i]);
                            assert_eq!((f, t), (member(from), text.clone()));
                        }
                        Ok(Received::Whisper { from: f, text: t, .. }) => {
                            assert!(!altered && whisper && i == to && i != 0 && !gone[i]);
                            assert_eq!((f, t), (member(from), text.clone()));
                        }
                        Ok(other) => panic!("unexpected {other:?}"),
                        Err(_) => {}
                    }
                }
            }
            7 => {
                let n = usize::from(input.u8());
                let raw = input.bytes(n);
                if let (Some(c), Ok(env)) = (convs[m].as_mut(), Envelope::from_bytes(raw)) {
                    assert!(c.open(&env).is_err(), "raw bytes opened");
                }
            }
            8 | 9 | 11 => {
                let t = usize::from(input.u8() % 4);
                let Some(c) = convs[m].as_mut() else { continue };
                let r = match op {
                    8 => c.remove(&member(t)),
                    9 => c.grant_history(&member(t), b"history").and_then(|mut a| {
                        c.transfer(&member(t)).map(|b| {
                            a.extend(b);
                            a
                        })
                    }),
                    _ => c.leave(),
                };
                let Ok(outs) = r else { continue };
                for o in outs {
                    let to = index_of(&o.to).expect("recipient");
                    if let Some(c) = convs[to].as_mut() {
                        let r = c.open(&o.envelope);
                        assert!(
                            matches!(r, Ok(Received::Roster { .. }) | Ok(Received::History { .. })),
                            "{r:?}"
                        );
                    }
                }
                for (i, c) in convs.iter().enumerate() {
                    if let Some(c) = c {
                        gone[i] = !c.is_member();
                    }
                }
                // Everything still in flight for a departed member is moot.
                let codes: Vec<String> = convs
                    .iter()
                    .zip(gone)
                    .filter_map(|(c, g)| c.as_ref().filter(|_| !g).map(Conversation::roster_code))
                    .collect();
                assert!(codes.windows(2).all(|w| w[0] == w[1]), "roster codes differ");
            }
            10 => {
                let Some(c) = convs[m].take() else { continue };
                let text = c.export(&storage).expect("export");
                convs[m] = Some(Conversation::import(&text, &storage).expect("import"));
            }
            _ => {}
        }
    }
}
