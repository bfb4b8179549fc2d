//! Push-style ("sans-I/O") sealer and opener: the caller hands in bytes as they arrive and
//! gets back what is ready. No `std`, no reader or writer, memory of one segment plus tag
//! each: the base of the async adapters and of the UniFFI streaming objects, where the
//! bytes come from an event loop or a foreign stream rather than from [`std::io::Read`].

use alloc::vec::Vec;
use rand_core::RngCore;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::{pad_segment, random_file_key, FileKeys, Layout, Manifest, Metadata, HEADER_LEN};
use crate::cipher::{Secret32, TAG_LEN};
use crate::error::{Error, Result};

/// Encrypts a file fed to it in pieces of any size. [`Sealer::update`] appends the blob
/// bytes that are ready (the header, then every segment known not to be the last);
/// [`Sealer::finish`] pads and seals the rest and returns the [`Manifest`].
///
/// After an error the sealer refuses every later call: the blob written so far is useless.
pub struct Sealer {
    key: Secret32,
    meta: Metadata,
    keys: FileKeys,
    /// Plaintext of the segment being filled.
    buf: Zeroizing<Vec<u8>>,
    segment: usize,
    pub(super) written: u64,
    index: u64,
    header_written: bool,
    failed: Option<Error>,
}

impl core::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Sealer")
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl Sealer {
    /// Start an attachment under a fresh random file key.
    ///
    /// # Errors
    ///
    /// `RANDOMNESS_UNAVAILABLE`.
    pub fn new(meta: Metadata) -> Result<Self> {
        Self::with_rng(meta, &mut rand_core::OsRng)
    }

    pub(crate) fn with_rng(meta: Metadata, rng: &mut dyn RngCore) -> Result<Self> {
        let key = random_file_key(rng)?;
        let keys = FileKeys::derive(&key, meta.segment_size);
        let segment = meta.segment_size.bytes();
        Ok(Sealer {
            key,
            keys,
            buf: Zeroizing::new(Vec::with_capacity(segment + TAG_LEN)),
            segment,
            meta,
            written: 0,
            index: 0,
            header_written: false,
            failed: None,
        })
    }

    /// Bytes of plaintext taken so far.
    pub fn plaintext_len(&self) -> u64 {
        self.written
    }

    /// Take `data` (the next bytes of the file) and append to `out` the blob bytes now ready.
    ///
    /// # Errors
    ///
    /// `MESSAGE_TOO_LARGE` past [`super::MAX_ATTACHMENT_LEN`]; the earlier error after one.
    pub fn update(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> Result<()> {
        self.check()?;
        if self.written.saturating_add(data.len() as u64) > super::MAX_ATTACHMENT_LEN {
            return Err(self.fail(Error::MessageTooLarge));
        }
        self.written += data.len() as u64;
        while !data.is_empty() {
            // A full segment is sealed only once more data shows it is not the last.
            if self.buf.len() == self.segment {
                self.seal(false, out)?;
            }
            let room = self.segment - self.buf.len();
            let (head, tail) = data.split_at(room.min(data.len()));
            self.buf.extend_from_slice(head);
            data = tail;
        }
        Ok(())
    }

    /// Pad and seal what is left, append it to `out`, and return the manifest.
    ///
    /// # Errors
    ///
    /// The earlier error, if [`Sealer::update`] failed.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<Manifest> {
        self.check()?;
        let layout = Layout::new(self.meta.segment_size, self.written)?;
        // Sealed segments are full ones; the buffer holds the start of segment `index`.
        for i in self.index..layout.segments {
            pad_segment(&layout, i, &mut self.buf);
            self.seal(layout.is_last(i), out)?;
        }
        Manifest::new(self.key.clone(), self.meta.clone(), self.written)
    }

    fn seal(&mut self, last: bool, out: &mut Vec<u8>) -> Result<()> {
        if !self.header_written {
            out.extend_from_slice(&self.keys.header);
            self.header_written = true;
        }
        let nonce = super::segment_nonce(self.index, last);
        match self
            .keys
            .aead
            .seal_in_place(&nonce, &self.keys.header, &mut self.buf)
        {
            Ok(tag) => {
                out.extend_from_slice(&self.buf);
                out.extend_from_slice(&tag);
                self.buf.clear();
                self.index += 1;
                Ok(())
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    fn check(&self) -> Result<()> {
        self.failed.clone().map_or(Ok(()), Err)
    }

    fn fail(&mut self, e: Error) -> Error {
        self.buf.clear();
        self.failed = Some(e.clone());
        e
    }
}

/// Decrypts a blob fed to it in pieces of any size. [`Opener::update`] appends the plaintext
/// of each segment once that segment has authenticated (never a byte before);
/// [`Opener::finish`] confirms the blob ended exactly after its final segment.
///
/// Any refusal is `ATTACHMENT_CORRUPTED` and is repeated by every later call; the plaintext
/// released before it was authentic but is not the whole file, so discard it.
pub struct Opener {
    keys: FileKeys,
    layout: Layout,
    /// The header or the segment being received (ciphertext ‖ tag).
    buf: Zeroizing<Vec<u8>>,
    next: u64,
    started: bool,
    failed: bool,
}

impl core::fmt::Debug for Opener {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Opener")
            .field("segment", &self.next)
            .finish_non_exhaustive()
    }
}

impl Opener {
    /// Open the blob of `manifest`.
    pub fn new(manifest: &Manifest) -> Self {
        let layout = manifest.layout();
        Opener {
            keys: manifest.keys(),
            layout,
            buf: Zeroizing::new(Vec::with_capacity(layout.segment as usize + TAG_LEN)),
            next: 0,
            started: false,
            failed: false,
        }
    }

    /// Take `data` (the next bytes of the blob) and append to `out` the plaintext of every
    /// segment it completes.
    ///
    /// # Errors
    ///
    /// `ATTACHMENT_CORRUPTED`.
    pub fn update(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> Result<()> {
        if self.failed {
            return Err(Error::AttachmentCorrupted);
        }
        while !data.is_empty() {
            if self.next == self.layout.segments {
                // Bytes after the final segment.
                return Err(self.fail());
            }
            let want = if self.started {
                self.layout.segment_len(self.next) + TAG_LEN
            } else {
                HEADER_LEN
            };
            let (head, tail) = data.split_at(want.saturating_sub(self.buf.len()).min(data.len()));
            self.buf.extend_from_slice(head);
            data = tail;
            if self.buf.len() < want {
                break;
            }
            if !self.started {
                if !bool::from(self.buf.as_slice().ct_eq(&self.keys.header)) {
                    return Err(self.fail());
                }
                self.started = true;
            } else {
                if self
                    .keys
                    .open_segment(&self.layout, self.next, &mut self.buf)
                    .is_err()
                {
                    return Err(self.fail());
                }
                out.extend_from_slice(&self.buf);
                self.next += 1;
            }
            self.buf.clear();
        }
        Ok(())
    }

    /// `true` once the final segment has authenticated.
    pub fn is_complete(&self) -> bool {
        !self.failed && self.next == self.layout.segments
    }

    /// The end of the blob: fine only if the final segment authenticated.
    ///
    /// # Errors
    ///
    /// `ATTACHMENT_CORRUPTED` for a truncated blob, or after an earlier refusal.
    pub fn finish(self) -> Result<()> {
        if self.is_complete() {
            Ok(())
        } else {
            Err(Error::AttachmentCorrupted)
        }
    }

    fn fail(&mut self) -> Error {
        self.failed = true;
        self.buf.clear();
        Error::AttachmentCorrupted
    }
}
