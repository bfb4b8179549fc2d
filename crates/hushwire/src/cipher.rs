//! Thin, typed wrappers over the primitives hushwire uses. Everything cryptographic in the
//! crate goes through here, and the Wycheproof / RFC tests exercise exactly these functions.

use aes_gcm::aead::{Aead, AeadInOut, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use alloc::vec::Vec;
use hmac::{Hmac, Mac};
use rand_core::RngCore;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};

/// AES-256-GCM key length.
pub(crate) const KEY_LEN: usize = 32;
/// AES-GCM nonce length (96 bits, the only length hushwire uses).
pub(crate) const NONCE_LEN: usize = 12;
/// AES-GCM tag length (full 128-bit tag, never truncated).
pub(crate) const TAG_LEN: usize = 16;

/// A 32-byte secret that is wiped when dropped and never printed.
#[derive(Clone, Zeroize, zeroize::ZeroizeOnDrop)]
pub(crate) struct Secret32(pub(crate) [u8; 32]);

impl core::fmt::Debug for Secret32 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Secret32(<redacted>)")
    }
}

/// AES-256-GCM encryption into a new buffer (`ciphertext || tag`). `plaintext` may be empty.
/// One encryption path: this copies and calls [`aead_seal_in_place`].
pub(crate) fn aead_seal(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(plaintext.len() + TAG_LEN);
    out.extend_from_slice(plaintext);
    match aead_seal_in_place(key, nonce, aad, &mut out) {
        Ok(tag) => out.extend_from_slice(&tag),
        // Only inputs beyond GCM's 2^36-byte limit fail, far above our limits; never hand
        // back (or leave behind) the plaintext copy.
        Err(_) => out.zeroize(), // wipes and empties
    }
    out
}

/// AES-256-GCM encryption of `buffer` in place; returns the tag. Messages use it directly
/// (no copy of the padded plaintext is left behind).
pub(crate) fn aead_seal_in_place(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    buffer: &mut [u8],
) -> Result<[u8; TAG_LEN]> {
    let cipher = Aes256Gcm::new(&(*key).into());
    cipher
        .encrypt_inout_detached(&Nonce::from(*nonce), aad, buffer.into())
        .map(Into::into)
        // Only inputs beyond GCM's 2^36-byte limit fail, far above MAX_PLAINTEXT_LEN.
        .map_err(|_| Error::MessageTooLarge)
}

/// AES-256-GCM decryption; any failure (wrong key, altered bytes, short input) is `Tampered`.
pub(crate) fn aead_open(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>> {
    if ciphertext.len() < TAG_LEN {
        return Err(Error::Tampered);
    }
    let cipher = Aes256Gcm::new(&(*key).into());
    cipher
        .decrypt(&Nonce::from(*nonce), Payload { msg: ciphertext, aad })
        .map_err(|_| Error::Tampered)
}

/// X25519 with the all-zero output check (RFC 7748 §6.1): a low-order peer key is `WeakKey`.
pub(crate) fn x25519(secret: &x25519_dalek::StaticSecret, public: &[u8; 32]) -> Result<Secret32> {
    let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(*public));
    if !shared.was_contributory() {
        return Err(Error::WeakKey);
    }
    Ok(Secret32(*shared.as_bytes()))
}

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 keyed with `key` (its padded inner and outer states).
fn hmac_key(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!())
}

fn hmac_finish(mac: HmacSha256) -> [u8; 32] {
    mac.finalize().into_bytes().into()
}

/// HKDF-SHA256 (RFC 5869) filling `out`; fails only if `out` exceeds 255 * 32 bytes.
///
/// Written out over [`hmac_sha256`] rather than taken from the `hkdf` crate so that the wasm
/// build carries one HMAC-SHA256 instead of two; it is checked against RFC 5869 and
/// Wycheproof's HKDF-SHA256 vectors (`cipher/tests.rs`).
pub(crate) fn hkdf_sha256(salt: &[u8], ikm: &[u8], info: &[u8], out: &mut [u8]) -> Result<()> {
    if out.len() > 255 * 32 {
        return Err(Error::InvalidArgument("hkdf output length"));
    }
    // Extract (§2.2). An empty salt keys HMAC with a zero block, exactly like the HashLen
    // zeros that stand for "no salt".
    let prk = Zeroizing::new(hmac_sha256(salt, &[ikm]));
    let expand = hmac_key(prk.as_ref());
    // Expand (§2.3): T(i) = HMAC(PRK, T(i-1) || info || i).
    let mut t = Zeroizing::new([0u8; 32]);
    for (i, chunk) in out.chunks_mut(32).enumerate() {
        let mut mac = expand.clone();
        if i > 0 {
            mac.update(t.as_ref());
        }
        mac.update(info);
        mac.update(&[(i + 1) as u8]);
        *t = hmac_finish(mac);
        chunk.copy_from_slice(&t[..chunk.len()]);
    }
    Ok(())
}

/// HMAC-SHA256 over the concatenation of `parts`.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = hmac_key(key);
    for p in parts {
        mac.update(p);
    }
    hmac_finish(mac)
}

/// `(HMAC-SHA256(key, a), HMAC-SHA256(key, b))`, keying HMAC once for both.
pub(crate) fn hmac_sha256_pair(key: &[u8], a: &[u8], b: &[u8]) -> ([u8; 32], [u8; 32]) {
    let mac = hmac_key(key);
    let mut first = mac.clone();
    first.update(a);
    let mut second = mac;
    second.update(b);
    (hmac_finish(first), hmac_finish(second))
}

/// SHA-256 over the concatenation of `parts`.
pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// Ed25519 verification in strict mode (rejects non-canonical encodings and small-order keys).
pub(crate) fn ed25519_verify(public: &[u8; 32], msg: &[u8], sig: &[u8]) -> bool {
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(public) else {
        return false;
    };
    let Ok(sig) = ed25519_dalek::Signature::from_slice(sig) else {
        return false;
    };
    key.verify_strict(msg, &sig).is_ok()
}

/// Fill `buf` from `rng`, failing closed (never panicking) when randomness is unavailable.
pub(crate) fn fill_random(rng: &mut dyn RngCore, buf: &mut [u8]) -> Result<()> {
    rng.try_fill_bytes(buf).map_err(|_| Error::Randomness)
}

/// A fresh X25519 secret drawn from `rng`.
pub(crate) fn random_x25519(rng: &mut dyn RngCore) -> Result<x25519_dalek::StaticSecret> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    fill_random(rng, bytes.as_mut())?;
    Ok(x25519_dalek::StaticSecret::from(*bytes))
}

#[cfg(test)]
mod tests;
