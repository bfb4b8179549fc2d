//! Organisation and agent keys, certificates and storage keys.
//!
//! None of these objects lock: they are immutable after creation and can be shared freely
//! between threads.

use std::sync::Arc;

use zeroize::Zeroizing;

use crate::error::{HushwireError, Result};

/// Copy a caller's byte string into a fixed 32-byte array, refusing any other length.
pub(crate) fn array32(bytes: &[u8], what: &str) -> Result<Zeroizing<[u8; 32]>> {
    let mut out = Zeroizing::new([0u8; 32]);
    if bytes.len() != 32 {
        return Err(HushwireError::wrong_length(what, 32, bytes.len()));
    }
    out.copy_from_slice(bytes);
    Ok(out)
}

/// The organisation's long-term Ed25519 signing key. Only needed by the admin tool that
/// certifies agent devices; keep it out of agent and visitor apps.
#[derive(uniffi::Object)]
pub struct OrgSigningKey {
    pub(crate) inner: hushwire::OrgSigningKey,
}

#[uniffi::export]
impl OrgSigningKey {
    /// A new key from the operating system's CSPRNG.
    #[uniffi::constructor]
    pub fn generate() -> Result<Arc<Self>> {
        Ok(Arc::new(OrgSigningKey {
            inner: hushwire::OrgSigningKey::generate()?,
        }))
    }

    /// Restore a key from its 32-byte seed (see `secretBytes`). Any other length: `MALFORMED`.
    #[uniffi::constructor]
    pub fn from_secret_bytes(seed: Vec<u8>) -> Result<Arc<Self>> {
        let seed = Zeroizing::new(seed);
        let seed = array32(&seed, "an organisation key seed")?;
        Ok(Arc::new(OrgSigningKey {
            inner: hushwire::OrgSigningKey::from_secret_bytes(&seed),
        }))
    }

    /// The 32-byte secret seed, for storing the key. Anyone holding it can certify agents for
    /// this organisation. The copy handed to the host language is not wiped by hushwire.
    pub fn secret_bytes(&self) -> Vec<u8> {
        self.inner.secret_bytes().to_vec()
    }

    /// The public key to pin in visitor apps.
    pub fn public_key(&self) -> Arc<OrgPublicKey> {
        Arc::new(OrgPublicKey {
            inner: self.inner.public_key(),
        })
    }

    /// Certify an agent device's 32-byte X25519 public key (`AgentKey.publicKey()`).
    /// `agentId` and `deviceId` are 1 to 64 bytes of UTF-8; valid from `notBefore` to
    /// `notAfter` inclusive (Unix seconds). Errors: `MALFORMED` (key length),
    /// `INVALID_ARGUMENT` (ids, window).
    pub fn certify_agent(
        &self,
        agent_public_key: Vec<u8>,
        agent_id: String,
        device_id: String,
        not_before: u64,
        not_after: u64,
    ) -> Result<Arc<AgentCertificate>> {
        let key = array32(&agent_public_key, "an agent public key")?;
        let cert = self
            .inner
            .certify_agent(&key, &agent_id, &device_id, not_before, not_after)?;
        Ok(Arc::new(AgentCertificate { inner: cert }))
    }

    /// Certify an organisation device's public key for `role` (a version 2 certificate;
    /// `certifyAgent` issues version 1, which certifies an agent). Arguments and errors as
    /// `certifyAgent`.
    pub fn certify(
        &self,
        device_public_key: Vec<u8>,
        agent_id: String,
        device_id: String,
        role: crate::conversation::OrgRole,
        not_before: u64,
        not_after: u64,
    ) -> Result<Arc<AgentCertificate>> {
        let key = array32(&device_public_key, "a device public key")?;
        let cert = self
            .inner
            .certify(&key, &agent_id, &device_id, role.into(), not_before, not_after)?;
        Ok(Arc::new(AgentCertificate { inner: cert }))
    }
}

/// An organisation's Ed25519 public key, pinned by visitor apps. Text form: unpadded
/// base64url (`toText()` / `fromText()`), which is also its `toString()`.
#[derive(uniffi::Object)]
#[uniffi::export(Display, Eq)]
pub struct OrgPublicKey {
    pub(crate) inner: hushwire::OrgPublicKey,
}

impl core::fmt::Display for OrgPublicKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(&self.inner, f)
    }
}

impl PartialEq for OrgPublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.inner == other.inner
    }
}

impl Eq for OrgPublicKey {}

#[uniffi::export]
impl OrgPublicKey {
    /// Parse the 32 key bytes. `MALFORMED` for another length or a non-point.
    #[uniffi::constructor]
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Arc<Self>> {
        Ok(Arc::new(OrgPublicKey {
            inner: hushwire::OrgPublicKey::from_bytes(&bytes)?,
        }))
    }

    /// Parse the base64url text form. `MALFORMED` for anything else.
    #[uniffi::constructor]
    pub fn from_text(text: String) -> Result<Arc<Self>> {
        Ok(Arc::new(OrgPublicKey { inner: text.parse()? }))
    }

    /// The 32 key bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.inner.to_bytes().to_vec()
    }

    /// The base64url text form.
    pub fn to_text(&self) -> String {
        self.inner.to_string()
    }

    /// The 8-byte key id carried in handshakes.
    pub fn key_id(&self) -> Vec<u8> {
        self.inner.key_id().to_vec()
    }
}

/// An agent device's long-term X25519 key. Generate it on the device; only its public key
/// leaves the device, to be certified.
#[derive(uniffi::Object)]
pub struct AgentKey {
    pub(crate) inner: hushwire::AgentKey,
}

#[uniffi::export]
impl AgentKey {
    /// A new key from the operating system's CSPRNG.
    #[uniffi::constructor]
    pub fn generate() -> Result<Arc<Self>> {
        Ok(Arc::new(AgentKey {
            inner: hushwire::AgentKey::generate()?,
        }))
    }

    /// Restore a key from its 32 secret bytes. Any other length: `MALFORMED`.
    #[uniffi::constructor]
    pub fn from_secret_bytes(secret: Vec<u8>) -> Result<Arc<Self>> {
        let secret = Zeroizing::new(secret);
        let secret = array32(&secret, "an agent secret key")?;
        Ok(Arc::new(AgentKey {
            inner: hushwire::AgentKey::from_secret_bytes(&secret),
        }))
    }

    /// The 32 secret bytes. Prefer `AgentIdentity.exportState`, which seals them.
    pub fn secret_bytes(&self) -> Vec<u8> {
        self.inner.secret_bytes().to_vec()
    }

    /// The 32-byte public key to send to the organisation for certification.
    pub fn public_key(&self) -> Vec<u8> {
        self.inner.public_key().to_vec()
    }
}

/// The organisation's statement that an X25519 key belongs to one agent device for a limited
/// time. Text form: base64url (`toText()`).
#[derive(uniffi::Object)]
pub struct AgentCertificate {
    pub(crate) inner: hushwire::AgentCertificate,
}

#[uniffi::export]
impl AgentCertificate {
    /// Decode a certificate (structure only; see `verify`). `MALFORMED` for garbage.
    #[uniffi::constructor]
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Arc<Self>> {
        Ok(Arc::new(AgentCertificate {
            inner: hushwire::AgentCertificate::from_bytes(&bytes)?,
        }))
    }

    /// Decode the base64url text form. `MALFORMED` for garbage.
    #[uniffi::constructor]
    pub fn from_text(text: String) -> Result<Arc<Self>> {
        Ok(Arc::new(AgentCertificate { inner: text.parse()? }))
    }

    /// The wire encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.inner.to_bytes()
    }

    /// The base64url text form.
    pub fn to_text(&self) -> String {
        self.inner.to_string()
    }

    /// Check the signature under `org` and the validity window at `now` (Unix seconds).
    pub fn verify(&self, org: Arc<OrgPublicKey>, now: u64) -> Result<()> {
        Ok(self.inner.verify(&org.inner, now)?)
    }

    /// The certified agent's id.
    pub fn agent_id(&self) -> String {
        self.inner.agent_id().to_owned()
    }

    /// The certified device's id.
    pub fn device_id(&self) -> String {
        self.inner.device_id().to_owned()
    }

    /// The certified 32-byte X25519 public key.
    pub fn public_key(&self) -> Vec<u8> {
        self.inner.public_key().to_vec()
    }

    /// Start of validity, Unix seconds.
    pub fn not_before(&self) -> u64 {
        self.inner.not_before()
    }

    /// End of validity (inclusive), Unix seconds.
    pub fn not_after(&self) -> u64 {
        self.inner.not_after()
    }

    /// The 8-byte key id of the organisation that signed it.
    pub fn org_key_id(&self) -> Vec<u8> {
        self.inner.org_key_id().to_vec()
    }
}

/// The 32-byte key that seals session and identity exports. Keep it in the platform keystore
/// (Android Keystore-wrapped, iOS Keychain), never next to the exports it protects.
#[derive(uniffi::Object)]
pub struct StorageKey {
    pub(crate) inner: hushwire::StorageKey,
}

#[uniffi::export]
impl StorageKey {
    /// A fresh random key from the operating system's CSPRNG.
    #[uniffi::constructor]
    pub fn generate() -> Result<Arc<Self>> {
        Ok(Arc::new(StorageKey {
            inner: hushwire::StorageKey::generate()?,
        }))
    }

    /// Use 32 bytes the app already protects. Any other length: `MALFORMED`.
    #[uniffi::constructor]
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Arc<Self>> {
        let bytes = Zeroizing::new(bytes);
        let bytes = array32(&bytes, "a storage key")?;
        Ok(Arc::new(StorageKey {
            inner: hushwire::StorageKey::from_bytes(&bytes),
        }))
    }

    /// The key bytes, for handing to a platform keystore. The copy handed to the host language
    /// is not wiped by hushwire.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.inner.to_bytes().to_vec()
    }
}
