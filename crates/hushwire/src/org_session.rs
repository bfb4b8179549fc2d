//! Sessions between two organisation devices (agent, supervisor, bot), both authenticated by
//! organisation certificates: Noise `XX` with each side's certificate as its encrypted
//! payload (docs/PROTOCOL.md §18.2). The result is an ordinary [`Session`] plus the peer's
//! verified certificate, which a [`crate::conversation::Conversation`] binds to its roster.
//!
//! ```text
//! initiator                                        responder
//! identity.start_org_handshake() ── OrgHello ──▶  identity.accept_org_handshake(hello)
//!                                ◀── OrgReply ──  (OrgResponder)
//! initiator.finish_at(reply, now) ─ OrgFinish ─▶  responder.finish_at(finish, now)
//! (OrgSession ready)                              (OrgSession ready)
//! ```

use alloc::{borrow::ToOwned, vec::Vec};
use rand_core::RngCore;

use crate::cipher;
use crate::dh_ratchet::AgentEphemeral;
use crate::encoding::{wire_text_and_serde, Reader};
use crate::envelope::Role;
use crate::error::{DecodeError, Error, Result};
use crate::noise::xx::{XxInitiator, XxResponder};
use crate::noise::DHLEN;
use crate::org::{
    AgentCertificate, AgentIdentity, AgentKey, OrgPublicKey, CERT_MAX_LEN, CERT_MIN_LEN, ORG_KEY_ID_LEN,
};
use crate::session::{self, Session};
use crate::types::{SessionId, PROTOCOL_VERSION};

/// Message-type bytes of the three handshake messages (docs/PROTOCOL.md §18.2).
const TYPE_ORG_HELLO: u8 = 0x10;
const TYPE_ORG_REPLY: u8 = 0x11;
const TYPE_ORG_FINISH: u8 = 0x12;
const PROLOGUE_LABEL: &[u8] = b"hushwire/v1/org-handshake";
const TAG: usize = 16;
/// Byte bounds of each message, from the certificate's (§18.2).
const HELLO_LEN: usize = 2 + 16 + ORG_KEY_ID_LEN + DHLEN;
const REPLY_MIN: usize = 2 + 16 + DHLEN + DHLEN + TAG + CERT_MIN_LEN + TAG;
const REPLY_MAX: usize = 2 + 16 + DHLEN + DHLEN + TAG + CERT_MAX_LEN + TAG;
const FINISH_MIN: usize = 2 + 16 + DHLEN + TAG + CERT_MIN_LEN + TAG;
const FINISH_MAX: usize = 2 + 16 + DHLEN + TAG + CERT_MAX_LEN + TAG;

fn prologue(session_id: &SessionId, org_key_id: &[u8; ORG_KEY_ID_LEN]) -> Vec<u8> {
    let mut p = PROLOGUE_LABEL.to_vec();
    p.push(PROTOCOL_VERSION);
    p.extend_from_slice(&session_id.0);
    p.extend_from_slice(org_key_id);
    p
}

/// One of the three messages of the organisation handshake. Safe to send in clear: the
/// certificates inside are encrypted.
#[derive(Clone, PartialEq, Eq)]
pub struct OrgHandshakeMessage {
    kind: u8,
    session_id: SessionId,
    body: Vec<u8>,
}

impl core::fmt::Debug for OrgHandshakeMessage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OrgHandshakeMessage")
            .field("kind", &self.kind)
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

impl OrgHandshakeMessage {
    /// The session this message belongs to.
    pub fn session_id(&self) -> SessionId {
        self.session_id
    }

    /// The binary encoding: `version || type || session_id || body`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + 16 + self.body.len());
        out.push(PROTOCOL_VERSION);
        out.push(self.kind);
        out.extend_from_slice(&self.session_id.0);
        out.extend_from_slice(&self.body);
        out
    }

    /// Decode any of the three messages (structure only). Checks, in this order: longer than
    /// the largest (`TooLong`), version, type (0x10, 0x11 or 0x12), then that type's length
    /// bounds (`TooShort` / `TooLong`).
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] unless `bytes` is a well-formed organisation handshake message.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > REPLY_MAX {
            return Err(DecodeError::TooLong.into());
        }
        let mut r = Reader::new(bytes);
        let version = r.u8()?;
        if version != PROTOCOL_VERSION {
            return Err(DecodeError::UnsupportedVersion(version).into());
        }
        let kind = r.u8()?;
        let (min, max) = match kind {
            TYPE_ORG_HELLO => (HELLO_LEN, HELLO_LEN),
            TYPE_ORG_REPLY => (REPLY_MIN, REPLY_MAX),
            TYPE_ORG_FINISH => (FINISH_MIN, FINISH_MAX),
            other => return Err(DecodeError::UnexpectedType(other).into()),
        };
        if bytes.len() < min {
            return Err(DecodeError::TooShort.into());
        }
        if bytes.len() > max {
            return Err(DecodeError::TooLong.into());
        }
        Ok(OrgHandshakeMessage {
            kind,
            session_id: SessionId(r.array()?),
            body: r.rest().to_vec(),
        })
    }

    fn expect(&self, kind: u8, session_id: SessionId) -> Result<()> {
        if self.kind != kind {
            return Err(DecodeError::UnexpectedType(self.kind).into());
        }
        if self.session_id != session_id {
            return Err(Error::WrongSession);
        }
        Ok(())
    }
}

wire_text_and_serde!(OrgHandshakeMessage, REPLY_MAX);

/// A session with another organisation device, and that device's verified certificate.
///
/// Hand it to [`crate::conversation::Conversation::attach_org`] (which checks the certificate
/// against the roster) or use [`OrgSession::into_session`] for a plain pairwise channel.
pub struct OrgSession {
    pub(crate) session: Session,
    pub(crate) peer: AgentCertificate,
}

impl core::fmt::Debug for OrgSession {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OrgSession")
            .field("session", &self.session)
            .field("peer", &self.peer)
            .finish()
    }
}

impl OrgSession {
    /// The peer's certificate, checked against the organisation key during the handshake.
    pub fn peer(&self) -> &AgentCertificate {
        &self.peer
    }

    /// The pairwise session. Its `agent_id` / `device_id` are the peer's; the initiator seals
    /// in the direction the envelope header calls "visitor", the responder in "agent".
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The plain pairwise session, dropping the certificate.
    pub fn into_session(self) -> Session {
        self.session
    }
}

/// Check the peer's certificate: well formed, signed by `org`, valid at `now`, certifying the
/// static key it proved in the handshake (docs/PROTOCOL.md §18.2 check order).
fn check_peer(payload: &[u8], proved: &[u8; 32], org: &OrgPublicKey, now: u64) -> Result<AgentCertificate> {
    let cert = AgentCertificate::from_bytes(payload).map_err(|_| Error::BadCertificate)?;
    cert.verify(org, now)?;
    if !cert.certifies(proved) {
        return Err(Error::CertificateKeyMismatch);
    }
    Ok(cert)
}

fn clone_key(identity: &AgentIdentity) -> AgentKey {
    AgentKey::from_secret_bytes(&identity.key.secret_bytes())
}

/// The initiating device's handshake, after sending its [`OrgHandshakeMessage`] hello.
pub struct OrgInitiator {
    key: AgentKey,
    certificate: AgentCertificate,
    org: OrgPublicKey,
    session_id: SessionId,
    noise: Option<XxInitiator>,
}

impl core::fmt::Debug for OrgInitiator {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OrgInitiator")
            .field("session_id", &self.session_id)
            .field("finished", &self.noise.is_none())
            .finish_non_exhaustive()
    }
}

/// The responding device's handshake, after sending its reply.
pub struct OrgResponder {
    org: OrgPublicKey,
    session_id: SessionId,
    noise: Option<XxResponder>,
}

impl core::fmt::Debug for OrgResponder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OrgResponder")
            .field("session_id", &self.session_id)
            .field("finished", &self.noise.is_none())
            .finish_non_exhaustive()
    }
}

impl AgentIdentity {
    /// Start a mutually authenticated session with another device of the same organisation.
    ///
    /// # Errors
    ///
    /// [`Error::Randomness`] if the operating system's random number generator fails.
    pub fn start_org_handshake(&self) -> Result<(OrgInitiator, OrgHandshakeMessage)> {
        self.start_org_handshake_with_rng(&mut rand_core::OsRng)
    }

    pub(crate) fn start_org_handshake_with_rng(
        &self,
        rng: &mut dyn RngCore,
    ) -> Result<(OrgInitiator, OrgHandshakeMessage)> {
        let mut id = [0u8; 16];
        cipher::fill_random(rng, &mut id)?;
        let session_id = SessionId(id);
        let org_key_id = self.org.key_id();
        let (noise, msg1) =
            XxInitiator::start(&prologue(&session_id, &org_key_id), cipher::random_x25519(rng)?)?;
        let mut body = org_key_id.to_vec();
        body.extend_from_slice(&msg1);
        Ok((
            OrgInitiator {
                key: clone_key(self),
                certificate: self.certificate.clone(),
                org: self.org,
                session_id,
                noise: Some(noise),
            },
            OrgHandshakeMessage {
                kind: TYPE_ORG_HELLO,
                session_id,
                body,
            },
        ))
    }

    /// Answer another organisation device's hello with this device's certificate.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] for a message that is not a hello; [`Error::WrongOrganization`]
    /// if it names another organisation; [`Error::WeakKey`] for a low-order ephemeral key;
    /// [`Error::Randomness`].
    pub fn accept_org_handshake(
        &self,
        hello: &OrgHandshakeMessage,
    ) -> Result<(OrgResponder, OrgHandshakeMessage)> {
        self.accept_org_handshake_with_rng(hello, &mut rand_core::OsRng)
    }

    pub(crate) fn accept_org_handshake_with_rng(
        &self,
        hello: &OrgHandshakeMessage,
        rng: &mut dyn RngCore,
    ) -> Result<(OrgResponder, OrgHandshakeMessage)> {
        hello.expect(TYPE_ORG_HELLO, hello.session_id)?;
        let (key_id, msg1) = hello.body.split_at(ORG_KEY_ID_LEN.min(hello.body.len()));
        if key_id != self.org.key_id() {
            return Err(Error::WrongOrganization);
        }
        let (noise, msg2) = XxResponder::respond(
            &prologue(&hello.session_id, &self.org.key_id()),
            msg1,
            self.key.secret(),
            cipher::random_x25519(rng)?,
            &self.certificate.to_bytes(),
        )?;
        Ok((
            OrgResponder {
                org: self.org,
                session_id: hello.session_id,
                noise: Some(noise),
            },
            OrgHandshakeMessage {
                kind: TYPE_ORG_REPLY,
                session_id: hello.session_id,
                body: msg2,
            },
        ))
    }
}

impl OrgInitiator {
    /// Check the responder's certificate at `now` (Unix seconds) and answer with this
    /// device's. A reply that fails leaves the handshake usable (a forged reply cannot stop
    /// the genuine one); after success further calls fail.
    ///
    /// # Errors
    ///
    /// [`Error::WrongSession`], [`Error::HandshakeFailed`], [`Error::WeakKey`], the
    /// certificate errors of [`crate::VisitorHandshake::finish_at`], and
    /// [`Error::InvalidArgument`] if the handshake already finished.
    pub fn finish_at(
        &mut self,
        reply: &OrgHandshakeMessage,
        now: u64,
    ) -> Result<(OrgSession, OrgHandshakeMessage)> {
        reply.expect(TYPE_ORG_REPLY, self.session_id)?;
        let noise = self
            .noise
            .as_ref()
            .ok_or(Error::InvalidArgument("handshake already finished"))?;
        let mut peer = None;
        let own_cert = self.certificate.to_bytes();
        let done = noise.finish(&reply.body, self.key.secret(), |payload, rs| {
            peer = Some(check_peer(payload, rs, &self.org, now)?);
            Ok(own_cert)
        })?;
        let peer = peer.ok_or(Error::HandshakeFailed)?;
        self.noise = None;
        // The responder's handshake ephemeral is its first ratchet key, as in NXhfs (§17.2),
        // so organisation sessions heal after a leaked state as visitor sessions do.
        let ratchet = AgentEphemeral::Public(done.completed.remote_ephemeral);
        let session = session::from_handshake(
            Role::Visitor,
            self.session_id,
            done.completed,
            peer.agent_id().to_owned(),
            peer.device_id().to_owned(),
            Some(ratchet),
        )?;
        Ok((
            OrgSession { session, peer },
            OrgHandshakeMessage {
                kind: TYPE_ORG_FINISH,
                session_id: self.session_id,
                body: done.message3,
            },
        ))
    }
}

impl OrgResponder {
    /// Check the initiator's final message and certificate at `now` (Unix seconds). A message
    /// that fails leaves the handshake usable.
    ///
    /// # Errors
    ///
    /// As [`OrgInitiator::finish_at`].
    pub fn finish_at(&mut self, finish: &OrgHandshakeMessage, now: u64) -> Result<OrgSession> {
        finish.expect(TYPE_ORG_FINISH, self.session_id)?;
        let noise = self
            .noise
            .as_ref()
            .ok_or(Error::InvalidArgument("handshake already finished"))?;
        let (payload, rs, completed) = noise.finish(&finish.body)?;
        let peer = check_peer(&payload, &rs, &self.org, now)?;
        let ratchet = AgentEphemeral::Secret(noise.ratchet_key());
        self.noise = None;
        let session = session::from_handshake(
            Role::Agent,
            self.session_id,
            completed,
            peer.agent_id().to_owned(),
            peer.device_id().to_owned(),
            Some(ratchet),
        )?;
        Ok(OrgSession { session, peer })
    }
}
