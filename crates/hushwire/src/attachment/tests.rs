use super::*;
use std::vec;

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
