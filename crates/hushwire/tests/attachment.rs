//! Attachments through the public API (docs/PROTOCOL.md §15): streaming round trips at every
//! boundary, the `Read`/`Write` adapters' contracts, and property tests (round trip for random
//! sizes, any single bit flip refused). The attack vectors are in negative.json (tests/negative.rs).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{self, Read, Write};

use hushwire::attachment::{self, Decryptor, Encryptor, Manifest, Metadata, SegmentSize};
use hushwire::Error;
use proptest::prelude::*;

const SEG: usize = 65_536;

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 253) as u8).collect()
}

fn meta(seg: SegmentSize) -> Metadata {
    Metadata::new("application/octet-stream")
        .unwrap()
        .with_segment_size(seg)
}

fn code(e: &io::Error) -> Option<&'static str> {
    Error::from_io(e).map(Error::code)
}

/// Read `r` to its end in reads of `step` bytes.
fn read_in_steps(mut r: impl Read, step: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; step];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
    }
}

/// A reader that hands out at most `max` bytes per call, to exercise short reads.
struct Trickle<'a>(&'a [u8], usize);
impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.0.len().min(self.1).min(out.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn stream_round_trips_at_every_boundary() {
    // Around the segment size, around padded sizes that fill whole segments, and tiny files.
    let sizes = [
        0,
        1,
        255,
        256,
        4095,
        4096,
        SEG - 1,
        SEG,
        SEG + 1,
        131_071,
        131_072,
        2 * SEG + 1,
        300_000,
    ];
    for len in sizes {
        let file = data(len);
        let mut blob = Vec::new();
        let m = attachment::encrypt(Trickle(&file, 7_777), &mut blob, meta(SegmentSize::Kib64)).unwrap();
        assert_eq!(m.plaintext_len(), len as u64);
        assert_eq!(blob.len() as u64, m.ciphertext_len(), "len {len}");
        // Every reader agrees: streaming in odd steps, from a trickling source, and in memory.
        assert_eq!(
            read_in_steps(Decryptor::new(&m, &blob[..]), 1000).unwrap(),
            file,
            "len {len}"
        );
        assert_eq!(
            read_in_steps(Decryptor::new(&m, Trickle(&blob, 333)), 65_537).unwrap(),
            file
        );
        assert_eq!(attachment::decrypt_to_vec(&m, &blob).unwrap(), file);
        let mut out = Vec::new();
        assert_eq!(attachment::decrypt(&m, &blob[..], &mut out).unwrap(), len as u64);
        assert_eq!(out, file);
    }
}

#[test]
fn write_adapter_matches_in_memory_format() {
    for (len, seg) in [
        (0, SegmentSize::Kib64),
        (SEG * 3, SegmentSize::Kib64),
        (1_500_000, SegmentSize::Mib1),
    ] {
        let file = data(len);
        let mut enc = Encryptor::new(Vec::new(), meta(seg).with_name("report.bin").unwrap()).unwrap();
        for chunk in file.chunks(12_345) {
            enc.write_all(chunk).unwrap();
        }
        let (m, blob) = enc.finish().unwrap();
        assert_eq!(m.name(), Some("report.bin"));
        assert_eq!(m.segment_size(), seg);
        let m = Manifest::from_bytes(&m.to_bytes()).unwrap();
        assert_eq!(attachment::decrypt_to_vec(&m, &blob).unwrap(), file);
        // The in-memory encryption gives a blob of the same length that the stream reads.
        let (m2, blob2) = attachment::encrypt_to_vec(&file, meta(seg)).unwrap();
        assert_eq!(blob2.len(), blob.len());
        assert_eq!(
            read_in_steps(Decryptor::new(&m2, &blob2[..]), 4096).unwrap(),
            file
        );
    }
}

#[test]
fn every_file_has_its_own_key() {
    let (a, blob_a) = attachment::encrypt_to_vec(b"same bytes", meta(SegmentSize::Kib64)).unwrap();
    let (b, blob_b) = attachment::encrypt_to_vec(b"same bytes", meta(SegmentSize::Kib64)).unwrap();
    assert_ne!(a.commitment(), b.commitment());
    assert_ne!(blob_a, blob_b);
    assert_eq!(
        attachment::decrypt_to_vec(&b, &blob_a),
        Err(Error::AttachmentCorrupted)
    );
}

#[test]
fn decryptor_releases_nothing_of_a_bad_segment_and_stays_failed() {
    let file = data(3 * SEG);
    let (m, mut blob) = attachment::encrypt_to_vec(&file, meta(SegmentSize::Kib64)).unwrap();
    // Corrupt segment 1 (bytes 35 + 65 552 ..): segment 0 comes out, then only errors.
    blob[35 + SEG + 16 + 10] ^= 0x40;
    let mut d = Decryptor::new(&m, &blob[..]);
    let mut out = vec![0u8; 10 * SEG];
    let mut got = Vec::new();
    let err = loop {
        match d.read(&mut out) {
            Ok(0) => panic!("a corrupted blob reached its end"),
            Ok(n) => got.extend_from_slice(&out[..n]),
            Err(e) => break e,
        }
    };
    assert_eq!(code(&err), Some("ATTACHMENT_CORRUPTED"));
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert_eq!(got, file[..SEG], "exactly the authentic segment 0 was released");
    for _ in 0..3 {
        assert_eq!(code(&d.read(&mut out).unwrap_err()), Some("ATTACHMENT_CORRUPTED"));
    }
}

#[test]
fn end_of_file_only_after_the_blob_ends() {
    let (m, mut blob) = attachment::encrypt_to_vec(b"hello", meta(SegmentSize::Kib64)).unwrap();
    blob.push(0);
    let err = read_in_steps(Decryptor::new(&m, &blob[..]), 100).unwrap_err();
    assert_eq!(code(&err), Some("ATTACHMENT_CORRUPTED"));
}

#[test]
fn reader_errors_pass_through_and_poison() {
    /// Hands out the first bytes of a real blob, then fails.
    struct Failing<'a>(&'a [u8]);
    impl Read for Failing<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::Error::new(io::ErrorKind::ConnectionReset, "network"));
            }
            let n = self.0.len().min(out.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let (m, blob) = attachment::encrypt_to_vec(&data(SEG * 2), meta(SegmentSize::Kib64)).unwrap();
    let mut d = Decryptor::new(&m, Failing(&blob[..1000]));
    let e = d.read(&mut [0u8; 10]).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
    assert!(Error::from_io(&e).is_none());
    // Resuming would misalign the segments: it refuses instead.
    assert!(d.read(&mut [0u8; 10]).is_err());
}

#[test]
fn encryptor_dropped_without_finish_yields_no_valid_blob() {
    let file = data(SEG * 2 + 5);
    let mut enc = Encryptor::new(Vec::new(), meta(SegmentSize::Kib64)).unwrap();
    enc.write_all(&file).unwrap();
    // What an interrupted upload would hold: the header and full segments, no final segment.
    let (m, full) = {
        let mut enc2 = Encryptor::new(Vec::new(), meta(SegmentSize::Kib64)).unwrap();
        enc2.write_all(&file).unwrap();
        enc2.finish().unwrap()
    };
    let partial = &full[..35 + 2 * (SEG + 16)];
    assert_eq!(
        attachment::decrypt_to_vec(&m, partial),
        Err(Error::AttachmentCorrupted)
    );
    drop(enc);
}

#[test]
fn manifest_fits_a_chat_message_and_survives_a_session() {
    let m = Metadata::new("image/jpeg")
        .unwrap()
        .with_thumbnail(&[1u8; 32_768])
        .unwrap();
    let (manifest, _) = attachment::encrypt_to_vec(b"photo", m).unwrap();
    let bytes = manifest.to_bytes();
    assert!(bytes.len() <= hushwire::MAX_PLAINTEXT_LEN);
    assert_eq!(&bytes[..2], &[0x01, attachment::ATTACHMENT_TYPE]);
    assert_eq!(
        Manifest::from_bytes(&bytes).unwrap().thumbnail(),
        Some(&[1u8; 32_768][..])
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_sizes_round_trip(len in prop_oneof![0usize..600, 65_000usize..66_100, 130_900usize..131_200, 0usize..400_000], step in 1usize..100_000) {
        let file = data(len);
        let mut blob = Vec::new();
        let m = attachment::encrypt(Trickle(&file, step), &mut blob, meta(SegmentSize::Kib64)).unwrap();
        prop_assert_eq!(blob.len() as u64, m.ciphertext_len());
        prop_assert_eq!(read_in_steps(Decryptor::new(&m, Trickle(&blob, step)), step).unwrap(), file);
    }

    #[test]
    fn any_single_bit_flip_is_refused(len in 0usize..140_000, pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let file = data(len);
        let (m, mut blob) = attachment::encrypt_to_vec(&file, meta(SegmentSize::Kib64)).unwrap();
        let i = pos.index(blob.len());
        blob[i] ^= 1 << bit;
        prop_assert_eq!(attachment::decrypt_to_vec(&m, &blob), Err(Error::AttachmentCorrupted));
        let streamed = read_in_steps(Decryptor::new(&m, &blob[..]), 50_000).unwrap_err();
        prop_assert_eq!(code(&streamed), Some("ATTACHMENT_CORRUPTED"));
    }

    #[test]
    fn any_single_bit_flip_in_a_manifest_is_refused_or_harmless(pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let m = Metadata::new("image/png").unwrap().with_name("x.png").unwrap();
        let (manifest, blob) = attachment::encrypt_to_vec(&data(70_000), m).unwrap();
        let mut bytes = manifest.to_bytes().to_vec();
        let i = pos.index(bytes.len());
        bytes[i] ^= 1 << bit;
        // A flip in the key, commitment or structure is refused. One in the plaintext size
        // may keep the padded size (so the manifest decodes), but then the blob is refused.
        // One in the media type or name may decode (the sender's claims): the blob still
        // opens to exactly the file.
        if let Ok(changed) = Manifest::from_bytes(&bytes) {
            if i < 83 {
                prop_assert!((67..75).contains(&i), "flip at {} accepted", i);
                prop_assert_eq!(attachment::decrypt_to_vec(&changed, &blob), Err(Error::AttachmentCorrupted));
            } else {
                prop_assert_eq!(attachment::decrypt_to_vec(&changed, &blob).unwrap(), data(70_000));
            }
        }
    }
}

#[test]
fn interrupted_reads_are_retried_not_taken_as_the_end() {
    /// Fails every other call with `Interrupted`, as a signal-interrupted read may.
    struct Jumpy<'a>(&'a [u8], bool);
    impl Read for Jumpy<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            self.1 = !self.1;
            if self.1 {
                return Err(io::Error::from(io::ErrorKind::Interrupted));
            }
            let n = self.0.len().min(out.len()).min(5000);
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let file = data(SEG * 2 + 3);
    let mut blob = Vec::new();
    let m = attachment::encrypt(Jumpy(&file, false), &mut blob, meta(SegmentSize::Kib64)).unwrap();
    assert_eq!(m.plaintext_len(), file.len() as u64);
    let plain = read_in_steps(Decryptor::new(&m, Jumpy(&blob, false)), 7000).unwrap();
    assert_eq!(plain, file);
}
