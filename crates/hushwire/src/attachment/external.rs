//! Hooks for a platform that runs the segment AEAD itself: in browsers and Node, WebCrypto's
//! AES-GCM is several times faster than AES-GCM compiled to WebAssembly, so the npm package
//! keeps the file key, the commitment and the manifest here and seals and opens the
//! segments with WebCrypto (docs/PROTOCOL.md §15.3 gives the nonce and associated data).
//!
//! Everything here hands out key material: use it only to drive an AES-256-GCM
//! implementation, and prefer [`super::Sealer`] / [`super::Opener`] wherever this crate's own
//! AES-GCM is fast enough (everywhere but the web).

use zeroize::Zeroizing;

use super::{commitment, header, random_file_key, Layout, Manifest, Metadata, HEADER_LEN};
use crate::cipher::{self, Secret32, NONCE_LEN};
use crate::error::Result;

/// What an external AES-256-GCM needs for a file's segments: the segment key and the blob
/// header (written first in the blob, and the associated data of every segment).
pub struct SegmentKey {
    key: Zeroizing<[u8; 32]>,
    header: [u8; HEADER_LEN],
}

impl core::fmt::Debug for SegmentKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SegmentKey(<redacted>)")
    }
}

impl SegmentKey {
    fn derive(file_key: &Secret32, segment_size: super::SegmentSize) -> Self {
        let stream = cipher::hkdf_sha256_32(&[], &file_key.0, super::STREAM_LABEL);
        SegmentKey {
            key: Zeroizing::new(stream.0),
            header: header(segment_size, &commitment(file_key)),
        }
    }

    /// The AES-256-GCM key of every segment (secret: import it as a non-extractable key and
    /// drop this value).
    pub fn aes_key(&self) -> &[u8; 32] {
        &self.key
    }

    /// The blob header: the blob's first bytes and every segment's associated data.
    pub fn header(&self) -> &[u8; HEADER_LEN] {
        &self.header
    }

    /// The nonce of segment `index` (`last` for the final one): 7 zero bytes ‖ u32 index ‖
    /// final flag.
    pub fn nonce(index: u32, last: bool) -> [u8; NONCE_LEN] {
        super::segment_nonce(u64::from(index), last)
    }
}

/// A fresh file key, before the file's length is known: the sender seals segments with its
/// [`FileKey::segment_key`] and then calls [`FileKey::into_manifest`] with the length.
pub struct FileKey {
    key: Secret32,
    meta: Metadata,
}

impl core::fmt::Debug for FileKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("FileKey(<redacted>)")
    }
}

impl FileKey {
    /// A random file key for a file described by `meta`.
    ///
    /// # Errors
    ///
    /// `RANDOMNESS_UNAVAILABLE`.
    pub fn generate(meta: Metadata) -> Result<Self> {
        Ok(FileKey {
            key: random_file_key(&mut rand_core::OsRng)?,
            meta,
        })
    }

    /// The segment key and header for sealing this file.
    pub fn segment_key(&self) -> SegmentKey {
        SegmentKey::derive(&self.key, self.meta.segment_size)
    }

    /// Bytes of plaintext per segment.
    pub fn segment_size(&self) -> usize {
        self.meta.segment_size.bytes()
    }

    /// The manifest of the file once all `plaintext_len` bytes are sealed (padded as
    /// [`padded_len`] says, in segments of [`FileKey::segment_size`]).
    ///
    /// # Errors
    ///
    /// `MESSAGE_TOO_LARGE` above [`super::MAX_ATTACHMENT_LEN`].
    pub fn into_manifest(self, plaintext_len: u64) -> Result<Manifest> {
        Manifest::new(self.key, self.meta, plaintext_len)
    }
}

impl Manifest {
    /// The segment key and header for opening this file's blob with an external AEAD.
    pub fn segment_key(&self) -> SegmentKey {
        SegmentKey::derive(&self.key, self.segment_size)
    }
}

/// The padded plaintext length of a file of `plaintext_len` bytes (Padmé, at least 256):
/// the segments together hold exactly this many bytes, the file then 0x80 then zeros.
///
/// # Errors
///
/// `MESSAGE_TOO_LARGE` above [`super::MAX_ATTACHMENT_LEN`].
pub fn padded_len(plaintext_len: u64) -> Result<u64> {
    Layout::new(super::SegmentSize::Kib64, plaintext_len).map(|l| l.padded_len)
}
