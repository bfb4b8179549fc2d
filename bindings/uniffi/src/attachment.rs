//! Encrypted attachments (docs/PROTOCOL.md §15) as push-style objects: the app hands in bytes
//! as it reads them and writes out what comes back, so a file of any size goes through a
//! segment's worth of memory. The platform stream types are thin wrappers over these objects
//! in `bindings/uniffi/adapters/` (Kotlin `InputStream`/`OutputStream`, Python and Swift
//! file-like objects).

use std::sync::{Arc, Mutex};

use hushwire::attachment::{self, Metadata, SegmentSize};

use crate::{lock, HushwireError, Result};

/// A decoded, checked attachment manifest: what a recipient needs to fetch, check and open
/// one file. It holds the file key: send its bytes only inside a sealed chat message.
#[derive(uniffi::Object)]
pub struct AttachmentManifest(attachment::Manifest);

impl std::fmt::Debug for AttachmentManifest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The core's Debug redacts the key and the name.
        self.0.fmt(f)
    }
}

#[uniffi::export]
impl AttachmentManifest {
    /// Decode a manifest received as a chat message's plaintext. `MALFORMED` if invalid.
    #[uniffi::constructor]
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Arc<Self>> {
        Ok(Arc::new(AttachmentManifest(attachment::Manifest::from_bytes(
            &bytes,
        )?)))
    }

    /// The manifest's bytes, to send with `Session.seal`.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes().to_vec()
    }

    /// Exact file size in bytes.
    pub fn plaintext_len(&self) -> u64 {
        self.0.plaintext_len()
    }

    /// Exact blob size in bytes: anything else is refused.
    pub fn ciphertext_len(&self) -> u64 {
        self.0.ciphertext_len()
    }

    /// The key commitment (32 bytes), a public id of the blob.
    pub fn commitment(&self) -> Vec<u8> {
        self.0.commitment().to_vec()
    }

    /// Media type, as the sender gave it (untrusted).
    pub fn media_type(&self) -> String {
        self.0.media_type().into()
    }

    /// File name, if any (untrusted: sanitise before using it as a path).
    pub fn name(&self) -> Option<String> {
        self.0.name().map(Into::into)
    }

    /// Thumbnail, if any (untrusted image data).
    pub fn thumbnail(&self) -> Option<Vec<u8>> {
        self.0.thumbnail().map(<[u8]>::to_vec)
    }
}

/// Encrypts a file fed to it in pieces. `update` returns the blob bytes ready so far;
/// `finish` returns the rest and the manifest. Any later call after `finish` or an error
/// fails (`INVALID_ARGUMENT` after `finish`, the same error after a failure).
#[derive(uniffi::Object)]
pub struct AttachmentSealer(Mutex<Option<attachment::Sealer>>);

/// The end of a sealed attachment: the blob's last bytes and the manifest.
#[derive(uniffi::Record)]
pub struct SealedAttachment {
    /// The blob's remaining bytes (write them after everything `update` returned).
    pub tail: Vec<u8>,
    /// The manifest, to send in a chat message.
    pub manifest: Arc<AttachmentManifest>,
}

fn finished() -> HushwireError {
    hushwire::Error::InvalidArgument("attachment already finished").into()
}

#[uniffi::export]
impl AttachmentSealer {
    /// Start a file of `media_type` (printable ASCII, e.g. `image/png`), with an optional
    /// name and thumbnail; `large_segments` picks 1 MiB segments instead of 64 KiB.
    /// `INVALID_ARGUMENT` for a bad media type, name or thumbnail.
    #[uniffi::constructor]
    pub fn new(
        media_type: String,
        name: Option<String>,
        thumbnail: Option<Vec<u8>>,
        large_segments: bool,
    ) -> Result<Arc<Self>> {
        let size = if large_segments {
            SegmentSize::Mib1
        } else {
            SegmentSize::Kib64
        };
        let mut meta = Metadata::new(&media_type)?.with_segment_size(size);
        if let Some(n) = name {
            meta = meta.with_name(&n)?;
        }
        if let Some(t) = thumbnail {
            meta = meta.with_thumbnail(&t)?;
        }
        Ok(Arc::new(AttachmentSealer(Mutex::new(Some(
            attachment::Sealer::new(meta)?,
        )))))
    }

    /// Take the next bytes of the file; returns the blob bytes now ready (often empty).
    pub fn update(&self, data: Vec<u8>) -> Result<Vec<u8>> {
        let mut guard = lock(&self.0);
        let sealer = guard.as_mut().ok_or_else(finished)?;
        let mut out = Vec::new();
        sealer.update(&data, &mut out)?;
        Ok(out)
    }

    /// Seal the rest: returns the blob's last bytes and the manifest.
    pub fn finish(&self) -> Result<SealedAttachment> {
        let sealer = lock(&self.0).take().ok_or_else(finished)?;
        let mut tail = Vec::new();
        let manifest = sealer.finish(&mut tail)?;
        Ok(SealedAttachment {
            tail,
            manifest: Arc::new(AttachmentManifest(manifest)),
        })
    }
}

/// Decrypts a blob fed to it in pieces. `update` returns the plaintext of every segment that
/// authenticated (never a byte before); `finish` fails unless the blob ended exactly after
/// its final segment. Every refusal is `ATTACHMENT_CORRUPTED` and repeats on later calls:
/// what came out before was authentic but is not the whole file, so discard it.
#[derive(uniffi::Object)]
pub struct AttachmentOpener(Mutex<attachment::Opener>);

#[uniffi::export]
impl AttachmentOpener {
    /// Open the blob of `manifest`.
    #[uniffi::constructor]
    pub fn new(manifest: Arc<AttachmentManifest>) -> Arc<Self> {
        Arc::new(AttachmentOpener(Mutex::new(attachment::Opener::new(&manifest.0))))
    }

    /// Take the next bytes of the blob; returns the plaintext now authenticated.
    pub fn update(&self, data: Vec<u8>) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        lock(&self.0).update(&data, &mut out)?;
        Ok(out)
    }

    /// The end of the blob. `ATTACHMENT_CORRUPTED` if it was truncated or refused earlier.
    pub fn finish(&self) -> Result<()> {
        if lock(&self.0).is_complete() {
            Ok(())
        } else {
            Err(hushwire::Error::AttachmentCorrupted.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let s = AttachmentSealer::new("image/png".into(), Some("a.png".into()), None, false).unwrap();
        let data: Vec<u8> = (0..150_000u32).map(|i| (i % 251) as u8).collect();
        let mut blob = Vec::new();
        for piece in data.chunks(10_000) {
            blob.extend(s.update(piece.to_vec()).unwrap());
        }
        let sealed = s.finish().unwrap();
        blob.extend(sealed.tail);
        assert_eq!(
            s.finish().err().map(|e| e.code().to_string()),
            Some("INVALID_ARGUMENT".into())
        );
        let m = AttachmentManifest::from_bytes(sealed.manifest.to_bytes()).unwrap();
        assert_eq!(
            (m.name(), m.ciphertext_len()),
            (Some("a.png".into()), blob.len() as u64)
        );
        let o = AttachmentOpener::new(m.clone());
        let mut out = Vec::new();
        for piece in blob.chunks(7_777) {
            out.extend(o.update(piece.to_vec()).unwrap());
        }
        o.finish().unwrap();
        assert_eq!(out, data);
        // Truncated: finish refuses. Corrupted: update refuses, and keeps refusing.
        let o = AttachmentOpener::new(m.clone());
        o.update(blob[..blob.len() - 1].to_vec()).unwrap();
        assert_eq!(
            o.finish().err().map(|e| e.code().to_string()),
            Some("ATTACHMENT_CORRUPTED".into())
        );
        let mut bad = blob.clone();
        bad[100] ^= 1;
        let o = AttachmentOpener::new(m);
        assert_eq!(
            o.update(bad).err().map(|e| e.code().to_string()),
            Some("ATTACHMENT_CORRUPTED".into())
        );
        assert!(o.update(Vec::new()).is_err());
        assert!(o.finish().is_err());
    }
}
