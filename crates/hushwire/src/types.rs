//! Values every module shares. They live here rather than in `lib.rs` so that modules depend
//! on a leaf module, not on the crate root (`lib.rs` only declares and re-exports).

/// Protocol version 1: the first byte of v1 handshake messages and envelopes, and of every
/// certificate, export container and attachment (those formats did not change in v2).
pub const PROTOCOL_VERSION: u8 = 1;

/// Protocol version 2 (hybrid post-quantum handshake, DH ratchet): the first byte of v2
/// hellos, replies and envelopes. New sessions use it (docs/PROTOCOL.md §16).
pub const PROTOCOL_VERSION_2: u8 = 2;

/// Largest plaintext one message may carry (64 KiB).
pub const MAX_PLAINTEXT_LEN: usize = 64 * 1024;

/// A session's 16-byte random identifier, chosen by the visitor. Public (it is in every
/// header); the relay can use it for routing. Displays as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub(crate) [u8; 16]);

impl SessionId {
    /// The 16 bytes.
    pub fn to_bytes(&self) -> [u8; 16] {
        self.0
    }
}

impl core::fmt::Display for SessionId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Hex by hand rather than `{:02x}`, which would pull integer formatting into wasm.
        fn digit(n: u8) -> u8 {
            if n < 10 {
                b'0' + n
            } else {
                b'a' + n - 10
            }
        }
        let mut out = [0u8; 32];
        for (pair, b) in out.chunks_exact_mut(2).zip(self.0) {
            if let [hi, lo] = pair {
                *hi = digit(b >> 4);
                *lo = digit(b & 15);
            }
        }
        f.write_str(core::str::from_utf8(&out).map_err(|_| core::fmt::Error)?)
    }
}

impl core::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SessionId({self})")
    }
}
