//! `attachment.json` and the attachment cases of `negative.json` (docs/PROTOCOL.md §15).

use alloc::{format, vec, vec::Vec};

use super::{draw, hex, pattern, s, VectorRng, J, SEED};
use crate::attachment::{
    encrypt_to_vec_with_key, segment_nonce, FileKeys, Layout, Manifest, Metadata, SegmentSize, HEADER_LEN,
    MAX_MANIFEST_LEN, STREAM_LABEL,
};
use crate::cipher::{self, Secret32, TAG_LEN};

fn rng() -> VectorRng {
    let mut seed = SEED.to_vec();
    seed.extend_from_slice(b"/attachment");
    VectorRng::new(&seed)
}

fn file(rng: &mut VectorRng, len: usize, meta: Metadata) -> (Secret32, Manifest, Vec<u8>) {
    let key = Secret32(draw(rng));
    let (m, blob) = encrypt_to_vec_with_key(key.clone(), &pattern(len), meta).expect("encrypt");
    (key, m, blob)
}

/// `(start, end)` of every segment (tag included) in a blob of `layout`.
fn segments(layout: &Layout) -> Vec<(usize, usize)> {
    let mut at = HEADER_LEN;
    (0..layout.segments)
        .map(|i| {
            let end = at + layout.segment_len(i) + TAG_LEN;
            let r = (at, end);
            at = end;
            r
        })
        .collect()
}

/// attachment.json: the positive vectors of §15.6.
pub(super) fn generate() -> J {
    let mut rng = rng();
    let files = [
        ("empty file", 0usize, SegmentSize::Kib64, "text/plain", None),
        (
            "three segments",
            150_000,
            SegmentSize::Kib64,
            "image/png",
            Some("parcel photo.png"),
        ),
        (
            "padded size exactly two segments",
            131_071,
            SegmentSize::Kib64,
            "application/pdf",
            Some("invoice-2026-11.pdf"),
        ),
        (
            "1 MiB segments",
            1_000_000,
            SegmentSize::Mib1,
            "application/octet-stream",
            None,
        ),
    ];
    let mut items = Vec::new();
    for (label, len, seg, media, name) in files {
        let mut meta = Metadata::new(media).expect("media").with_segment_size(seg);
        if let Some(n) = name {
            meta = meta.with_name(n).expect("name");
        }
        if len == 150_000 {
            meta = meta
                .with_thumbnail(b"\xff\xd8\xff\xe0 tiny jpeg")
                .expect("thumbnail");
        }
        let (key, m, blob) = file(&mut rng, len, meta);
        let layout = m.layout();
        let stream_key = cipher::hkdf_sha256_32(&[], &key.0, STREAM_LABEL);
        let segs: Vec<J> = segments(&layout)
            .into_iter()
            .enumerate()
            .map(|(i, (a, b))| {
                J::O(vec![
                    ("nonce", hex(&segment_nonce(i as u64, layout.is_last(i as u64)))),
                    ("plaintext_length", J::N(layout.segment_len(i as u64) as u64)),
                    ("tag", hex(&blob[b - TAG_LEN..b])),
                    ("segment_sha256", hex(&cipher::sha256(&[&blob[a..b]]))),
                ])
            })
            .collect();
        let mut item = vec![
            ("label", s(label)),
            ("plaintext_length", J::N(len as u64)),
            ("padded_length", J::N(layout.padded_len)),
            ("segment_size", J::N(layout.segment)),
            ("file_key", hex(&key.0)),
            ("stream_key", hex(&stream_key.0)),
            ("commitment", hex(&m.commitment())),
            ("header", hex(&blob[..HEADER_LEN])),
            ("segments", J::A(segs)),
            ("ciphertext_length", J::N(blob.len() as u64)),
            ("blob_sha256", hex(&cipher::sha256(&[&blob]))),
        ];
        if blob.len() < 1024 {
            item.push(("blob", hex(&blob)));
        }
        item.push(("manifest", hex(&m.to_bytes())));
        items.push(J::O(item));
    }
    J::O(vec![
        ("description", s("hushwire attachments (docs/PROTOCOL.md section 15): file byte i is i mod 251; file keys are drawn, in order, from the generator seeded with seed || \"/attachment\" (section 13.1). Each file lists its keys, header, every segment's nonce, tag and SHA-256 (ciphertext || tag), the blob's SHA-256 (the blob itself when under 1 KiB) and its manifest.")),
        ("files", J::A(items)),
    ])
}

/// The attachment context and cases of negative.json: `(context, cases)`.
pub(super) fn negative() -> (J, Vec<J>) {
    let mut seed = SEED.to_vec();
    seed.extend_from_slice(b"/negative/attachment");
    let mut rng = VectorRng::new(&seed);
    let meta = || Metadata::new("image/jpeg").expect("media");
    // a: three segments (two full, last 4096 + 16); b: two segments; c: a's size, another key.
    let (a_key, a, a_blob) = file(&mut rng, 131_072, meta().with_name("a.jpg").expect("name"));
    let (_, b, b_blob) = file(&mut rng, 65_536, meta());
    let (_, c, _) = file(&mut rng, 131_072, meta());
    let la = a.layout();
    let sa = segments(&la);
    let sb = segments(&b.layout());
    let keys = FileKeys::derive(&a_key, SegmentSize::Kib64);
    let a_len = a_blob.len();

    enum P {
        A(usize, usize),
        B(usize, usize),
        /// The whole of a's segment 1 re-sealed with the final flag (context `a_seg1_final`).
        A1Final,
        Hex(Vec<u8>),
    }
    let range = |f: &str, x: usize, y: usize| {
        J::O(vec![
            ("file", s(f)),
            ("start", J::N(x as u64)),
            ("end", J::N(y as u64)),
        ])
    };
    let piece = |p: &P| match p {
        P::A(x, y) => range("a", *x, *y),
        P::B(x, y) => range("b", *x, *y),
        P::A1Final => range("a_seg1_final", 0, sa[1].1 - sa[1].0),
        P::Hex(h) => J::O(vec![("hex", hex(h))]),
    };
    // Segment i of `a` re-sealed under a's key with its plaintext edited and its flag chosen.
    let reseal = |i: u64, last: bool, edit: &dyn Fn(&mut Vec<u8>)| {
        let (x, y) = sa[i as usize];
        let mut body = a_blob[x..y - TAG_LEN].to_vec();
        let tag: [u8; 16] = a_blob[y - TAG_LEN..y].try_into().expect("tag");
        assert!(keys
            .aead
            .open_in_place(&segment_nonce(i, la.is_last(i)), &keys.header, &mut body, &tag));
        edit(&mut body);
        let t = keys
            .aead
            .seal_in_place(&segment_nonce(i, last), &keys.header, &mut body)
            .expect("seal");
        body.extend_from_slice(&t);
        body
    };
    let seg1_final = reseal(1, true, &|_| {});
    let h = HEADER_LEN;
    let (s0, s1, s2) = (sa[0], sa[1], sa[2]);
    let mut flipped_commitment = a_blob[..h].to_vec();
    flipped_commitment[h - 1] ^= 1;
    let mut seg_size_20 = a_blob[..h].to_vec();
    seg_size_20[2] = 20;
    let mut version_2 = a_blob[..h].to_vec();
    version_2[0] = 2;
    let open_cases: Vec<(&str, &Manifest, Vec<P>)> = vec![
        ("empty blob", &a, vec![]),
        ("header cut short", &a, vec![P::A(0, 20)]),
        ("truncated inside the last segment", &a, vec![P::A(0, a_len - 1)]),
        (
            "truncated at a segment boundary (last segment dropped)",
            &a,
            vec![P::A(0, s1.1)],
        ),
        ("extended by one byte", &a, vec![P::A(0, a_len), P::Hex(vec![0])]),
        (
            "segments 0 and 1 reordered",
            &a,
            vec![P::A(0, h), P::A(s1.0, s1.1), P::A(s0.0, s0.1), P::A(s2.0, s2.1)],
        ),
        ("segment 1 dropped", &a, vec![P::A(0, s0.1), P::A(s2.0, s2.1)]),
        (
            "segment 0 duplicated in place of segment 1",
            &a,
            vec![P::A(0, s0.1), P::A(s0.0, s0.1), P::A(s2.0, s2.1)],
        ),
        (
            "segment 1 spliced from another file",
            &a,
            vec![P::A(0, s0.1), P::B(sb[0].0, sb[0].1), P::A(s2.0, s2.1)],
        ),
        ("blob of another file (wrong key)", &c, vec![P::A(0, a_len)]),
        ("manifest of another file", &b, vec![P::A(0, a_len)]),
        (
            "header commitment altered",
            &a,
            vec![P::Hex(flipped_commitment), P::A(h, a_len)],
        ),
        (
            "header segment size altered",
            &a,
            vec![P::Hex(seg_size_20), P::A(h, a_len)],
        ),
        (
            "header version altered",
            &a,
            vec![P::Hex(version_2), P::A(h, a_len)],
        ),
        (
            "bit flipped in segment 1",
            &a,
            vec![
                P::A(0, s1.0 + 100),
                P::Hex(vec![a_blob[s1.0 + 100] ^ 1]),
                P::A(s1.0 + 101, a_len),
            ],
        ),
        (
            "bit flipped in the last tag",
            &a,
            vec![P::A(0, a_len - 1), P::Hex(vec![a_blob[a_len - 1] ^ 0x80])],
        ),
        (
            "final flag on a non-final segment (segment 1)",
            &a,
            vec![P::A(0, s0.1), P::A1Final, P::A(s2.0, s2.1)],
        ),
        (
            "last segment without the final flag",
            &a,
            vec![P::A(0, s1.1), P::Hex(reseal(2, false, &|_| {}))],
        ),
        (
            "blob ending after a final-flagged segment 1",
            &a,
            vec![P::A(0, s0.1), P::A1Final],
        ),
        (
            "authenticated, padding byte not zero",
            &a,
            vec![P::A(0, s1.1), P::Hex(reseal(2, true, &|b| b[4000] = 1))],
        ),
        (
            "authenticated, padding marker missing",
            &a,
            vec![P::A(0, s1.1), P::Hex(reseal(2, true, &|b| b[0] = 0))],
        ),
    ];
    let mut cases = Vec::new();
    for (name, m, pieces) in open_cases {
        cases.push(J::O(vec![
            ("name", s(&format!("attachment blob: {name}"))),
            ("op", s("attachment_open")),
            ("manifest", hex(&m.to_bytes())),
            ("blob", J::A(pieces.iter().map(piece).collect())),
            ("code", s("ATTACHMENT_CORRUPTED")),
        ]));
    }

    // Manifest decoding. Offsets: s 2, key 3, commitment 35, sizes 67 and 75, media type 83.
    let good = a.to_bytes().to_vec();
    let edited = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut m = good.clone();
        edit(&mut m);
        m
    };
    let set_u64 = |m: &mut Vec<u8>, at: usize, v: u64| m[at..at + 8].copy_from_slice(&v.to_be_bytes());
    let ct = |len: u64| {
        Layout::new(SegmentSize::Kib64, len)
            .expect("layout")
            .ciphertext_len()
    };
    let name_at = 83 + 1 + "image/jpeg".len();
    let manifest_cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "longer than 33 237 bytes",
            {
                let mut m = good.clone();
                m.resize(MAX_MANIFEST_LEN + 1, 0);
                m
            },
            "TooLong",
        ),
        ("version 2", edited(&|m| m[0] = 2), "UnsupportedVersion"),
        ("type 0x31", edited(&|m| m[1] = 0x31), "UnexpectedType"),
        ("87 bytes", good[..87].to_vec(), "TooShort"),
        ("segment size 2^17", edited(&|m| m[2] = 17), "InvalidField"),
        (
            "plaintext size above 2^40",
            edited(&|m| {
                set_u64(m, 67, (1 << 40) + 1);
                set_u64(m, 75, ct(1 << 40))
            }),
            "InvalidField",
        ),
        (
            "ciphertext size one more than the blob's",
            edited(&|m| set_u64(m, 75, ct(131_072) + 1)),
            "InvalidField",
        ),
        (
            "empty media type",
            {
                let mut m = good[..83].to_vec();
                m.extend_from_slice(&[0, 0, 0, 0]);
                m.extend_from_slice(&[0; 10]);
                m
            },
            "InvalidField",
        ),
        (
            "media type with a space",
            edited(&|m| m[84 + 5] = b' '),
            "InvalidField",
        ),
        (
            "media type with a non-ASCII byte",
            edited(&|m| m[84] = 0xc3),
            "InvalidField",
        ),
        (
            "name not UTF-8",
            edited(&|m| m[name_at + 1] = 0xff),
            "InvalidField",
        ),
        (
            "thumbnail length 32 769",
            {
                let mut m = good.clone();
                let n = m.len();
                m[n - 2..].copy_from_slice(&32_769u16.to_be_bytes());
                m
            },
            "InvalidField",
        ),
        // Long enough to pass the 88-byte minimum, but the name's length byte says 200.
        (
            "input ending inside the name",
            [&good[..name_at], &[200u8][..], &[b'n'; 10][..]].concat(),
            "TooShort",
        ),
        (
            "trailing byte",
            {
                let mut m = good.clone();
                m.push(0);
                m
            },
            "TrailingBytes",
        ),
        (
            "commitment not the key's",
            edited(&|m| m[35] ^= 1),
            "InvalidField",
        ),
        (
            "file key altered (commitment no longer matches)",
            edited(&|m| m[3] ^= 1),
            "InvalidField",
        ),
    ];
    for (name, bytes, reason) in manifest_cases {
        assert!(
            Manifest::from_bytes(&bytes).is_err(),
            "manifest case {name} must fail"
        );
        cases.push(J::O(vec![
            ("name", s(&format!("attachment manifest: {name}"))),
            ("op", s("attachment_manifest")),
            ("input", hex(&bytes)),
            ("code", s("MALFORMED")),
            ("reason", s(reason)),
        ]));
    }
    // The manifest claims one more plaintext byte (same padded size, same key): the blob
    // authenticates but its marker sits where the manifest expects file data.
    let longer = {
        let mut m = good.clone();
        set_u64(&mut m, 67, 131_073);
        m
    };
    assert_eq!(ct(131_073), ct(131_072));
    cases.push(J::O(vec![
        (
            "name",
            s("attachment blob: manifest plaintext size altered (same padded size)"),
        ),
        ("op", s("attachment_open")),
        ("manifest", hex(&longer)),
        ("blob", J::A(vec![piece(&P::A(0, a_len))])),
        ("code", s("ATTACHMENT_CORRUPTED")),
    ]));

    let context = J::O(vec![
        ("a", hex(&a_blob)),
        ("b", hex(&b_blob)),
        ("a_seg1_final", hex(&seg1_final)),
    ]);
    (context, cases)
}
