//! `std::io` adapters: memory stays at one segment (plus tag) per direction, whatever the
//! file size.

use std::io::{self, Read, Write};
use std::vec::Vec;

use rand_core::RngCore;
use zeroize::Zeroizing;

use super::{pad_segment, random_file_key, FileKeys, Layout, Manifest, Metadata, HEADER_LEN};
use crate::cipher::{Secret32, TAG_LEN};

use crate::error::Error;

/// Encrypts a file written into it, in segments, to `W` (the blob). Call
/// [`Encryptor::finish`] at the end to seal the final segment and get the [`Manifest`]:
/// dropped without it, the output lacks its final segment and no reader accepts it.
///
/// The blob's first bytes depend only on the key, so they are written as soon as the first
/// segment is full: an upload can start before the file is read to its end.
pub struct Encryptor<W: Write> {
    out: W,
    key: Secret32,
    meta: Metadata,
    keys: FileKeys,
    /// Plaintext of the segment being filled (sealed in place when it is written out).
    buf: Zeroizing<Vec<u8>>,
    segment: usize,
    written: u64,
    index: u64,
    header_written: bool,
    /// A write to `out` failed part-way: the blob is inconsistent, refuse to go on.
    poisoned: bool,
}

impl<W: Write> core::fmt::Debug for Encryptor<W> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Encryptor")
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl<W: Write> Encryptor<W> {
    /// Start an attachment under a fresh random file key.
    ///
    /// # Errors
    ///
    /// `RANDOMNESS_UNAVAILABLE`.
    pub fn new(out: W, meta: Metadata) -> Result<Self, Error> {
        Self::with_rng(out, meta, &mut rand_core::OsRng)
    }

    pub(crate) fn with_rng(out: W, meta: Metadata, rng: &mut dyn RngCore) -> Result<Self, Error> {
        let key = random_file_key(rng)?;
        let keys = FileKeys::derive(&key, meta.segment_size);
        let segment = meta.segment_size.bytes();
        Ok(Encryptor {
            out,
            key,
            keys,
            buf: Zeroizing::new(Vec::with_capacity(segment + TAG_LEN)),
            segment,
            meta,
            written: 0,
            index: 0,
            header_written: false,
            poisoned: false,
        })
    }

    /// Read `input` to its end into the attachment, filling segments directly (no extra copy).
    fn fill_from(&mut self, input: &mut dyn Read) -> io::Result<()> {
        loop {
            if self.buf.len() == self.segment {
                // A full segment is sealed only once more data shows it is not the last.
                let mut probe = [0u8; 1];
                match input.read(&mut probe) {
                    Ok(0) => return Ok(()),
                    Ok(_) => {
                        self.flush_segment(false)?;
                        self.push(&probe)?;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
                continue;
            }
            let start = self.buf.len();
            self.buf.resize(self.segment, 0);
            let got = match input.read(self.buf.get_mut(start..).unwrap_or_default()) {
                Ok(n) => n,
                Err(e) => {
                    self.buf.truncate(start);
                    if e.kind() == io::ErrorKind::Interrupted {
                        // Retry; taken as the end of input it would silently cut the file.
                        continue;
                    }
                    return Err(e);
                }
            };
            self.buf.truncate(start + got);
            self.count(got)?;
            if got == 0 && self.buf.len() < self.segment {
                // `read` returned 0 without an error: the end of the input.
                return Ok(());
            }
        }
    }

    fn count(&mut self, n: usize) -> io::Result<()> {
        self.written += n as u64;
        if self.written > super::MAX_ATTACHMENT_LEN {
            self.poisoned = true;
            return Err(Error::MessageTooLarge.into());
        }
        Ok(())
    }

    fn push(&mut self, data: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(data);
        self.count(data.len())
    }

    /// Seal the buffered segment (non-final unless `last`) and write it out.
    fn flush_segment(&mut self, last: bool) -> io::Result<()> {
        if self.poisoned {
            return Err(io::Error::other("attachment encryptor failed earlier"));
        }
        self.poisoned = true; // cleared below once the segment is fully written
        if !self.header_written {
            self.out.write_all(&self.keys.header)?;
            self.header_written = true;
        }
        let nonce = super::segment_nonce(self.index, last);
        let tag = self
            .keys
            .aead
            .seal_in_place(&nonce, &self.keys.header, &mut self.buf)?;
        self.out.write_all(&self.buf)?;
        self.out.write_all(&tag)?;
        self.buf.clear();
        self.index += 1;
        self.poisoned = false;
        Ok(())
    }

    /// Pad and seal the rest, flush `W`, and return the manifest and the writer.
    ///
    /// # Errors
    ///
    /// The writer's errors; `MESSAGE_TOO_LARGE` (inside the `io::Error`, see
    /// [`Error::from_io`]) above [`super::MAX_ATTACHMENT_LEN`].
    pub fn finish(mut self) -> io::Result<(Manifest, W)> {
        if self.poisoned {
            return Err(io::Error::other("attachment encryptor failed earlier"));
        }
        let layout = Layout::new(self.meta.segment_size, self.written)?;
        // Segments already sealed are full ones; the buffer holds the start of segment `index`.
        for i in self.index..layout.segments {
            pad_segment(&layout, i, &mut self.buf);
            self.flush_segment(layout.is_last(i))?;
        }
        self.out.flush()?;
        let manifest = Manifest::new(self.key.clone(), self.meta.clone(), self.written)?;
        Ok((manifest, self.out))
    }
}

impl<W: Write> Write for Encryptor<W> {
    fn write(&mut self, mut data: &[u8]) -> io::Result<usize> {
        let total = data.len();
        while !data.is_empty() {
            if self.buf.len() == self.segment {
                self.flush_segment(false)?;
            }
            let room = self.segment - self.buf.len();
            let (head, tail) = data.split_at(room.min(data.len()));
            self.push(head)?;
            data = tail;
        }
        Ok(total)
    }

    /// Flushes the writer only: a partly filled segment stays buffered until it is full or
    /// [`Encryptor::finish`] is called.
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Encrypt everything `input` yields into `output` (the blob) and return the manifest.
/// Memory use is one segment, whatever the file size.
///
/// # Errors
///
/// The reader's and the writer's errors; `MESSAGE_TOO_LARGE` and `RANDOMNESS_UNAVAILABLE`
/// inside the `io::Error` (see [`Error::from_io`]).
pub fn encrypt<R: Read, W: Write>(mut input: R, output: W, meta: Metadata) -> io::Result<Manifest> {
    let mut enc = Encryptor::new(output, meta)?;
    enc.fill_from(&mut input)?;
    Ok(enc.finish()?.0)
}

/// Decrypt the blob `input` of `manifest` into `output`; returns the plaintext length.
///
/// On error, `output` has received a prefix of the file (authentic segments only) but the
/// file is incomplete or not the sender's: delete what was written.
///
/// # Errors
///
/// The reader's and the writer's errors; `ATTACHMENT_CORRUPTED` inside the `io::Error` (see
/// [`Error::from_io`]).
pub fn decrypt<R: Read, W: Write>(manifest: &Manifest, input: R, mut output: W) -> io::Result<u64> {
    let mut dec = Decryptor::new(manifest, input);
    let mut total = 0u64;
    while let Some(chunk) = dec.next_segment()? {
        output.write_all(chunk)?;
        total += chunk.len() as u64;
    }
    output.flush()?;
    Ok(total)
}

/// Decrypts a blob read from `R`, as a [`Read`] of the file's plaintext.
///
/// It releases a segment's bytes only after that segment authenticated, and reports the end
/// of the file (`Ok(0)`) only after the final segment authenticated and the blob ended
/// exactly there. Any other outcome is an error carrying `ATTACHMENT_CORRUPTED` (see
/// [`Error::from_io`]), repeated on every later call; the bytes read so far were authentic
/// but are not the whole file, so discard them.
pub struct Decryptor<R: Read> {
    input: R,
    keys: FileKeys,
    layout: Layout,
    /// The current segment: ciphertext while reading, then released plaintext.
    buf: Zeroizing<Vec<u8>>,
    pos: usize,
    next: u64,
    started: bool,
    failed: Option<Error>,
    /// The input failed part-way through a segment.
    broken: bool,
    done: bool,
}

impl<R: Read> core::fmt::Debug for Decryptor<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Decryptor")
            .field("segment", &self.next)
            .finish_non_exhaustive()
    }
}

impl<R: Read> Decryptor<R> {
    /// Decrypt `input`, the blob of `manifest`. Reads nothing until the first `read`.
    pub fn new(manifest: &Manifest, input: R) -> Self {
        let layout = manifest.layout();
        Decryptor {
            input,
            keys: manifest.keys(),
            layout,
            buf: Zeroizing::new(Vec::with_capacity(layout.segment as usize + TAG_LEN)),
            pos: 0,
            next: 0,
            started: false,
            failed: None,
            broken: false,
            done: false,
        }
    }

    /// Read exactly `n` bytes into `buf`; a short input is a truncated blob.
    fn read_exact_into(&mut self, n: usize) -> io::Result<()> {
        self.buf.clear();
        self.buf.resize(n, 0);
        let mut got = 0;
        while got < n {
            match self.input.read(self.buf.get_mut(got..).unwrap_or_default()) {
                Ok(0) => return Err(self.fail(Error::AttachmentCorrupted)),
                Ok(k) => got += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // Never leave a partial, unauthenticated segment where `read` serves from.
                    self.buf.clear();
                    self.pos = 0;
                    self.broken = true;
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    fn fail(&mut self, e: Error) -> io::Error {
        self.buf.clear();
        self.pos = 0;
        self.failed = Some(e.clone());
        e.into()
    }

    /// The next segment's authenticated plaintext, `None` at the verified end.
    fn next_segment(&mut self) -> io::Result<Option<&[u8]>> {
        if let Some(e) = &self.failed {
            return Err(e.clone().into());
        }
        if self.broken {
            // Part of a segment was consumed before the reader failed: resuming would
            // misalign every later segment.
            return Err(io::Error::other("attachment input failed earlier"));
        }
        if self.done {
            return Ok(None);
        }
        if !self.started {
            self.read_exact_into(HEADER_LEN)?;
            let ok: bool = subtle::ConstantTimeEq::ct_eq(self.buf.as_slice(), &self.keys.header).into();
            if !ok {
                return Err(self.fail(Error::AttachmentCorrupted));
            }
            self.started = true;
        }
        if self.next == self.layout.segments {
            // After the final segment the blob must end.
            let mut probe = [0u8; 1];
            loop {
                match self.input.read(&mut probe) {
                    Ok(0) => break,
                    Ok(_) => return Err(self.fail(Error::AttachmentCorrupted)),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        self.broken = true;
                        return Err(e);
                    }
                }
            }
            self.done = true;
            self.buf.clear();
            return Ok(None);
        }
        let i = self.next;
        self.read_exact_into(self.layout.segment_len(i) + TAG_LEN)?;
        if let Err(e) = self.keys.open_segment(&self.layout, i, &mut self.buf) {
            return Err(self.fail(e));
        }
        self.next += 1;
        Ok(Some(self.buf.as_slice()))
    }
}

impl<R: Read> Read for Decryptor<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.failed.is_some() || self.broken {
            // Belt and braces: after any failure only the error comes out.
            self.buf.clear();
            self.pos = 0;
        }
        // Segments made only of padding release nothing: keep going until bytes or the end.
        while self.pos == self.buf.len() {
            self.pos = 0;
            if self.next_segment()?.is_none() {
                return Ok(0);
            }
        }
        let avail = self.buf.get(self.pos..).unwrap_or_default();
        let n = avail.len().min(out.len());
        out.get_mut(..n)
            .unwrap_or_default()
            .copy_from_slice(avail.get(..n).unwrap_or_default());
        self.pos += n;
        Ok(n)
    }
}
