//! One chat message sealed and opened, at several sizes: hushwire vs vodozemac Olm (one
//! direction, and alternating directions as in a conversation) vs vodozemac Megolm vs the
//! floor, AES-256-GCM with a fresh key per message.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hushwire_benches::{plaintext, Fixture};
use std::hint::black_box;
use vodozemac::megolm::{GroupSession, InboundGroupSession};
#[path = "common/olm.rs"]
mod olm;
use olm::olm_pair;

const SIZES: [usize; 4] = [64, 256, 1024, 16 * 1024];

fn bench(c: &mut Criterion) {
    let fx = Fixture::new();
    let mut g = c.benchmark_group("message");
    for size in SIZES {
        let msg = plaintext(size);
        g.throughput(Throughput::Bytes(size as u64));

        let (mut visitor, mut agent) = fx.session_pair();
        g.bench_with_input(BenchmarkId::new("hushwire", size), &msg, |b, msg| {
            b.iter(|| {
                let env = visitor.seal(msg).unwrap();
                black_box(agent.open(&env).unwrap())
            })
        });

        let (mut visitor, mut agent) = fx.session_pair_v1();
        g.bench_with_input(BenchmarkId::new("hushwire_v1", size), &msg, |b, msg| {
            b.iter(|| {
                let env = visitor.seal(msg).unwrap();
                black_box(agent.open(&env).unwrap())
            })
        });

        // v2 in a conversation: every message changes direction, so every seal takes a DH
        // ratchet step (a key pair and an X25519) and every open another X25519.
        let (mut visitor, mut agent) = fx.session_pair();
        let mut turn = false;
        g.bench_with_input(BenchmarkId::new("hushwire_alternating", size), &msg, |b, msg| {
            b.iter(|| {
                turn = !turn;
                let (from, to) = if turn {
                    (&mut visitor, &mut agent)
                } else {
                    (&mut agent, &mut visitor)
                };
                let env = from.seal(msg).unwrap();
                black_box(to.open(&env).unwrap())
            })
        });

        let (mut a, mut bob) = olm_pair();
        g.bench_with_input(BenchmarkId::new("olm_one_way", size), &msg, |b, msg| {
            b.iter(|| {
                let m = a.encrypt(msg).unwrap();
                black_box(bob.decrypt(&m).unwrap())
            })
        });

        let (mut a, mut bob) = olm_pair();
        let mut turn = false;
        g.bench_with_input(BenchmarkId::new("olm_alternating", size), &msg, |b, msg| {
            b.iter(|| {
                turn = !turn;
                let (from, to) = if turn {
                    (&mut a, &mut bob)
                } else {
                    (&mut bob, &mut a)
                };
                let m = from.encrypt(msg).unwrap();
                black_box(to.decrypt(&m).unwrap())
            })
        });

        let mut outbound = GroupSession::new(Default::default());
        let mut inbound = InboundGroupSession::new(&outbound.session_key(), Default::default());
        g.bench_with_input(BenchmarkId::new("megolm", size), &msg, |b, msg| {
            b.iter(|| {
                let m = outbound.encrypt(msg);
                black_box(inbound.decrypt(&m).unwrap())
            })
        });

        let mut key = [0u8; 32];
        let mut n = 0u64;
        g.bench_with_input(BenchmarkId::new("aes256gcm_fresh_key", size), &msg, |b, msg| {
            b.iter(|| {
                n += 1;
                key[..8].copy_from_slice(&n.to_le_bytes());
                let cipher = Aes256Gcm::new(&key.into());
                let nonce = &Nonce::from([0u8; 12]);
                let aad = [0u8; 23];
                let ct = cipher.encrypt(nonce, Payload { msg, aad: &aad }).unwrap();
                black_box(cipher.decrypt(nonce, Payload { msg: &ct, aad: &aad }).unwrap())
            })
        });
    }
    g.finish();

    // What one hushwire 256-byte message costs, part by part (docs/PROTOCOL.md §6): the
    // plaintext is padded to the 512-byte bucket, each side runs one chain step (two
    // HMAC-SHA256 each), the sender draws a 12-byte nonce from the OS, and each side sets up
    // its own AES-256-GCM key.
    let mut g = c.benchmark_group("breakdown_256");
    let padded = plaintext(512);
    let mut key = [0u8; 32];
    g.bench_function("aes256gcm_2_key_setups_512B", |b| {
        b.iter(|| {
            key[0] = key[0].wrapping_add(1);
            let nonce = &Nonce::from([0u8; 12]);
            let aad = [0u8; 23];
            let ct = Aes256Gcm::new(&key.into())
                .encrypt(
                    nonce,
                    Payload {
                        msg: &padded,
                        aad: &aad,
                    },
                )
                .unwrap();
            black_box(
                Aes256Gcm::new(&key.into())
                    .decrypt(nonce, Payload { msg: &ct, aad: &aad })
                    .unwrap(),
            )
        })
    });
    let mut chain = [1u8; 32];
    g.bench_function("chain_steps_4_hmac_sha256", |b| {
        b.iter(|| {
            use hmac::{Hmac, Mac};
            for _ in 0..2 {
                let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&chain).unwrap();
                mac.update(&[1]);
                black_box(mac.finalize().into_bytes());
                let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&chain).unwrap();
                mac.update(&[2]);
                chain = mac.finalize().into_bytes().into();
            }
            black_box(chain)
        })
    });
    g.bench_function("os_random_nonce_12B", |b| {
        b.iter(|| {
            let mut nonce = [0u8; 12];
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
            black_box(nonce)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
