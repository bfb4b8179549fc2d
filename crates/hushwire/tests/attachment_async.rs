//! The `futures-io` attachment adapters against the blocking ones: same blob format, same
//! refusals, over inner streams that return `Pending`, short reads and short writes.
#![cfg(feature = "futures-io")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::future::Future;
use std::io;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use futures_io::{AsyncRead, AsyncWrite};
use hushwire::attachment::{self, AsyncDecryptor, AsyncEncryptor, Manifest, Metadata, SegmentSize};
use hushwire::Error;

/// A minimal executor: poll until ready, parking in between (every waker wakes the thread).
fn block_on<F: Future>(f: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

/// Returns `Pending` (after waking) on every other poll and moves at most `step` bytes.
struct Awkward<T> {
    inner: T,
    step: usize,
    flip: bool,
}

impl<T> Awkward<T> {
    fn new(inner: T, step: usize) -> Self {
        Awkward {
            inner,
            step,
            flip: false,
        }
    }
    fn stall(&mut self, cx: &mut Context<'_>) -> bool {
        self.flip = !self.flip;
        if self.flip {
            cx.waker().wake_by_ref();
        }
        self.flip
    }
}

impl AsyncRead for Awkward<&[u8]> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.stall(cx) {
            return Poll::Pending;
        }
        let n = this.step.min(buf.len()).min(this.inner.len());
        buf[..n].copy_from_slice(&this.inner[..n]);
        this.inner = &this.inner[n..];
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for Awkward<Vec<u8>> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.stall(cx) {
            return Poll::Pending;
        }
        let n = this.step.min(data.len());
        this.inner.extend_from_slice(&data[..n]);
        Poll::Ready(Ok(n))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Write all of `data` in pieces of `piece` bytes, then close; returns the manifest and blob.
fn seal_async(data: &[u8], piece: usize, step: usize, meta: Metadata) -> (Manifest, Vec<u8>) {
    let mut enc = AsyncEncryptor::new(Awkward::new(Vec::new(), step), meta).unwrap();
    block_on(async {
        for p in data.chunks(piece.max(1)) {
            let mut p = p;
            while !p.is_empty() {
                let n = std::future::poll_fn(|cx| Pin::new(&mut enc).poll_write(cx, p))
                    .await
                    .unwrap();
                p = &p[n..];
            }
        }
        std::future::poll_fn(|cx| Pin::new(&mut enc).poll_close(cx))
            .await
            .unwrap();
    });
    let m = enc.manifest().unwrap().clone();
    (m, enc.into_inner().inner)
}

/// Read the plaintext to its end (or the first error) in reads of `want` bytes.
fn open_async(m: &Manifest, blob: &[u8], step: usize, want: usize) -> (Vec<u8>, io::Result<()>) {
    let mut dec = AsyncDecryptor::new(m, Awkward::new(blob, step));
    let mut out = Vec::new();
    let res = block_on(async {
        let mut buf = vec![0u8; want];
        loop {
            match std::future::poll_fn(|cx| Pin::new(&mut dec).poll_read(cx, &mut buf)).await {
                Ok(0) => return Ok(()),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) => return Err(e),
            }
        }
    });
    (out, res)
}

fn code(e: &io::Error) -> Option<&Error> {
    Error::from_io(e)
}

#[test]
fn async_round_trip_and_blob_format_match_the_blocking_adapters() {
    for (len, size) in [
        (0usize, SegmentSize::Kib64),
        (1, SegmentSize::Kib64),
        (65_536, SegmentSize::Kib64),
        (131_071, SegmentSize::Kib64),
        (300_000, SegmentSize::Kib64),
        (1_100_000, SegmentSize::Mib1),
    ] {
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let meta = Metadata::new("image/png").unwrap().with_segment_size(size);
        let (m, blob) = seal_async(&data, 10_000, 4_099, meta);
        assert_eq!(blob.len() as u64, m.ciphertext_len());
        // The blocking reader opens what the async writer sealed, and vice versa.
        assert_eq!(attachment::decrypt_to_vec(&m, &blob).unwrap(), data);
        let (m2, blob2) =
            attachment::encrypt_to_vec(&data, Metadata::new("a/b").unwrap().with_segment_size(size)).unwrap();
        for (step, want) in [(1_000, 333), (70_000, 1 << 20)] {
            let (out, res) = open_async(&m2, &blob2, step, want);
            res.unwrap();
            assert_eq!(out, data, "len {len} step {step}");
        }
    }
}

#[test]
fn async_reader_refuses_truncation_extension_and_tampering_and_stays_failed() {
    let data: Vec<u8> = (0..200_000).map(|i| (i % 251) as u8).collect();
    let (m, blob) = attachment::encrypt_to_vec(&data, Metadata::new("a/b").unwrap()).unwrap();
    let mut extended = blob.clone();
    extended.push(0);
    let mut flipped = blob.clone();
    flipped[35 + 65_552 + 1] ^= 1;
    for (name, bad) in [
        ("truncated", &blob[..blob.len() - 1]),
        ("cut at a boundary", &blob[..35 + 65_552]),
        ("empty", &blob[..0]),
        ("extended", &extended[..]),
        ("flipped in segment 1", &flipped[..]),
    ] {
        let (out, res) = open_async(&m, bad, 5_000, 4096);
        let err = res.expect_err(name);
        assert_eq!(code(&err), Some(&Error::AttachmentCorrupted), "{name}");
        // Only whole authentic segments came out before the refusal.
        assert_eq!(out.len() % 65_536, 0, "{name}");
        assert_eq!(out[..], data[..out.len()], "{name}");
    }
    // After a refusal every later read fails too.
    let mut dec = AsyncDecryptor::new(&m, Awkward::new(&flipped[..], 1 << 20));
    let mut buf = vec![0u8; 1 << 20];
    let mut errors = 0;
    for _ in 0..6 {
        if block_on(std::future::poll_fn(|cx| {
            Pin::new(&mut dec).poll_read(cx, &mut buf)
        }))
        .is_err()
        {
            errors += 1;
        }
    }
    assert!(errors >= 4, "{errors}");
}

#[test]
fn async_writer_keeps_memory_at_a_segment_and_reports_writer_failures() {
    // A single huge write is taken one segment at a time.
    let mut enc = AsyncEncryptor::new(Vec::new(), Metadata::new("a/b").unwrap()).unwrap();
    let big = vec![1u8; 300_000];
    let n = block_on(std::future::poll_fn(|cx| Pin::new(&mut enc).poll_write(cx, &big))).unwrap();
    assert_eq!(n, 65_536);
    // A writer that fails: the encryptor reports it and refuses to go on.
    struct Broken;
    impl AsyncWrite for Broken {
        fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, _: &[u8]) -> Poll<io::Result<usize>> {
            Poll::Ready(Err(io::Error::other("disk full")))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }
    let mut enc = AsyncEncryptor::new(Broken, Metadata::new("a/b").unwrap()).unwrap();
    block_on(async {
        // Segment 0 fills, then is sealed when the second write shows it is not the last;
        // the third write must first send it, and the writer fails.
        for _ in 0..2 {
            std::future::poll_fn(|cx| Pin::new(&mut enc).poll_write(cx, &big))
                .await
                .unwrap();
        }
        let err = std::future::poll_fn(|cx| Pin::new(&mut enc).poll_write(cx, &big))
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        assert!(std::future::poll_fn(|cx| Pin::new(&mut enc).poll_write(cx, &big))
            .await
            .is_err());
        assert!(std::future::poll_fn(|cx| Pin::new(&mut enc).poll_close(cx))
            .await
            .is_err());
    });
    assert!(enc.manifest().is_none());
}
