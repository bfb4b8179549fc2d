//! # hushwire-ffi
//!
//! UniFFI bindings of [`hushwire`] for Kotlin (Android, JVM), Swift (iOS, macOS) and Python.
//! The generated sources live in `bindings/uniffi/generated/`; `README.md` next to this crate
//! shows the API from each language.
//!
//! * Objects (`OrgSigningKey`, `OrgPublicKey`, `AgentKey`, `AgentCertificate`, `StorageKey`,
//!   `AgentIdentity`, `VisitorHandshake`, `Session`) are thread-safe. Only `Session` and
//!   `VisitorHandshake` lock (a `Mutex` per object); see their docs for which calls may block.
//! * Every failure is a [`HushwireError`] whose `code` is the core's stable code string.
//! * Nothing here panics on any input: every length and encoding is checked and reported as
//!   `MALFORMED`. (UniFFI would turn a panic into an internal error rather than crash the host,
//!   but none is expected.)
//! * App-owned pieces are callback interfaces (see [`SessionStore`]).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::sync::{Mutex, MutexGuard, PoisonError};

mod attachment;
mod conversation;
mod error;
mod handshake;
mod keys;
mod session;
mod store;

pub use attachment::{AttachmentManifest, AttachmentOpener, AttachmentSealer, SealedAttachment};
pub use conversation::{
    create_conversation, Conversation, ConversationCreated, Member, MemberId, MemberRole, OrgAccepted,
    OrgFinished, OrgInitiator, OrgResponder, OrgRole, OrgSession, OrgStart, Outgoing, Received, RosterEvent,
};
pub use error::{HushwireError, Result};
pub use handshake::{
    start_visitor_handshake, AcceptedSession, AgentIdentity, VisitorHandshake, VisitorStart,
};
pub use keys::{AgentCertificate, AgentKey, OrgPublicKey, OrgSigningKey, StorageKey};
pub use session::{load_session, Session, SessionConfig};
pub use store::SessionStore;

uniffi::setup_scaffolding!();

/// Lock a mutex. The core never panics, so a poisoned lock cannot happen; if it did, the state
/// is still consistent (the core commits ratchet state only after a successful operation), so
/// the guard is recovered rather than turned into a panic across the FFI boundary.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Which side of a session sent a message.
#[derive(uniffi::Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The visitor (the handshake initiator).
    Visitor,
    /// The agent (the handshake responder).
    Agent,
}

/// The readable header of an envelope, for routing and ordering before opening it.
#[derive(uniffi::Record, Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeInfo {
    /// The session the envelope belongs to (32 lowercase hex digits).
    pub session_id: String,
    /// Who sealed it.
    pub sender: Role,
    /// The sender's message counter (0 for the first message).
    pub counter: u32,
}

/// Read an envelope's header without opening it (nothing is authenticated yet).
/// `MALFORMED` for garbage.
#[uniffi::export]
pub fn inspect_envelope(envelope: Vec<u8>) -> Result<EnvelopeInfo> {
    let envelope = hushwire::Envelope::from_bytes(&envelope)?;
    let sender = if envelope.sender() == hushwire::Role::Visitor {
        Role::Visitor
    } else {
        Role::Agent
    };
    Ok(EnvelopeInfo {
        session_id: envelope.session_id().to_string(),
        sender,
        counter: envelope.counter(),
    })
}

/// Envelope bytes to their base64url text form.
#[uniffi::export]
pub fn envelope_to_text(envelope: Vec<u8>) -> Result<String> {
    Ok(hushwire::Envelope::from_bytes(&envelope)?.to_string())
}

/// An envelope's base64url text form to its bytes. `MALFORMED` for garbage.
#[uniffi::export]
pub fn envelope_from_text(text: String) -> Result<Vec<u8>> {
    let envelope: hushwire::Envelope = text.parse()?;
    Ok(envelope.to_bytes())
}

/// The session id a hello opens (32 lowercase hex digits), so an agent can route it.
/// `MALFORMED` for garbage.
#[uniffi::export]
pub fn hello_session_id(hello: Vec<u8>) -> Result<String> {
    Ok(hushwire::Hello::from_bytes(&hello)?.session_id().to_string())
}

/// The protocol version new sessions use (the first byte of their hellos, replies and
/// envelopes): 2. Version 1 sessions and exports are still read.
#[uniffi::export]
pub fn protocol_version() -> u8 {
    hushwire::PROTOCOL_VERSION_2
}

/// One file of `docs/vectors/`, as computed by this build. Test builds only (feature
/// `testing`).
#[cfg(feature = "testing")]
#[derive(uniffi::Record, Debug, Clone, PartialEq, Eq)]
pub struct VectorFile {
    /// The file name, e.g. `"handshake.json"`.
    pub name: String,
    /// The file's exact contents.
    pub json: String,
}

/// Recompute the protocol's test vectors (the JSON files in `docs/vectors`) with this build, so
/// conformance tests in each language can compare them byte for byte with the committed
/// files. Deterministic; uses public randomness and is for tests only: it exists only in
/// builds with the `testing` feature, never in released libraries or the committed bindings.
#[cfg(feature = "testing")]
#[uniffi::export]
pub fn regenerate_vectors() -> Vec<VectorFile> {
    hushwire::test_vectors::generate()
        .into_iter()
        .map(|(name, json)| VectorFile {
            name: name.to_owned(),
            json,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "testing")]
    #[test]
    fn vectors_match_the_committed_files() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/vectors");
        for f in regenerate_vectors() {
            let committed = std::fs::read_to_string(dir.join(&f.name)).unwrap();
            assert_eq!(committed, f.json, "{}", f.name);
        }
    }

    #[test]
    fn garbage_is_malformed_everywhere() {
        for input in [vec![], vec![0u8; 3], vec![1u8; 200], vec![0xffu8; 70_000]] {
            for r in [
                inspect_envelope(input.clone()).map(|_| ()),
                hello_session_id(input.clone()).map(|_| ()),
                OrgPublicKey::from_bytes(input.clone()).map(|_| ()),
                AgentCertificate::from_bytes(input.clone()).map(|_| ()),
                StorageKey::from_bytes(input.clone()).map(|_| ()),
                AgentKey::from_secret_bytes(input.clone()).map(|_| ()),
                OrgSigningKey::from_secret_bytes(input.clone()).map(|_| ()),
            ] {
                assert_eq!(r.err().map(|e| e.code().to_owned()).as_deref(), Some("MALFORMED"));
            }
        }
    }
}
