//! # hushwire
//!
//! End-to-end encryption for customer-engagement chat: a visitor in a browser talks to an
//! agent of a business through the vendor's relay, and the relay only ever carries
//! ciphertext. It may read, drop, delay, replay, reorder, inject and substitute keys; it
//! learns sizes (in padding buckets), timing and routing, and cannot forge, alter, replay or
//! redirect a message undetected.
//!
//! * **Handshake**: Noise `NX` over X25519, SHA-256 and AES-256-GCM. The agent proves a key
//!   certified by the organisation's Ed25519 key, which the visitor widget pins. Every session
//!   has fresh keys.
//! * **Messages**: AES-256-GCM under per-message keys from a symmetric chain ratchet; the
//!   header (version, session, sender, counter) is authenticated; fresh random nonces keep a
//!   restored or duplicated session from ever reusing a (key, nonce) pair; plaintext is padded
//!   to hide its exact length.
//! * **Persistence**: sessions export to a string sealed under a [`StorageKey`].
//! * **Attachments** ([`attachment`]): files of any size stream through STREAM over
//!   AES-256-GCM under a fresh key per file, with a key commitment and padded sizes; a small
//!   manifest with the key travels inside a normal chat message.
//!
//! The wire format and every derivation are specified in `docs/PROTOCOL.md`.
//!
//! ## A whole conversation
//!
//! ```
//! use hushwire::{AgentIdentity, AgentKey, OrgSigningKey, Session, StorageKey, VisitorHandshake};
//!
//! # fn main() -> Result<(), hushwire::Error> {
//! // Once, by the organisation's admin: certify an agent's device key for a year.
//! let org = OrgSigningKey::generate()?;
//! let device_key = AgentKey::generate()?;
//! let now = 1_800_000_000;
//! let cert = org.certify_agent(&device_key.public_key(), "alice@shop.example", "laptop-1",
//!                              now - 60, now + 365 * 86_400)?;
//! let agent = AgentIdentity::new(device_key, cert, &org.public_key())?;
//!
//! // The visitor's widget pins the organisation's public key and says hello.
//! let (mut handshake, hello) = VisitorHandshake::start(&org.public_key())?;
//!
//! // The agent picks the conversation up ...
//! let (mut agent_session, reply) = agent.accept(&hello)?;
//! // ... and the visitor checks the agent's certificate while finishing.
//! let mut visitor_session = handshake.finish_at(&reply, now)?;
//! assert_eq!(visitor_session.agent_id(), "alice@shop.example");
//!
//! // Messages both ways; the relay sees only `Envelope`s.
//! let envelope = visitor_session.seal(b"Hi, my order hasn't arrived")?;
//! assert_eq!(agent_session.open(&envelope)?, b"Hi, my order hasn't arrived");
//! let wire_text = agent_session.seal(b"Sorry! Let me check.")?.to_string(); // base64url
//! assert_eq!(visitor_session.open(&wire_text.parse()?)?, b"Sorry! Let me check.");
//!
//! // A replayed message is refused.
//! assert_eq!(agent_session.open(&envelope), Err(hushwire::Error::Replay));
//!
//! // Both sides can compare the safety code out of band.
//! assert_eq!(visitor_session.safety_code(), agent_session.safety_code());
//!
//! // Persist across a page reload.
//! let storage_key = StorageKey::generate()?;
//! let saved = visitor_session.export(&storage_key)?;
//! let restored = Session::import(&saved, &storage_key)?;
//! # let _ = restored;
//! # Ok(())
//! # }
//! ```
//!
//! ## Limits
//!
//! | limit | value | why |
//! |---|---|---|
//! | plaintext per message | [`MAX_PLAINTEXT_LEN`] = 64 KiB | chat text; files go in attachments, which stream |
//! | envelope size | [`MAX_ENVELOPE_LEN`] | padded maximum; decoders refuse more before allocating |
//! | out-of-order window | [`SessionConfig::max_skip`], default 1000, 1 to 20 000 | bounds the work one unauthenticated message can cause |
//! | stored skipped keys | [`SessionConfig::max_stored_skipped`], default 1000, at most 20 000 | bounds memory per session (about 40 bytes a key in memory, 36 in an export) |
//! | agent / device id | 64 bytes UTF-8 | fits an email address or UUID; keeps certificates small |
//! | attachment | [`attachment::MAX_ATTACHMENT_LEN`] = 1 TiB, 64 KiB or 1 MiB segments | streams with one segment of memory per direction |
//! | messages per direction | 2^32 - 1 (counters 0 ..= 2^32 - 2) | counters are 32 bits; start a new session long before |
//!
//! ## Errors
//!
//! Every fallible call returns [`Error`]; [`Error::code`] gives a stable string shared by all
//! language bindings. No input makes this crate panic.
//!
//! ## Features and platforms
//!
//! | feature | default | adds |
//! |---|---|---|
//! | `std` | yes | `VisitorHandshake::finish` (reads the system clock), `std::error::Error` |
//! | `serde` | yes | serde for the wire types (base64url text in human-readable formats) |
//! | `fast` | yes | curve25519-dalek's precomputed tables: faster key generation and certificate checks, about 50 KB more code |
//! | `testing` | no | **not for production**: `hushwire::test_vectors` (sessions from publicly known randomness) and `hushwire::testing` (hooks that expose chain keys and seal malformed messages), for conformance suites, fuzzers and the crate's own tests |
//!
//! Without default features the crate is `no_std` + `alloc`; pass the time to
//! `VisitorHandshake::finish_at`. Randomness comes from the `getrandom` crate: on
//! `wasm32-unknown-unknown` the final binary picks its backend (enable getrandom 0.2's `js`
//! feature, or register a custom one as the npm package does with `crypto.getRandomValues`).
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

// `alloc` only: the crate runs without `std` (the wasm build links no `std` at all, which
// keeps the npm package small). `std` adds the system-clock convenience `finish()`.
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod attachment;
mod cipher;
pub mod conversation;
mod dh_ratchet;
mod encoding;
mod envelope;
mod error;
mod handshake;
mod kem;
mod noise;
mod org;
mod org_session;
mod padding;
mod ratchet;
mod session;
mod storage;
// Test-only (publicly known randomness): never compiled into release artifacts.
#[cfg(feature = "testing")]
pub mod test_vectors;
#[cfg(feature = "testing")]
pub mod testing;
mod types;

pub use envelope::{Envelope, Role, MAX_ENVELOPE_LEN, MIN_ENVELOPE_LEN};
pub use error::{DecodeError, Error, Result, ERROR_CODES};
pub use handshake::{Hello, Reply, VisitorHandshake};
pub use org::{
    AgentCertificate, AgentIdentity, AgentKey, OrgPublicKey, OrgRole, OrgSigningKey, MAX_ID_LEN,
    ORG_KEY_ID_LEN,
};
pub use org_session::{OrgHandshakeMessage, OrgInitiator, OrgResponder, OrgSession};
pub use session::{
    Session, SessionConfig, DEFAULT_MAX_SKIP, DEFAULT_MAX_STORED_SKIPPED, MAX_SKIP_LIMIT,
    MAX_STORED_SKIPPED_LIMIT,
};
pub use storage::StorageKey;
pub use types::{SessionId, MAX_PLAINTEXT_LEN, PROTOCOL_VERSION, PROTOCOL_VERSION_2};

/// The README's Rust example, compiled and run as a doctest (it reads the system clock).
#[cfg(all(doctest, feature = "std"))]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
