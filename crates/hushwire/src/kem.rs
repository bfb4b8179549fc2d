//! ML-KEM-768 (FIPS 203) for the v2 handshake's `e1`/`ekem1` tokens, over RustCrypto's
//! `ml-kem` (chosen for its wasm size, docs/PROTOCOL.md §16.2).
//!
//! Randomness is drawn by the caller from this crate's RNG and passed in (the 64-byte key
//! generation seed `d || z`, FIPS 203 Algorithm 16; the 32-byte encapsulation message `m`,
//! Algorithm 17), so the test vectors can fix it and `ml-kem`'s own RNG traits stay out.

use ml_kem::kem::{Decapsulate, KeyExport};
use ml_kem::{ml_kem_768, B32};
use zeroize::Zeroizing;

use crate::cipher::Secret32;
use crate::error::{DecodeError, Error, Result};

/// Bytes of an ML-KEM-768 encapsulation key.
pub(crate) const PUBLIC_KEY_LEN: usize = 1184;
/// Bytes of an ML-KEM-768 ciphertext.
pub(crate) const CIPHERTEXT_LEN: usize = 1088;
/// Bytes of the key-generation seed `d || z`.
pub(crate) const SEED_LEN: usize = 64;

/// A decapsulation key (wiped on drop by `ml-kem`'s `zeroize` feature).
pub(crate) struct KemSecret(ml_kem_768::DecapsulationKey);

impl KemSecret {
    /// The key pair for `seed = d || z` (FIPS 203 `ML-KEM.KeyGen_internal(d, z)`).
    pub(crate) fn from_seed(seed: &[u8; SEED_LEN]) -> Self {
        let seed = ml_kem::Seed::from(*seed);
        KemSecret(ml_kem_768::DecapsulationKey::from_seed(seed))
    }

    /// The encapsulation key's 1184-byte encoding.
    pub(crate) fn public_key(&self) -> [u8; PUBLIC_KEY_LEN] {
        let bytes = self.0.encapsulation_key().to_bytes();
        let mut out = [0u8; PUBLIC_KEY_LEN];
        out.copy_from_slice(bytes.as_slice());
        out
    }

    /// `ML-KEM.Decaps`: never fails; a wrong ciphertext yields the implicit-rejection key,
    /// which then fails the handshake's next AEAD check.
    pub(crate) fn decapsulate(&self, ciphertext: &[u8; CIPHERTEXT_LEN]) -> Secret32 {
        let ct = ml_kem_768::Ciphertext::from(*ciphertext);
        let mut shared = self.0.decapsulate(&ct);
        let mut out = [0u8; 32];
        out.copy_from_slice(shared.as_slice());
        zeroize::Zeroize::zeroize(shared.as_mut_slice());
        Secret32(out)
    }
}

/// `ML-KEM.Encaps_internal(ek, m)`, after the encapsulation-key check of FIPS 203 §7.2
/// (every coefficient reduced mod q); a key failing it is `InvalidField("kem key")`.
pub(crate) fn encapsulate(
    public_key: &[u8; PUBLIC_KEY_LEN],
    m: &[u8; 32],
) -> Result<([u8; CIPHERTEXT_LEN], Secret32)> {
    let key = ml_kem::kem::Key::<ml_kem_768::EncapsulationKey>::from(*public_key);
    let ek = ml_kem_768::EncapsulationKey::new(&key)
        .map_err(|_| Error::Malformed(DecodeError::InvalidField("kem key")))?;
    let m = Zeroizing::new(B32::from(*m));
    let (ct, mut shared) = ek.encapsulate_deterministic(&m);
    let mut ct_out = [0u8; CIPHERTEXT_LEN];
    ct_out.copy_from_slice(ct.as_slice());
    let mut out = [0u8; 32];
    out.copy_from_slice(shared.as_slice());
    zeroize::Zeroize::zeroize(shared.as_mut_slice());
    Ok((ct_out, Secret32(out)))
}

#[cfg(test)]
mod tests;
