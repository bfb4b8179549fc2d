//! The Noise `NX` handshake, `Noise_NX_25519_AESGCM_SHA256`, per the Noise Protocol Framework
//! revision 34 (<https://noiseprotocol.org/noise.html>), sections 5 (processing rules) and 7
//! (pattern NX):
//!
//! ```text
//! NX:
//!   -> e
//!   <- e, ee, s, es
//! ```
//!
//! Protocol v2 uses `NXhfs`, the same pattern with the KEM tokens of the Noise "hfs" extension
//! (KEM-based hybrid forward secrecy, <https://github.com/noiseprotocol/noise_hfs_spec>), with
//! ML-KEM-768 as the KEM: `Noise_NXhfs_25519+MLKEM768_AESGCM_SHA256`.
//!
//! ```text
//! NXhfs:
//!   -> e, e1
//!   <- e, ee, ekem1, s, es
//! ```
//!
//! Only what these two patterns need is implemented. NX interoperability is checked against
//! the cacophony and snow vectors and against the `snow` crate (see the tests at the bottom);
//! snow's hfs supports only Kyber1024, so NXhfs is checked against the spec vectors.

use alloc::vec::Vec;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroize;

use crate::cipher::{self, Secret32, NONCE_LEN, TAG_LEN};
use crate::error::{DecodeError, Error, Result};
use crate::kem::{self, KemSecret, CIPHERTEXT_LEN, PUBLIC_KEY_LEN};

/// The Noise protocol name; 28 bytes, so `h` starts as the name zero-padded to 32 bytes.
pub(crate) const PROTOCOL_NAME: &[u8] = b"Noise_NX_25519_AESGCM_SHA256";
/// The v2 protocol name; 41 bytes, so `h` starts as its SHA-256 (Noise §5.2).
pub(crate) const PROTOCOL_NAME_HFS: &[u8] = b"Noise_NXhfs_25519+MLKEM768_AESGCM_SHA256";
/// Length of a Noise DH public key.
pub(crate) const DHLEN: usize = 32;

/// Noise `CipherState` for AESGCM: nonce = 32 zero bits || 64-bit big-endian counter.
#[derive(Clone)]
pub(crate) struct CipherState {
    k: Option<Secret32>,
    n: u64,
}

impl CipherState {
    pub(crate) fn new(k: Option<Secret32>) -> Self {
        CipherState { k, n: 0 }
    }

    fn nonce(&self) -> [u8; NONCE_LEN] {
        let mut nonce = [0u8; NONCE_LEN];
        nonce[4..].copy_from_slice(&self.n.to_be_bytes());
        nonce
    }

    pub(crate) fn encrypt_with_ad(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        let Some(k) = &self.k else {
            return Ok(plaintext.to_vec());
        };
        // n = 2^64 - 1 is reserved by the spec; unreachable in a two-message handshake.
        if self.n == u64::MAX {
            return Err(Error::SessionExhausted);
        }
        let ct = cipher::aead_seal(&k.0, &self.nonce(), ad, plaintext);
        self.n += 1;
        Ok(ct)
    }

    pub(crate) fn decrypt_with_ad(&mut self, ad: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>> {
        let Some(k) = &self.k else {
            return Ok(ciphertext.to_vec());
        };
        if self.n == u64::MAX {
            return Err(Error::SessionExhausted);
        }
        let pt =
            cipher::aead_open(&k.0, &self.nonce(), ad, ciphertext).map_err(|_| Error::HandshakeFailed)?;
        self.n += 1;
        Ok(pt)
    }

    fn has_key(&self) -> bool {
        self.k.is_some()
    }
}

/// Noise `SymmetricState`.
#[derive(Clone)]
struct SymmetricState {
    ck: Secret32,
    h: [u8; 32],
    cs: CipherState,
}

impl SymmetricState {
    fn initialize(name: &[u8], prologue: &[u8]) -> Self {
        let mut h = [0u8; 32];
        if name.len() <= h.len() {
            for (d, s) in h.iter_mut().zip(name) {
                *d = *s;
            }
        } else {
            h = cipher::sha256(&[name]);
        }
        let mut s = SymmetricState {
            ck: Secret32(h),
            h,
            cs: CipherState::new(None),
        };
        s.mix_hash(prologue);
        s
    }

    fn mix_hash(&mut self, data: &[u8]) {
        self.h = cipher::sha256(&[&self.h, data]);
    }

    /// Noise `HKDF(ck, ikm, 2)` is HKDF-SHA256 with salt = ck and empty info (RFC 5869).
    fn mix_key(&mut self, ikm: &[u8]) {
        let (ck, k) = cipher::hkdf_sha256_64(&self.ck.0, ikm, &[]);
        self.ck = ck;
        self.cs = CipherState::new(Some(k));
    }

    fn encrypt_and_hash(&mut self, plaintext: &[u8]) -> Result<Vec<u8>> {
        let h = self.h;
        let ct = self.cs.encrypt_with_ad(&h, plaintext)?;
        self.mix_hash(&ct);
        Ok(ct)
    }

    fn decrypt_and_hash(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>> {
        let h = self.h;
        let pt = self.cs.decrypt_with_ad(&h, ciphertext)?;
        self.mix_hash(ciphertext);
        Ok(pt)
    }

    fn split(&self) -> (Secret32, Secret32) {
        cipher::hkdf_sha256_64(&self.ck.0, &[], &[])
    }
}

/// What a completed handshake yields to either side.
pub(crate) struct Completed {
    /// The handshake hash `h`, usable as a channel binding.
    pub(crate) handshake_hash: [u8; 32],
    /// Noise `Split()` output: `k1` protects initiator-to-responder, `k2` the reverse.
    pub(crate) k1: Secret32,
    pub(crate) k2: Secret32,
    /// The peer's ephemeral public key (for the v2 visitor, the agent's first ratchet key).
    pub(crate) remote_ephemeral: [u8; 32],
}

impl Drop for Completed {
    fn drop(&mut self) {
        self.handshake_hash.zeroize();
    }
}

/// The initiator (visitor) after sending `-> e`.
pub(crate) struct Initiator {
    ss: SymmetricState,
    e: StaticSecret,
    /// `e1`, the ML-KEM key pair of `NXhfs`; `None` for `NX`.
    e1: Option<KemSecret>,
}

impl Initiator {
    /// Start a handshake and write message 1: `-> e` (NX) or `-> e, e1` (NXhfs, when `e1` is
    /// given), then the payload in clear.
    pub(crate) fn start(
        prologue: &[u8],
        e: StaticSecret,
        e1: Option<KemSecret>,
        payload: &[u8],
    ) -> Result<(Self, Vec<u8>)> {
        let name = if e1.is_some() {
            PROTOCOL_NAME_HFS
        } else {
            PROTOCOL_NAME
        };
        let mut ss = SymmetricState::initialize(name, prologue);
        let e_pub = PublicKey::from(&e);
        ss.mix_hash(e_pub.as_bytes());
        let mut msg = e_pub.as_bytes().to_vec();
        if let Some(e1) = &e1 {
            // No key yet, so EncryptAndHash is MixHash and the key travels in clear.
            msg.extend_from_slice(&ss.encrypt_and_hash(&e1.public_key())?);
        }
        msg.extend_from_slice(&ss.encrypt_and_hash(payload)?);
        Ok((Initiator { ss, e, e1 }, msg))
    }

    /// Read message 2 (`<- e, ee, s, es`, then the encrypted payload). Returns the payload,
    /// the responder's static key `rs`, and the split.
    /// Takes `&self` so that a forged message 2 does not consume the handshake.
    pub(crate) fn finish(&self, msg: &[u8]) -> Result<(Vec<u8>, [u8; 32], Completed)> {
        let mut ss = self.ss.clone();
        let kem_len = if self.e1.is_some() {
            CIPHERTEXT_LEN + TAG_LEN
        } else {
            0
        };
        if msg.len() < DHLEN + kem_len + DHLEN + TAG_LEN + TAG_LEN {
            return Err(Error::HandshakeFailed);
        }
        let (re, rest) = msg.split_at(DHLEN);
        let re: [u8; 32] = re.try_into().map_err(|_| Error::HandshakeFailed)?;
        ss.mix_hash(&re);
        let ee = cipher::x25519(&self.e, &re)?;
        ss.mix_key(&ee.0);
        let (enc_kem, rest) = rest.split_at(kem_len);
        if let Some(e1) = &self.e1 {
            // `ekem1`: DecryptAndHash(ciphertext), then MixKey(Decaps(ciphertext)).
            let ct = ss.decrypt_and_hash(enc_kem)?;
            let ct: &[u8; CIPHERTEXT_LEN] = ct.as_slice().try_into().map_err(|_| Error::HandshakeFailed)?;
            let shared = e1.decapsulate(ct);
            ss.mix_key(&shared.0);
        }
        let (enc_s, enc_payload) = rest.split_at(DHLEN + TAG_LEN);
        debug_assert!(ss.cs.has_key());
        let rs_vec = ss.decrypt_and_hash(enc_s)?;
        let rs: [u8; 32] = rs_vec.as_slice().try_into().map_err(|_| Error::HandshakeFailed)?;
        let es = cipher::x25519(&self.e, &rs)?;
        ss.mix_key(&es.0);
        let payload = ss.decrypt_and_hash(enc_payload)?;
        let (k1, k2) = ss.split();
        Ok((
            payload,
            rs,
            Completed {
                handshake_hash: ss.h,
                k1,
                k2,
                remote_ephemeral: re,
            },
        ))
    }
}

/// The responder (agent) side: read message 1, write message 2.
///
/// `payload_for` sees message 1's payload and returns message 2's payload (the certificate).
/// `kem_m` selects NXhfs (message 1 then carries `e1` after `e`) and is the encapsulation
/// randomness. Returns message 2 and the split.
pub(crate) fn respond(
    prologue: &[u8],
    msg1: &[u8],
    s: &StaticSecret,
    e: &StaticSecret,
    kem_m: Option<&[u8; 32]>,
    payload_for: impl FnOnce(&[u8]) -> Result<Vec<u8>>,
) -> Result<(Vec<u8>, Completed)> {
    let e1_len = if kem_m.is_some() { PUBLIC_KEY_LEN } else { 0 };
    if msg1.len() < DHLEN + e1_len {
        return Err(Error::Malformed(DecodeError::TooShort));
    }
    let name = if kem_m.is_some() {
        PROTOCOL_NAME_HFS
    } else {
        PROTOCOL_NAME
    };
    let mut ss = SymmetricState::initialize(name, prologue);
    let (re, rest) = msg1.split_at(DHLEN);
    let re: [u8; 32] = re.try_into().map_err(|_| Error::HandshakeFailed)?;
    ss.mix_hash(&re);
    let (re1, payload1) = rest.split_at(e1_len);
    // `e1` only in NXhfs: MixHash over an empty token would change `h`.
    let re1 = if kem_m.is_some() {
        ss.decrypt_and_hash(re1)?
    } else {
        Vec::new()
    };
    let payload1 = ss.decrypt_and_hash(payload1)?;
    let payload2 = payload_for(&payload1)?;

    let e_pub = PublicKey::from(e);
    ss.mix_hash(e_pub.as_bytes());
    let mut msg = e_pub.as_bytes().to_vec();
    let ee = cipher::x25519(e, &re)?;
    ss.mix_key(&ee.0);
    if let Some(m) = kem_m {
        // `ekem1`: Encaps(re1), EncryptAndHash(ciphertext), MixKey(shared secret).
        let re1: &[u8; PUBLIC_KEY_LEN] = re1.as_slice().try_into().map_err(|_| Error::HandshakeFailed)?;
        let (ct, shared) = kem::encapsulate(re1, m)?;
        msg.extend_from_slice(&ss.encrypt_and_hash(&ct)?);
        ss.mix_key(&shared.0);
    }
    let s_pub = PublicKey::from(s);
    msg.extend_from_slice(&ss.encrypt_and_hash(s_pub.as_bytes())?);
    let es = cipher::x25519(s, &re)?;
    ss.mix_key(&es.0);
    msg.extend_from_slice(&ss.encrypt_and_hash(&payload2)?);
    let (k1, k2) = ss.split();
    Ok((
        msg,
        Completed {
            handshake_hash: ss.h,
            k1,
            k2,
            remote_ephemeral: re,
        },
    ))
}

#[cfg(test)]
mod tests;
// The organisation-to-organisation pattern (docs/PROTOCOL.md §18.2).
pub(crate) mod xx;
