//! Conformance test vectors for `docs/PROTOCOL.md`.
//!
//! [`generate`] replays a fixed scenario (handshake, messages both ways, an out-of-order
//! delivery, an export) with a deterministic random generator and returns the JSON files
//! committed under `docs/vectors/`. The tests check that the code still reproduces them byte
//! for byte, and the language bindings call this same function to prove that their build
//! (wasm, mobile) computes identical bytes.
//!
//! **Not for production**: the sessions it creates use publicly known randomness. Compiled
//! only with the `testing` feature, so no shipped artifact contains it.

// Test support: a failed step means the library itself is broken, and the panic is how the
// calling test reports it.
#![allow(clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use alloc::{borrow::ToOwned, format, string::String, string::ToString, vec, vec::Vec};
use rand_core::{CryptoRng, RngCore};

use crate::ratchet::ChainKey;

mod attachment;
mod conversation;
mod negative;
mod v2;
use crate::{
    encoding, ratchet, AgentIdentity, AgentKey, Envelope, OrgSigningKey, Session, StorageKey,
    VisitorHandshake,
};
pub use conversation::roster_check;
pub use negative::vector_visitor_handshake;

pub use crate::error::every_error;

/// Seed of the deterministic generator used for the committed vectors.
pub const SEED: &[u8] = b"hushwire protocol v1 test vectors";

/// HMAC-SHA256 in counter mode over a fixed seed: `block_i = HMAC(SHA-256(seed), i_be64)`.
/// Deterministic and public: for vectors only.
struct VectorRng {
    key: [u8; 32],
    counter: u64,
    buf: [u8; 32],
    used: usize,
}

impl VectorRng {
    fn new(seed: &[u8]) -> Self {
        VectorRng {
            key: crate::cipher::sha256(&[seed]),
            counter: 0,
            buf: [0; 32],
            used: 32,
        }
    }
}

impl RngCore for VectorRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_be_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_be_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for d in dest {
            if self.used == 32 {
                self.buf = crate::cipher::hmac_sha256(&self.key, &[&self.counter.to_be_bytes()]);
                self.counter += 1;
                self.used = 0;
            }
            *d = self.buf[self.used];
            self.used += 1;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for VectorRng {}

/// A JSON value, written with stable formatting (two-space indent, keys in insertion order).
enum J {
    S(String),
    N(u64),
    O(Vec<(&'static str, J)>),
    A(Vec<J>),
}

fn hex(bytes: &[u8]) -> J {
    J::S(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn s(text: &str) -> J {
    J::S(text.to_owned())
}

impl J {
    fn write(&self, out: &mut String, indent: usize) {
        let pad = "  ".repeat(indent + 1);
        match self {
            J::S(v) => {
                out.push('"');
                for c in v.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                        c => out.push(c),
                    }
                }
                out.push('"');
            }
            J::N(n) => out.push_str(&n.to_string()),
            J::O(fields) => {
                out.push_str("{\n");
                for (i, (k, v)) in fields.iter().enumerate() {
                    out.push_str(&format!("{pad}\"{k}\": "));
                    v.write(out, indent + 1);
                    out.push_str(if i + 1 < fields.len() { ",\n" } else { "\n" });
                }
                out.push_str(&"  ".repeat(indent));
                out.push('}');
            }
            J::A(items) => {
                out.push_str("[\n");
                for (i, v) in items.iter().enumerate() {
                    out.push_str(&pad);
                    v.write(out, indent + 1);
                    out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
                }
                out.push_str(&"  ".repeat(indent));
                out.push(']');
            }
        }
    }

    fn render(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out.push('\n');
        out
    }
}

fn draw<const N: usize>(rng: &mut VectorRng) -> [u8; N] {
    let mut b = [0u8; N];
    rng.fill_bytes(&mut b);
    b
}

/// Peek at the next `N` bytes the generator will produce, without consuming them.
fn peek<const N: usize>(rng: &VectorRng) -> [u8; N] {
    let mut copy = VectorRng {
        key: rng.key,
        counter: rng.counter,
        buf: rng.buf,
        used: rng.used,
    };
    draw(&mut copy)
}

fn message_vector(
    label: &str,
    sender_chain: &mut ChainKey,
    plaintext: &[u8],
    envelope: &Envelope,
    delivered_as: u64,
) -> J {
    let message_key = ratchet::step(sender_chain);
    J::O(vec![
        ("label", s(label)),
        ("plaintext_utf8", s(&String::from_utf8_lossy(plaintext))),
        ("plaintext", hex(plaintext)),
        (
            "sender",
            s(if envelope.sender() == crate::Role::Visitor {
                "visitor"
            } else {
                "agent"
            }),
        ),
        ("counter", J::N(envelope.counter().into())),
        ("message_key", hex(&message_key.0)),
        ("nonce", hex(&envelope.nonce())),
        ("aad", hex(envelope.header())),
        ("padded_length", J::N((envelope.ciphertext().len() - 16) as u64)),
        ("envelope", hex(envelope.as_bytes())),
        ("envelope_base64url", s(&envelope.to_string())),
        ("delivery_order", J::N(delivered_as)),
    ])
}

/// Run the fixed scenario and return `(file name, JSON text)` for each file in
/// `docs/vectors/`. Panics only if the library itself is broken (a failed internal step).
pub fn generate() -> Vec<(&'static str, String)> {
    let mut rng = VectorRng::new(SEED);
    let not_before = 1_700_000_000u64;
    let not_after = 1_900_000_000u64;
    let now = 1_800_000_000u64;

    // Keys.
    let org_seed: [u8; 32] = draw(&mut rng);
    let org = OrgSigningKey::from_secret_bytes(&org_seed);
    let agent_secret: [u8; 32] = draw(&mut rng);
    let agent_key = AgentKey::from_secret_bytes(&agent_secret);
    let agent_public = agent_key.public_key();
    let cert = org
        .certify_agent(
            &agent_public,
            "agent-7@shop.example",
            "console-1",
            not_before,
            not_after,
        )
        .expect("vector certificate");
    let agent = AgentIdentity::new(agent_key, cert.clone(), &org.public_key()).expect("vector identity");

    // Handshake: the visitor draws its session id then its ephemeral key; the agent draws its
    // ephemeral key.
    let session_id: [u8; 16] = peek(&rng);
    let visitor_e: [u8; 32] = {
        let both: [u8; 48] = peek(&rng);
        both[16..].try_into().expect("32 bytes")
    };
    let (mut handshake, hello) =
        VisitorHandshake::start_with_rng(&org.public_key(), crate::PROTOCOL_VERSION, &mut rng)
            .expect("start");
    let agent_e: [u8; 32] = peek(&rng);
    let (mut agent_session, reply) = agent.accept_with_rng(&hello, &mut rng).expect("accept");
    let mut visitor_session = handshake.finish_at(&reply, now).expect("finish");
    let (mut v2a, mut a2v) = visitor_session.chain_keys_for_vectors();

    let mut prologue = b"hushwire/v1/handshake".to_vec();
    prologue.push(crate::PROTOCOL_VERSION);
    prologue.extend_from_slice(&session_id);
    prologue.extend_from_slice(&org.public_key().key_id());

    let handshake_json = J::O(vec![
        ("description", s("hushwire protocol v1 handshake (docs/PROTOCOL.md sections 3-5). Inputs first, then every derived value.")),
        ("protocol_name", s("Noise_NX_25519_AESGCM_SHA256")),
        ("org_signing_seed", hex(&org_seed)),
        ("org_public_key", hex(&org.public_key().to_bytes())),
        ("org_key_id", hex(&org.public_key().key_id())),
        ("agent_static_secret", hex(&agent_secret)),
        ("agent_static_public", hex(&agent_public)),
        ("agent_id", s("agent-7@shop.example")),
        ("device_id", s("console-1")),
        ("not_before", J::N(not_before)),
        ("not_after", J::N(not_after)),
        ("verification_time", J::N(now)),
        ("certificate", hex(&cert.to_bytes())),
        ("session_id", hex(&session_id)),
        ("visitor_ephemeral_secret", hex(&visitor_e)),
        ("agent_ephemeral_secret", hex(&agent_e)),
        ("prologue", hex(&prologue)),
        ("hello", hex(&hello.to_bytes())),
        ("hello_base64url", s(&hello.to_string())),
        ("reply", hex(&reply.to_bytes())),
        ("reply_base64url", s(&reply.to_string())),
        ("handshake_hash", hex(&visitor_session.handshake_hash())),
        ("chain_key_visitor_to_agent", hex(&v2a.0)),
        ("chain_key_agent_to_visitor", hex(&a2v.0)),
        ("safety_code", s(&visitor_session.safety_code())),
    ]);

    // Messages: one each way, then three from the visitor delivered out of order (3, 1, 2),
    // then a longer agent message that lands in the 512-byte bucket.
    let mut messages = Vec::new();
    let mut delivery = 0u64;
    let send = |from_visitor: bool,
                label: &str,
                text: &[u8],
                vs: &mut Session,
                ag: &mut Session,
                rng: &mut VectorRng|
     -> (Envelope, Vec<u8>, String) {
        let (sender, _) = if from_visitor { (vs, ag) } else { (ag, vs) };
        let env = sender.seal_with_rng(text, rng).expect("seal");
        (env, text.to_vec(), label.to_owned())
    };
    let m0 = send(
        true,
        "visitor greeting",
        "Hello, I need help with order #1234".as_bytes(),
        &mut visitor_session,
        &mut agent_session,
        &mut rng,
    );
    let m1 = send(
        false,
        "agent answer",
        "Sure — what seems to be the problem?".as_bytes(),
        &mut visitor_session,
        &mut agent_session,
        &mut rng,
    );
    let m2 = send(
        true,
        "visitor 2 (delivered second)",
        b"It arrived damaged.",
        &mut visitor_session,
        &mut agent_session,
        &mut rng,
    );
    let m3 = send(
        true,
        "visitor 3 (delivered third)",
        b"The box was crushed.",
        &mut visitor_session,
        &mut agent_session,
        &mut rng,
    );
    let m4 = send(
        true,
        "visitor 4 (delivered first)",
        b"Can I get a refund?",
        &mut visitor_session,
        &mut agent_session,
        &mut rng,
    );
    let long_text = "We are sorry to hear that. ".repeat(12);
    let m5 = send(
        false,
        "agent long message (512-byte bucket)",
        long_text.as_bytes(),
        &mut visitor_session,
        &mut agent_session,
        &mut rng,
    );
    // Two more agent messages: the first stays undelivered until after the export (its key
    // is the skipped key in export.json), the second is delivered before it.
    let m6 = send(
        false,
        "agent 3 (delivered after the export, see export.json)",
        b"(delivered after the export)",
        &mut visitor_session,
        &mut agent_session,
        &mut rng,
    );
    let m7 = send(
        false,
        "agent 4 (delivered before the export)",
        b"(delivered before the export)",
        &mut visitor_session,
        &mut agent_session,
        &mut rng,
    );

    // Deliver and check, recording the order.
    let mut order = |env: &Envelope, receiver: &mut Session, expect: &[u8]| -> u64 {
        let got = receiver.open(env).expect("vector message opens");
        assert_eq!(got, expect, "vector message round-trips");
        delivery += 1;
        delivery
    };
    let d0 = order(&m0.0, &mut agent_session, &m0.1);
    let d1 = order(&m1.0, &mut visitor_session, &m1.1);
    let d4 = order(&m4.0, &mut agent_session, &m4.1);
    let d2 = order(&m2.0, &mut agent_session, &m2.1);
    let d3 = order(&m3.0, &mut agent_session, &m3.1);
    let d5 = order(&m5.0, &mut visitor_session, &m5.1);
    let d7 = order(&m7.0, &mut visitor_session, &m7.1);
    // m6 is opened last, by the session restored from export.json.
    let d6 = delivery + 1;
    for (m, d, from_visitor) in [
        (&m0, d0, true),
        (&m1, d1, false),
        (&m2, d2, true),
        (&m3, d3, true),
        (&m4, d4, true),
        (&m5, d5, false),
        (&m6, d6, false),
        (&m7, d7, false),
    ] {
        let chain = if from_visitor { &mut v2a } else { &mut a2v };
        messages.push(message_vector(&m.2, chain, &m.1, &m.0, d));
    }
    let messages_json = J::O(vec![
        ("description", s("hushwire protocol v1 chat messages (docs/PROTOCOL.md section 6), continuing the session of handshake.json. Listed in sending order; delivery_order gives the order the receiver opened them in (the visitor's counters 1-3 arrive as 3, 1, 2; the agent's counter 2 is opened last, after the export of export.json).")),
        ("session_id", hex(&session_id)),
        ("messages", J::A(messages)),
    ]);

    // The visitor's session after every delivery above: one skipped key (agent counter 2).
    let storage_key_bytes: [u8; 32] = draw(&mut rng);
    let storage_key = StorageKey::from_bytes(&storage_key_bytes);
    let state = visitor_session.state_bytes();
    let nonce: [u8; 12] = peek(&rng);
    let exported = visitor_session
        .export_with_rng(&storage_key, &mut rng)
        .expect("export");
    drop(visitor_session);
    let mut restored = Session::import(&exported, &storage_key).expect("import");
    assert_eq!(
        restored.open(&m6.0).expect("late message"),
        b"(delivered after the export)"
    );

    // The agent's identity, sealed under the same storage key.
    let identity_nonce: [u8; 12] = peek(&rng);
    let identity_export = encoding::to_base64(
        &agent
            .export_bytes_with_rng(&storage_key, &mut rng)
            .expect("identity export"),
    );
    let mut identity_state = agent_secret.to_vec();
    identity_state.extend_from_slice(&org.public_key().to_bytes());
    identity_state.extend_from_slice(&cert.to_bytes());
    AgentIdentity::import(&identity_export, &storage_key).expect("identity import");

    let export_json = J::O(vec![
        ("description", s("hushwire exports (docs/PROTOCOL.md section 8). The session export is the visitor's session after every delivery of messages.json, with the key of the agent's counter 2 pending; that message (late_envelope, the seventh of messages.json) opens after import. The identity export holds the agent of handshake.json.")),
        ("storage_key", hex(&storage_key_bytes)),
        ("state", hex(&state)),
        ("nonce", hex(&nonce)),
        ("aad", hex(b"hushwire/v1/export\x01S")),
        ("export", s(&exported)),
        ("export_bytes", hex(&encoding::from_base64(&exported, 1 << 20).expect("own base64"))),
        ("late_envelope", hex(m6.0.as_bytes())),
        ("late_plaintext_utf8", s("(delivered after the export)")),
        ("identity_state", hex(&identity_state)),
        ("identity_nonce", hex(&identity_nonce)),
        ("identity_aad", hex(b"hushwire/v1/export\x01A")),
        ("identity_export", s(&identity_export)),
    ]);

    // Padding buckets: the agent continues (counters 4..), the restored visitor opens.
    let mut padding_items = Vec::new();
    for len in [600usize, 1500, 3000, 4096, 5000, crate::MAX_PLAINTEXT_LEN] {
        let text = pattern(len);
        let env = agent_session.seal_with_rng(&text, &mut rng).expect("seal");
        assert_eq!(restored.open(&env).expect("open"), text);
        let message_key = ratchet::step(&mut a2v);
        let mut item = vec![
            ("plaintext_length", J::N(len as u64)),
            ("counter", J::N(env.counter().into())),
            ("message_key", hex(&message_key.0)),
            ("nonce", hex(&env.nonce())),
            ("padded_length", J::N((env.ciphertext().len() - 16) as u64)),
            ("envelope_sha256", hex(&crate::cipher::sha256(&[env.as_bytes()]))),
        ];
        if len <= 5000 {
            item.push(("envelope", hex(env.as_bytes())));
        }
        padding_items.push(J::O(item));
    }
    let padding_json = J::O(vec![
        ("description", s("hushwire padding (docs/PROTOCOL.md section 6.4): agent messages continuing messages.json (agent counters 4-9), one per bucket 1024, 2048, 4096, two Padme sizes and the 64 KiB maximum. Plaintext byte i is i mod 251. Full envelopes up to 5000-byte plaintexts; SHA-256 of every envelope.")),
        ("session_id", hex(&session_id)),
        ("messages", J::A(padding_items)),
    ]);

    let safety_json = safety_code_vector(&org, &agent, now);
    let negative_json = negative::generate(&org, &agent, &agent_session, &restored, &storage_key, now);

    vec![
        ("handshake.json", handshake_json.render()),
        ("messages.json", messages_json.render()),
        ("export.json", export_json.render()),
        ("padding.json", padding_json.render()),
        ("safety_code.json", safety_json.render()),
        ("negative.json", negative_json.render()),
        ("attachment.json", attachment::generate().render()),
        ("session_v2.json", v2::generate()),
        ("conversation.json", conversation::generate().render()),
    ]
}

/// Plaintext of the padding vectors: byte `i` is `i mod 251`.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// The first scenario `n = 0, 1, ...` whose safety code starts with two zeros: the visitor
/// and agent of handshake.json run a new handshake with randomness from the generator seeded
/// with `SEED || "/safety-code/" || decimal(n)` (session id, visitor ephemeral, agent
/// ephemeral, as in handshake.json).
fn safety_code_vector(org: &OrgSigningKey, agent: &AgentIdentity, now: u64) -> J {
    for n in 0u32.. {
        let mut seed = SEED.to_vec();
        seed.extend_from_slice(format!("/safety-code/{n}").as_bytes());
        let mut rng = VectorRng::new(&seed);
        let (mut hs, hello) =
            VisitorHandshake::start_with_rng(&org.public_key(), crate::PROTOCOL_VERSION, &mut rng)
                .expect("start");
        let (_agent_session, reply) = agent.accept_with_rng(&hello, &mut rng).expect("accept");
        let visitor = hs.finish_at(&reply, now).expect("finish");
        let code = visitor.safety_code();
        if code.starts_with("00") {
            return J::O(vec![
                ("description", s("A safety code with leading zeros (docs/PROTOCOL.md section 9): the first n for which the handshake of handshake.json's visitor and agent, with the generator seeded by seed || \"/safety-code/\" || decimal(n), gives a code starting with \"00\".")),
                ("seed_suffix", s(&format!("/safety-code/{n}"))),
                ("n", J::N(n.into())),
                ("hello", hex(&hello.to_bytes())),
                ("reply", hex(&reply.to_bytes())),
                ("handshake_hash", hex(&visitor.handshake_hash())),
                ("safety_code", s(&code)),
            ]);
        }
    }
    J::S(String::new())
}

/// Seal arbitrary bytes as a session export under `key`, so that fuzzers and property tests
/// can reach the state decoder that sits behind the export's authentication. Anyone holding
/// the storage key could produce the same string; it grants nothing.
pub fn seal_state_for_fuzzing(key: &StorageKey, state: &[u8]) -> String {
    crate::storage::seal_text(
        key,
        crate::storage::Kind::Session,
        state,
        &mut VectorRng::new(b"fuzz"),
    )
    .expect("deterministic generator never fails")
}

/// An attachment under a fixed, public file key (`SHA-256("hushwire fuzz attachment key")`),
/// so that fuzzers and their committed seeds can refer to one reproducible blob.
pub fn attachment_for_fuzzing(
    plaintext: &[u8],
    meta: crate::attachment::Metadata,
) -> (crate::attachment::Manifest, Vec<u8>) {
    let key = crate::cipher::Secret32(crate::cipher::sha256(&[b"hushwire fuzz attachment key"]));
    crate::attachment::encrypt_to_vec_with_key(key, plaintext, meta).expect("fixed key")
}
