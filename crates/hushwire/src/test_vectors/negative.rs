//! `docs/vectors/negative.json`: inputs every implementation must refuse, each with the error
//! code (and for `MALFORMED` the decoder's reason) it must refuse it with, in the style of
//! age's testkit. Every case is reachable through each binding's public API: sessions and
//! identities are given as exports sealed under the file's storage key.
//!
//! Randomness: a separate generator seeded with `SEED || "/negative"`, so that the positive
//! vectors do not move when a case is added.

// A generator over fixed inputs: a failed step is a bug in the library, reported loudly.
#![allow(clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use alloc::{
    borrow::ToOwned,
    format,
    string::{String, ToString},
    vec,
    vec::Vec,
};
use ed25519_dalek::Signer;

use super::{hex, s, VectorRng, J, SEED};
use crate::cipher;
use crate::encoding::{self, Reader};
use crate::storage::{self, Kind};
use crate::{
    noise, ratchet, AgentIdentity, OrgSigningKey, Session, StorageKey, VisitorHandshake, MAX_PLAINTEXT_LEN,
};

/// `p = 2^255 - 19`, little-endian.
const P_LE: [u8; 32] = {
    let mut p = [0xffu8; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    p
};

/// The handshake of handshake.json from the visitor's side, before the reply: the generator's
/// first 64 bytes are the organisation seed and the agent secret, the next 48 the session id
/// and the visitor's ephemeral secret. Failed replies leave it usable, so one serves every
/// `finish` case.
pub fn vector_visitor_handshake(org: &crate::OrgPublicKey) -> VisitorHandshake {
    let mut rng = VectorRng::new(SEED);
    let _: [u8; 64] = super::draw(&mut rng);
    VisitorHandshake::start_with_rng(org, crate::PROTOCOL_VERSION, &mut rng)
        .map(|(hs, _)| hs)
        .expect("vector handshake")
}

/// A decoded session state (docs/PROTOCOL.md §8.2), for crafting invalid ones.
#[derive(Clone)]
struct State {
    head: Vec<u8>, // version, role, session id, handshake hash
    agent_id: Vec<u8>,
    device_id: Vec<u8>,
    send_ck: [u8; 32],
    send_next: u32,
    recv_ck: [u8; 32],
    recv_next: u32,
    max_skip: u32,
    max_stored: u32,
    count: Option<u32>,
    skipped: Vec<(u32, [u8; 32])>,
    trailing: Vec<u8>,
}

impl State {
    fn parse(bytes: &[u8]) -> State {
        let mut r = Reader::new(bytes);
        let head = r.take(50).expect("state").to_vec();
        let mut id = || {
            let n = r.u8().expect("len") as usize;
            r.take(n).expect("id").to_vec()
        };
        let agent_id = id();
        let device_id = id();
        let send_ck = r.array().expect("ck");
        let send_next = r.u32().expect("n");
        let recv_ck = r.array().expect("ck");
        let recv_next = r.u32().expect("n");
        let max_skip = r.u32().expect("n");
        let max_stored = r.u32().expect("n");
        let count = r.u32().expect("n");
        let skipped = (0..count)
            .map(|_| (r.u32().expect("n"), r.array().expect("mk")))
            .collect();
        State {
            head,
            agent_id,
            device_id,
            send_ck,
            send_next,
            recv_ck,
            recv_next,
            max_skip,
            max_stored,
            count: None,
            skipped,
            trailing: Vec::new(),
        }
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = self.head.clone();
        for id in [&self.agent_id, &self.device_id] {
            out.push(id.len() as u8);
            out.extend_from_slice(id);
        }
        out.extend_from_slice(&self.send_ck);
        out.extend_from_slice(&self.send_next.to_be_bytes());
        out.extend_from_slice(&self.recv_ck);
        out.extend_from_slice(&self.recv_next.to_be_bytes());
        out.extend_from_slice(&self.max_skip.to_be_bytes());
        out.extend_from_slice(&self.max_stored.to_be_bytes());
        let count = self.count.unwrap_or(self.skipped.len() as u32);
        out.extend_from_slice(&count.to_be_bytes());
        for (n, k) in &self.skipped {
            out.extend_from_slice(&n.to_be_bytes());
            out.extend_from_slice(k);
        }
        out.extend_from_slice(&self.trailing);
        out
    }
}

struct Gen {
    rng: VectorRng,
    key: StorageKey,
    cases: Vec<J>,
}

impl Gen {
    fn seal(&mut self, kind: Kind, plain: &[u8]) -> String {
        storage::seal_text(&self.key, kind, plain, &mut self.rng).expect("seal")
    }

    fn case(
        &mut self,
        name: &str,
        op: &str,
        mut fields: Vec<(&'static str, J)>,
        code: &str,
        reason: Option<&str>,
    ) {
        let mut c = vec![("name", s(name)), ("op", s(op))];
        c.append(&mut fields);
        c.push(("code", s(code)));
        if let Some(r) = reason {
            c.push(("reason", s(r)));
        }
        self.cases.push(J::O(c));
    }
}

fn flip(bytes: &[u8], i: usize) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[i] ^= 0x01;
    b
}

fn with(bytes: &[u8], i: usize, v: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[i..i + v.len()].copy_from_slice(v);
    b
}

/// A certificate with any field values, signed over its body with `signer`.
#[allow(clippy::too_many_arguments)]
fn cert(
    signer: &ed25519_dalek::SigningKey,
    key_id: &[u8; 8],
    key: &[u8; 32],
    nb: u64,
    na: u64,
    agent_id: &[u8],
    device_id: &[u8],
) -> Vec<u8> {
    let mut body = vec![1u8];
    body.extend_from_slice(key_id);
    body.extend_from_slice(key);
    body.extend_from_slice(&nb.to_be_bytes());
    body.extend_from_slice(&na.to_be_bytes());
    for id in [agent_id, device_id] {
        body.push(id.len() as u8);
        body.extend_from_slice(id);
    }
    let mut signed = b"hushwire/v1/agent-certificate\0".to_vec();
    signed.extend_from_slice(&body);
    body.extend_from_slice(&signer.sign(&signed).to_bytes());
    body
}

/// `s` as a 32-byte little-endian integer plus `L`, the group order (a non-canonical `S`).
fn add_l(s: &[u8]) -> Vec<u8> {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut out = vec![0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let v = u16::from(s[i]) + u16::from(L[i]) + carry;
        out[i] = v as u8;
        carry = v >> 8;
    }
    out
}

/// A reply from the vector agent's static key for the vector visitor's hello, carrying
/// `payload` where the certificate goes.
fn forged_reply(hello: &[u8], agent_secret: &[u8; 32], payload: Vec<u8>, rng: &mut VectorRng) -> Vec<u8> {
    let mut prologue = b"hushwire/v1/handshake".to_vec();
    prologue.push(crate::PROTOCOL_VERSION);
    prologue.extend_from_slice(&hello[2..26]);
    let e = cipher::random_x25519(rng).expect("e");
    let key = crate::AgentKey::from_secret_bytes(agent_secret);
    let (msg, _) =
        noise::respond(&prologue, &hello[26..58], key.secret(), &e, None, |_| Ok(payload)).expect("respond");
    let mut out = vec![1u8, 2];
    out.extend_from_slice(&hello[2..18]);
    out.extend_from_slice(&msg);
    out
}

/// Append every negative case; returns the file.
pub(super) fn generate(
    org: &OrgSigningKey,
    agent: &AgentIdentity,
    agent_session: &Session,
    visitor_session: &Session,
    storage_key: &StorageKey,
    now: u64,
) -> J {
    let mut seed = SEED.to_vec();
    seed.extend_from_slice(b"/negative");
    let mut g = Gen {
        rng: VectorRng::new(&seed),
        key: storage_key.clone(),
        cases: Vec::new(),
    };
    let org_pk = org.public_key();
    let org_seed = *org.secret_bytes();
    let signer = ed25519_dalek::SigningKey::from_bytes(&org_seed);
    let key_id = org_pk.key_id();
    let agent_secret = *agent.key.secret_bytes();
    let agent_pk = agent.key.public_key();
    let good_cert = agent.certificate.to_bytes();

    // Sessions: the agent's (receives visitor counters from 4 on), and one that has sealed
    // counter 0xfffffffe.
    let agent_state = State::parse(&agent_session.state_bytes());
    let agent_export = g.seal(Kind::Session, &agent_state.bytes());
    let mut exhausted = agent_state.clone();
    exhausted.send_next = u32::MAX;
    let exhausted_export = g.seal(Kind::Session, &exhausted.bytes());
    let identity_export =
        encoding::to_base64(&agent.export_bytes_with_rng(&g.key, &mut g.rng).expect("identity"));

    // The visitor's next envelope (counter 4), and the key it was sealed with.
    let visitor_state = State::parse(&visitor_session.state_bytes());
    let mut visitor = Session::from_state_bytes(&visitor_state.bytes()).expect("copy");
    let base = visitor
        .seal_with_rng(b"negative vectors: base message", &mut g.rng)
        .expect("seal");
    let base_bytes = base.to_bytes();
    let base_text = base.to_string();
    let mk = {
        let mut ck = crate::ratchet::ChainKey(visitor_state.send_ck);
        ratchet::step(&mut ck)
    };
    let open = |input: Vec<u8>| vec![("session", s("agent")), ("input", hex(&input))];
    let open_text = |text: &str| vec![("session", s("agent")), ("input_text", s(text))];

    // Envelope decoding.
    let m = "MALFORMED";
    g.case("envelope: empty", "open", open(vec![]), m, Some("TooShort"));
    g.case(
        "envelope: version only",
        "open",
        open(vec![1]),
        m,
        Some("TooShort"),
    );
    g.case(
        "envelope: version 3",
        "open",
        open(with(&base_bytes, 0, &[3])),
        m,
        Some("UnsupportedVersion"),
    );
    g.case(
        "envelope: version 0",
        "open",
        open(with(&base_bytes, 0, &[0])),
        m,
        Some("UnsupportedVersion"),
    );
    g.case(
        "envelope: hello type",
        "open",
        open(with(&base_bytes, 1, &[1])),
        m,
        Some("UnexpectedType"),
    );
    g.case(
        "envelope: reserved type 0x40",
        "open",
        open(with(&base_bytes, 1, &[0x40])),
        m,
        Some("UnexpectedType"),
    );
    g.case(
        "envelope: 306 bytes, one below the minimum",
        "open",
        open(base_bytes[..306].to_vec()),
        m,
        Some("TooShort"),
    );
    g.case(
        "envelope: header only",
        "open",
        open(base_bytes[..23].to_vec()),
        m,
        Some("TooShort"),
    );
    let mut too_long = base_bytes.clone();
    too_long.resize(crate::MAX_ENVELOPE_LEN + 1, 0);
    g.case(
        "envelope: 67 672 bytes, one above the maximum",
        "open",
        open_text(&encoding::to_base64(&too_long)),
        m,
        Some("TooLong"),
    );
    g.case(
        "envelope: role 0",
        "open",
        open(with(&base_bytes, 18, &[0])),
        m,
        Some("InvalidField"),
    );
    g.case(
        "envelope: role 3",
        "open",
        open(with(&base_bytes, 18, &[3])),
        m,
        Some("InvalidField"),
    );
    g.case(
        "envelope: counter 0xffffffff",
        "open",
        open(with(&base_bytes, 19, &[0xff; 4])),
        m,
        Some("InvalidField"),
    );
    let mut longer = base_bytes.clone();
    longer.push(0);
    g.case(
        "envelope: padded length 257",
        "open",
        open(longer),
        m,
        Some("InvalidField"),
    );
    let mut p300 = base_bytes.clone();
    p300.resize(35 + 300 + 16, 0);
    g.case(
        "envelope: padded length 300",
        "open",
        open(p300),
        m,
        Some("InvalidField"),
    );

    // Base64url text.
    g.case(
        "base64url: with = padding",
        "open",
        open_text(&format!("{base_text}==")),
        m,
        Some("Base64"),
    );
    for (name, c) in [
        ("base64url: standard alphabet +", "+"),
        ("base64url: standard alphabet /", "/"),
        ("base64url: interior space", " "),
        ("base64url: interior newline", "\n"),
        ("base64url: non-ASCII character", "\u{e9}"),
    ] {
        let mut t = base_text.clone();
        t.insert_str(10, c);
        if c == "+" || c == "/" {
            t.remove(11);
        }
        g.case(name, "open", open_text(&t), m, Some("Base64"));
    }
    {
        // 307 bytes: the last character carries 2 data bits and 4 bits that must be zero.
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut t = base_text.clone().into_bytes();
        let last = t.len() - 1;
        let v = alphabet.iter().position(|&c| c == t[last]).expect("alphabet");
        t[last] = alphabet[v ^ 1];
        let t = String::from_utf8(t).expect("ascii");
        g.case(
            "base64url: non-zero trailing bits",
            "open",
            open_text(&t),
            m,
            Some("Base64"),
        );
        // 410 + 3 characters: a length of 1 mod 4 never encodes whole bytes.
        g.case(
            "base64url: length 1 mod 4",
            "open",
            open_text(&format!("{base_text}AAA")),
            m,
            Some("Base64"),
        );
    }

    // Session rules.
    g.case(
        "envelope: wrong session",
        "open",
        open(flip(&base_bytes, 2)),
        "WRONG_SESSION",
        None,
    );
    g.case(
        "envelope: reflected (sender is the receiver's role)",
        "open",
        open(with(&base_bytes, 18, &[2])),
        "REFLECTED",
        None,
    );
    let mut replay = open(base_bytes.clone());
    replay.insert(1, ("prior", J::A(vec![hex(&base_bytes)])));
    g.case("envelope: replay", "open", replay, "REPLAY", None);
    g.case(
        "envelope: old counter without a stored key",
        "open",
        open(with(&base_bytes, 19, &1u32.to_be_bytes())),
        "REPLAY",
        None,
    );
    g.case(
        "envelope: counter next + max_skip + 1",
        "open",
        open(with(&base_bytes, 19, &(4u32 + 1001).to_be_bytes())),
        "TOO_FAR_AHEAD",
        None,
    );
    g.case(
        "envelope: counter next + max_skip (in the window, forged)",
        "open",
        open(with(&base_bytes, 19, &(4u32 + 1000).to_be_bytes())),
        "TAMPERED",
        None,
    );
    g.case(
        "envelope: tampered counter",
        "open",
        open(with(&base_bytes, 19, &5u32.to_be_bytes())),
        "TAMPERED",
        None,
    );
    g.case(
        "envelope: tampered nonce",
        "open",
        open(flip(&base_bytes, 23)),
        "TAMPERED",
        None,
    );
    g.case(
        "envelope: tampered ciphertext",
        "open",
        open(flip(&base_bytes, 40)),
        "TAMPERED",
        None,
    );
    let tag = base_bytes.len() - 1;
    g.case(
        "envelope: tampered tag",
        "open",
        open(flip(&base_bytes, tag)),
        "TAMPERED",
        None,
    );

    // Authenticated (sealed with the right key) but not what a conforming sender produces.
    let header: [u8; 23] = base_bytes[..23].try_into().expect("header");
    let authentic = |padded: &[u8], rng: &mut VectorRng| -> Vec<u8> {
        let nonce: [u8; 12] = super::draw(rng);
        let mut out = header.to_vec();
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&cipher::aead_seal(&mk.0, &nonce, &header, padded));
        out
    };
    let e = authentic(&[0u8; 256], &mut g.rng);
    g.case(
        "padding: no 0x80 marker (authenticated)",
        "open",
        open(e),
        "TAMPERED",
        None,
    );
    let mut wrong_bucket = vec![0u8; 512];
    wrong_bucket[..10].copy_from_slice(b"ten bytes!");
    wrong_bucket[10] = 0x80;
    let e = authentic(&wrong_bucket, &mut g.rng);
    g.case(
        "padding: 10-byte message in the 512 bucket (authenticated)",
        "open",
        open(e),
        "TAMPERED",
        None,
    );
    let mut not_marker = vec![0u8; 256];
    not_marker[..5].copy_from_slice(b"hello");
    not_marker[5] = 0x01;
    let e = authentic(&not_marker, &mut g.rng);
    g.case(
        "padding: last non-zero byte is 0x01 (authenticated)",
        "open",
        open(e),
        "TAMPERED",
        None,
    );
    let mut oversize = vec![b'a'; crate::padding::padded_len(MAX_PLAINTEXT_LEN)];
    oversize[MAX_PLAINTEXT_LEN + 1] = 0x80;
    for b in &mut oversize[MAX_PLAINTEXT_LEN + 2..] {
        *b = 0;
    }
    let e = authentic(&oversize, &mut g.rng);
    g.case(
        "padding: 65 537-byte message (authenticated)",
        "open",
        open_text(&encoding::to_base64(&e)),
        "TAMPERED",
        None,
    );

    // Sealing and configuration.
    g.case(
        "seal: 65 537-byte plaintext",
        "seal",
        vec![("session", s("agent")), ("plaintext_length", J::N(65_537))],
        "MESSAGE_TOO_LARGE",
        None,
    );
    g.case(
        "seal: counter 0xfffffffe already sealed",
        "seal",
        vec![("session", s("exhausted")), ("plaintext_length", J::N(1))],
        "SESSION_EXHAUSTED",
        None,
    );
    for (name, skip, stored) in [
        ("config: max_skip 0", 0u64, 1000u64),
        ("config: max_skip 20 001", 20_001, 1000),
        ("config: max_stored_skipped 20 001", 1000, 20_001),
    ] {
        g.case(
            name,
            "config",
            vec![
                ("session", s("agent")),
                ("max_skip", J::N(skip)),
                ("max_stored_skipped", J::N(stored)),
            ],
            "INVALID_ARGUMENT",
            None,
        );
    }

    // Hellos, to the vector agent.
    let hello = {
        let mut rng = VectorRng::new(SEED);
        let _: [u8; 64] = super::draw(&mut rng);
        VisitorHandshake::start_with_rng(&org_pk, crate::PROTOCOL_VERSION, &mut rng)
            .expect("hello")
            .1
            .to_bytes()
    };
    let acc = |input: Vec<u8>| vec![("input", hex(&input))];
    g.case("hello: empty", "accept", acc(vec![]), m, Some("TooShort"));
    g.case(
        "hello: 57 bytes",
        "accept",
        acc(hello[..57].to_vec()),
        m,
        Some("TooShort"),
    );
    let mut payload = hello.clone();
    payload.extend_from_slice(b"a hello payload!");
    g.case(
        "hello: with a payload (74 bytes)",
        "accept",
        acc(payload),
        m,
        Some("TooLong"),
    );
    g.case(
        "hello: version 3",
        "accept",
        acc(with(&hello, 0, &[3])),
        m,
        Some("UnsupportedVersion"),
    );
    g.case(
        "hello: reply type",
        "accept",
        acc(with(&hello, 1, &[2])),
        m,
        Some("UnexpectedType"),
    );
    g.case(
        "hello: other organisation's key id",
        "accept",
        acc(flip(&hello, 18)),
        "WRONG_ORGANIZATION",
        None,
    );
    g.case(
        "hello: all-zero ephemeral key",
        "accept",
        acc(with(&hello, 26, &[0; 32])),
        "WEAK_KEY",
        None,
    );

    // Replies, to the visitor of handshake.json (`visitor: "any"`: any handshake with the
    // organisation key gives the same code, as decoding or the session id check comes first).
    let reply = vector_reply(org, agent, &hello);
    let fin = |visitor: &str, input: Vec<u8>| vec![("visitor", s(visitor)), ("input", hex(&input))];
    g.case(
        "reply: 238 bytes, one below the minimum",
        "finish",
        fin("any", reply[..238].to_vec()),
        m,
        Some("TooShort"),
    );
    g.case(
        "reply: 114 bytes (no certificate)",
        "finish",
        fin("any", reply[..114].to_vec()),
        m,
        Some("TooShort"),
    );
    let mut long_reply = reply.clone();
    long_reply.resize(367, 0);
    g.case(
        "reply: 367 bytes, one above the maximum",
        "finish",
        fin("any", long_reply),
        m,
        Some("TooLong"),
    );
    g.case(
        "reply: version 3",
        "finish",
        fin("any", with(&reply, 0, &[3])),
        m,
        Some("UnsupportedVersion"),
    );
    g.case(
        "reply: envelope type",
        "finish",
        fin("any", with(&reply, 1, &[3])),
        m,
        Some("UnexpectedType"),
    );
    g.case(
        "reply: other session id",
        "finish",
        fin("any", flip(&reply, 2)),
        "WRONG_SESSION",
        None,
    );
    g.case(
        "reply: tampered ephemeral key",
        "finish",
        fin("handshake.json", flip(&reply, 20)),
        "HANDSHAKE_FAILED",
        None,
    );
    g.case(
        "reply: tampered encrypted static key",
        "finish",
        fin("handshake.json", flip(&reply, 60)),
        "HANDSHAKE_FAILED",
        None,
    );
    g.case(
        "reply: tampered encrypted certificate",
        "finish",
        fin("handshake.json", flip(&reply, 120)),
        "HANDSHAKE_FAILED",
        None,
    );
    g.case(
        "reply: all-zero ephemeral key",
        "finish",
        fin("handshake.json", with(&reply, 18, &[0; 32])),
        "WEAK_KEY",
        None,
    );
    g.case(
        "reply: a second reply after success",
        "finish_again",
        vec![],
        "INVALID_ARGUMENT",
        None,
    );

    // Certificates: checked directly, and carried in a reply from the right static key.
    let other_seed: [u8; 32] = super::draw(&mut g.rng);
    let other = ed25519_dalek::SigningKey::from_bytes(&other_seed);
    let other_id = OrgSigningKey::from_secret_bytes(&other_seed)
        .public_key()
        .key_id();
    let (nb, na) = (1_700_000_000u64, 1_900_000_000u64);
    let aid = b"agent-7@shop.example";
    let did = b"console-1";
    let ok = cert(&signer, &key_id, &agent_pk, nb, na, aid, did);
    assert_eq!(
        ok, good_cert,
        "the generator's certificate layout is the library's"
    );
    let sig_at = ok.len() - 64;
    let mut small_order_r = ok.clone();
    small_order_r[sig_at..sig_at + 32].copy_from_slice(&{
        let mut r = [0u8; 32];
        r[0] = 1;
        r
    });
    let mut non_canonical_s = ok.clone();
    let s_plus_l = add_l(&ok[sig_at + 32..]);
    non_canonical_s[sig_at + 32..].copy_from_slice(&s_plus_l);
    let mut u1 = [0u8; 32];
    u1[0] = 1;
    let mut trailing = ok.clone();
    trailing.push(0);
    let mut long_id = ok.clone();
    long_id.truncate(sig_at);
    // (name, certificate, code from certificate_verify, its reason, code when carried in a reply)
    type CertCase<'a> = (&'a str, Vec<u8>, &'a str, Option<&'a str>, &'a str);
    let cert_checks: Vec<CertCase> = vec![
        (
            "signed by another organisation",
            cert(&other, &other_id, &agent_pk, nb, na, aid, did),
            "WRONG_ORGANIZATION",
            None,
            "WRONG_ORGANIZATION",
        ),
        (
            "another organisation's signature under our key id",
            cert(&other, &key_id, &agent_pk, nb, na, aid, did),
            "BAD_CERTIFICATE",
            None,
            "BAD_CERTIFICATE",
        ),
        (
            "tampered signature",
            flip(&ok, sig_at + 5),
            "BAD_CERTIFICATE",
            None,
            "BAD_CERTIFICATE",
        ),
        (
            "tampered body (agent id)",
            flip(&ok, 67),
            "BAD_CERTIFICATE",
            None,
            "BAD_CERTIFICATE",
        ),
        (
            "non-canonical S (S + L)",
            non_canonical_s,
            "BAD_CERTIFICATE",
            None,
            "BAD_CERTIFICATE",
        ),
        (
            "small-order R (identity)",
            small_order_r,
            "BAD_CERTIFICATE",
            None,
            "BAD_CERTIFICATE",
        ),
        (
            "not_before after not_after (validly signed)",
            cert(&signer, &key_id, &agent_pk, now + 1, now - 1, aid, did),
            "BAD_CERTIFICATE",
            None,
            "BAD_CERTIFICATE",
        ),
        (
            "small-order agent key u = 0 (validly signed)",
            cert(&signer, &key_id, &[0; 32], nb, na, aid, did),
            "BAD_CERTIFICATE",
            None,
            "BAD_CERTIFICATE",
        ),
        (
            "small-order agent key u = 1 (validly signed)",
            cert(&signer, &key_id, &u1, nb, na, aid, did),
            "BAD_CERTIFICATE",
            None,
            "BAD_CERTIFICATE",
        ),
        (
            "non-canonical agent key u = p (validly signed)",
            cert(&signer, &key_id, &P_LE, nb, na, aid, did),
            "BAD_CERTIFICATE",
            None,
            "BAD_CERTIFICATE",
        ),
        (
            "expired",
            cert(&signer, &key_id, &agent_pk, nb, now - 1, aid, did),
            "CERTIFICATE_EXPIRED",
            None,
            "CERTIFICATE_EXPIRED",
        ),
        (
            "not yet valid",
            cert(&signer, &key_id, &agent_pk, now + 1, na, aid, did),
            "CERTIFICATE_NOT_YET_VALID",
            None,
            "CERTIFICATE_NOT_YET_VALID",
        ),
        (
            "for another agent key",
            cert(
                &signer,
                &key_id,
                &crate::AgentKey::from_secret_bytes(&[9; 32]).public_key(),
                nb,
                na,
                aid,
                did,
            ),
            "ok",
            None,
            "CERTIFICATE_KEY_MISMATCH",
        ),
        (
            "version 3",
            with(&ok, 0, &[3]),
            m,
            Some("UnsupportedVersion"),
            "BAD_CERTIFICATE",
        ),
        (
            "version 2 with role byte 4",
            {
                // v2 layout: a role byte after not_after (offset 57); 4 names no role.
                let mut c = with(&ok, 0, &[2]);
                c.insert(57, 4);
                c
            },
            m,
            Some("InvalidField"),
            "BAD_CERTIFICATE",
        ),
        ("124 bytes", ok[..124].to_vec(), m, Some("TooShort"), "skip"),
        (
            "253 bytes",
            {
                let mut c = ok.clone();
                c.resize(253, 0);
                c
            },
            m,
            Some("TooLong"),
            "skip",
        ),
        (
            "trailing byte",
            trailing,
            m,
            Some("TrailingBytes"),
            "BAD_CERTIFICATE",
        ),
        (
            "empty agent id",
            cert(&signer, &key_id, &agent_pk, nb, na, b"", did),
            m,
            Some("InvalidField"),
            "BAD_CERTIFICATE",
        ),
        (
            "65-byte device id",
            cert(&signer, &key_id, &agent_pk, nb, na, aid, &[b'd'; 65]),
            m,
            Some("InvalidField"),
            "skip",
        ),
        (
            "agent id not UTF-8",
            cert(&signer, &key_id, &agent_pk, nb, na, b"agent\xff", did),
            m,
            Some("InvalidField"),
            "BAD_CERTIFICATE",
        ),
    ];
    for (name, c, code, reason, in_reply) in cert_checks {
        if code != "ok" {
            g.case(
                &format!("certificate: {name}"),
                "certificate_verify",
                vec![("input", hex(&c))],
                code,
                reason,
            );
        }
        if in_reply != "skip" {
            let r = forged_reply(&hello, &agent_secret, c, &mut g.rng);
            g.case(
                &format!("reply: certificate {name}"),
                "finish",
                fin("handshake.json", r),
                in_reply,
                None,
            );
        }
    }
    // A "signature" R = identity, S = 0 verifies under the identity key in permissive
    // verifiers ([S]B = R + [k]A holds for every message); that key is refused outright.
    let identity_key = {
        let mut k = [0u8; 32];
        k[0] = 1;
        k
    };
    let id_key_id: [u8; 8] = cipher::sha256(&[b"hushwire/v1/org-key-id", &identity_key])[..8]
        .try_into()
        .expect("8 bytes");
    let mut forged = cert(&signer, &id_key_id, &agent_pk, nb, na, aid, did);
    forged[sig_at..].copy_from_slice(&{
        let mut sig = [0u8; 64];
        sig[0] = 1;
        sig
    });
    g.case(
        "certificate: identity organisation key with the R = identity, S = 0 forgery",
        "certificate_verify",
        vec![("org_public_key", hex(&identity_key)), ("input", hex(&forged))],
        m,
        Some("InvalidField"),
    );

    // Organisation keys.
    let mut order2 = [0xffu8; 32];
    order2[0] = 0xec;
    order2[31] = 0x7f;
    let mut zero_y_neg = [0u8; 32];
    zero_y_neg[31] = 0x80;
    let mut neg_identity = identity_key;
    neg_identity[31] = 0x80;
    let mut org_cases: Vec<(String, Vec<u8>)> = vec![
        ("31 bytes".to_owned(), org_pk.to_bytes()[..31].to_vec()),
        ("33 bytes".to_owned(), [&org_pk.to_bytes()[..], &[0]].concat()),
        ("identity point".to_owned(), identity_key.to_vec()),
        (
            "identity point with the sign bit set".to_owned(),
            neg_identity.to_vec(),
        ),
        ("order 2 (y = -1)".to_owned(), order2.to_vec()),
        ("order 4 (y = 0)".to_owned(), vec![0; 32]),
        ("order 4 (y = 0, sign bit set)".to_owned(), zero_y_neg.to_vec()),
        (
            "order 8".to_owned(),
            hex_bytes("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
        ),
        (
            "order 8 (the other one)".to_owned(),
            hex_bytes("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
        ),
    ];
    // Non-canonical y (y + p for a small y that is a point of large order), and a y that is
    // not on the curve: found by search, so the case is reproducible from the rule.
    let mut found_nc = false;
    let mut found_off = false;
    for y in 2u8..=18 {
        let mut canonical = [0u8; 32];
        canonical[0] = y;
        let valid = ed25519_dalek::VerifyingKey::from_bytes(&canonical).map(|k| !k.is_weak());
        match valid {
            Ok(true) if !found_nc => {
                let mut nc = P_LE;
                nc[0] = nc[0].wrapping_add(y);
                org_cases.push((format!("non-canonical y = p + {y}"), nc.to_vec()));
                found_nc = true;
            }
            Err(_) if !found_off => {
                org_cases.push((format!("y = {y}, not on the curve"), canonical.to_vec()));
                found_off = true;
            }
            _ => {}
        }
    }
    for (name, k) in org_cases {
        let reason = match k.len() {
            31 => "TooShort",
            33 => "TooLong",
            _ => "InvalidField",
        };
        g.case(
            &format!("org key: {name}"),
            "org_public_key",
            vec![("input", hex(&k))],
            m,
            Some(reason),
        );
    }
    g.case(
        "org key: base64url with padding",
        "org_public_key",
        vec![("input_text", s(&format!("{org_pk}=")))],
        m,
        Some("Base64"),
    );

    // Certifying (needs the organisation's signing seed, handshake.json's org_signing_seed).
    let certify = |key: &[u8; 32], agent_id: &str, device_id: &str, nb: u64, na: u64| {
        vec![
            ("agent_public_key", hex(key)),
            ("agent_id", s(agent_id)),
            ("device_id", s(device_id)),
            ("not_before", J::N(nb)),
            ("not_after", J::N(na)),
        ]
    };
    let inv = "INVALID_ARGUMENT";
    let long = "d".repeat(65);
    g.case(
        "certify: not_before after not_after",
        "certify",
        certify(&agent_pk, "a", "d", now + 1, now),
        inv,
        None,
    );
    g.case(
        "certify: agent key u = 0",
        "certify",
        certify(&[0; 32], "a", "d", nb, na),
        inv,
        None,
    );
    g.case(
        "certify: agent key u = 1",
        "certify",
        certify(&u1, "a", "d", nb, na),
        inv,
        None,
    );
    g.case(
        "certify: agent key of order 8",
        "certify",
        certify(
            &hex_bytes("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")
                .try_into()
                .expect("32"),
            "a",
            "d",
            nb,
            na,
        ),
        inv,
        None,
    );
    g.case(
        "certify: agent key u = p (non-canonical)",
        "certify",
        certify(&P_LE, "a", "d", nb, na),
        inv,
        None,
    );
    g.case(
        "certify: empty agent id",
        "certify",
        certify(&agent_pk, "", "d", nb, na),
        inv,
        None,
    );
    g.case(
        "certify: 65-byte device id",
        "certify",
        certify(&agent_pk, "a", &long, nb, na),
        inv,
        None,
    );

    // Session exports.
    let imp = |text: &str| vec![("input_text", s(text))];
    let mut other_key = [0u8; 32];
    other_key[0] = 1;
    g.case(
        "session export: other storage key",
        "import_session",
        vec![("input_text", s(&agent_export)), ("storage_key", hex(&other_key))],
        "EXPORT_AUTHENTICATION",
        None,
    );
    let raw = encoding::from_base64(&agent_export, 1 << 20).expect("b64");
    g.case(
        "session export: tampered",
        "import_session",
        imp(&encoding::to_base64(&flip(&raw, 40))),
        "EXPORT_AUTHENTICATION",
        None,
    );
    g.case(
        "session export: tampered tag",
        "import_session",
        imp(&encoding::to_base64(&flip(&raw, raw.len() - 1))),
        "EXPORT_AUTHENTICATION",
        None,
    );
    g.case(
        "session export: an identity export",
        "import_session",
        imp(&identity_export),
        m,
        Some("UnexpectedType"),
    );
    g.case(
        "session export: kind relabelled to S",
        "import_session",
        imp(&encoding::to_base64(&with(
            &encoding::from_base64(&identity_export, 1024).expect("b64"),
            1,
            b"S",
        ))),
        "EXPORT_AUTHENTICATION",
        None,
    );
    g.case(
        "session export: format version 2",
        "import_session",
        imp(&encoding::to_base64(&with(&raw, 0, &[2]))),
        m,
        Some("UnsupportedVersion"),
    );
    g.case(
        "session export: 29 bytes",
        "import_session",
        imp(&encoding::to_base64(&raw[..29])),
        m,
        Some("TooShort"),
    );
    g.case(
        "session export: base64url with padding",
        "import_session",
        imp(&format!("{agent_export}==")),
        m,
        Some("Base64"),
    );
    let st = &agent_state;
    let state_cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "state version 3",
            with(&st.bytes(), 0, &[3]),
            "UnsupportedVersion",
        ),
        ("role 0", with(&st.bytes(), 1, &[0]), "InvalidField"),
        (
            "empty agent id",
            State {
                agent_id: vec![],
                ..st.clone()
            }
            .bytes(),
            "InvalidField",
        ),
        (
            "65-byte device id",
            State {
                device_id: vec![b'd'; 65],
                ..st.clone()
            }
            .bytes(),
            "InvalidField",
        ),
        (
            "agent id not UTF-8",
            State {
                agent_id: b"\xc3(".to_vec(),
                ..st.clone()
            }
            .bytes(),
            "InvalidField",
        ),
        (
            "max_skip 0",
            State {
                max_skip: 0,
                ..st.clone()
            }
            .bytes(),
            "InvalidField",
        ),
        (
            "max_skip 20 001",
            State {
                max_skip: 20_001,
                ..st.clone()
            }
            .bytes(),
            "InvalidField",
        ),
        (
            "max_stored_skipped 20 001",
            State {
                max_stored: 20_001,
                ..st.clone()
            }
            .bytes(),
            "InvalidField",
        ),
        (
            "more skipped keys than max_stored_skipped",
            State {
                max_stored: 1,
                skipped: vec![(0, [1; 32]), (1, [2; 32])],
                ..st.clone()
            }
            .bytes(),
            "InvalidField",
        ),
        (
            "skipped counter not below recv_next",
            State {
                skipped: vec![(st.recv_next, [1; 32])],
                ..st.clone()
            }
            .bytes(),
            "InvalidField",
        ),
        (
            "skipped counters not ascending",
            State {
                skipped: vec![(2, [1; 32]), (1, [2; 32])],
                ..st.clone()
            }
            .bytes(),
            "InvalidField",
        ),
        (
            "skipped counter repeated",
            State {
                skipped: vec![(1, [1; 32]), (1, [2; 32])],
                ..st.clone()
            }
            .bytes(),
            "InvalidField",
        ),
        (
            "count larger than the keys present",
            State {
                count: Some(1),
                ..st.clone()
            }
            .bytes(),
            "TooShort",
        ),
        (
            "truncated in the chain keys",
            st.bytes()[..150].to_vec(),
            "TooShort",
        ),
        (
            "trailing byte",
            State {
                trailing: vec![0],
                ..st.clone()
            }
            .bytes(),
            "TrailingBytes",
        ),
    ];
    for (name, bytes, reason) in state_cases {
        let text = g.seal(Kind::Session, &bytes);
        g.case(
            &format!("session state: {name} (authenticated)"),
            "import_session",
            imp(&text),
            m,
            Some(reason),
        );
    }

    // Identity exports.
    g.case(
        "identity export: a session export",
        "import_identity",
        imp(&agent_export),
        m,
        Some("UnexpectedType"),
    );
    g.case(
        "identity export: other storage key",
        "import_identity",
        vec![
            ("input_text", s(&identity_export)),
            ("storage_key", hex(&other_key)),
        ],
        "EXPORT_AUTHENTICATION",
        None,
    );
    let id_state = |org_key: &[u8], c: &[u8]| [&agent_secret[..], org_key, c].concat();
    let mut other_agent = agent_secret;
    // Byte 1: X25519 clamping ignores the low bits of byte 0.
    other_agent[1] ^= 1;
    let identity_cases: Vec<(&str, Vec<u8>, &str, Option<&str>)> = vec![
        (
            "truncated organisation key",
            agent_secret[..]
                .iter()
                .chain(&org_pk.to_bytes()[..10])
                .copied()
                .collect(),
            m,
            Some("TooShort"),
        ),
        (
            "identity-point organisation key",
            id_state(&identity_key, &good_cert),
            m,
            Some("InvalidField"),
        ),
        (
            "certificate version 3",
            id_state(&org_pk.to_bytes(), &with(&good_cert, 0, &[3])),
            m,
            Some("UnsupportedVersion"),
        ),
        (
            "certificate of another organisation",
            id_state(
                &org_pk.to_bytes(),
                &cert(&other, &other_id, &agent_pk, nb, na, aid, did),
            ),
            "WRONG_ORGANIZATION",
            None,
        ),
        (
            "tampered certificate signature",
            id_state(&org_pk.to_bytes(), &flip(&good_cert, sig_at + 1)),
            "BAD_CERTIFICATE",
            None,
        ),
        (
            "certificate with not_before after not_after",
            id_state(
                &org_pk.to_bytes(),
                &cert(&signer, &key_id, &agent_pk, na, nb, aid, did),
            ),
            "BAD_CERTIFICATE",
            None,
        ),
        (
            "certificate for another key",
            [&other_agent[..], &org_pk.to_bytes(), &good_cert].concat(),
            "CERTIFICATE_KEY_MISMATCH",
            None,
        ),
    ];
    for (name, bytes, code, reason) in identity_cases {
        let text = g.seal(Kind::AgentIdentity, &bytes);
        g.case(
            &format!("identity state: {name} (authenticated)"),
            "import_identity",
            imp(&text),
            code,
            reason,
        );
    }

    let (attachments, mut attachment_cases) = super::attachment::negative();
    g.cases.append(&mut attachment_cases);

    J::O(vec![
        ("description", s("hushwire v1 negative vectors (docs/PROTOCOL.md section 11.1): every input here MUST be refused with the given code (and, for MALFORMED, the given decoder reason). Ops: open (import sessions[session] under storage_key, open each prior envelope successfully, then open input / input_text), seal (plaintext of plaintext_length zero bytes), config (set_config), accept (import identity, accept the hello), finish (visitor \"handshake.json\": the visitor of handshake.json, whose randomness is the generator's bytes 64..112; \"any\": any new handshake with org_public_key; finish at now), finish_again (a new handshake with org_public_key, accepted by identity, finished once, then again with the same reply), certificate_verify (decode input, verify under org_public_key or the case's own, at now), org_public_key (decode), certify (org_signing_seed certifies the fields), import_session / import_identity (input_text under storage_key or the case's own), attachment_manifest (decode input as an attachment manifest), attachment_open (decode manifest, then decrypt the blob made by concatenating the pieces of blob: {file, start, end} is bytes start..end of attachments[file], {hex} is literal bytes).")),
        ("storage_key", hex(&g.key.to_bytes()[..])),
        ("now", J::N(now)),
        ("org_public_key", hex(&org_pk.to_bytes())),
        ("org_signing_seed", hex(&org_seed)),
        ("identity", s(&identity_export)),
        ("sessions", J::O(vec![("agent", s(&agent_export)), ("exhausted", s(&exhausted_export))])),
        ("attachments", attachments),
        ("cases", J::A(g.cases)),
    ])
}

/// The reply of handshake.json (the vector agent answers the vector hello with the
/// generator's bytes 112..144 as its ephemeral secret).
fn vector_reply(org: &OrgSigningKey, agent: &AgentIdentity, hello: &[u8]) -> Vec<u8> {
    let mut rng = VectorRng::new(SEED);
    let _: [u8; 64] = super::draw(&mut rng);
    let (_, h) = VisitorHandshake::start_with_rng(&org.public_key(), crate::PROTOCOL_VERSION, &mut rng)
        .expect("start");
    assert_eq!(h.to_bytes(), hello);
    agent.accept_with_rng(&h, &mut rng).expect("accept").1.to_bytes()
}

fn hex_bytes(text: &str) -> Vec<u8> {
    (0..text.len() / 2)
        .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}
