//! `session_v2.json`: protocol v2 (docs/PROTOCOL.md §16–§17) from fixed randomness. The
//! hybrid handshake, a conversation that ratchets six times with out-of-order delivery across
//! ratchet steps, an export mid-ratchet whose late messages open after import, and negative
//! cases (downgrade, tampered KEM ciphertext, bad KEM key, wrong ratchet key, ...), each with
//! the code the library returns (the generator asserts it).
//!
//! Every random draw is listed with the operation that made it, in order, so an independent
//! implementation (docs/vectors/verify.py) can replay the scenario without this generator.

use alloc::{string::String, vec, vec::Vec};
use rand_core::{CryptoRng, RngCore};

use super::{hex, s, VectorRng, J};
use crate::{
    encoding, AgentIdentity, AgentKey, Envelope, Error, Hello, OrgSigningKey, Reply, Session, StorageKey,
    VisitorHandshake,
};

/// Seed of the v2 scenario's generator.
const SEED_V2: &[u8] = b"hushwire protocol v2 test vectors";

/// The vector generator, remembering each draw until [`Recorder::take`].
struct Recorder {
    rng: VectorRng,
    draws: Vec<Vec<u8>>,
}

impl Recorder {
    fn take(&mut self) -> J {
        J::A(self.draws.drain(..).map(|d| hex(&d)).collect())
    }
}

impl RngCore for Recorder {
    fn next_u32(&mut self) -> u32 {
        self.rng.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.rng.fill_bytes(dest);
        self.draws.push(dest.to_vec());
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for Recorder {}

fn code(result: Result<(), Error>) -> &'static str {
    match result {
        Ok(()) => panic!("a v2 negative case was accepted"),
        Err(e) => e.code(),
    }
}

fn with(bytes: &[u8], at: usize, patch: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[at..at + patch.len()].copy_from_slice(patch);
    out
}

/// The v2 scenario; returns the JSON text of `session_v2.json`.
pub(super) fn generate() -> String {
    let mut rng = Recorder {
        rng: VectorRng::new(SEED_V2),
        draws: Vec::new(),
    };
    let now = 1_800_000_000u64;
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    let org = OrgSigningKey::from_secret_bytes(&seed);
    let mut agent_secret = [0u8; 32];
    rng.fill_bytes(&mut agent_secret);
    let agent_key = AgentKey::from_secret_bytes(&agent_secret);
    let cert = org
        .certify_agent(
            &agent_key.public_key(),
            "agent-7@shop.example",
            "console-1",
            1_700_000_000,
            1_900_000_000,
        )
        .expect("certificate");
    let agent = AgentIdentity::new(agent_key, cert.clone(), &org.public_key()).expect("identity");
    rng.draws.clear();

    // Handshake: the visitor draws session id, e, the ML-KEM seed d || z; the agent e and m.
    let (mut hs, hello) =
        VisitorHandshake::start_with_rng(&org.public_key(), crate::PROTOCOL_VERSION_2, &mut rng)
            .expect("start");
    let visitor_draws = rng.take();
    let (mut a, reply) = agent.accept_with_rng(&hello, &mut rng).expect("accept");
    let agent_draws = rng.take();
    let mut v = hs.finish_at(&reply, now).expect("finish");

    let handshake = J::O(vec![
        ("protocol_name", s("Noise_NXhfs_25519+MLKEM768_AESGCM_SHA256")),
        ("org_signing_seed", hex(&seed)),
        ("org_public_key", hex(&org.public_key().to_bytes())),
        ("agent_static_secret", hex(&agent_secret)),
        ("certificate", hex(&cert.to_bytes())),
        ("verification_time", J::N(now)),
        (
            "visitor_draws",
            J::O(vec![
                ("order", s("session_id[16], e[32], ml_kem_seed d||z[64]")),
                ("values", visitor_draws),
            ]),
        ),
        (
            "agent_draws",
            J::O(vec![("order", s("e[32], ml_kem_m[32]")), ("values", agent_draws)]),
        ),
        ("hello", hex(&hello.to_bytes())),
        ("reply", hex(&reply.to_bytes())),
        ("handshake_hash", hex(&v.handshake_hash())),
        ("safety_code", s(&v.safety_code())),
    ]);

    // The conversation: (sender is visitor, text). Sealed in this order; delivered below.
    let script: [(bool, &str); 12] = [
        (false, "a0: hello, how can I help?"),
        (false, "a1: (delivered before a0)"),
        (true, "v0: my parcel is late"),
        (true, "v1: (delivered before v0)"),
        (false, "b0: (late: opened after two more steps)"),
        (false, "b1: let me check"),
        (true, "v2: thanks"),
        (false, "c0: it ships tomorrow"),
        (true, "v3: great"),
        (true, "v4: one more thing"),
        (false, "d0: yes?"),
        (true, "v5: bye"),
    ];
    // The plan: `S` seals message i, `D` delivers it, `X` takes the export (mid-ratchet: the
    // visitor then holds a closed chain with a0 missing and its current chain with b0 missing).
    let plan: &[(char, usize)] = &[
        ('S', 0),
        ('S', 1),
        ('D', 1),
        ('S', 2),
        ('S', 3),
        ('D', 3),
        ('D', 2),
        ('S', 4),
        ('S', 5),
        ('D', 5),
        ('X', 0),
        ('S', 6),
        ('D', 6),
        ('S', 7),
        ('D', 7),
        ('S', 8),
        ('S', 9),
        ('D', 9),
        ('S', 10),
        ('D', 10),
        ('D', 8),
        ('S', 11),
        ('D', 11),
        ('D', 4),
        ('D', 0),
    ];
    let mut sealed: Vec<Envelope> = Vec::new();
    let mut messages = Vec::new();
    let mut deliveries = Vec::new();
    let mut storage = [0u8; 32];
    let (mut state, mut export, mut export_draws) = (Vec::new(), String::new(), J::A(Vec::new()));
    for &(step, i) in plan {
        let (from_visitor, text) = script[i];
        match step {
            'S' => {
                let sender = if from_visitor { &mut v } else { &mut a };
                let env = sender.seal_with_rng(text.as_bytes(), &mut rng).expect("seal");
                messages.push(J::O(vec![
                    ("index", J::N(i as u64)),
                    ("sender", s(if from_visitor { "visitor" } else { "agent" })),
                    ("plaintext_utf8", s(text)),
                    ("draws", rng.take()),
                    ("envelope", hex(env.as_bytes())),
                ]));
                sealed.push(env);
            }
            'D' => {
                let receiver = if from_visitor { &mut a } else { &mut v };
                let opened = receiver.open(&sealed[i]).expect("open");
                assert_eq!(opened, text.as_bytes());
                deliveries.push(J::N(i as u64));
            }
            _ => {
                rng.fill_bytes(&mut storage);
                rng.draws.clear();
                state = v.state_bytes().to_vec();
                export = v
                    .export_with_rng(&StorageKey::from_bytes(&storage), &mut rng)
                    .expect("export");
                export_draws = rng.take();
            }
        }
    }
    let storage_key = StorageKey::from_bytes(&storage);
    {
        let mut back = Session::import(&export, &storage_key).expect("import");
        assert_eq!(back.open(&sealed[0]).expect("late a0"), script[0].1.as_bytes());
        assert_eq!(back.open(&sealed[4]).expect("late b0"), script[4].1.as_bytes());
    }
    // b0 and a0 came late across several ratchet steps; a second delivery is a replay.
    assert_eq!(v.open(&sealed[0]), Err(Error::Replay));

    // Negative cases against fresh copies of the states above.
    let mut negatives = Vec::new();
    let mut case = |name: &str, op: &str, input: &[u8], got: &'static str, want: &str| {
        assert_eq!(got, want, "{name}");
        negatives.push(J::O(vec![
            ("name", s(name)),
            ("op", s(op)),
            ("input", hex(input)),
            ("code", s(want)),
        ]));
    };
    let vector_handshake = || {
        let mut r = Recorder {
            rng: VectorRng::new(SEED_V2),
            draws: Vec::new(),
        };
        let mut skip = [0u8; 64];
        r.fill_bytes(&mut skip);
        VisitorHandshake::start_with_rng(&org.public_key(), crate::PROTOCOL_VERSION_2, &mut r)
            .expect("start")
            .0
    };
    let finish =
        |bytes: &[u8]| Reply::from_bytes(bytes).and_then(|r| vector_handshake().finish_at(&r, now).map(drop));
    // The relay strips e1: the agent answers the v1 hello it sees.
    let stripped = with(&hello.to_bytes()[..58], 0, &[crate::PROTOCOL_VERSION]);
    let (_, v1_reply) = agent
        .accept_with_rng(&Hello::from_bytes(&stripped).expect("v1 hello"), &mut rng)
        .expect("accept v1");
    rng.draws.clear();
    let v1_reply = v1_reply.to_bytes();
    case(
        "reply: v1 answer to the v2 hello (e1 stripped)",
        "finish",
        &v1_reply,
        code(finish(&v1_reply)),
        "DOWNGRADE",
    );
    let reply_bytes = reply.to_bytes();
    for (name, at) in [
        ("reply: ML-KEM ciphertext altered", 50 + 500),
        ("reply: ML-KEM ciphertext tag altered", 50 + 1100),
    ] {
        let bad = with(&reply_bytes, at, &[reply_bytes[at] ^ 0x01]);
        case(name, "finish", &bad, code(finish(&bad)), "HANDSHAKE_FAILED");
    }
    let relabelled = with(&v1_reply, 0, &[crate::PROTOCOL_VERSION_2]);
    case(
        "reply: v1 reply relabelled v2",
        "finish",
        &relabelled,
        code(finish(&relabelled)),
        "MALFORMED",
    );
    let hello_bytes = hello.to_bytes();
    let bad_key = with(&hello_bytes, 58, &[0xff, hello_bytes[59] | 0x0f]);
    let accept = |bytes: &[u8]| Hello::from_bytes(bytes).and_then(|h| agent.accept(&h).map(drop));
    case(
        "hello: ML-KEM key coefficient above q",
        "accept",
        &bad_key,
        code(accept(&bad_key)),
        "MALFORMED",
    );
    let short = &hello_bytes[..hello_bytes.len() - 1];
    case(
        "hello: v2 one byte short",
        "accept",
        short,
        code(accept(short)),
        "MALFORMED",
    );
    // Envelopes for the visitor state of the export.
    let open_exported = |bytes: &[u8]| {
        Envelope::from_bytes(bytes).and_then(|e| {
            Session::import(&export, &storage_key)
                .expect("import")
                .open(&e)
                .map(drop)
        })
    };
    let b0 = sealed[4].to_bytes();
    let mut other_key = [0u8; 32];
    other_key[0] = 9;
    let wrong_key = with(&b0, 19, &other_key);
    case(
        "envelope: another valid ratchet key",
        "open_exported",
        &wrong_key,
        code(open_exported(&wrong_key)),
        "TAMPERED",
    );
    let low_order = with(&b0, 19, &[0u8; 32]);
    case(
        "envelope: small-order ratchet key",
        "open_exported",
        &low_order,
        code(open_exported(&low_order)),
        "WEAK_KEY",
    );
    let pn = with(&b0, 54, &[b0[54] ^ 1]);
    case(
        "envelope: pn altered",
        "open_exported",
        &pn,
        code(open_exported(&pn)),
        "TAMPERED",
    );
    let v1_label = with(&b0, 0, &[crate::PROTOCOL_VERSION]);
    let v1_label = &v1_label[..v1_label.len() - 36];
    case(
        "envelope: v1 envelope for a v2 session",
        "open_exported",
        v1_label,
        code(open_exported(v1_label)),
        "DOWNGRADE",
    );
    let b1 = sealed[5].to_bytes();
    case(
        "envelope: already opened before the export",
        "open_exported",
        &b1,
        code(open_exported(&b1)),
        "REPLAY",
    );
    let own = sealed[6].to_bytes();
    case(
        "envelope: the visitor's own message",
        "open_exported",
        &own,
        code(open_exported(&own)),
        "REFLECTED",
    );
    let far = with(&sealed[7].to_bytes(), 55, &1001u32.to_be_bytes());
    case(
        "envelope: new ratchet key, n above max_skip",
        "open_exported",
        &far,
        code(open_exported(&far)),
        "TOO_FAR_AHEAD",
    );

    J::O(vec![
        ("description", s("hushwire protocol v2 (docs/PROTOCOL.md sections 16-17): hybrid NXhfs handshake with ML-KEM-768, a conversation that ratchets at every change of direction with out-of-order delivery across steps, an export mid-ratchet, and negative cases. Draws are the generator's random outputs in the order the operation makes them.")),
        ("handshake", handshake),
        ("messages", J::A(messages)),
        (
            "delivery_order",
            J::O(vec![
                ("note", s("message indexes in the order they were opened; the export is taken after the first four deliveries")),
                ("indexes", J::A(deliveries)),
            ]),
        ),
        (
            "export",
            J::O(vec![
                ("storage_key", hex(&storage)),
                ("state", hex(&state)),
                ("draws", export_draws),
                ("export", s(&export)),
                ("export_bytes", hex(&encoding::from_base64(&export, 1 << 20).expect("base64"))),
                ("late_after_import", J::A(vec![J::N(0), J::N(4)])),
            ]),
        ),
        ("negative", J::A(negatives)),
    ])
    .render()
}
