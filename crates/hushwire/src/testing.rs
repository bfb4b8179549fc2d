//! Test hooks: **not for production**. Compiled only with the `testing` feature.
//!
//! These functions break the abstractions the rest of the crate keeps: they hand out chain
//! keys and seal messages a conforming peer never sends. They exist so that tests (this
//! crate's memory-residue test, fuzzers, the bindings' conformance suites) can check
//! properties that the public API deliberately hides. Nothing here is needed to use hushwire.

use zeroize::Zeroizing;

use crate::{Envelope, Result, Session};

/// The session's current chain keys, `(sending, receiving)`.
///
/// Every later message key of either direction follows from them (docs/PROTOCOL.md §6.2), so
/// a test can derive the key material it expects the library to erase.
pub fn chain_keys(session: &Session) -> (Zeroizing<[u8; 32]>, Zeroizing<[u8; 32]>) {
    session.chain_keys_for_testing()
}

/// Seal `body` as the next message **without padding**, so that it authenticates at the peer
/// and then fails unpadding (unless `body` happens to end in a valid padding marker). Lets
/// tests reach the receive path that refuses authenticated but malformed plaintext.
///
/// # Errors
///
/// As [`Session::seal`].
pub fn seal_unpadded(session: &mut Session, body: &[u8]) -> Result<Envelope> {
    session.seal_unpadded_for_testing(body)
}
