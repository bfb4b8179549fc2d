//! Handshake, both sides, in one iteration: hushwire (v2: NXhfs with ML-KEM-768; and v1) vs snow's Noise NX (with and without an
//! Ed25519 certificate check) vs vodozemac's Olm session creation.

use criterion::{criterion_group, criterion_main, Criterion};
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use hushwire::VisitorHandshake;
use hushwire_benches::{Fixture, NOW};
use std::cell::RefCell;
use std::hint::black_box;

const NX: &str = "Noise_NX_25519_AESGCM_SHA256";

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("handshake");

    // hushwire: start, accept, finish_at (verifies the agent's Ed25519 certificate).
    let fx = Fixture::new();
    g.bench_function("hushwire", |b| {
        b.iter(|| {
            let (mut hs, hello) = VisitorHandshake::start(&fx.org_public).unwrap();
            let (agent, reply) = fx.agent.accept(&hello).unwrap();
            let visitor = hs.finish_at(&reply, NOW).unwrap();
            black_box((visitor, agent))
        })
    });

    // The same in protocol v1 (Noise NX, no ML-KEM, no ratchet): the v2 cost ratio.
    g.bench_function("hushwire_v1", |b| {
        b.iter(|| {
            let (mut hs, hello) =
                VisitorHandshake::start_with_version(&fx.org_public, hushwire::PROTOCOL_VERSION).unwrap();
            let (agent, reply) = fx.agent.accept(&hello).unwrap();
            let visitor = hs.finish_at(&reply, NOW).unwrap();
            black_box((visitor, agent))
        })
    });

    // snow NX, the responder sending a certificate-sized payload (our certificate's length).
    let responder_static = snow::Builder::new(NX.parse().unwrap())
        .generate_keypair()
        .unwrap();
    let cert_len = fx.agent.certificate().to_bytes().len();
    let org_sk = SigningKey::from_bytes(&[7u8; 32]);
    let org_pk_bytes = org_sk.verifying_key().to_bytes();
    // A signed blob the size of hushwire's certificate: body then a 64-byte signature.
    let mut cert = vec![0x42u8; cert_len - 64];
    let sig = org_sk.sign(&cert);
    cert.extend_from_slice(&sig.to_bytes());
    let snow_handshake = |verify: bool| {
        let mut buf = [0u8; 1024];
        let mut payload = [0u8; 1024];
        let mut init = snow::Builder::new(NX.parse().unwrap()).build_initiator().unwrap();
        let mut resp = snow::Builder::new(NX.parse().unwrap())
            .local_private_key(&responder_static.private)
            .build_responder()
            .unwrap();
        let n = init.write_message(&[], &mut buf).unwrap();
        resp.read_message(&buf[..n], &mut payload).unwrap();
        let n = resp.write_message(&cert, &mut buf).unwrap();
        let m = init.read_message(&buf[..n], &mut payload).unwrap();
        if verify {
            // As hushwire does: decode the key, then verify strictly.
            let key = VerifyingKey::from_bytes(&org_pk_bytes).unwrap();
            let sig = ed25519_dalek::Signature::from_slice(&payload[m - 64..m]).unwrap();
            key.verify_strict(&payload[..m - 64], &sig).unwrap();
            debug_assert!(key.verify(&payload[..m - 64], &sig).is_ok());
        }
        (
            init.into_transport_mode().unwrap(),
            resp.into_transport_mode().unwrap(),
        )
    };
    g.bench_function("snow_nx", |b| b.iter(|| black_box(snow_handshake(false))));
    g.bench_function("snow_nx_ed25519", |b| b.iter(|| black_box(snow_handshake(true))));

    // vodozemac Olm: outbound session, first pre-key message, inbound session.
    let alice = vodozemac::olm::Account::new();
    let bob = RefCell::new(vodozemac::olm::Account::new());
    let bob_identity = bob.borrow().curve25519_key();
    let alice_identity = alice.curve25519_key();
    g.bench_function("vodozemac_olm", |b| {
        b.iter_batched(
            || {
                let mut bob = bob.borrow_mut();
                bob.generate_one_time_keys(1);
                let otk = *bob.one_time_keys().values().next().unwrap();
                bob.mark_keys_as_published();
                otk
            },
            |otk| {
                let config = vodozemac::olm::SessionConfig::version_1();
                let mut outbound = alice.create_outbound_session(config, bob_identity, otk).unwrap();
                let message = outbound.encrypt(b"").unwrap();
                let vodozemac::olm::OlmMessage::PreKey(pre_key) = message else {
                    panic!("first message is a pre-key message")
                };
                let inbound = bob
                    .borrow_mut()
                    .create_inbound_session(config, alice_identity, &pre_key)
                    .unwrap();
                black_box((outbound, inbound.session))
            },
            criterion::BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
