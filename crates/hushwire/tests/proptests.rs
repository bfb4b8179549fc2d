//! Property tests: every corruption of an envelope is caught, every decoder survives any
//! input, and sessions agree under arbitrary delivery orders.
// Helpers outside `#[test]` functions fail loudly too (clippy.toml covers only the tests).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use hushwire::{
    AgentCertificate, AgentIdentity, AgentKey, Envelope, Error, Hello, OrgPublicKey, OrgSigningKey, Reply,
    Session, StorageKey, VisitorHandshake,
};
use proptest::prelude::*;

const NOW: u64 = 1_800_000_000;

fn pair() -> (Session, Session) {
    let org = OrgSigningKey::from_secret_bytes(&[7; 32]);
    let device = AgentKey::generate().unwrap();
    let cert = org
        .certify_agent(&device.public_key(), "a", "d", 0, u64::MAX)
        .unwrap();
    let agent = AgentIdentity::new(device, cert, &org.public_key()).unwrap();
    let (mut hs, hello) = VisitorHandshake::start(&org.public_key()).unwrap();
    let (a, reply) = agent.accept(&hello).unwrap();
    (hs.finish_at(&reply, NOW).unwrap(), a)
}

fn snapshot(s: &Session) -> (String, StorageKey) {
    let k = StorageKey::from_bytes(&[1; 32]);
    (s.export(&k).unwrap(), k)
}

/// Every single-bit flip and every truncation of a real envelope is rejected, and leaves the
/// receiver able to open the genuine envelope afterwards.
#[test]
fn every_bit_flip_and_truncation_is_rejected() {
    let (mut v, a) = pair();
    let (saved, key) = snapshot(&a);
    for msg in [&b""[..], b"short", &[0xAA; 300][..]] {
        let env = v.seal(msg).unwrap();
        let bytes = env.to_bytes();
        let mut receiver = Session::import(&saved, &key).unwrap();
        for bit in 0..bytes.len() * 8 {
            let mut bad = bytes.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            let res = Envelope::from_bytes(&bad).and_then(|e| receiver.open(&e));
            assert!(res.is_err(), "bit {bit} flipped was accepted");
        }
        for len in 0..bytes.len() {
            let res = Envelope::from_bytes(&bytes[..len]).and_then(|e| receiver.open(&e));
            assert!(res.is_err(), "truncation to {len} accepted");
        }
        assert_eq!(receiver.open(&env).unwrap(), msg);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn any_delivery_order_within_window_opens_each_message_once(
        n in 1usize..40,
        perm_seed in any::<u64>(),
        dups in proptest::collection::vec(any::<prop::sample::Index>(), 0..10),
    ) {
        let (mut v, mut a) = pair();
        let envs: Vec<(Envelope, Vec<u8>)> = (0..n)
            .map(|i| { let m = format!("msg {i}").into_bytes(); (v.seal(&m).unwrap(), m) })
            .collect();
        // Fisher-Yates with a simple LCG so the order is derived from the seed.
        let mut order: Vec<usize> = (0..n).collect();
        let mut x = perm_seed | 1;
        for i in (1..n).rev() {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            order.swap(i, (x >> 33) as usize % (i + 1));
        }
        for &i in &order {
            prop_assert_eq!(a.open(&envs[i].0).unwrap(), envs[i].1.clone());
        }
        for d in dups {
            let i = d.index(n);
            prop_assert_eq!(a.open(&envs[i].0), Err(Error::Replay));
        }
    }

    /// v2: a conversation of turns (each a ratchet step), every message delivered in any
    /// order across the steps (within the window), each opens exactly once. Within a turn the
    /// sender first sees at least one message of the previous turn, as a real peer does.
    #[test]
    fn any_delivery_order_across_ratchet_steps_opens_each_message_once(
        turns in proptest::collection::vec(1usize..5, 1..8),
        perm_seed in any::<u64>(),
    ) {
        let (mut v, mut a) = pair();
        // (receiver is visitor, envelope, plaintext)
        let mut sent: Vec<(bool, Envelope, Vec<u8>)> = Vec::new();
        for (t, &count) in turns.iter().enumerate() {
            let agent_turn = t % 2 == 0;
            if t > 0 {
                // The peer's newest message of the last turn arrives first: it carries the key
                // this side steps from. The rest of that turn stays in flight.
                let last = sent.len() - 1;
                let (to_visitor, env, m) = &sent[last];
                let to = if *to_visitor { &mut v } else { &mut a };
                prop_assert_eq!(&to.open(env).unwrap(), m);
            }
            for i in 0..count {
                let m = format!("turn {t} message {i}").into_bytes();
                let from = if agent_turn { &mut a } else { &mut v };
                sent.push((agent_turn, from.seal(&m).unwrap(), m));
            }
        }
        let last_of_turn: Vec<usize> = {
            let mut ends = Vec::new();
            let mut at = 0;
            for &c in &turns { at += c; ends.push(at - 1); }
            ends
        };
        let mut rest: Vec<usize> = (0..sent.len())
            .filter(|i| !last_of_turn[..turns.len() - 1].contains(i))
            .collect();
        let mut x = perm_seed | 1;
        for i in (1..rest.len()).rev() {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            rest.swap(i, (x >> 33) as usize % (i + 1));
        }
        for &i in &rest {
            let (to_visitor, env, m) = &sent[i];
            let to = if *to_visitor { &mut v } else { &mut a };
            prop_assert_eq!(&to.open(env).unwrap(), m);
        }
        for (to_visitor, env, _) in &sent {
            let to = if *to_visitor { &mut v } else { &mut a };
            prop_assert_eq!(to.open(env), Err(Error::Replay));
        }
    }

    #[test]
    fn random_byte_substitution_is_rejected(pos in any::<prop::sample::Index>(), val in any::<u8>()) {
        let (mut v, mut a) = pair();
        let env = v.seal(b"attack at dawn").unwrap();
        let mut bytes = env.to_bytes();
        let i = pos.index(bytes.len());
        prop_assume!(bytes[i] != val);
        bytes[i] = val;
        let res = Envelope::from_bytes(&bytes).and_then(|e| a.open(&e));
        prop_assert!(res.is_err());
    }

    #[test]
    fn plaintexts_round_trip(msg in proptest::collection::vec(any::<u8>(), 0..5000)) {
        let (mut v, mut a) = pair();
        let env = v.seal(&msg).unwrap();
        let text: Envelope = env.to_string().parse().unwrap();
        prop_assert_eq!(a.open(&text).unwrap(), msg);
    }

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = Envelope::from_bytes(&bytes);
        let _ = Hello::from_bytes(&bytes);
        let _ = Reply::from_bytes(&bytes);
        let _ = AgentCertificate::from_bytes(&bytes);
        let _ = OrgPublicKey::from_bytes(&bytes);
        let text = String::from_utf8_lossy(&bytes);
        let _ = text.parse::<Envelope>();
        let _ = text.parse::<Hello>();
        let _ = text.parse::<Reply>();
        let _ = text.parse::<AgentCertificate>();
        let key = StorageKey::from_bytes(&[1; 32]);
        let _ = Session::import(&text, &key);
        let _ = AgentIdentity::import(&text, &key);
    }

    #[test]
    fn well_formed_headers_with_random_bodies_are_rejected_by_open(
        counter in 0u32..2000,
        // A padded length (256 or 512) plus the tag: other sizes are refused by the decoder.
        body in prop_oneof![
            proptest::collection::vec(any::<u8>(), 256 + 16),
            proptest::collection::vec(any::<u8>(), 512 + 16),
        ],
    ) {
        let (v, mut a) = pair();
        // A v2 header with a valid ratchet key (the X25519 base point) and any `pn`.
        let mut bytes = vec![2u8, 3];
        bytes.extend_from_slice(&v.session_id().to_bytes());
        bytes.push(1);
        let mut point = [0u8; 32];
        point[0] = 9;
        bytes.extend_from_slice(&point);
        bytes.extend_from_slice(&counter.to_be_bytes());
        bytes.extend_from_slice(&counter.to_be_bytes());
        bytes.extend_from_slice(&[0u8; 12]);
        bytes.extend_from_slice(&body);
        let env = Envelope::from_bytes(&bytes).unwrap();
        let res = a.open(&env);
        prop_assert!(matches!(res, Err(Error::Tampered) | Err(Error::TooFarAhead)), "{:?}", res);
    }

    #[test]
    fn handshake_messages_with_random_noise_fail_cleanly(noise in proptest::collection::vec(any::<u8>(), 96..380)) {
        let org = OrgSigningKey::from_secret_bytes(&[7; 32]);
        let (mut hs, hello) = VisitorHandshake::start(&org.public_key()).unwrap();
        let mut bytes = vec![1u8, 2];
        bytes.extend_from_slice(&hello.session_id().to_bytes());
        bytes.extend_from_slice(&noise);
        if let Ok(reply) = Reply::from_bytes(&bytes) {
            prop_assert!(hs.finish_at(&reply, NOW).is_err());
        }
    }

    #[test]
    fn state_decoder_survives_authenticated_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        // Seal arbitrary bytes as if they were an export, so the decoder behind the AEAD runs.
        let key = StorageKey::from_bytes(&[1; 32]);
        let text = hushwire::test_vectors::seal_state_for_fuzzing(&key, &bytes);
        let _ = Session::import(&text, &key);
    }
}
