use super::*;
use std::{format, vec};

fn meta() -> Metadata {
    Metadata::new("application/pdf").unwrap()
}

#[test]
fn layout_sizes() {
    let l = Layout::new(SegmentSize::Kib64, 0).unwrap();
    assert_eq!(
        (l.padded_len, l.segments, l.ciphertext_len()),
        (256, 1, 35 + 256 + 16)
    );
    // 131 071 bytes pad to exactly two full segments.
    let l = Layout::new(SegmentSize::Kib64, 131_071).unwrap();
    assert_eq!((l.padded_len, l.segments), (131_072, 2));
    assert_eq!((l.segment_len(0), l.segment_len(1)), (65_536, 65_536));
    assert!(Layout::new(SegmentSize::Kib64, MAX_ATTACHMENT_LEN).is_ok());
    assert_eq!(
        Layout::new(SegmentSize::Kib64, MAX_ATTACHMENT_LEN + 1),
        Err(Error::MessageTooLarge)
    );
}

#[test]
fn nonce_layout() {
    assert_eq!(segment_nonce(0, false), [0; 12]);
    assert_eq!(
        segment_nonce(0x0102_0304, true),
        [0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 1]
    );
}

#[test]
fn round_trip_in_memory_and_manifest_codec() {
    for len in [0usize, 1, 255, 256, 65_535, 65_536, 65_537, 131_071, 200_000] {
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let m = meta()
            .with_name("invoice.pdf")
            .unwrap()
            .with_thumbnail(b"jpeg")
            .unwrap();
        let (manifest, blob) = encrypt_to_vec(&data, m).unwrap();
        assert_eq!(blob.len() as u64, manifest.ciphertext_len());
        let decoded = Manifest::from_bytes(&manifest.to_bytes()).unwrap();
        assert_eq!(decoded, manifest);
        assert_eq!(decrypt_to_vec(&decoded, &blob).unwrap(), data);
    }
}

#[test]
fn debug_redacts_key_and_name() {
    let (manifest, _) = encrypt_to_vec(b"x", meta().with_name("secret-name").unwrap()).unwrap();
    let text = std::format!("{manifest:?}");
    assert!(!text.contains("secret-name"));
    let key_hex: std::string::String = manifest.key.0.iter().map(|b| std::format!("{b:02x}")).collect();
    assert!(!text.contains(&key_hex) && !text.contains(&std::format!("{:?}", manifest.key.0)));
}

#[test]
fn metadata_validation() {
    assert_eq!(Metadata::new(""), Err(Error::InvalidArgument("media_type")));
    assert_eq!(
        Metadata::new("image/png x"),
        Err(Error::InvalidArgument("media_type"))
    );
    assert!(Metadata::new(&"a".repeat(127)).is_ok());
    assert!(Metadata::new(&"a".repeat(128)).is_err());
    assert!(meta().with_name("").is_err());
    assert!(meta().with_name(&"n".repeat(256)).is_err());
    assert!(meta().with_thumbnail(&[]).is_err());
    assert!(meta().with_thumbnail(&vec![0; MAX_THUMBNAIL_LEN + 1]).is_err());
    assert!(meta().with_thumbnail(&vec![0; MAX_THUMBNAIL_LEN]).is_ok());
}

#[test]
fn largest_manifest_round_trips() {
    let m = Metadata::new(&"a".repeat(127))
        .unwrap()
        .with_name(&"n".repeat(255))
        .unwrap()
        .with_thumbnail(&vec![9; MAX_THUMBNAIL_LEN])
        .unwrap();
    let (manifest, _) = encrypt_to_vec(b"", m).unwrap();
    let bytes = manifest.to_bytes();
    assert_eq!(bytes.len(), MAX_MANIFEST_LEN);
    assert!(bytes.len() <= crate::MAX_PLAINTEXT_LEN);
    assert_eq!(Manifest::from_bytes(&bytes).unwrap(), manifest);
}

/// A deterministic generator, so the push sealer and the `Write` encryptor can be compared.
struct Counter(u8);
impl RngCore for Counter {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }
    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest {
            self.0 = self.0.wrapping_add(1);
            *b = self.0;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> core::result::Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

fn seal_pushed(data: &[u8], piece: usize, meta: Metadata) -> (Manifest, Vec<u8>) {
    let mut s = Sealer::with_rng(meta, &mut Counter(0)).unwrap();
    let mut blob = Vec::new();
    for p in data.chunks(piece.max(1)) {
        s.update(p, &mut blob).unwrap();
    }
    assert_eq!(s.plaintext_len(), data.len() as u64);
    let m = s.finish(&mut blob).unwrap();
    (m, blob)
}

#[test]
fn push_sealer_matches_in_memory_and_opener_round_trips() {
    let key = random_file_key(&mut Counter(0)).unwrap();
    for len in [0usize, 1, 255, 65_535, 65_536, 65_537, 131_071, 131_072, 200_000] {
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let (m0, b0) = encrypt_to_vec_with_key(key.clone(), &data, meta()).unwrap();
        for piece in [1usize, 1000, 65_536, 70_000, len] {
            if piece == 1 && len > 70_000 {
                continue; // byte-at-a-time is covered by the shorter files
            }
            let (m, blob) = seal_pushed(&data, piece, meta());
            assert_eq!((&m, &blob), (&m0, &b0), "len {len} piece {piece}");
            let mut o = Opener::new(&m);
            let mut out = Vec::new();
            for p in blob.chunks(piece.max(1)) {
                o.update(p, &mut out).unwrap();
            }
            assert!(o.is_complete());
            o.finish().unwrap();
            assert_eq!(out, data);
        }
    }
}

#[test]
fn push_opener_refuses_truncation_extension_and_flips_and_stays_failed() {
    let data = vec![9u8; 150_000];
    let (m, blob) = seal_pushed(&data, 4096, meta());
    // Truncated at every interesting point: the header, a segment boundary, inside one.
    for cut in [0, 10, HEADER_LEN, HEADER_LEN + 65_536 + 16, blob.len() - 1] {
        let mut o = Opener::new(&m);
        let mut out = Vec::new();
        o.update(&blob[..cut], &mut out).unwrap();
        assert!(!o.is_complete());
        assert_eq!(o.finish(), Err(Error::AttachmentCorrupted), "cut {cut}");
    }
    // One byte past the end.
    let mut o = Opener::new(&m);
    let mut out = Vec::new();
    o.update(&blob, &mut out).unwrap();
    assert_eq!(o.update(&[0], &mut out), Err(Error::AttachmentCorrupted));
    assert_eq!(o.finish(), Err(Error::AttachmentCorrupted));
    // A flipped bit in segment 1: segment 0 is released, nothing after, and it stays failed.
    let mut bad = blob.clone();
    bad[HEADER_LEN + 65_552 + 5] ^= 1;
    let mut o = Opener::new(&m);
    let mut out = Vec::new();
    assert_eq!(o.update(&bad, &mut out), Err(Error::AttachmentCorrupted));
    assert_eq!(out.len(), 65_536);
    assert_eq!(o.update(&[], &mut out), Err(Error::AttachmentCorrupted));
    assert_eq!(o.update(&blob[..1], &mut out), Err(Error::AttachmentCorrupted));
    assert_eq!(out.len(), 65_536);
}

#[test]
fn push_sealer_refuses_more_than_the_limit_and_stays_failed() {
    let mut s = Sealer::with_rng(meta(), &mut Counter(0)).unwrap();
    s.written = MAX_ATTACHMENT_LEN - 1;
    let mut out = Vec::new();
    assert_eq!(s.update(&[1, 2], &mut out), Err(Error::MessageTooLarge));
    assert_eq!(s.update(&[], &mut out), Err(Error::MessageTooLarge));
    assert_eq!(s.finish(&mut out).map(drop), Err(Error::MessageTooLarge));
}

#[test]
fn external_segment_key_matches_the_core_cipher() {
    let data: Vec<u8> = (0..70_000).map(|i| (i % 251) as u8).collect();
    let (m, blob) = encrypt_to_vec(&data, meta()).unwrap();
    let sk = m.segment_key();
    assert_eq!(&blob[..HEADER_LEN], sk.header());
    // Segment 0 sealed by hand with the exported key equals the blob's segment 0.
    let aead = AeadKey::new(&Secret32(*sk.aes_key()));
    let mut seg = data[..65_536].to_vec();
    let tag = aead
        .seal_in_place(&SegmentKey::nonce(0, false), sk.header(), &mut seg)
        .unwrap();
    seg.extend_from_slice(&tag);
    assert_eq!(&blob[HEADER_LEN..HEADER_LEN + 65_552], &seg[..]);
    assert_eq!(padded_len(70_000), Ok(m.layout().padded_len));
    assert_eq!(padded_len(MAX_ATTACHMENT_LEN + 1), Err(Error::MessageTooLarge));
    let fk = FileKey::generate(meta()).unwrap();
    let header = *fk.segment_key().header();
    assert_eq!(fk.segment_size(), 65_536);
    let m = fk.into_manifest(5).unwrap();
    assert_eq!(&m.segment_key().header()[3..], &m.commitment());
    assert_eq!(*m.segment_key().header(), header);
    assert!(!format!("{:?}{:?}", m.segment_key(), FileKey::generate(meta()).unwrap()).contains('['));
}
