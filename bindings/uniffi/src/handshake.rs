//! The agent's identity and the visitor's side of the handshake.

use std::sync::{Arc, Mutex};

use zeroize::Zeroizing;

use crate::error::Result;
use crate::keys::{AgentCertificate, AgentKey, OrgPublicKey, StorageKey};
use crate::lock;
use crate::session::Session;

/// An agent device ready to accept visitors: its key, its certificate and its organisation.
///
/// Immutable and lock-free: `accept` may run on many threads at once.
#[derive(uniffi::Object)]
pub struct AgentIdentity {
    pub(crate) inner: hushwire::AgentIdentity,
}

/// What `AgentIdentity.accept` returns: the agent's new session and the reply bytes to send
/// to the visitor.
#[derive(uniffi::Record)]
pub struct AcceptedSession {
    /// The agent's session, ready to seal at once.
    pub session: Arc<Session>,
    /// The handshake reply to send back to the visitor.
    pub reply: Vec<u8>,
}

#[uniffi::export]
impl AgentIdentity {
    /// Combine a device key with its certificate. Fails (`WRONG_ORGANIZATION`, `BAD_CERTIFICATE`,
    /// `CERTIFICATE_KEY_MISMATCH`) if `certificate` was not signed by `org` or certifies another
    /// key. The key object stays usable; the identity keeps its own copy.
    #[uniffi::constructor]
    pub fn new(
        key: Arc<AgentKey>,
        certificate: Arc<AgentCertificate>,
        org: Arc<OrgPublicKey>,
    ) -> Result<Arc<Self>> {
        let secret = key.inner.secret_bytes();
        let own_key = hushwire::AgentKey::from_secret_bytes(&secret);
        let inner = hushwire::AgentIdentity::new(own_key, certificate.inner.clone(), &org.inner)?;
        Ok(Arc::new(AgentIdentity { inner }))
    }

    /// Open an identity sealed by `exportState`. `EXPORT_AUTHENTICATION` for a wrong key or an
    /// altered export, `MALFORMED` for garbage.
    #[uniffi::constructor]
    pub fn import_state(exported: String, storage_key: Arc<StorageKey>) -> Result<Arc<Self>> {
        let exported = Zeroizing::new(exported);
        Ok(Arc::new(AgentIdentity {
            inner: hushwire::AgentIdentity::import(&exported, &storage_key.inner)?,
        }))
    }

    /// Seal the identity (key, certificate, organisation key) under `storageKey`.
    pub fn export_state(&self, storage_key: Arc<StorageKey>) -> Result<String> {
        Ok(self.inner.export(&storage_key.inner)?)
    }

    /// Accept a visitor's hello bytes: returns the agent's session and the reply to send.
    /// `MALFORMED` for garbage, `WRONG_ORGANIZATION` for a hello pinned to another organisation.
    pub fn accept(&self, hello: Vec<u8>) -> Result<AcceptedSession> {
        let hello = hushwire::Hello::from_bytes(&hello)?;
        let (session, reply) = self.inner.accept(&hello)?;
        Ok(AcceptedSession {
            session: Session::wrap(session),
            reply: reply.to_bytes(),
        })
    }

    /// This device's certificate.
    pub fn certificate(&self) -> Arc<AgentCertificate> {
        Arc::new(AgentCertificate {
            inner: self.inner.certificate().clone(),
        })
    }

    /// The organisation this agent belongs to.
    pub fn org_public_key(&self) -> Arc<OrgPublicKey> {
        Arc::new(OrgPublicKey {
            inner: self.inner.org_public_key(),
        })
    }
}

/// A visitor's handshake in progress, created by `startVisitorHandshake`.
///
/// `finish` locks the handshake (microseconds); a failed `finish` (a forged reply) leaves it
/// usable for the real reply, and after one success further calls fail with `INVALID_ARGUMENT`.
#[derive(uniffi::Object)]
pub struct VisitorHandshake {
    pub(crate) inner: Mutex<hushwire::VisitorHandshake>,
    session_id: String,
}

/// What `startVisitorHandshake` returns: the handshake to finish later and the hello bytes to
/// send to the agent.
#[derive(uniffi::Record)]
pub struct VisitorStart {
    /// Keep this until the agent's reply arrives.
    pub handshake: Arc<VisitorHandshake>,
    /// The opening message to send (1242 bytes in v2, 58 in v1; safe in clear).
    pub hello: Vec<u8>,
}

/// Start a new session with an agent of the organisation whose key the app pins. Every call
/// draws a fresh session id and ephemeral key.
#[uniffi::export]
pub fn start_visitor_handshake(org: Arc<OrgPublicKey>) -> Result<VisitorStart> {
    start_visitor_handshake_with_version(org, hushwire::PROTOCOL_VERSION_2)
}

/// [`start_visitor_handshake`] in protocol `version`: 2 (the default), or 1 only for an agent
/// known to be too old for v2. A reply of another version is refused (`DOWNGRADE`).
#[uniffi::export]
pub fn start_visitor_handshake_with_version(org: Arc<OrgPublicKey>, version: u8) -> Result<VisitorStart> {
    let (handshake, hello) = hushwire::VisitorHandshake::start_with_version(&org.inner, version)?;
    let session_id = handshake.session_id().to_string();
    Ok(VisitorStart {
        handshake: Arc::new(VisitorHandshake {
            inner: Mutex::new(handshake),
            session_id,
        }),
        hello: hello.to_bytes(),
    })
}

#[uniffi::export]
impl VisitorHandshake {
    /// Finish with the agent's reply bytes, checking the agent's certificate against the
    /// pinned organisation key at the system clock's time.
    pub fn finish(&self, reply: Vec<u8>) -> Result<Arc<Session>> {
        let reply = hushwire::Reply::from_bytes(&reply)?;
        let session = lock(&self.inner).finish(&reply)?;
        Ok(Session::wrap(session))
    }

    /// `finish` with the time given explicitly (Unix seconds), for tests and devices whose
    /// clock the app corrects.
    pub fn finish_at(&self, reply: Vec<u8>, now: u64) -> Result<Arc<Session>> {
        let reply = hushwire::Reply::from_bytes(&reply)?;
        let session = lock(&self.inner).finish_at(&reply, now)?;
        Ok(Session::wrap(session))
    }

    /// The session id this handshake opens (32 lowercase hex digits).
    pub fn session_id(&self) -> String {
        self.session_id.clone()
    }
}
