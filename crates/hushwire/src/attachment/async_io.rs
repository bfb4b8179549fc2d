//! `futures-io` adapters (feature `futures-io`): [`AsyncEncryptor`] (`AsyncWrite`) and
//! [`AsyncDecryptor`] (`AsyncRead`), over the push-style [`Sealer`] / [`Opener`], so memory
//! stays at about one segment per direction whatever the file size. Runtime-agnostic; with
//! tokio, wrap tokio's streams with `tokio_util::compat`.

use core::pin::Pin;
use core::task::{ready, Context, Poll};
use std::io;
use std::vec::Vec;

use futures_io::{AsyncRead, AsyncWrite};
use zeroize::Zeroizing;

use super::{Manifest, Metadata, Opener, Sealer};
use crate::error::Error;

/// Bytes read from the blob per poll of the inner reader.
const READ_CHUNK: usize = 16 * 1024;

/// Encrypts a file written into it (`AsyncWrite`) to the blob writer `W`. Close it
/// (`poll_close`, e.g. `AsyncWriteExt::close`) to seal the final segment; the manifest is
/// then [`AsyncEncryptor::manifest`]. Closing also closes `W`. Dropped unclosed, the blob
/// lacks its final segment and no reader accepts it.
pub struct AsyncEncryptor<W> {
    out: W,
    sealer: Option<Sealer>,
    /// Blob bytes sealed but not yet accepted by `out`.
    pending: Vec<u8>,
    sent: usize,
    segment: usize,
    manifest: Option<Manifest>,
    failed: bool,
}

impl<W> core::fmt::Debug for AsyncEncryptor<W> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AsyncEncryptor")
            .field("closed", &self.manifest.is_some())
            .finish_non_exhaustive()
    }
}

impl<W: AsyncWrite + Unpin> AsyncEncryptor<W> {
    /// Start an attachment under a fresh random file key, writing its blob to `out`.
    ///
    /// # Errors
    ///
    /// `RANDOMNESS_UNAVAILABLE`.
    pub fn new(out: W, meta: Metadata) -> Result<Self, Error> {
        let segment = meta.segment_size.bytes();
        Ok(AsyncEncryptor {
            out,
            sealer: Some(Sealer::new(meta)?),
            pending: Vec::with_capacity(segment + 64),
            sent: 0,
            segment,
            manifest: None,
            failed: false,
        })
    }

    /// The manifest, once the encryptor has been closed.
    pub fn manifest(&self) -> Option<&Manifest> {
        self.manifest.as_ref()
    }

    /// The blob writer back (after closing, to reuse it).
    pub fn into_inner(self) -> W {
        self.out
    }

    /// Write out everything pending.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.pending.len() {
            let rest = self.pending.get(self.sent..).unwrap_or_default();
            match ready!(Pin::new(&mut self.out).poll_write(cx, rest)) {
                Ok(0) => {
                    self.failed = true;
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // Part of a segment may have gone out: the blob is inconsistent.
                    self.failed = true;
                    return Poll::Ready(Err(e));
                }
            }
        }
        self.pending.clear();
        self.sent = 0;
        Poll::Ready(Ok(()))
    }

    fn check(&self) -> io::Result<()> {
        if self.failed {
            Err(io::Error::other("attachment encryptor failed earlier"))
        } else {
            Ok(())
        }
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for AsyncEncryptor<W> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        // Accept new bytes only once the previous ones are out: memory stays at a segment.
        ready!(this.poll_drain(cx))?;
        let sealer = this
            .sealer
            .as_mut()
            .ok_or_else(|| io::Error::other("attachment encryptor is closed"))?;
        let take = data.get(..this.segment.min(data.len())).unwrap_or_default();
        if let Err(e) = sealer.update(take, &mut this.pending) {
            this.failed = true;
            return Poll::Ready(Err(e.into()));
        }
        Poll::Ready(Ok(take.len()))
    }

    /// Writes out the sealed segments and flushes `W`; a partly filled segment stays
    /// buffered until it is full or the encryptor is closed.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.out).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        ready!(this.poll_drain(cx))?;
        if let Some(sealer) = this.sealer.take() {
            match sealer.finish(&mut this.pending) {
                Ok(m) => this.manifest = Some(m),
                Err(e) => {
                    this.failed = true;
                    return Poll::Ready(Err(e.into()));
                }
            }
            ready!(this.poll_drain(cx))?;
        }
        Pin::new(&mut this.out).poll_close(cx)
    }
}

/// Decrypts a blob read from `R`, as an `AsyncRead` of the file's plaintext, with the
/// guarantees of [`super::Decryptor`]: bytes of a segment only after it authenticated, the
/// end (`Ok(0)`) only after the final segment did and the blob ended there, and any refusal
/// an error carrying `ATTACHMENT_CORRUPTED` (see [`Error::from_io`]), repeated afterwards.
pub struct AsyncDecryptor<R> {
    input: R,
    opener: Opener,
    chunk: Vec<u8>,
    /// Authenticated plaintext not yet read.
    out: Zeroizing<Vec<u8>>,
    pos: usize,
    done: bool,
    failed: bool,
}

impl<R> core::fmt::Debug for AsyncDecryptor<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AsyncDecryptor")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<R: AsyncRead + Unpin> AsyncDecryptor<R> {
    /// Decrypt `input`, the blob of `manifest`. Reads nothing until polled.
    pub fn new(manifest: &Manifest, input: R) -> Self {
        AsyncDecryptor {
            input,
            opener: Opener::new(manifest),
            chunk: std::vec![0; READ_CHUNK],
            out: Zeroizing::new(Vec::new()),
            pos: 0,
            done: false,
            failed: false,
        }
    }

    fn fail(&mut self) -> io::Error {
        self.failed = true;
        self.out.clear();
        self.pos = 0;
        Error::AttachmentCorrupted.into()
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for AsyncDecryptor<R> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.failed {
            return Poll::Ready(Err(Error::AttachmentCorrupted.into()));
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        loop {
            if this.pos < this.out.len() {
                let avail = this.out.get(this.pos..).unwrap_or_default();
                let n = avail.len().min(buf.len());
                buf.get_mut(..n)
                    .unwrap_or_default()
                    .copy_from_slice(avail.get(..n).unwrap_or_default());
                this.pos += n;
                return Poll::Ready(Ok(n));
            }
            if this.done {
                return Poll::Ready(Ok(0));
            }
            let n = match ready!(Pin::new(&mut this.input).poll_read(cx, &mut this.chunk)) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // The opener has consumed nothing of the failed read: a retry may go on.
                Err(e) => return Poll::Ready(Err(e)),
            };
            if n == 0 {
                if !this.opener.is_complete() {
                    return Poll::Ready(Err(this.fail()));
                }
                this.done = true;
                continue;
            }
            this.out.clear();
            this.pos = 0;
            let data = this.chunk.get(..n).unwrap_or_default();
            if this.opener.update(data, &mut this.out).is_err() {
                return Poll::Ready(Err(this.fail()));
            }
        }
    }
}
