//! Starting a session: the visitor's [`Hello`], the agent's [`Reply`]. The flow is
//! documented on [`VisitorHandshake`] (public, so it reaches docs.rs).

use alloc::{borrow::ToOwned, vec::Vec};
use rand_core::RngCore;

use crate::cipher;
use crate::dh_ratchet::AgentEphemeral;
use crate::encoding::{wire_text_and_serde, Reader};
use crate::envelope::Role;
use crate::error::{DecodeError, Error, Result};
use crate::kem::{self, KemSecret};
use crate::noise::{self, Initiator, DHLEN};
use crate::org::{AgentCertificate, AgentIdentity, OrgPublicKey, CERT_MAX_LEN, CERT_MIN_LEN, ORG_KEY_ID_LEN};
use crate::session::{self, Session};
use crate::types::{SessionId, PROTOCOL_VERSION, PROTOCOL_VERSION_2};
use alloc::boxed::Box;
use zeroize::Zeroizing;

/// Message-type bytes.
pub(crate) const TYPE_HELLO: u8 = 0x01;
pub(crate) const TYPE_REPLY: u8 = 0x02;
const PROLOGUE_LABEL: &[u8] = b"hushwire/v1/handshake";
const PROLOGUE_LABEL_V2: &[u8] = b"hushwire/v2/handshake";
const HELLO_LEN: usize = 2 + 16 + ORG_KEY_ID_LEN + DHLEN;
/// A v2 hello adds the ML-KEM-768 encapsulation key `e1`: 1242 bytes.
const HELLO_V2_LEN: usize = HELLO_LEN + kem::PUBLIC_KEY_LEN;
/// A v2 reply adds `ENC(ekem1)`, the encrypted ML-KEM ciphertext: 1343..=1470 bytes.
const REPLY_V2_EXTRA: usize = kem::CIPHERTEXT_LEN + 16;
/// A reply carries Noise message 2: `e`, `ENC(s)` and `ENC(certificate)`, so its length follows
/// from the certificate's: 239..=366 bytes.
const REPLY_MIN_LEN: usize = 2 + 16 + DHLEN + DHLEN + 16 + CERT_MIN_LEN + 16;
const REPLY_MAX_LEN: usize = 2 + 16 + DHLEN + DHLEN + 16 + CERT_MAX_LEN + 16;

/// Noise prologue: binds the protocol version, the session id and the organisation.
fn prologue(version: u8, session_id: &SessionId, org_key_id: &[u8; ORG_KEY_ID_LEN]) -> Vec<u8> {
    let label = if version == PROTOCOL_VERSION_2 {
        PROLOGUE_LABEL_V2
    } else {
        PROLOGUE_LABEL
    };
    let mut p = label.to_vec();
    p.push(version);
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
    /// v2 only: the ML-KEM-768 encapsulation key `e1`.
    kem_key: Option<Box<[u8; kem::PUBLIC_KEY_LEN]>>,
}

impl core::fmt::Debug for Hello {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Hello")
            .field("version", &self.version())
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

impl Hello {
    /// The protocol version of the session this hello opens (1 or 2).
    pub fn version(&self) -> u8 {
        if self.kem_key.is_some() {
            PROTOCOL_VERSION_2
        } else {
            PROTOCOL_VERSION
        }
    }

    /// The session this hello opens.
    pub fn session_id(&self) -> SessionId {
        self.session_id
    }

    /// The key id of the organisation the visitor pinned.
    pub fn org_key_id(&self) -> [u8; ORG_KEY_ID_LEN] {
        self.org_key_id
    }

    /// The binary encoding (58 bytes in v1, 1242 in v2).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HELLO_V2_LEN);
        out.push(self.version());
        out.push(TYPE_HELLO);
        out.extend_from_slice(&self.session_id.0);
        out.extend_from_slice(&self.org_key_id);
        out.extend_from_slice(&self.ephemeral);
        if let Some(key) = &self.kem_key {
            out.extend_from_slice(key.as_ref());
        }
        out
    }

    /// Decode a hello: exactly 58 bytes (v1) or 1242 bytes (v2). Checks, in this order:
    /// longer than 1242 (`TooLong`), version (1 or 2), type, then the version's exact length
    /// (`TooLong`, which is also how a hello carrying a payload is refused, or `TooShort`).
    /// The ML-KEM key's own check (FIPS 203 §7.2) runs in [`AgentIdentity::accept`].
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] unless `bytes` is a v1 or v2 hello of exactly its length.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > HELLO_V2_LEN {
            return Err(DecodeError::TooLong.into());
        }
        let mut r = Reader::new(bytes);
        let version = r.versioned_header(TYPE_HELLO)?;
        let len = if version == PROTOCOL_VERSION_2 {
            HELLO_V2_LEN
        } else {
            HELLO_LEN
        };
        if bytes.len() > len {
            return Err(DecodeError::TooLong.into());
        }
        let session_id = SessionId(r.array()?);
        let org_key_id = r.array()?;
        let ephemeral = r.array()?;
        let kem_key = match version {
            PROTOCOL_VERSION_2 => Some(Box::new(r.array()?)),
            _ => None,
        };
        r.finish()?;
        Ok(Hello {
            session_id,
            org_key_id,
            ephemeral,
            kem_key,
        })
    }
}

wire_text_and_serde!(Hello, HELLO_V2_LEN);

/// The agent's answer (Noise `<- e, ee, s, es` with the certificate as encrypted payload).
#[derive(Clone, PartialEq, Eq)]
pub struct Reply {
    version: u8,
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
    /// The protocol version (1 or 2), the same as the hello's it answers.
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The session this reply answers.
    pub fn session_id(&self) -> SessionId {
        self.session_id
    }

    /// The binary encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + 16 + self.noise_message.len());
        out.push(self.version);
        out.push(TYPE_REPLY);
        out.extend_from_slice(&self.session_id.0);
        out.extend_from_slice(&self.noise_message);
        out
    }

    /// Decode a reply (structure only; the handshake authenticates it): 239..=366 bytes in
    /// v1, 1343..=1470 in v2. Checks, in this order: longer than the v2 maximum (`TooLong`),
    /// version, type, then the version's bounds (`TooLong`, `TooShort`), all before any
    /// cryptography.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] unless `bytes` is a v1 or v2 reply within its size bounds.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > REPLY_MAX_LEN + REPLY_V2_EXTRA {
            return Err(DecodeError::TooLong.into());
        }
        let mut r = Reader::new(bytes);
        let version = r.versioned_header(TYPE_REPLY)?;
        let extra = if version == PROTOCOL_VERSION_2 {
            REPLY_V2_EXTRA
        } else {
            0
        };
        if bytes.len() > REPLY_MAX_LEN + extra {
            return Err(DecodeError::TooLong.into());
        }
        if bytes.len() < REPLY_MIN_LEN + extra {
            return Err(DecodeError::TooShort.into());
        }
        Ok(Reply {
            version,
            session_id: SessionId(r.array()?),
            noise_message: r.rest().to_vec(),
        })
    }
}

wire_text_and_serde!(Reply, REPLY_MAX_LEN + REPLY_V2_EXTRA);

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
    version: u8,
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
        Self::start_with_rng(org, PROTOCOL_VERSION_2, &mut rand_core::OsRng)
    }

    /// Start a session of protocol `version`: [`crate::PROTOCOL_VERSION_2`] (what
    /// [`VisitorHandshake::start`] does), or [`crate::PROTOCOL_VERSION`] only for an agent
    /// known to be too old for v2. The visitor's choice is final: a reply of another version
    /// is refused ([`Error::Downgrade`]), so a relay cannot pick the version for it.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for another version; [`Error::Randomness`] as `start`.
    pub fn start_with_version(org: &OrgPublicKey, version: u8) -> Result<(VisitorHandshake, Hello)> {
        Self::start_with_rng(org, version, &mut rand_core::OsRng)
    }

    pub(crate) fn start_with_rng(
        org: &OrgPublicKey,
        version: u8,
        rng: &mut dyn RngCore,
    ) -> Result<(VisitorHandshake, Hello)> {
        if version != PROTOCOL_VERSION && version != PROTOCOL_VERSION_2 {
            return Err(Error::InvalidArgument("protocol version"));
        }
        let mut id = [0u8; 16];
        cipher::fill_random(rng, &mut id)?;
        let session_id = SessionId(id);
        let e = cipher::random_x25519(rng)?;
        let e1 = if version == PROTOCOL_VERSION_2 {
            let mut seed = Zeroizing::new([0u8; kem::SEED_LEN]);
            cipher::fill_random(rng, seed.as_mut())?;
            Some(KemSecret::from_seed(&seed))
        } else {
            None
        };
        let kem_key = e1.as_ref().map(|k| Box::new(k.public_key()));
        let org_key_id = org.key_id();
        // The first payload is empty: it travels in clear (docs/PROTOCOL.md §3.3).
        let (initiator, msg) = Initiator::start(&prologue(version, &session_id, &org_key_id), e, e1, &[])?;
        // Message 1 starts with the ephemeral public key (`-> e`).
        let ephemeral: [u8; DHLEN] = msg
            .get(..DHLEN)
            .and_then(|e| e.try_into().ok())
            .ok_or(Error::HandshakeFailed)?;
        Ok((
            VisitorHandshake {
                org: *org,
                version,
                session_id,
                initiator: Some(initiator),
            },
            Hello {
                session_id,
                org_key_id,
                ephemeral,
                kem_key,
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
        if reply.version != self.version {
            return Err(Error::Downgrade);
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
        let ratchet =
            (self.version == PROTOCOL_VERSION_2).then_some(AgentEphemeral::Public(done.remote_ephemeral));
        let session = session::from_handshake(
            Role::Visitor,
            self.session_id,
            done,
            cert.agent_id().to_owned(),
            cert.device_id().to_owned(),
            ratchet,
        )?;
        self.initiator = None;
        Ok(session)
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
        let version = hello.version();
        let e = cipher::random_x25519(rng)?;
        let kem_m = match version {
            PROTOCOL_VERSION_2 => {
                let mut m = Zeroizing::new([0u8; 32]);
                cipher::fill_random(rng, m.as_mut())?;
                Some(m)
            }
            _ => None,
        };
        let cert = self.certificate.to_bytes();
        let mut msg1 = Zeroizing::new(hello.ephemeral.to_vec());
        if let Some(key) = &hello.kem_key {
            msg1.extend_from_slice(key.as_ref());
        }
        let (msg, done) = noise::respond(
            &prologue(version, &hello.session_id, &hello.org_key_id),
            &msg1,
            self.key.secret(),
            &e,
            kem_m.as_deref(),
            |payload| {
                if payload.is_empty() {
                    Ok(cert)
                } else {
                    Err(DecodeError::InvalidField("hello payload").into())
                }
            },
        )?;
        // In v2 the handshake ephemeral becomes the agent's first ratchet key.
        let ratchet = (version == PROTOCOL_VERSION_2).then_some(AgentEphemeral::Secret(e));
        let session = session::from_handshake(
            Role::Agent,
            hello.session_id,
            done,
            self.certificate.agent_id().to_owned(),
            self.certificate.device_id().to_owned(),
            ratchet,
        )?;
        Ok((
            session,
            Reply {
                version,
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
        let mut msg1 = hello.ephemeral.to_vec();
        if let Some(key) = &hello.kem_key {
            msg1.extend_from_slice(key.as_ref());
        }
        let m = hello.kem_key.as_ref().map(|_| [7u8; 32]);
        let (msg, _) = noise::respond(
            &prologue(hello.version(), &hello.session_id, &hello.org_key_id),
            &msg1,
            static_key.secret(),
            &e,
            m.as_ref(),
            |_| Ok(payload),
        )
        .unwrap();
        Reply {
            version: hello.version(),
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
