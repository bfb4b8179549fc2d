//! Encrypted attachments: files of any size up to [`MAX_ATTACHMENT_LEN`], end to end.
//!
//! A file is encrypted under a fresh random **file key** with STREAM (Hoang, Reyhanitabar,
//! Rogaway, Vizár, CRYPTO 2015) over AES-256-GCM in fixed segments of 64 KiB (or 1 MiB), each
//! segment's nonce carrying its index and a final-segment flag, so truncating, extending,
//! reordering, dropping, duplicating or splicing segments is refused. The ciphertext (the
//! **blob**, which the relay stores) starts with a **key commitment** derived from the file
//! key: no blob opens under two keys ("invisible salamanders", Dodis et al. 2018; Albertini et
//! al. 2020). The plaintext is padded (Padmé, as chat messages) so the blob's size reveals
//! only a padding bucket.
//!
//! The [`Manifest`] (file key, commitment, sizes, media type, optional name and thumbnail) is
//! small and travels **inside a normal chat message** ([`crate::Session::seal`] of
//! [`Manifest::to_bytes`]), which encrypts and authenticates it end to end; the receiver
//! decodes it with [`Manifest::from_bytes`], fetches the blob and decrypts it.
//!
//! The exact format is `docs/PROTOCOL.md` §15.
//!
//! ```
//! # #[cfg(feature = "std")]
//! # fn main() -> std::io::Result<()> {
//! use hushwire::attachment::{self, Decryptor, Manifest, Metadata};
//! use std::io::Read;
//!
//! // Sender: stream the file into the blob, get the manifest.
//! let file = vec![7u8; 200_000];
//! let mut blob = Vec::new();
//! let meta = Metadata::new("image/png")?.with_name("parcel.png")?;
//! let manifest = attachment::encrypt(&file[..], &mut blob, meta)?;
//! let manifest_bytes = manifest.to_bytes(); // send with Session::seal; upload `blob`
//!
//! // Receiver: the manifest from the chat message, the blob from the relay.
//! let manifest = Manifest::from_bytes(&manifest_bytes)?;
//! assert_eq!(manifest.name(), Some("parcel.png"));
//! let mut plain = Vec::new();
//! Decryptor::new(&manifest, &blob[..]).read_to_end(&mut plain)?;
//! assert_eq!(plain, file);
//!
//! // One flipped bit anywhere and the file does not open.
//! blob[100_000] ^= 1;
//! let err = Decryptor::new(&manifest, &blob[..]).read_to_end(&mut Vec::new()).unwrap_err();
//! assert_eq!(hushwire::Error::from_io(&err), Some(&hushwire::Error::AttachmentCorrupted));
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "std"))]
//! # fn main() {}
//! ```

use alloc::string::String;
use alloc::vec::Vec;
use rand_core::RngCore;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::cipher::{self, AeadKey, Secret32, NONCE_LEN, TAG_LEN};
use crate::encoding::Reader;
use crate::error::{DecodeError, Error, Result};
use crate::padding;

#[cfg(feature = "futures-io")]
mod async_io;
mod external;
mod incremental;
#[cfg(feature = "std")]
mod stream;
#[cfg(feature = "futures-io")]
pub use async_io::{AsyncDecryptor, AsyncEncryptor};
pub use external::{padded_len, FileKey, SegmentKey};
pub use incremental::{Opener, Sealer};
#[cfg(feature = "std")]
pub use stream::{decrypt, encrypt, Decryptor, Encryptor};

/// Message type of a manifest and of a blob header (reserved in docs/PROTOCOL.md §12).
pub const ATTACHMENT_TYPE: u8 = 0x30;
/// Largest attachment plaintext: 2^40 bytes (1 TiB). Far above any chat file; keeps every
/// size computation in `u64` far from overflow and segment counters far below 2^32.
pub const MAX_ATTACHMENT_LEN: u64 = 1 << 40;
/// Largest media type, in bytes of printable ASCII (RFC 6838 allows 127 + 1 + 127; chat
/// apps send short ones such as `image/png`).
pub const MAX_MEDIA_TYPE_LEN: usize = 127;
/// Largest file name, in bytes of UTF-8.
pub const MAX_NAME_LEN: usize = 255;
/// Largest thumbnail, in bytes (a small preview; the manifest must fit one chat message).
pub const MAX_THUMBNAIL_LEN: usize = 32_768;
/// Length of the blob header: version, type, segment size, commitment.
pub const HEADER_LEN: usize = 3 + 32;
/// Smallest manifest: one-byte media type, no name, no thumbnail.
pub const MIN_MANIFEST_LEN: usize = 3 + 32 + 32 + 8 + 8 + 1 + 1 + 1 + 2;
/// Largest manifest (33 237 bytes, well inside one chat message).
pub const MAX_MANIFEST_LEN: usize =
    MIN_MANIFEST_LEN - 1 + MAX_MEDIA_TYPE_LEN + MAX_NAME_LEN + MAX_THUMBNAIL_LEN;

pub(crate) const STREAM_LABEL: &[u8] = b"hushwire/v1/attachment/stream";
const COMMITMENT_LABEL: &[u8] = b"hushwire/v1/attachment/commitment";

/// Segment size of an attachment: how much plaintext each authenticated segment holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SegmentSize {
    /// 64 KiB: the default; a good fit for browsers and for memory-constrained devices.
    #[default]
    Kib64,
    /// 1 MiB: about 10 % faster natively for large files, at 1 MiB of buffer per direction.
    Mib1,
}

impl SegmentSize {
    /// Bytes of plaintext per segment.
    pub const fn bytes(self) -> usize {
        1 << self.log2()
    }

    const fn log2(self) -> u8 {
        match self {
            SegmentSize::Kib64 => 16,
            SegmentSize::Mib1 => 20,
        }
    }

    fn from_log2(v: u8) -> Option<Self> {
        match v {
            16 => Some(SegmentSize::Kib64),
            20 => Some(SegmentSize::Mib1),
            _ => None,
        }
    }
}

/// What the sender says about a file: media type, and optionally a name and a thumbnail.
/// All of it travels only inside the manifest, hence only inside an encrypted chat message.
#[derive(Clone, PartialEq, Eq)]
pub struct Metadata {
    media_type: String,
    name: Option<String>,
    thumbnail: Option<Vec<u8>>,
    segment_size: SegmentSize,
}

impl core::fmt::Debug for Metadata {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The name and thumbnail are user content: never in logs.
        f.debug_struct("Metadata")
            .field("media_type", &self.media_type)
            .field("name", &self.name.as_ref().map(|_| "<redacted>"))
            .field("thumbnail_len", &self.thumbnail.as_ref().map(Vec::len))
            .field("segment_size", &self.segment_size)
            .finish()
    }
}

impl Metadata {
    /// Metadata for a file of `media_type` (1..=127 bytes of printable ASCII, such as
    /// `image/png`; `application/octet-stream` when unknown), with 64 KiB segments.
    ///
    /// # Errors
    ///
    /// `INVALID_ARGUMENT` for an empty, too long or non-printable media type.
    pub fn new(media_type: &str) -> Result<Self> {
        if !valid_media_type(media_type.as_bytes()) {
            return Err(Error::InvalidArgument("media_type"));
        }
        Ok(Metadata {
            media_type: media_type.into(),
            name: None,
            thumbnail: None,
            segment_size: SegmentSize::default(),
        })
    }

    /// Add a file name (1..=255 bytes of UTF-8).
    ///
    /// # Errors
    ///
    /// `INVALID_ARGUMENT` for an empty or too long name.
    pub fn with_name(mut self, name: &str) -> Result<Self> {
        if name.is_empty() || name.len() > MAX_NAME_LEN {
            return Err(Error::InvalidArgument("name"));
        }
        self.name = Some(name.into());
        Ok(self)
    }

    /// Add a thumbnail (1..=32 768 bytes, for example a small JPEG preview).
    ///
    /// # Errors
    ///
    /// `INVALID_ARGUMENT` for an empty or too large thumbnail.
    pub fn with_thumbnail(mut self, thumbnail: &[u8]) -> Result<Self> {
        if thumbnail.is_empty() || thumbnail.len() > MAX_THUMBNAIL_LEN {
            return Err(Error::InvalidArgument("thumbnail"));
        }
        self.thumbnail = Some(thumbnail.into());
        Ok(self)
    }

    /// Use another segment size.
    pub fn with_segment_size(mut self, segment_size: SegmentSize) -> Self {
        self.segment_size = segment_size;
        self
    }
}

fn valid_media_type(b: &[u8]) -> bool {
    !b.is_empty() && b.len() <= MAX_MEDIA_TYPE_LEN && b.iter().all(|c| (0x21..=0x7e).contains(c))
}

/// Where a file's bytes go: sizes of the padded plaintext and of each segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) segment: u64,
    pub(crate) plaintext_len: u64,
    pub(crate) padded_len: u64,
    pub(crate) segments: u64,
}

impl Layout {
    pub(crate) fn new(segment_size: SegmentSize, plaintext_len: u64) -> Result<Self> {
        if plaintext_len > MAX_ATTACHMENT_LEN {
            return Err(Error::MessageTooLarge);
        }
        let segment = segment_size.bytes() as u64;
        let padded_len = padding::padded_len_u64(plaintext_len);
        // At least 256 bytes after padding, so never zero segments and never an empty one.
        let segments = padded_len.div_ceil(segment);
        Ok(Layout {
            segment,
            plaintext_len,
            padded_len,
            segments,
        })
    }

    pub(crate) fn ciphertext_len(&self) -> u64 {
        HEADER_LEN as u64 + self.padded_len + self.segments * TAG_LEN as u64
    }

    /// Plaintext bytes in segment `i` (padding included).
    pub(crate) fn segment_len(&self, i: u64) -> usize {
        let start = i * self.segment;
        // Segments are at most 1 MiB, so this fits any usize.
        self.padded_len.saturating_sub(start).min(self.segment) as usize
    }

    pub(crate) fn is_last(&self, i: u64) -> bool {
        i + 1 == self.segments
    }
}

/// The STREAM nonce of segment `i`: 7 zero bytes ‖ u32 index ‖ final flag (as in age's
/// payload, with a zero prefix because each file key encrypts exactly one file).
pub(crate) fn segment_nonce(i: u64, last: bool) -> [u8; NONCE_LEN] {
    let mut n = [0u8; NONCE_LEN];
    // Indexes stay below 2^25 (MAX_ATTACHMENT_LEN / 64 KiB + 1), so u32 holds them.
    let idx = (i as u32).to_be_bytes();
    n[7..11].copy_from_slice(&idx);
    n[11] = u8::from(last);
    n
}

/// The keys of one file: the AEAD key for its segments and its expected blob header.
pub(crate) struct FileKeys {
    pub(crate) aead: AeadKey,
    pub(crate) header: [u8; HEADER_LEN],
}

impl FileKeys {
    pub(crate) fn derive(file_key: &Secret32, segment_size: SegmentSize) -> Self {
        let stream = cipher::hkdf_sha256_32(&[], &file_key.0, STREAM_LABEL);
        FileKeys {
            aead: AeadKey::new(&stream),
            header: header(segment_size, &commitment(file_key)),
        }
    }

    /// Seal segment `i` in place: `buf` holds its plaintext and gets the tag appended.
    pub(crate) fn seal_segment(&self, layout: &Layout, i: u64, buf: &mut Vec<u8>) -> Result<()> {
        let tag = self
            .aead
            .seal_in_place(&segment_nonce(i, layout.is_last(i)), &self.header, buf)?;
        buf.extend_from_slice(&tag);
        Ok(())
    }

    /// Open segment `i` in place (`buf` = ciphertext ‖ tag, exactly the expected length) and
    /// check its padding bytes; leaves the released plaintext (padding removed) in `buf`.
    pub(crate) fn open_segment(&self, layout: &Layout, i: u64, buf: &mut Vec<u8>) -> Result<()> {
        let len = layout.segment_len(i);
        if buf.len() != len + TAG_LEN {
            return Err(Error::AttachmentCorrupted);
        }
        let (body, tag) = buf.split_at_mut(len);
        let tag: &[u8; TAG_LEN] = (&*tag).try_into().map_err(|_| Error::AttachmentCorrupted)?;
        if !self
            .aead
            .open_in_place(&segment_nonce(i, layout.is_last(i)), &self.header, body, tag)
        {
            return Err(Error::AttachmentCorrupted);
        }
        buf.truncate(len);
        // Bytes at or past the plaintext length are padding: 0x80 then zeros, exactly. A
        // conforming sender writes nothing else; checked after authentication only.
        let start = i * layout.segment;
        let keep = layout.plaintext_len.saturating_sub(start).min(len as u64) as usize;
        let pad = buf.get(keep..).unwrap_or_default();
        let marker_here = start + keep as u64 == layout.plaintext_len;
        let ok = pad
            .iter()
            .enumerate()
            .all(|(j, &b)| if j == 0 && marker_here { b == 0x80 } else { b == 0 });
        if !ok {
            return Err(Error::AttachmentCorrupted);
        }
        buf.truncate(keep);
        Ok(())
    }
}

/// `HKDF(salt = "", ikm = file_key, info = "hushwire/v1/attachment/commitment", 32)`.
pub(crate) fn commitment(file_key: &Secret32) -> [u8; 32] {
    cipher::hkdf_sha256_32(&[], &file_key.0, COMMITMENT_LABEL).0
}

pub(crate) fn header(segment_size: SegmentSize, commitment: &[u8; 32]) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0] = crate::PROTOCOL_VERSION;
    h[1] = ATTACHMENT_TYPE;
    h[2] = segment_size.log2();
    h[3..].copy_from_slice(commitment);
    h
}

/// Everything a recipient needs to fetch, check and decrypt one attachment. Holds the file
/// key: send it only inside an encrypted chat message, never log it (`Debug` redacts it).
#[derive(Clone, PartialEq, Eq)]
pub struct Manifest {
    key: Secret32,
    commitment: [u8; 32],
    layout: Layout,
    segment_size: SegmentSize,
    media_type: String,
    name: Option<String>,
    thumbnail: Option<Vec<u8>>,
}

impl core::fmt::Debug for Manifest {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Manifest")
            .field("key", &"<redacted>")
            .field("plaintext_len", &self.layout.plaintext_len)
            .field("ciphertext_len", &self.ciphertext_len())
            .field("segment_size", &self.segment_size)
            .field("media_type", &self.media_type)
            .field("name", &self.name.as_ref().map(|_| "<redacted>"))
            .field("thumbnail_len", &self.thumbnail.as_ref().map(Vec::len))
            .finish()
    }
}

impl Manifest {
    pub(crate) fn new(key: Secret32, meta: Metadata, plaintext_len: u64) -> Result<Self> {
        let layout = Layout::new(meta.segment_size, plaintext_len)?;
        Ok(Manifest {
            commitment: commitment(&key),
            key,
            layout,
            segment_size: meta.segment_size,
            media_type: meta.media_type,
            name: meta.name,
            thumbnail: meta.thumbnail,
        })
    }

    /// Exact size of the file once decrypted.
    pub fn plaintext_len(&self) -> u64 {
        self.layout.plaintext_len
    }
    /// Exact size of the blob; anything else is refused as corrupted.
    pub fn ciphertext_len(&self) -> u64 {
        self.layout.ciphertext_len()
    }
    /// Segment size of the blob.
    pub fn segment_size(&self) -> SegmentSize {
        self.segment_size
    }
    /// The key commitment, also the last 32 bytes of the blob header: a stable, public id
    /// of the blob (it reveals nothing about the key or the file).
    pub fn commitment(&self) -> [u8; 32] {
        self.commitment
    }
    /// Media type as the sender gave it. Treat it as untrusted input (the sender chose it).
    pub fn media_type(&self) -> &str {
        &self.media_type
    }
    /// File name, if the sender gave one. Untrusted: sanitise before using it as a path.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    /// Thumbnail, if the sender gave one. Untrusted image data.
    pub fn thumbnail(&self) -> Option<&[u8]> {
        self.thumbnail.as_deref()
    }

    pub(crate) fn layout(&self) -> Layout {
        self.layout
    }
    pub(crate) fn keys(&self) -> FileKeys {
        FileKeys::derive(&self.key, self.segment_size)
    }

    /// The manifest's bytes (docs/PROTOCOL.md §15.4), to send as the plaintext of a chat
    /// message. Wiped when dropped: it holds the file key.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(MAX_MANIFEST_LEN.min(
            MIN_MANIFEST_LEN + self.media_type.len() + 255 + self.thumbnail.as_ref().map_or(0, Vec::len),
        )));
        out.push(crate::PROTOCOL_VERSION);
        out.push(ATTACHMENT_TYPE);
        out.push(self.segment_size.log2());
        out.extend_from_slice(&self.key.0);
        out.extend_from_slice(&self.commitment);
        out.extend_from_slice(&self.layout.plaintext_len.to_be_bytes());
        out.extend_from_slice(&self.ciphertext_len().to_be_bytes());
        crate::encoding::put_short_str(&mut out, &self.media_type);
        match &self.name {
            Some(n) => crate::encoding::put_short_str(&mut out, n),
            None => out.push(0),
        }
        let thumb = self.thumbnail.as_deref().unwrap_or_default();
        // At most MAX_THUMBNAIL_LEN (checked on every way in), so it fits a u16.
        out.extend_from_slice(&(thumb.len() as u16).to_be_bytes());
        out.extend_from_slice(thumb);
        out
    }

    /// Decode a manifest received in a chat message, with the checks of docs/PROTOCOL.md
    /// §15.4 in that order.
    ///
    /// # Errors
    ///
    /// `MALFORMED` with the reason (`TooLong`, `UnsupportedVersion`, `UnexpectedType`,
    /// `TooShort`, `InvalidField`, `TrailingBytes`).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_MANIFEST_LEN {
            return Err(DecodeError::TooLong.into());
        }
        let mut r = Reader::new(bytes);
        r.header(ATTACHMENT_TYPE)?;
        if bytes.len() < MIN_MANIFEST_LEN {
            return Err(DecodeError::TooShort.into());
        }
        let segment_size =
            SegmentSize::from_log2(r.u8()?).ok_or(DecodeError::InvalidField("segment_size"))?;
        let key = Secret32(r.array()?);
        let claimed_commitment: [u8; 32] = r.array()?;
        let plaintext_len = r.u64()?;
        let layout = Layout::new(segment_size, plaintext_len)
            .map_err(|_| DecodeError::InvalidField("plaintext_length"))?;
        if r.u64()? != layout.ciphertext_len() {
            return Err(DecodeError::InvalidField("ciphertext_length").into());
        }
        let media_len = r.u8()? as usize;
        let media = r.take(media_len)?;
        if !valid_media_type(media) {
            return Err(DecodeError::InvalidField("media_type").into());
        }
        let name_len = r.u8()? as usize;
        let name = match name_len {
            0 => None,
            n => Some(String::from_utf8(r.take(n)?.into()).map_err(|_| DecodeError::InvalidField("name"))?),
        };
        let thumb_len = u16::from_be_bytes(r.array()?) as usize;
        if thumb_len > MAX_THUMBNAIL_LEN {
            return Err(DecodeError::InvalidField("thumbnail").into());
        }
        let thumbnail = match thumb_len {
            0 => None,
            n => Some(r.take(n)?.to_vec()),
        };
        r.finish()?;
        // Last, because it costs two HMACs: the commitment must be the one the key gives.
        let commitment = commitment(&key);
        if !bool::from(commitment.ct_eq(&claimed_commitment)) {
            return Err(DecodeError::InvalidField("commitment").into());
        }
        Ok(Manifest {
            key,
            commitment,
            layout,
            segment_size,
            // Checked printable ASCII above, so valid UTF-8.
            media_type: String::from_utf8(media.into())
                .map_err(|_| DecodeError::InvalidField("media_type"))?,
            name,
            thumbnail,
        })
    }
}

/// Encrypt a file held in memory: returns its manifest and its blob. For large files use
/// the streaming [`encrypt`] (with `std`), whose memory use does not grow with the file.
///
/// # Errors
///
/// `MESSAGE_TOO_LARGE` above [`MAX_ATTACHMENT_LEN`]; `RANDOMNESS_UNAVAILABLE`.
pub fn encrypt_to_vec(plaintext: &[u8], meta: Metadata) -> Result<(Manifest, Vec<u8>)> {
    encrypt_to_vec_with_key(random_file_key(&mut rand_core::OsRng)?, plaintext, meta)
}

/// [`encrypt_to_vec`] under a given file key (the vectors; callers never choose keys).
pub(crate) fn encrypt_to_vec_with_key(
    key: Secret32,
    plaintext: &[u8],
    meta: Metadata,
) -> Result<(Manifest, Vec<u8>)> {
    let manifest = Manifest::new(key, meta, plaintext.len() as u64)?;
    let layout = manifest.layout();
    let keys = manifest.keys();
    // The size is bounded by MAX_ATTACHMENT_LEN; an allocation failure aborts as usual.
    let mut blob =
        Vec::with_capacity(usize::try_from(layout.ciphertext_len()).map_err(|_| Error::MessageTooLarge)?);
    blob.extend_from_slice(&keys.header);
    let mut seg = Zeroizing::new(Vec::with_capacity(layout.segment as usize + TAG_LEN));
    let mut rest = plaintext;
    for i in 0..layout.segments {
        seg.clear();
        let take = layout.segment_len(i).min(rest.len());
        let (head, tail) = rest.split_at(take);
        seg.extend_from_slice(head);
        rest = tail;
        pad_segment(&layout, i, &mut seg);
        keys.seal_segment(&layout, i, &mut seg)?;
        blob.extend_from_slice(&seg);
    }
    Ok((manifest, blob))
}

/// Append segment `i`'s padding after the plaintext bytes already in `seg`.
pub(crate) fn pad_segment(layout: &Layout, i: u64, seg: &mut Vec<u8>) {
    let len = layout.segment_len(i);
    if seg.len() < len && i * layout.segment + seg.len() as u64 == layout.plaintext_len {
        seg.push(0x80);
    }
    seg.resize(len, 0);
}

/// Decrypt a whole blob held in memory. Nothing is returned unless every segment
/// authenticates.
///
/// # Errors
///
/// `ATTACHMENT_CORRUPTED` if the blob is not exactly the manifest's, intact.
pub fn decrypt_to_vec(manifest: &Manifest, blob: &[u8]) -> Result<Vec<u8>> {
    let layout = manifest.layout();
    if blob.len() as u64 != layout.ciphertext_len() {
        return Err(Error::AttachmentCorrupted);
    }
    let keys = manifest.keys();
    let (header, mut rest) = blob.split_at(HEADER_LEN);
    if !bool::from(header.ct_eq(&keys.header)) {
        return Err(Error::AttachmentCorrupted);
    }
    let mut out = Zeroizing::new(Vec::with_capacity(layout.plaintext_len as usize));
    let mut seg = Zeroizing::new(Vec::with_capacity(layout.segment as usize + TAG_LEN));
    for i in 0..layout.segments {
        let (head, tail) = rest.split_at((layout.segment_len(i) + TAG_LEN).min(rest.len()));
        rest = tail;
        seg.clear();
        seg.extend_from_slice(head);
        keys.open_segment(&layout, i, &mut seg)?;
        out.extend_from_slice(&seg);
    }
    Ok(core::mem::take(&mut *out))
}

pub(crate) fn random_file_key(rng: &mut dyn RngCore) -> Result<Secret32> {
    let mut key = Secret32([0u8; 32]);
    cipher::fill_random(rng, &mut key.0)?;
    Ok(key)
}

#[cfg(test)]
mod tests;
