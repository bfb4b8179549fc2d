//! Organisation keys, agent device keys and the certificates that bind them.
//!
//! The organisation (the business running the chat) holds an Ed25519 [`OrgSigningKey`]; its
//! [`OrgPublicKey`] is pinned in the visitor widget's configuration. Each agent device holds
//! an X25519 [`AgentKey`] and an [`AgentCertificate`] signed by the organisation. Together
//! they form an [`AgentIdentity`], which accepts visitors' handshakes.

use alloc::{borrow::ToOwned, string::String, vec::Vec};
use ed25519_dalek::Signer;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::cipher;
use crate::encoding::{put_short_str, wire_text_and_serde, Reader};
use crate::error::{DecodeError, Error, Result};
use crate::types::PROTOCOL_VERSION;

/// Length of an organisation key id.
pub const ORG_KEY_ID_LEN: usize = 8;
/// Maximum length in bytes of an agent id or a device id (UTF-8). Long enough for an email
/// address or a UUID; short enough that a certificate fits in one small handshake message.
pub const MAX_ID_LEN: usize = 64;
/// Domain separation for the organisation key id.
const KEY_ID_LABEL: &[u8] = b"hushwire/v1/org-key-id";
/// Domain separation for certificate signatures (the signed bytes start with it).
const CERT_SIG_LABEL: &[u8] = b"hushwire/v1/agent-certificate\0";
/// Certificate format versions: v1 has no role (it certifies an agent); v2 adds a role byte
/// (docs/PROTOCOL.md §4 and §18.1).
const CERT_V1: u8 = PROTOCOL_VERSION;
const CERT_V2: u8 = 2;
/// Smallest and largest certificate encodings (the smallest is a v1 certificate, the largest
/// a v2 one, which is one role byte longer).
pub(crate) const CERT_MIN_LEN: usize = 1 + 8 + 32 + 8 + 8 + 2 + 2 + 64;
pub(crate) const CERT_MAX_LEN: usize = 1 + 8 + 32 + 8 + 8 + 1 + 2 + 2 * MAX_ID_LEN + 64;

/// What an organisation device does in a conversation, as its certificate states
/// (docs/PROTOCOL.md §18.1). Version 1 certificates carry no role and certify an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OrgRole {
    /// A human agent answering visitors.
    Agent,
    /// A supervisor: may join, whisper to the organisation's members and remove members.
    Supervisor,
    /// An automated assistant (for example a FAQ bot) that answers first and hands over.
    Bot,
}

impl OrgRole {
    /// The wire byte: 1 agent, 2 supervisor, 3 bot.
    pub fn to_byte(self) -> u8 {
        match self {
            OrgRole::Agent => 1,
            OrgRole::Supervisor => 2,
            OrgRole::Bot => 3,
        }
    }

    /// Parse a role byte.
    ///
    /// # Errors
    ///
    /// [`DecodeError::InvalidField`] for a byte that names no role.
    pub fn from_byte(b: u8) -> Result<Self, DecodeError> {
        match b {
            1 => Ok(OrgRole::Agent),
            2 => Ok(OrgRole::Supervisor),
            3 => Ok(OrgRole::Bot),
            _ => Err(DecodeError::InvalidField("role")),
        }
    }
}

/// The organisation's long-term Ed25519 signing key. Keep it offline or in an HSM-like store;
/// it is only needed to certify agent devices.
pub struct OrgSigningKey {
    key: ed25519_dalek::SigningKey,
}

impl core::fmt::Debug for OrgSigningKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OrgSigningKey")
            .field("public_key", &self.public_key())
            .finish_non_exhaustive()
    }
}

impl OrgSigningKey {
    /// Generate a new organisation key from the operating system's CSPRNG.
    ///
    /// # Errors
    ///
    /// [`Error::Randomness`] if the operating system's random number generator fails.
    pub fn generate() -> Result<Self> {
        let mut seed = Zeroizing::new([0u8; 32]);
        cipher::fill_random(&mut rand_core::OsRng, seed.as_mut())?;
        Ok(Self::from_secret_bytes(&seed))
    }

    /// Restore a key from its 32-byte Ed25519 seed (as produced by [`Self::secret_bytes`]).
    pub fn from_secret_bytes(seed: &[u8; 32]) -> Self {
        OrgSigningKey {
            key: ed25519_dalek::SigningKey::from_bytes(seed),
        }
    }

    /// The 32-byte secret seed, for storing the key (file mode 0600, a secrets manager).
    /// Anyone holding it can certify agents for this organisation.
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.key.to_bytes())
    }

    /// The public key to pin in visitor widgets.
    pub fn public_key(&self) -> OrgPublicKey {
        OrgPublicKey {
            bytes: self.key.verifying_key().to_bytes(),
        }
    }

    /// Certify an agent device's public key with a version 1 certificate (no role byte; it
    /// certifies an agent). Kept so that existing deployments and vectors stay byte for byte
    /// the same; new devices should use [`Self::certify`], which states the role.
    ///
    /// `agent_id` and `device_id` are 1 to [`MAX_ID_LEN`] bytes of UTF-8; the certificate is
    /// valid from `not_before` to `not_after` inclusive (Unix seconds).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for an empty or too long id, or `not_before > not_after`.
    pub fn certify_agent(
        &self,
        agent_public_key: &[u8; 32],
        agent_id: &str,
        device_id: &str,
        not_before: u64,
        not_after: u64,
    ) -> Result<AgentCertificate> {
        self.certify_version(
            CERT_V1,
            agent_public_key,
            agent_id,
            device_id,
            OrgRole::Agent,
            not_before,
            not_after,
        )
    }

    /// Certify an organisation device's public key for `role` (a version 2 certificate,
    /// docs/PROTOCOL.md §18.1). Arguments and errors as [`Self::certify_agent`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for an empty or too long id, or `not_before > not_after`.
    pub fn certify(
        &self,
        device_public_key: &[u8; 32],
        agent_id: &str,
        device_id: &str,
        role: OrgRole,
        not_before: u64,
        not_after: u64,
    ) -> Result<AgentCertificate> {
        self.certify_version(
            CERT_V2,
            device_public_key,
            agent_id,
            device_id,
            role,
            not_before,
            not_after,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn certify_version(
        &self,
        version: u8,
        agent_public_key: &[u8; 32],
        agent_id: &str,
        device_id: &str,
        role: OrgRole,
        not_before: u64,
        not_after: u64,
    ) -> Result<AgentCertificate> {
        for (id, name) in [(agent_id, "agent_id"), (device_id, "device_id")] {
            if id.is_empty() || id.len() > MAX_ID_LEN {
                return Err(Error::InvalidArgument(name));
            }
        }
        if not_before > not_after {
            return Err(Error::InvalidArgument("not_before is after not_after"));
        }
        if !acceptable_agent_key(agent_public_key) {
            return Err(Error::InvalidArgument(
                "agent public key is of small order or non-canonical",
            ));
        }
        let mut cert = AgentCertificate {
            version,
            role,
            org_key_id: self.public_key().key_id(),
            public_key: *agent_public_key,
            not_before,
            not_after,
            agent_id: agent_id.to_owned(),
            device_id: device_id.to_owned(),
            signature: [0u8; 64],
        };
        let mut signed = CERT_SIG_LABEL.to_vec();
        signed.extend_from_slice(&cert.body());
        cert.signature = self.key.sign(&signed).to_bytes();
        Ok(cert)
    }
}

/// An organisation's Ed25519 public key, pinned by visitors.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrgPublicKey {
    bytes: [u8; 32],
}

impl core::fmt::Debug for OrgPublicKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "OrgPublicKey({self})")
    }
}

impl OrgPublicKey {
    /// Parse a 32-byte Ed25519 public key (docs/PROTOCOL.md §1.1): the bytes must be the
    /// canonical encoding of a curve point that is not of small order, else
    /// `MALFORMED` (`InvalidField("org public key")`). A small-order key would let anyone forge
    /// signatures that permissive verifiers accept, so it is refused before any use.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] for another length or bytes that do not encode a curve point.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| {
            Error::Malformed(if bytes.len() < 32 {
                DecodeError::TooShort
            } else {
                DecodeError::TooLong
            })
        })?;
        let invalid = Error::Malformed(DecodeError::InvalidField("org public key"));
        let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(|_| invalid.clone())?;
        // Decompression reduces y modulo p and accepts a sign bit on x = 0: re-encoding
        // reveals every non-canonical input.
        if key.is_weak() || key.to_edwards().compress().to_bytes() != bytes {
            return Err(invalid);
        }
        Ok(OrgPublicKey { bytes })
    }

    /// The 32 key bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.bytes
    }

    /// The 8-byte key id carried in handshakes: `SHA-256("hushwire/v1/org-key-id" || key)[..8]`.
    pub fn key_id(&self) -> [u8; ORG_KEY_ID_LEN] {
        let digest = cipher::sha256(&[KEY_ID_LABEL, &self.bytes]);
        let mut id = [0u8; ORG_KEY_ID_LEN];
        id.copy_from_slice(&digest[..ORG_KEY_ID_LEN]);
        id
    }
}

wire_text_and_serde!(OrgPublicKey, 32);

/// Whether an X25519 public key may be certified: canonical (`u < 2^255 - 19`, so the top bit
/// is clear) and not of small order. With a clamped scalar (a multiple of 8) X25519 outputs all
/// zeros exactly for the points of order dividing 8 on the curve and its twist, so one
/// multiplication by a fixed scalar decides it (docs/PROTOCOL.md §4).
pub(crate) fn acceptable_agent_key(u: &[u8; 32]) -> bool {
    // p = 2^255 - 19, little-endian.
    const P: [u8; 32] = {
        let mut p = [0xffu8; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        p
    };
    // Little-endian comparison u < p, most significant byte first.
    let canonical = u.iter().rev().cmp(P.iter().rev()) == core::cmp::Ordering::Less;
    let probe = x25519_dalek::StaticSecret::from([0x55u8; 32]);
    canonical
        && probe
            .diffie_hellman(&x25519_dalek::PublicKey::from(*u))
            .was_contributory()
}

/// An agent device's long-term X25519 key. Generate it on the device; only its public key
/// leaves the device (to be certified).
pub struct AgentKey {
    secret: x25519_dalek::StaticSecret,
}

impl core::fmt::Debug for AgentKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AgentKey")
            .field("public_key", &crate::encoding::to_base64(&self.public_key()))
            .finish_non_exhaustive()
    }
}

impl AgentKey {
    /// Generate a new device key from the operating system's CSPRNG.
    ///
    /// # Errors
    ///
    /// [`Error::Randomness`] if the operating system's random number generator fails.
    pub fn generate() -> Result<Self> {
        Ok(AgentKey {
            secret: cipher::random_x25519(&mut rand_core::OsRng)?,
        })
    }

    /// Restore a key from its 32 secret bytes (see [`Self::secret_bytes`]).
    pub fn from_secret_bytes(bytes: &[u8; 32]) -> Self {
        AgentKey {
            secret: x25519_dalek::StaticSecret::from(*bytes),
        }
    }

    /// The 32 secret bytes, for storage. Prefer [`AgentIdentity::export`], which seals them.
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes())
    }

    /// The public key to send to the organisation for certification.
    pub fn public_key(&self) -> [u8; 32] {
        x25519_dalek::PublicKey::from(&self.secret).to_bytes()
    }

    pub(crate) fn secret(&self) -> &x25519_dalek::StaticSecret {
        &self.secret
    }
}

/// The organisation's statement that an X25519 key belongs to one agent's device, for a
/// limited time. Wire layout in `docs/PROTOCOL.md` §4.
#[derive(Clone, PartialEq, Eq)]
pub struct AgentCertificate {
    version: u8,
    role: OrgRole,
    org_key_id: [u8; ORG_KEY_ID_LEN],
    public_key: [u8; 32],
    not_before: u64,
    not_after: u64,
    agent_id: String,
    device_id: String,
    signature: [u8; 64],
}

impl core::fmt::Debug for AgentCertificate {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AgentCertificate")
            .field("agent_id", &self.agent_id)
            .field("device_id", &self.device_id)
            .field("role", &self.role)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

impl AgentCertificate {
    /// The signed part: everything but the signature.
    fn body(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(CERT_MAX_LEN);
        out.push(self.version);
        out.extend_from_slice(&self.org_key_id);
        out.extend_from_slice(&self.public_key);
        out.extend_from_slice(&self.not_before.to_be_bytes());
        out.extend_from_slice(&self.not_after.to_be_bytes());
        if self.version == CERT_V2 {
            out.push(self.role.to_byte());
        }
        put_short_str(&mut out, &self.agent_id);
        put_short_str(&mut out, &self.device_id);
        out
    }

    /// The wire encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.body();
        out.extend_from_slice(&self.signature);
        out
    }

    /// Decode a certificate. This checks the structure only; the signature is checked
    /// against a pinned key by [`Self::verify`] (done for you by the handshake).
    ///
    /// Checks, in this order: longer than 252 bytes (`TooLong`), version (1 or 2), shorter
    /// than 125 (v1) or 126 (v2) bytes (`TooShort`), then the fields in wire order (a v2 role
    /// byte outside 1..=3 is `InvalidField("role")`), then trailing bytes.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] unless `bytes` is a well-formed v1 or v2 certificate.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > CERT_MAX_LEN {
            return Err(DecodeError::TooLong.into());
        }
        let mut r = Reader::new(bytes);
        let version = r.u8()?;
        if version != CERT_V1 && version != CERT_V2 {
            return Err(DecodeError::UnsupportedVersion(version).into());
        }
        let min = if version == CERT_V2 {
            CERT_MIN_LEN + 1
        } else {
            CERT_MIN_LEN
        };
        if bytes.len() < min {
            return Err(DecodeError::TooShort.into());
        }
        let org_key_id = r.array()?;
        let public_key = r.array()?;
        let not_before = r.u64()?;
        let not_after = r.u64()?;
        let role = if version == CERT_V2 {
            OrgRole::from_byte(r.u8()?)?
        } else {
            OrgRole::Agent
        };
        let cert = AgentCertificate {
            version,
            role,
            org_key_id,
            public_key,
            not_before,
            not_after,
            agent_id: r.short_str(MAX_ID_LEN, "agent_id")?,
            device_id: r.short_str(MAX_ID_LEN, "device_id")?,
            signature: r.array()?,
        };
        r.finish()?;
        Ok(cert)
    }

    /// Check the certificate under `org` at `now` (Unix seconds), in this order
    /// (docs/PROTOCOL.md §4): the organisation key id (`WRONG_ORGANIZATION`), the strict
    /// Ed25519 signature (`BAD_CERTIFICATE`), `not_before <= not_after` and an acceptable agent
    /// key (`BAD_CERTIFICATE`), then the validity window (`CERTIFICATE_NOT_YET_VALID`,
    /// `CERTIFICATE_EXPIRED`).
    ///
    /// # Errors
    ///
    /// * [`Error::WrongOrganization`]: the certificate names another organisation's key id.
    /// * [`Error::BadCertificate`]: the signature does not verify under `org`.
    /// * [`Error::CertificateNotYetValid`] / [`Error::CertificateExpired`]: `now` lies outside
    ///   the validity window.
    pub fn verify(&self, org: &OrgPublicKey, now: u64) -> Result<()> {
        self.verify_signature(org)?;
        if now < self.not_before {
            return Err(Error::CertificateNotYetValid);
        }
        if now > self.not_after {
            return Err(Error::CertificateExpired);
        }
        Ok(())
    }

    pub(crate) fn verify_signature(&self, org: &OrgPublicKey) -> Result<()> {
        if self.org_key_id != org.key_id() {
            return Err(Error::WrongOrganization);
        }
        let mut signed = CERT_SIG_LABEL.to_vec();
        signed.extend_from_slice(&self.body());
        if !cipher::ed25519_verify(&org.bytes, &signed, &self.signature) {
            return Err(Error::BadCertificate);
        }
        // Checked after the signature: these describe what the organisation signed, and a
        // certificate that `certify_agent` would refuse to produce is never accepted either.
        if self.not_before > self.not_after || !acceptable_agent_key(&self.public_key) {
            return Err(Error::BadCertificate);
        }
        Ok(())
    }

    /// Whether this certificate certifies `key` (constant-time comparison).
    pub(crate) fn certifies(&self, key: &[u8; 32]) -> bool {
        self.public_key.ct_eq(key).into()
    }

    /// The certified role ([`OrgRole::Agent`] for a version 1 certificate).
    pub fn role(&self) -> OrgRole {
        self.role
    }
    /// The certificate format version: 1 (no role byte) or 2.
    pub fn version(&self) -> u8 {
        self.version
    }
    /// The certified agent's id.
    pub fn agent_id(&self) -> &str {
        &self.agent_id
    }
    /// The certified device's id.
    pub fn device_id(&self) -> &str {
        &self.device_id
    }
    /// The certified X25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.public_key
    }
    /// Start of validity, Unix seconds.
    pub fn not_before(&self) -> u64 {
        self.not_before
    }
    /// End of validity (inclusive), Unix seconds.
    pub fn not_after(&self) -> u64 {
        self.not_after
    }
    /// The key id of the organisation that signed it.
    pub fn org_key_id(&self) -> [u8; ORG_KEY_ID_LEN] {
        self.org_key_id
    }
}

wire_text_and_serde!(AgentCertificate, CERT_MAX_LEN);

/// An agent device ready to accept visitors: its key plus its certificate.
///
/// Accept handshakes with [`AgentIdentity::accept`]. Persist it with
/// [`AgentIdentity::export`].
pub struct AgentIdentity {
    pub(crate) key: AgentKey,
    pub(crate) certificate: AgentCertificate,
    pub(crate) org: OrgPublicKey,
}

impl core::fmt::Debug for AgentIdentity {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AgentIdentity")
            .field("certificate", &self.certificate)
            .finish_non_exhaustive()
    }
}

impl AgentIdentity {
    /// Combine a device key with its certificate. Fails if the certificate was not signed by
    /// `org` or certifies another key, so a misconfigured agent fails here rather than in
    /// every visitor's handshake. The validity window is checked by visitors.
    ///
    /// # Errors
    ///
    /// [`Error::WrongOrganization`] or [`Error::BadCertificate`] if `org` did not sign the
    /// certificate; [`Error::CertificateKeyMismatch`] if it certifies another key.
    pub fn new(key: AgentKey, certificate: AgentCertificate, org: &OrgPublicKey) -> Result<Self> {
        certificate.verify_signature(org)?;
        if !certificate.certifies(&key.public_key()) {
            return Err(Error::CertificateKeyMismatch);
        }
        Ok(AgentIdentity {
            key,
            certificate,
            org: *org,
        })
    }

    /// This device's certificate.
    pub fn certificate(&self) -> &AgentCertificate {
        &self.certificate
    }

    /// The organisation this agent belongs to.
    pub fn org_public_key(&self) -> OrgPublicKey {
        self.org
    }

    /// Seal the identity (key, certificate, organisation key) under `storage_key`.
    ///
    /// # Errors
    ///
    /// [`Error::Randomness`] if the operating system's random number generator fails.
    pub fn export(&self, storage_key: &crate::StorageKey) -> Result<String> {
        self.export_bytes(storage_key)
            .map(|bytes| crate::encoding::to_base64(&bytes))
    }

    /// [`Self::export`] as bytes, for binary stores; `export` is their base64url.
    ///
    /// # Errors
    ///
    /// [`Error::Randomness`] if the operating system's random number generator fails.
    pub fn export_bytes(&self, storage_key: &crate::StorageKey) -> Result<Vec<u8>> {
        self.export_bytes_with_rng(storage_key, &mut rand_core::OsRng)
    }

    pub(crate) fn export_bytes_with_rng(
        &self,
        storage_key: &crate::StorageKey,
        rng: &mut dyn rand_core::RngCore,
    ) -> Result<Vec<u8>> {
        let mut plain = Zeroizing::new(Vec::with_capacity(32 + 32 + CERT_MAX_LEN));
        plain.extend_from_slice(self.key.secret_bytes().as_ref());
        plain.extend_from_slice(&self.org.bytes);
        plain.extend_from_slice(&self.certificate.to_bytes());
        crate::storage::seal(storage_key, crate::storage::Kind::AgentIdentity, &plain, rng)
    }

    /// Open an identity sealed by [`Self::export`].
    ///
    /// Checks, in this order (docs/PROTOCOL.md §8.3): the export (§8.1), the state's layout and
    /// organisation key (`MALFORMED`), the certificate's structure (`MALFORMED`), then
    /// [`AgentIdentity::new`]'s checks. The validity window is **not** checked: an expired
    /// identity still imports, so the app can show it and have the device re-certified;
    /// visitors refuse it.
    ///
    /// # Errors
    ///
    /// [`Error::ExportAuthentication`] for a wrong key or an altered export; [`Error::Malformed`]
    /// for text that is not an identity export; the errors of [`AgentIdentity::new`] if the
    /// restored certificate no longer matches.
    pub fn import(exported: &str, storage_key: &crate::StorageKey) -> Result<Self> {
        let plain = crate::storage::open_text(storage_key, crate::storage::Kind::AgentIdentity, exported)?;
        Self::from_export_plaintext(&plain)
    }

    /// Open an identity from [`Self::export_bytes`].
    ///
    /// # Errors
    ///
    /// As [`AgentIdentity::import`].
    pub fn import_bytes(exported: &[u8], storage_key: &crate::StorageKey) -> Result<Self> {
        let plain = crate::storage::open(storage_key, crate::storage::Kind::AgentIdentity, exported)?;
        Self::from_export_plaintext(&plain)
    }

    fn from_export_plaintext(plain: &[u8]) -> Result<Self> {
        let mut r = Reader::new(plain);
        let secret = Zeroizing::new(r.array::<32>()?);
        let org = OrgPublicKey::from_bytes(r.take(32)?)?;
        let certificate = AgentCertificate::from_bytes(r.rest())?;
        Self::new(AgentKey::from_secret_bytes(&secret), certificate, &org)
    }
}
