//! Thin, typed wrappers over the primitives hushwire uses. Everything cryptographic in the
//! crate goes through here, and the Wycheproof / RFC tests exercise exactly these functions.

use aes_gcm::aead::{Aead, AeadInOut, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use alloc::vec::Vec;
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

// Constant time: manifests (which hold a file key) compare by value.
impl PartialEq for Secret32 {
    fn eq(&self, other: &Self) -> bool {
        subtle::ConstantTimeEq::ct_eq(&self.0[..], &other.0[..]).into()
    }
}
impl Eq for Secret32 {}

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
    // By reference: a converted copy of the key would stay behind on the stack.
    let cipher = Aes256Gcm::new(key.into());
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
    // By reference: a converted copy of the key would stay behind on the stack.
    let cipher = Aes256Gcm::new(key.into());
    cipher
        .decrypt(&Nonce::from(*nonce), Payload { msg: ciphertext, aad })
        .map_err(|_| Error::Tampered)
}

/// An AES-256-GCM key expanded once, for the many segments of one attachment (expanding the
/// key schedule per segment would cost more than sealing a small segment). The `aes` key
/// schedule is wiped on drop (`aes-gcm`'s `zeroize` feature).
pub(crate) struct AeadKey(Aes256Gcm);

impl AeadKey {
    pub(crate) fn new(key: &Secret32) -> Self {
        AeadKey(Aes256Gcm::new((&key.0).into()))
    }

    /// Encrypt `buffer` in place and return the tag.
    pub(crate) fn seal_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buffer: &mut [u8],
    ) -> Result<[u8; TAG_LEN]> {
        self.0
            .encrypt_inout_detached(&Nonce::from(*nonce), aad, buffer.into())
            .map(Into::into)
            // Only inputs beyond GCM's 2^36-byte limit fail; segments are at most 1 MiB.
            .map_err(|_| Error::MessageTooLarge)
    }

    /// Check `tag` and decrypt `buffer` in place; `false` (and no usable plaintext) on failure.
    pub(crate) fn open_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buffer: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> bool {
        self.0
            .decrypt_inout_detached(&Nonce::from(*nonce), aad, buffer.into(), tag.into())
            .is_ok()
    }
}

impl core::fmt::Debug for AeadKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("AeadKey(<redacted>)")
    }
}

/// X25519 with the all-zero output check (RFC 7748 §6.1): a low-order peer key is `WeakKey`.
pub(crate) fn x25519(secret: &x25519_dalek::StaticSecret, public: &[u8; 32]) -> Result<Secret32> {
    let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(*public));
    if !shared.was_contributory() {
        return Err(Error::WeakKey);
    }
    Ok(Secret32(*shared.as_bytes()))
}

/// SHA-256's block length, the HMAC key block.
const BLOCK_LEN: usize = 64;

/// HMAC-SHA256 (RFC 2104) keyed once: the inner and outer SHA-256 states after absorbing the
/// padded key. Both are key-equivalent, so they are scrubbed on drop and after every use.
///
/// Written over `sha2` rather than taken from the `hmac` crate because `hmac` 0.12 neither
/// wipes its states nor lets a caller do so, and `hmac` 0.13 / `sha2` 0.11 (which can) need
/// Rust 1.85 / 1.88, above this crate's MSRV; a second SHA-256 would also grow the wasm
/// build. Checked against Wycheproof's HMAC-SHA256 and RFC 5869 vectors (`cipher/tests.rs`).
struct HmacKey {
    inner: Sha256,
    outer: Sha256,
}

impl HmacKey {
    fn new(key: &[u8]) -> Self {
        // Keys longer than a block are hashed first (RFC 2104 §2); shorter ones zero-padded.
        let mut block = Zeroizing::new([0u8; BLOCK_LEN]);
        if key.len() > BLOCK_LEN {
            let mut h = Sha256::new();
            h.update(key);
            let digest = Zeroizing::new(<[u8; 32]>::from(h.finalize_reset()));
            scrub(&mut h);
            for (b, k) in block.iter_mut().zip(digest.iter()) {
                *b = *k;
            }
        } else {
            for (b, k) in block.iter_mut().zip(key) {
                *b = *k;
            }
        }
        let mut pad = Zeroizing::new([0u8; BLOCK_LEN]);
        let mut keyed = |byte: u8| {
            for (p, b) in pad.iter_mut().zip(block.iter()) {
                *p = b ^ byte;
            }
            let mut h = Sha256::new();
            // A whole block is compressed straight from `pad`, never copied into the buffer.
            h.update(pad.as_ref());
            h
        };
        let inner = keyed(0x36);
        let outer = keyed(0x5c);
        HmacKey { inner, outer }
    }

    /// HMAC over the concatenation of `parts`.
    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut inner = self.inner.clone();
        for p in parts {
            inner.update(p);
        }
        let inner_digest = Zeroizing::new(<[u8; 32]>::from(inner.finalize_reset()));
        scrub(&mut inner);
        let mut outer = self.outer.clone();
        outer.update(inner_digest.as_ref());
        let tag = outer.finalize_reset().into();
        scrub(&mut outer);
        tag
    }
}

impl Drop for HmacKey {
    fn drop(&mut self) {
        scrub(&mut self.inner);
        scrub(&mut self.outer);
    }
}

/// Best-effort wipe of a SHA-256 state with safe code (`sha2` 0.10 has no `zeroize`): reset
/// the chaining value to the IV, overwrite the partial-block buffer (where message bytes sit)
/// with zeros, reset again. `black_box` keeps the optimiser from dropping these dead stores.
/// Copies the compiler made while moving the value are out of reach.
fn scrub(h: &mut Sha256) {
    Digest::reset(h);
    h.update([0u8; BLOCK_LEN - 1]);
    Digest::reset(h);
    core::hint::black_box(h);
}

/// HKDF-SHA256 (RFC 5869) with one hash length (32 bytes) of output. Shorter outputs are its
/// prefix (HKDF-Expand's first block, truncated).
///
/// Fixed-size outputs make the RFC's length limit (255 blocks) hold by type, so callers have
/// no error to ignore. Written out over [`HmacKey`] rather than taken from the `hkdf` crate so
/// that the build carries one HMAC-SHA256; checked against RFC 5869 and Wycheproof's
/// HKDF-SHA256 vectors through [`hkdf_sha256_into`] (`cipher/tests.rs`).
pub(crate) fn hkdf_sha256_32(salt: &[u8], ikm: &[u8], info: &[u8]) -> Secret32 {
    let expand = hkdf_extract(salt, ikm);
    Secret32(expand.mac(&[info, &[1]]))
}

/// HKDF-SHA256 with two hash lengths (64 bytes) of output, as two keys (Noise's
/// `HKDF(ck, ikm, 2)`).
pub(crate) fn hkdf_sha256_64(salt: &[u8], ikm: &[u8], info: &[u8]) -> (Secret32, Secret32) {
    let expand = hkdf_extract(salt, ikm);
    let first = Secret32(expand.mac(&[info, &[1]]));
    let second = Secret32(expand.mac(&[&first.0, info, &[2]]));
    (first, second)
}

/// HKDF-Extract (§2.2): the expand key, HMAC keyed with `PRK = HMAC(salt, ikm)`. An empty
/// salt keys HMAC with a zero block, exactly like the HashLen zeros that stand for "no salt".
fn hkdf_extract(salt: &[u8], ikm: &[u8]) -> HmacKey {
    let prk = Zeroizing::new(HmacKey::new(salt).mac(&[ikm]));
    HmacKey::new(prk.as_ref())
}

/// HKDF-SHA256 of any length into `out`, for the RFC and Wycheproof tests (which also cover
/// lengths the protocol never uses); fails only if `out` exceeds 255 * 32 bytes.
#[cfg(test)]
pub(crate) fn hkdf_sha256_into(salt: &[u8], ikm: &[u8], info: &[u8], out: &mut [u8]) -> Result<()> {
    if out.len() > 255 * 32 {
        return Err(Error::InvalidArgument("hkdf output length"));
    }
    let expand = hkdf_extract(salt, ikm);
    // Expand (§2.3): T(i) = HMAC(PRK, T(i-1) || info || i).
    let mut t = Zeroizing::new([0u8; 32]);
    for (i, chunk) in out.chunks_mut(32).enumerate() {
        let prev: &[u8] = if i == 0 { &[] } else { t.as_ref() };
        let next = expand.mac(&[prev, info, &[(i + 1) as u8]]);
        *t = next;
        for (o, b) in chunk.iter_mut().zip(t.iter()) {
            *o = *b;
        }
    }
    Ok(())
}

/// HMAC-SHA256 over the concatenation of `parts` (the vectors' generator and the tests).
#[cfg(any(test, feature = "testing"))]
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    HmacKey::new(key).mac(parts)
}

/// `(HMAC-SHA256(key, a), HMAC-SHA256(key, b))`, keying HMAC once for both.
pub(crate) fn hmac_sha256_pair(key: &[u8], a: &[u8], b: &[u8]) -> ([u8; 32], [u8; 32]) {
    let mac = HmacKey::new(key);
    (mac.mac(&[a]), mac.mac(&[b]))
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
