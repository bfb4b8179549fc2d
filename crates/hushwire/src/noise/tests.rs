//! Interoperability of the NX implementation with independent Noise implementations: the
//! cacophony (Haskell) and snow (Rust) test vectors byte for byte, and the `snow` crate
//! playing each side live.

use super::*;
use serde_json::Value;
use std::{format, vec};

fn h(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("valid hex")
}

fn secret(v: &Value) -> StaticSecret {
    StaticSecret::from(<[u8; 32]>::try_from(h(v)).expect("32 bytes"))
}

fn run_vector_file(rel: &str) -> usize {
    let path = format!("{}/tests/data/noise/{rel}", env!("CARGO_MANIFEST_DIR"));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut ran = 0;
    for v in doc["vectors"].as_array().unwrap() {
        if v["protocol_name"] != "Noise_NX_25519_AESGCM_SHA256" {
            continue;
        }
        let prologue = h(&v["init_prologue"]);
        assert_eq!(prologue, h(&v["resp_prologue"]));
        let msgs = v["messages"].as_array().unwrap();

        // -> e
        let (initiator, msg1) = Initiator::start(
            &prologue,
            secret(&v["init_ephemeral"]),
            None,
            &h(&msgs[0]["payload"]),
        )
        .unwrap();
        assert_eq!(msg1, h(&msgs[0]["ciphertext"]), "message 1");

        // <- e, ee, s, es
        let expected_payload1 = h(&msgs[0]["payload"]);
        let (msg2, resp_done) = respond(
            &prologue,
            &msg1,
            &secret(&v["resp_static"]),
            &secret(&v["resp_ephemeral"]),
            None,
            |p| {
                assert_eq!(p, &expected_payload1[..]);
                Ok(h(&msgs[1]["payload"]))
            },
        )
        .unwrap();
        assert_eq!(msg2, h(&msgs[1]["ciphertext"]), "message 2");

        let (payload2, rs, init_done) = initiator.finish(&msg2).unwrap();
        assert_eq!(payload2, h(&msgs[1]["payload"]));
        assert_eq!(rs, *PublicKey::from(&secret(&v["resp_static"])).as_bytes());
        assert_eq!(init_done.handshake_hash, resp_done.handshake_hash);
        if let Some(hh) = v.get("handshake_hash") {
            assert_eq!(init_done.handshake_hash.to_vec(), h(hh), "handshake hash");
        }

        // Transport messages alternate, initiator first, each direction with its own nonce.
        let mut i2r = CipherState::new(Some(init_done.k1.clone()));
        let mut r2i = CipherState::new(Some(init_done.k2.clone()));
        let mut i2r_resp = CipherState::new(Some(resp_done.k1.clone()));
        let mut r2i_resp = CipherState::new(Some(resp_done.k2.clone()));
        for (i, m) in msgs.iter().enumerate().skip(2) {
            let (pt, ct) = (h(&m["payload"]), h(&m["ciphertext"]));
            let (send, recv) = if i % 2 == 0 {
                (&mut i2r, &mut i2r_resp)
            } else {
                (&mut r2i_resp, &mut r2i)
            };
            assert_eq!(
                send.encrypt_with_ad(&[], &pt).unwrap(),
                ct,
                "transport message {i}"
            );
            assert_eq!(recv.decrypt_with_ad(&[], &ct).unwrap(), pt);
        }
        ran += 1;
    }
    ran
}

#[test]
fn cacophony_nx_vectors() {
    assert_eq!(run_vector_file("cacophony-25519-aesgcm-sha256.json"), 1);
}

#[test]
fn snow_nx_vectors() {
    assert_eq!(run_vector_file("snow-25519-aesgcm-sha256.json"), 1);
}

fn snow_params() -> snow::params::NoiseParams {
    "Noise_NX_25519_AESGCM_SHA256".parse().unwrap()
}

#[test]
fn ours_initiator_against_snow_responder() {
    for round in 0..8u8 {
        let prologue = [b"interop", &[round][..]].concat();
        let s = StaticSecret::random_from_rng(rand_core::OsRng);
        let mut resp = snow::Builder::new(snow_params())
            .local_private_key(&s.to_bytes())
            .prologue(&prologue)
            .build_responder()
            .unwrap();
        let payload1 = vec![round; round as usize * 3];
        let (initiator, msg1) = Initiator::start(
            &prologue,
            StaticSecret::random_from_rng(rand_core::OsRng),
            None,
            &payload1,
        )
        .unwrap();
        let mut buf = vec![0u8; 65535];
        let n = resp.read_message(&msg1, &mut buf).unwrap();
        assert_eq!(&buf[..n], &payload1[..]);
        let payload2 = b"certificate goes here".to_vec();
        let mut msg2 = vec![0u8; 65535];
        let n = resp.write_message(&payload2, &mut msg2).unwrap();
        let (got, rs, done) = initiator.finish(&msg2[..n]).unwrap();
        assert_eq!(got, payload2);
        assert_eq!(rs, *PublicKey::from(&s).as_bytes());
        assert_eq!(done.handshake_hash.to_vec(), resp.get_handshake_hash().to_vec());
        let (k1, k2) = resp.dangerously_get_raw_split();
        assert_eq!((done.k1.0, done.k2.0), (k1, k2));
    }
}

#[test]
fn snow_initiator_against_ours_responder() {
    for round in 0..8u8 {
        let prologue = [b"interop-2", &[round][..]].concat();
        let s = StaticSecret::random_from_rng(rand_core::OsRng);
        let mut init = snow::Builder::new(snow_params())
            .prologue(&prologue)
            .build_initiator()
            .unwrap();
        let mut msg1 = vec![0u8; 65535];
        let n = init.write_message(&[], &mut msg1).unwrap();
        let (msg2, done) = respond(
            &prologue,
            &msg1[..n],
            &s,
            &StaticSecret::random_from_rng(rand_core::OsRng),
            None,
            |p| {
                assert!(p.is_empty());
                Ok(vec![7u8; 100 + round as usize])
            },
        )
        .unwrap();
        let mut buf = vec![0u8; 65535];
        let n = init.read_message(&msg2, &mut buf).unwrap();
        assert_eq!(&buf[..n], &vec![7u8; 100 + round as usize][..]);
        assert_eq!(init.get_remote_static().unwrap(), PublicKey::from(&s).as_bytes());
        assert_eq!(done.handshake_hash.to_vec(), init.get_handshake_hash().to_vec());
        let (k1, k2) = init.dangerously_get_raw_split();
        assert_eq!((done.k1.0, done.k2.0), (k1, k2));
    }
}

#[test]
fn altered_message_2_fails_and_does_not_consume() {
    let s = StaticSecret::random_from_rng(rand_core::OsRng);
    let (initiator, msg1) =
        Initiator::start(b"p", StaticSecret::random_from_rng(rand_core::OsRng), None, &[]).unwrap();
    let (msg2, _) = respond(
        b"p",
        &msg1,
        &s,
        &StaticSecret::random_from_rng(rand_core::OsRng),
        None,
        |_| Ok(vec![1, 2, 3]),
    )
    .unwrap();
    for i in 0..msg2.len() {
        let mut bad = msg2.clone();
        bad[i] ^= 0x01;
        assert!(initiator.finish(&bad).is_err(), "flip at byte {i}");
    }
    assert!(initiator.finish(&msg2[..msg2.len() - 1]).is_err());
    assert!(
        initiator.finish(&msg2).is_ok(),
        "the genuine message still completes"
    );
}

#[test]
fn low_order_ephemeral_is_refused() {
    let s = StaticSecret::random_from_rng(rand_core::OsRng);
    // The identity point (u = 0) and u = 1 have small order.
    for point in [[0u8; 32], {
        let mut p = [0u8; 32];
        p[0] = 1;
        p
    }] {
        let res = respond(
            b"p",
            &point,
            &s,
            &StaticSecret::random_from_rng(rand_core::OsRng),
            None,
            |_| Ok(vec![]),
        );
        assert_eq!(res.err(), Some(Error::WeakKey));
    }
}
