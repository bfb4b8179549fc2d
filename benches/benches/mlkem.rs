//! ML-KEM-768 key generation, encapsulation and decapsulation: RustCrypto `ml-kem` (what the
//! core uses, chosen for wasm size) against `libcrux-ml-kem`, from the same seeds; the two
//! must agree byte for byte (checked before timing).

use criterion::{criterion_group, criterion_main, Criterion};
use ml_kem::kem::{Decapsulate, KeyExport};
use ml_kem::{ml_kem_768, B32};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let seed = [7u8; 64];
    let m = [9u8; 32];
    let rc_dk = ml_kem_768::DecapsulationKey::from_seed(ml_kem::Seed::from(seed));
    let rc_ek = rc_dk.encapsulation_key().clone();
    let (rc_ct, rc_k) = rc_ek.encapsulate_deterministic(&B32::from(m));
    let lx = libcrux_ml_kem::mlkem768::generate_key_pair(seed);
    let (lx_ct, lx_k) = libcrux_ml_kem::mlkem768::encapsulate(lx.public_key(), m);
    assert_eq!(
        rc_ek.to_bytes().as_slice(),
        lx.public_key().as_slice(),
        "same key from the same seed"
    );
    assert_eq!(rc_ct.as_slice(), lx_ct.as_slice(), "same ciphertext");
    assert_eq!(rc_k.as_slice(), &lx_k[..], "same shared key");

    let mut g = c.benchmark_group("mlkem768");
    g.bench_function("ml-kem/keygen", |b| {
        b.iter(|| {
            black_box(ml_kem_768::DecapsulationKey::from_seed(ml_kem::Seed::from(
                black_box(seed),
            )))
        })
    });
    g.bench_function("ml-kem/encaps", |b| {
        b.iter(|| black_box(rc_ek.encapsulate_deterministic(&B32::from(black_box(m)))))
    });
    g.bench_function("ml-kem/decaps", |b| {
        b.iter(|| black_box(rc_dk.decapsulate(black_box(&rc_ct))))
    });
    g.bench_function("libcrux/keygen", |b| {
        b.iter(|| black_box(libcrux_ml_kem::mlkem768::generate_key_pair(black_box(seed))))
    });
    g.bench_function("libcrux/encaps", |b| {
        b.iter(|| {
            black_box(libcrux_ml_kem::mlkem768::encapsulate(
                lx.public_key(),
                black_box(m),
            ))
        })
    });
    g.bench_function("libcrux/decaps", |b| {
        b.iter(|| {
            black_box(libcrux_ml_kem::mlkem768::decapsulate(
                lx.private_key(),
                black_box(&lx_ct),
            ))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
