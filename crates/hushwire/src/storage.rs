//! Sealing state for storage: session exports and agent identity exports.
//!
//! `text = base64url(format || kind || nonce[12] || AES-256-GCM(storage_key, nonce,
//! aad = "hushwire/v1/export" || format || kind, state))` — see `docs/PROTOCOL.md` §8.

use alloc::{string::String, vec, vec::Vec};
use rand_core::RngCore;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::cipher::{self, NONCE_LEN, TAG_LEN};
use crate::encoding;
use crate::error::{DecodeError, Error, Result};

/// Version of the export format.
const FORMAT_VERSION: u8 = 1;
const AAD_LABEL: &[u8] = b"hushwire/v1/export";
/// Largest session state (docs/PROTOCOL.md §8.2): 264 bytes with two 64-byte ids, plus 36 per
/// stored skipped key.
// The v2 state is the larger (docs/PROTOCOL.md §17.6): 551 bytes besides 36 per stored key,
// against v1's 264.
pub(crate) const MAX_SESSION_STATE: usize = 551 + 36 * crate::session::MAX_STORED_SKIPPED_LIMIT as usize;
/// Largest agent identity state (§8.3): secret key, organisation key, longest certificate.
const MAX_IDENTITY_STATE: usize = 32 + 32 + crate::org::CERT_MAX_LEN;

/// Largest conversation state (§18.7): a session per other member, the roster log (at most
/// 128 events of at most 386 bytes), the counters and pending events.
const MAX_CONVERSATION_STATE: usize = 1
    + 16
    + 32
    + 130
    + 8
    + 1
    + crate::conversation::MAX_ROSTER_EVENTS * 386
    + 1
    + (crate::conversation::MAX_MEMBERS - 1) * (130 + 1 + 4 + MAX_SESSION_STATE)
    + 1
    + 2 * crate::conversation::MAX_MEMBERS * (130 + 1 + 4)
    + 1
    + 16 * (130 + 32 + 256);

/// What an export holds; part of the AAD so one kind cannot be imported as another.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Session = 0x53,       // 'S'
    AgentIdentity = 0x41, // 'A'
    Conversation = 0x43,  // 'C'
}

/// A 32-byte key that seals exported state for storage.
///
/// Generate one per device or per browser profile and keep it where the platform protects
/// keys: the iOS Keychain, the Android Keystore (wrapped by a hardware-backed key), or in a
/// browser as a non-extractable WebCrypto key that wraps it (see the npm package's README).
/// Never store it next to the exports it protects.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct StorageKey([u8; 32]);

impl core::fmt::Debug for StorageKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("StorageKey(<redacted>)")
    }
}

impl StorageKey {
    /// A fresh random key from the operating system's CSPRNG.
    ///
    /// # Errors
    ///
    /// [`Error::Randomness`] if the operating system's random number generator fails.
    pub fn generate() -> Result<Self> {
        let mut k = StorageKey([0u8; 32]);
        cipher::fill_random(&mut rand_core::OsRng, &mut k.0)?;
        Ok(k)
    }

    /// Use 32 bytes the app already protects (for example unwrapped from a keystore).
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        StorageKey(*bytes)
    }

    /// The key bytes, for handing to a platform keystore.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0)
    }
}

/// Any slice of exactly 32 bytes, for keys handed over as `Vec<u8>` or `&[u8]` (for example
/// from a binding or a keystore API). The intermediate copy is wiped.
impl TryFrom<&[u8]> for StorageKey {
    type Error = Error;

    /// # Errors
    ///
    /// [`Error::Malformed`] ([`DecodeError::TooShort`] / [`DecodeError::TooLong`]) unless
    /// `bytes` holds exactly 32 bytes.
    fn try_from(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != 32 {
            let e = if bytes.len() < 32 {
                DecodeError::TooShort
            } else {
                DecodeError::TooLong
            };
            return Err(e.into());
        }
        let mut key = StorageKey([0u8; 32]);
        for (k, b) in key.0.iter_mut().zip(bytes) {
            *k = *b;
        }
        Ok(key)
    }
}

fn aad(kind: Kind) -> Vec<u8> {
    let mut aad = AAD_LABEL.to_vec();
    aad.push(FORMAT_VERSION);
    aad.push(kind as u8);
    aad
}

/// Shortest sealed export: header, nonce and tag (an empty state would still fail later).
const MIN_SEALED_LEN: usize = 2 + NONCE_LEN + TAG_LEN;

impl Kind {
    /// Longest sealed export of this kind in bytes (session: 720 294, identity: 346); longer
    /// inputs are refused before any work. As text: `ceil(4n / 3)` characters (960 392, 462).
    fn max_sealed_len(self) -> usize {
        let state = match self {
            Kind::Session => MAX_SESSION_STATE,
            Kind::AgentIdentity => MAX_IDENTITY_STATE,
            Kind::Conversation => MAX_CONVERSATION_STATE,
        };
        2 + NONCE_LEN + state + TAG_LEN
    }
}

/// Seal `plaintext` as an export of `kind`: `version || kind || nonce || AES-GCM(...)`.
pub(crate) fn seal(key: &StorageKey, kind: Kind, plaintext: &[u8], rng: &mut dyn RngCore) -> Result<Vec<u8>> {
    let mut nonce = [0u8; NONCE_LEN];
    cipher::fill_random(rng, &mut nonce)?;
    let mut out = vec![FORMAT_VERSION, kind as u8];
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&cipher::aead_seal(&key.0, &nonce, &aad(kind), plaintext));
    Ok(out)
}

/// The text form of an export: unpadded base64url of the sealed bytes.
pub(crate) fn seal_text(
    key: &StorageKey,
    kind: Kind,
    plaintext: &[u8],
    rng: &mut dyn RngCore,
) -> Result<String> {
    seal(key, kind, plaintext, rng).map(|bytes| encoding::to_base64(&bytes))
}

pub(crate) fn open_text(key: &StorageKey, kind: Kind, text: &str) -> Result<Zeroizing<Vec<u8>>> {
    open(
        key,
        kind,
        &encoding::from_base64(text.trim(), kind.max_sealed_len())?,
    )
}

/// Open an export, checking in this order (docs/PROTOCOL.md §8.1): longer than the kind's
/// maximum (`TooLong`), format version (`UnsupportedVersion`), kind (`UnexpectedType`), shorter
/// than 30 bytes (`TooShort`), then the AEAD (`EXPORT_AUTHENTICATION`). The version and kind are
/// in clear but also in the AAD, so relabelling them never authenticates either.
pub(crate) fn open(key: &StorageKey, kind: Kind, bytes: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    if bytes.len() > kind.max_sealed_len() {
        return Err(DecodeError::TooLong.into());
    }
    let mut r = encoding::Reader::new(bytes);
    let version = r.u8()?;
    if version != FORMAT_VERSION {
        return Err(DecodeError::UnsupportedVersion(version).into());
    }
    let found = r.u8()?;
    if found != kind as u8 {
        return Err(DecodeError::UnexpectedType(found).into());
    }
    if bytes.len() < MIN_SEALED_LEN {
        return Err(DecodeError::TooShort.into());
    }
    let nonce: [u8; NONCE_LEN] = r.array()?;
    let ct = r.rest();
    cipher::aead_open(&key.0, &nonce, &aad(kind), ct)
        .map(Zeroizing::new)
        .map_err(|_| Error::ExportAuthentication)
}
