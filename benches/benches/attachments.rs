//! Attachment throughput (docs/PROTOCOL.md §15): hushwire's streaming seal and open of 1 MiB,
//! in 64 KiB and 1 MiB segments, in the same run as the raw AES-256-GCM of `aes-gcm` 0.11 (the
//! core's implementation: the floor), `ring` and `aws-lc-rs` over the same segments (one key
//! setup per file, in place, no framing). Run: `cargo bench -p hushwire-benches --bench attachments`.

use std::hint::black_box;
use std::io;

use aes_gcm::aead::{AeadInOut, KeyInit};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hushwire::attachment::{self, Metadata, SegmentSize};

const FILE: usize = 1 << 20;

fn segments(seg: usize) -> Vec<Vec<u8>> {
    (0..FILE / seg).map(|i| vec![i as u8; seg]).collect()
}

fn nonce(i: usize) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[7..11].copy_from_slice(&(i as u32).to_be_bytes());
    n
}

/// Seal and open of the same raw segments with `ring` or `aws-lc-rs`, whose AEAD APIs have the
/// same shape (`aws-lc-rs` mirrors `ring`'s): one key setup per file, in place, no framing.
macro_rules! raw_backend {
    ($g:expr, $krate:ident, $name:literal, $key:expr, $aad:expr, $seg:expr) => {{
        use $krate::aead;
        let new_key = || aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_256_GCM, &$key).unwrap());
        let mut segs = segments($seg);
        $g.bench_function(concat!($name, " seal (raw segments)"), |b| {
            b.iter(|| {
                let k = new_key();
                for (i, s) in segs.iter_mut().enumerate() {
                    let n = aead::Nonce::assume_unique_for_key(nonce(i));
                    let _tag = black_box(
                        k.seal_in_place_separate_tag(n, aead::Aad::from(&$aad), s)
                            .unwrap(),
                    );
                }
            })
        });
        let k = new_key();
        let sealed: Vec<Vec<u8>> = segments($seg)
            .into_iter()
            .enumerate()
            .map(|(i, mut s)| {
                k.seal_in_place_append_tag(
                    aead::Nonce::assume_unique_for_key(nonce(i)),
                    aead::Aad::from(&$aad),
                    &mut s,
                )
                .unwrap();
                s
            })
            .collect();
        $g.bench_function(concat!($name, " open (raw segments)"), |b| {
            b.iter(|| {
                let k = new_key();
                for (i, s) in sealed.iter().enumerate() {
                    let mut copy = s.clone();
                    let n = aead::Nonce::assume_unique_for_key(nonce(i));
                    black_box(k.open_in_place(n, aead::Aad::from(&$aad), &mut copy).unwrap());
                }
            })
        });
    }};
}

fn bench(c: &mut Criterion) {
    let key = [7u8; 32];
    let aad = [1u8; 35];
    let file: Vec<u8> = (0..FILE).map(|i| i as u8).collect();
    for (seg_name, seg, size) in [
        ("64KiB", 65_536usize, SegmentSize::Kib64),
        ("1MiB", 1 << 20, SegmentSize::Mib1),
    ] {
        let mut g = c.benchmark_group(format!("attachment_1MiB_{seg_name}_segments"));
        g.throughput(Throughput::Bytes(FILE as u64));
        g.sample_size(20);
        g.warm_up_time(std::time::Duration::from_millis(500));
        g.measurement_time(std::time::Duration::from_secs(2));

        let meta = Metadata::new("application/octet-stream")
            .unwrap()
            .with_segment_size(size);
        let mut out = Vec::with_capacity(FILE + FILE / 8 + 4096);
        g.bench_function("hushwire seal (attachment::encrypt, Read -> Write)", |b| {
            b.iter(|| {
                out.clear();
                black_box(attachment::encrypt(&file[..], &mut out, meta.clone()).unwrap());
            })
        });
        let (manifest, blob) = attachment::encrypt_to_vec(&file, meta.clone()).unwrap();
        g.bench_function("hushwire open (attachment::decrypt, Read -> Write)", |b| {
            b.iter(|| black_box(attachment::decrypt(&manifest, &blob[..], io::sink()).unwrap()))
        });

        let mut segs = segments(seg);
        g.bench_function("aes-gcm 0.11 seal (raw segments)", |b| {
            b.iter(|| {
                let cipher = aes_gcm::Aes256Gcm::new(&key.into());
                for (i, s) in segs.iter_mut().enumerate() {
                    let n = nonce(i).into();
                    black_box(
                        cipher
                            .encrypt_inout_detached(&n, &aad, s.as_mut_slice().into())
                            .unwrap(),
                    );
                }
            })
        });
        let cipher = aes_gcm::Aes256Gcm::new(&key.into());
        let tags: Vec<_> = segs
            .iter_mut()
            .enumerate()
            .map(|(i, s)| {
                cipher
                    .encrypt_inout_detached(&nonce(i).into(), &aad, s.as_mut_slice().into())
                    .unwrap()
            })
            .collect();
        g.bench_function("aes-gcm 0.11 open (raw segments)", |b| {
            b.iter(|| {
                let cipher = aes_gcm::Aes256Gcm::new(&key.into());
                for (i, s) in segs.iter_mut().enumerate() {
                    let mut copy = s.clone();
                    cipher
                        .decrypt_inout_detached(&nonce(i).into(), &aad, copy.as_mut_slice().into(), &tags[i])
                        .unwrap();
                    black_box(&copy);
                }
            })
        });

        raw_backend!(g, ring, "ring", key, aad, seg);
        raw_backend!(g, aws_lc_rs, "aws-lc-rs", key, aad, seg);
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
