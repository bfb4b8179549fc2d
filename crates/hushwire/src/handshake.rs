//! Starting a session: the visitor's [`Hello`], the agent's [`Reply`]. The flow is
//! documented on [`VisitorHandshake`] (public, so it reaches docs.rs).

use alloc::{borrow::ToOwned, vec::Vec};
use rand_core::RngCore;

use crate::cipher;
use crate::encoding::{wire_text_and_serde, Reader};
use crate::envelope::Role;
use crate::error::{DecodeError, Error, Result};
use crate::noise::{self, Initiator, DHLEN};
use crate::org::{AgentCertificate, AgentIdentity, OrgPublicKey, CERT_MAX_LEN, CERT_MIN_LEN, ORG_KEY_ID_LEN};
use crate::session::{self, Session};
use crate::types::{SessionId, PROTOCOL_VERSION};

/// Message-type bytes.
pub(crate) const TYPE_HELLO: u8 = 0x01;
pub(crate) const TYPE_REPLY: u8 = 0x02;
const PROLOGUE_LABEL: &[u8] = b"hushwire/v1/handshake";
const HELLO_LEN: usize = 2 + 16 + ORG_KEY_ID_LEN + DHLEN;
/// A reply carries Noise message 2: `e`, `ENC(s)` and `ENC(certificate)`, so its length follows
/// from the certificate's: 239..=366 bytes.
const REPLY_MIN_LEN: usize = 2 + 16 + DHLEN + DHLEN + 16 + CERT_MIN_LEN + 16;
const REPLY_MAX_LEN: usize = 2 + 16 + DHLEN + DHLEN + 16 + CERT_MAX_LEN + 16;

/// Noise prologue: binds the protocol version, the session id and the organisation.
fn prologue(session_id: &SessionId, org_key_id: &[u8; ORG_KEY_ID_LEN]) -> Vec<u8> {
    let mut p = PROLOGUE_LABEL.to_vec();
    p.push(PROTOCOL_VERSION);
    p.extend_from_slice(&session_id.0);
    p.extend_from_slice(org_key_id);
    p
}

/// The visitor's opening message (Noise `-> e`). Safe to send in clear.
#[derive(Clone, PartialEq, Eq)]
pub struct Hello {
    session_id: SessionId,
    org_key_id: [u8; ORG_KEY_ID_LEN],
    ephemeral: [u8; 32],
}

impl core::fmt::Debug for Hello {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Hello")
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

impl Hello {
    /// The session this hello opens.
    pub fn session_id(&self) -> SessionId {
        self.session_id
    }

    /// The key id of the organisation the visitor pinned.
    pub fn org_key_id(&self) -> [u8; ORG_KEY_ID_LEN] {
        self.org_key_id
    }

    /// The binary encoding (58 bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HELLO_LEN);
        out.push(PROTOCOL_VERSION);
        out.push(TYPE_HELLO);
        out.extend_from_slice(&self.session_id.0);
        out.extend_from_slice(&self.org_key_id);
        out.extend_from_slice(&self.ephemeral);
        out
    }

    /// Decode a hello: exactly 58 bytes. Checks, in this order: longer (`TooLong`, which is
    /// also how a hello carrying a payload is refused), version, type, shorter (`TooShort`).
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] unless `bytes` is a v1 hello of exactly 58 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > HELLO_LEN {
            return Err(DecodeError::TooLong.into());
        }
        let mut r = Reader::new(bytes);
        r.header(TYPE_HELLO)?;
        let hello = Hello {
            session_id: SessionId(r.array()?),
            org_key_id: r.array()?,
            ephemeral: r.array()?,
        };
        r.finish()?;
        Ok(hello)
    }
}

wire_text_and_serde!(Hello, HELLO_LEN);

/// The agent's answer (Noise `<- e, ee, s, es` with the certificate as encrypted payload).
#[derive(Clone, PartialEq, Eq)]
pub struct Reply {
    session_id: SessionId,
    noise_message: Vec<u8>,
}

impl core::fmt::Debug for Reply {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Reply")
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

impl Reply {
    /// The session this reply answers.
    pub fn session_id(&self) -> SessionId {
        self.session_id
    }

    /// The binary encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + 16 + self.noise_message.len());
        out.push(PROTOCOL_VERSION);
        out.push(TYPE_REPLY);
        out.extend_from_slice(&self.session_id.0);
        out.extend_from_slice(&self.noise_message);
        out
    }

    /// Decode a reply (structure only; the handshake authenticates it): 239..=366 bytes.
    /// Checks, in this order: longer (`TooLong`), version, type, shorter (`TooShort`), all
    /// before any cryptography.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] unless `bytes` is a v1 reply within the size bounds.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > REPLY_MAX_LEN {
            return Err(DecodeError::TooLong.into());
        }
        let mut r = Reader::new(bytes);
        r.header(TYPE_REPLY)?;
        if bytes.len() < REPLY_MIN_LEN {
            return Err(DecodeError::TooShort.into());
        }
        Ok(Reply {
            session_id: SessionId(r.array()?),
            noise_message: r.rest().to_vec(),
        })
    }
}

wire_text_and_serde!(Reply, REPLY_MAX_LEN);

/// A visitor's handshake in progress: created with the [`Hello`] to send, finished with the
/// agent's [`Reply`].
///
/// ```text
/// visitor                                   agent
/// VisitorHandshake::start(org) ── Hello ──▶ AgentIdentity::accept(hello)
///                              ◀── Reply ── (Session ready)
/// handshake.finish(reply)
/// (Session ready)
/// ```
///
/// The two messages are Noise `Noise_NX_25519_AESGCM_SHA256` (see `docs/PROTOCOL.md` §3):
///
/// ```text
/// NX:
///   -> e                    (Hello: the visitor's ephemeral key, in clear)
///   <- e, ee, s, es         (Reply: the agent's ephemeral and static keys, then its
///                            certificate, encrypted)
/// ```
///
/// The agent proves a key certified by the organisation whose public key the visitor pins;
/// the visitor stays anonymous. The prologue binds the protocol version, the session id and
/// the organisation's key id, so a hello cannot be replayed into another session or org.
pub struct VisitorHandshake {
    org: OrgPublicKey,
    session_id: SessionId,
    initiator: Option<Initiator>,
}

impl core::fmt::Debug for VisitorHandshake {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VisitorHandshake")
            .field("session_id", &self.session_id)
            .field("finished", &self.initiator.is_none())
            .finish_non_exhaustive()
    }
}

impl VisitorHandshake {
    /// Start a new session with an agent of the organisation whose key the widget pins.
    /// A fresh session id and ephemeral key are drawn for every call.
    ///
    /// # Errors
    ///
    /// [`Error::Randomness`] if the operating system's random number generator fails.
    pub fn start(org: &OrgPublicKey) -> Result<(VisitorHandshake, Hello)> {
        Self::start_with_rng(org, &mut rand_core::OsRng)
    }

    pub(crate) fn start_with_rng(
        org: &OrgPublicKey,
        rng: &mut dyn RngCore,
    ) -> Result<(VisitorHandshake, Hello)> {
        let mut id = [0u8; 16];
        cipher::fill_random(rng, &mut id)?;
        let session_id = SessionId(id);
        let e = cipher::random_x25519(rng)?;
        let org_key_id = org.key_id();
        // v1's first payload is empty: it travels in clear (docs/PROTOCOL.md §3.3).
        let (initiator, msg) = Initiator::start(&prologue(&session_id, &org_key_id), e, &[])?;
        // Message 1 starts with the ephemeral public key (`-> e`).
        let ephemeral: [u8; DHLEN] = msg
            .get(..DHLEN)
            .and_then(|e| e.try_into().ok())
            .ok_or(Error::HandshakeFailed)?;
        Ok((
            VisitorHandshake {
                org: *org,
                session_id,
                initiator: Some(initiator),
            },
            Hello {
                session_id,
                org_key_id,
                ephemeral,
            },
        ))
    }

    /// The session id this handshake opens.
    pub fn session_id(&self) -> SessionId {
        self.session_id
    }

    /// Complete the handshake with the agent's reply, checking the agent's certificate
    /// against the pinned organisation key and the system clock.
    ///
    /// A reply that fails leaves the handshake usable, so a forged reply injected by the relay
    /// cannot stop the real one from completing it. After success, further calls fail.
    ///
    /// # Errors
    ///
    /// As [`VisitorHandshake::finish_at`]; also [`Error::InvalidArgument`] if the system clock
    /// reads before 1970.
    #[cfg(feature = "std")]
    pub fn finish(&mut self, reply: &Reply) -> Result<Session> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|_| Error::InvalidArgument("system clock before 1970"))?
            .as_secs();
        self.finish_at(reply, now)
    }

    /// `finish` with the current time given explicitly (Unix seconds), for builds without
    /// `std` (the wasm package passes `Date.now()`), platforms without a system clock, and tests.
    ///
    /// # Errors
    ///
    /// * [`Error::WrongSession`]: the reply answers another hello.
    /// * [`Error::InvalidArgument`]: the handshake already finished.
    /// * [`Error::HandshakeFailed`], [`Error::WeakKey`]: the reply was altered or its keys
    ///   substituted.
    /// * [`Error::BadCertificate`], [`Error::WrongOrganization`], [`Error::CertificateExpired`],
    ///   [`Error::CertificateNotYetValid`], [`Error::CertificateKeyMismatch`]: the agent's
    ///   certificate does not check out against the pinned organisation key at `now`.
    pub fn finish_at(&mut self, reply: &Reply, now: u64) -> Result<Session> {
        if reply.session_id != self.session_id {
            return Err(Error::WrongSession);
        }
        let initiator = self
            .initiator
            .as_ref()
            .ok_or(Error::InvalidArgument("handshake already finished"))?;
        let (payload, agent_static, done) = initiator.finish(&reply.noise_message)?;
        let cert = AgentCertificate::from_bytes(&payload).map_err(|_| Error::BadCertificate)?;
        cert.verify(&self.org, now)?;
        if !cert.certifies(&agent_static) {
            return Err(Error::CertificateKeyMismatch);
        }
        self.initiator = None;
        Ok(session::from_handshake(
            Role::Visitor,
            self.session_id,
            done,
            cert.agent_id().to_owned(),
            cert.device_id().to_owned(),
        ))
    }
}

impl AgentIdentity {
    /// Accept a visitor's hello: returns the agent's session (ready to seal at once) and the
    /// reply to send back. Every call uses a fresh ephemeral key.
    ///
    /// # Errors
    ///
    /// * [`Error::WrongOrganization`]: the visitor pinned another organisation.
    /// * [`Error::WeakKey`]: the hello's ephemeral key has low order.
    /// * [`Error::Randomness`]: the operating system's random number generator failed.
    pub fn accept(&self, hello: &Hello) -> Result<(Session, Reply)> {
        self.accept_with_rng(hello, &mut rand_core::OsRng)
    }

    pub(crate) fn accept_with_rng(&self, hello: &Hello, rng: &mut dyn RngCore) -> Result<(Session, Reply)> {
        if hello.org_key_id != self.org.key_id() {
            return Err(Error::WrongOrganization);
        }
        let e = cipher::random_x25519(rng)?;
        let cert = self.certificate.to_bytes();
        let (msg, done) = noise::respond(
            &prologue(&hello.session_id, &hello.org_key_id),
            &hello.ephemeral,
            self.key.secret(),
            e,
            |payload| {
                if payload.is_empty() {
                    Ok(cert)
                } else {
                    Err(DecodeError::InvalidField("hello payload").into())
                }
            },
        )?;
        let session = session::from_handshake(
            Role::Agent,
            hello.session_id,
            done,
            self.certificate.agent_id().to_owned(),
            self.certificate.device_id().to_owned(),
        );
        Ok((
            session,
            Reply {
                session_id: hello.session_id,
                noise_message: msg,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    //! Visitor-side certificate checks that a well-behaved `AgentIdentity` cannot trigger
    //! (it refuses to hold a mismatched certificate), driven by a raw Noise responder playing
    //! a malicious agent or relay.
    use super::*;
    use crate::{AgentKey, OrgSigningKey};

    const NOW: u64 = 1_800_000_000;

    /// A reply from whoever holds `static_key`, carrying `payload` as its certificate.
    fn forged_reply(hello: &Hello, static_key: &AgentKey, payload: Vec<u8>) -> Reply {
        let e = cipher::random_x25519(&mut rand_core::OsRng).unwrap();
        let (msg, _) = noise::respond(
            &prologue(&hello.session_id, &hello.org_key_id),
            &hello.ephemeral,
            static_key.secret(),
            e,
            |_| Ok(payload),
        )
        .unwrap();
        Reply {
            session_id: hello.session_id,
            noise_message: msg,
        }
    }

    #[test]
    fn certificate_for_another_key_is_refused() {
        let org = OrgSigningKey::generate().unwrap();
        let honest = AgentKey::generate().unwrap();
        let cert = org
            .certify_agent(&honest.public_key(), "a", "d", 0, u64::MAX)
            .unwrap();
        // The relay substitutes its own static key but replays the honest agent's certificate.
        let mallory = AgentKey::generate().unwrap();
        let (mut hs, hello) = VisitorHandshake::start(&org.public_key()).unwrap();
        let reply = forged_reply(&hello, &mallory, cert.to_bytes());
        assert_eq!(
            hs.finish_at(&reply, NOW).err(),
            Some(Error::CertificateKeyMismatch)
        );
        // The genuine agent still completes the same handshake afterwards.
        let reply = forged_reply(&hello, &honest, cert.to_bytes());
        assert!(hs.finish_at(&reply, NOW).is_ok());
    }

    #[test]
    fn certificate_errors_surface_from_finish() {
        let org = OrgSigningKey::generate().unwrap();
        let key = AgentKey::generate().unwrap();
        let other_org = OrgSigningKey::generate().unwrap();
        let cases = [
            // Long enough for a reply, but not a certificate (version 0).
            (alloc::vec![0u8; 125], Error::BadCertificate),
            (
                org.certify_agent(&key.public_key(), "a", "d", NOW + 1, NOW + 10)
                    .unwrap()
                    .to_bytes(),
                Error::CertificateNotYetValid,
            ),
            (
                org.certify_agent(&key.public_key(), "a", "d", NOW - 10, NOW - 1)
                    .unwrap()
                    .to_bytes(),
                Error::CertificateExpired,
            ),
            (
                other_org
                    .certify_agent(&key.public_key(), "a", "d", 0, u64::MAX)
                    .unwrap()
                    .to_bytes(),
                Error::WrongOrganization,
            ),
            (
                {
                    // Signed by another organisation, with the key id forged to match.
                    let mut c = other_org
                        .certify_agent(&key.public_key(), "a", "d", 0, u64::MAX)
                        .unwrap();
                    c = AgentCertificate::from_bytes(&{
                        let mut b = c.to_bytes();
                        b[1..9].copy_from_slice(&org.public_key().key_id());
                        b
                    })
                    .unwrap();
                    c.to_bytes()
                },
                Error::BadCertificate,
            ),
        ];
        for (payload, expected) in cases {
            let (mut hs, hello) = VisitorHandshake::start(&org.public_key()).unwrap();
            let reply = forged_reply(&hello, &key, payload);
            assert_eq!(
                hs.finish_at(&reply, NOW).err(),
                Some(expected.clone()),
                "{expected:?}"
            );
        }
    }
}
