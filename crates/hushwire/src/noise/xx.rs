//! The Noise `XX` handshake, `Noise_XX_25519_AESGCM_SHA256` (Noise Protocol Framework
//! revision 34, §7.5), used between two organisation devices (docs/PROTOCOL.md §18.2):
//!
//! ```text
//! XX:
//!   -> e
//!   <- e, ee, s, es        (payload: the responder's certificate)
//!   -> s, se               (payload: the initiator's certificate)
//! ```
//!
//! Both sides prove a static key; neither needs to know the other's beforehand. It reuses the
//! `SymmetricState` of the NX code above (same cipher and hash, another protocol name).

use alloc::vec::Vec;
use x25519_dalek::{PublicKey, StaticSecret};

use super::{Completed, SymmetricState, DHLEN};
use crate::cipher::{self, TAG_LEN};
use crate::error::{DecodeError, Error, Result};

/// The protocol name (28 bytes, zero-padded to `h`).
pub(crate) const XX_PROTOCOL_NAME: &[u8] = b"Noise_XX_25519_AESGCM_SHA256";

/// The initiator after writing message 1.
pub(crate) struct XxInitiator {
    ss: SymmetricState,
    e: StaticSecret,
}

/// Message 3 and the split (message 2's payload and static key went to `payload_for`).
pub(crate) struct XxInitiatorDone {
    pub(crate) message3: Vec<u8>,
    pub(crate) completed: Completed,
}

impl XxInitiator {
    /// Write message 1 (`-> e`, empty payload in clear).
    pub(crate) fn start(prologue: &[u8], e: StaticSecret) -> Result<(Self, Vec<u8>)> {
        let mut ss = SymmetricState::initialize(XX_PROTOCOL_NAME, prologue);
        let e_pub = PublicKey::from(&e);
        ss.mix_hash(e_pub.as_bytes());
        let mut msg = e_pub.as_bytes().to_vec();
        msg.extend_from_slice(&ss.encrypt_and_hash(&[])?);
        Ok((XxInitiator { ss, e }, msg))
    }

    /// Read message 2 and write message 3. `payload_for` sees the responder's payload and
    /// static key and returns this side's payload, so the initiator reveals its certificate
    /// only to a responder it has already authenticated. Takes `&self`: a forged message 2
    /// leaves the handshake usable.
    pub(crate) fn finish(
        &self,
        msg2: &[u8],
        s: &StaticSecret,
        payload_for: impl FnOnce(&[u8], &[u8; 32]) -> Result<Vec<u8>>,
    ) -> Result<XxInitiatorDone> {
        let mut ss = self.ss.clone();
        if msg2.len() < DHLEN + DHLEN + TAG_LEN + TAG_LEN {
            return Err(Error::HandshakeFailed);
        }
        let (re, rest) = msg2.split_at(DHLEN);
        let re: [u8; 32] = re.try_into().map_err(|_| Error::HandshakeFailed)?;
        ss.mix_hash(&re);
        let ee = cipher::x25519(&self.e, &re)?;
        ss.mix_key(&ee.0);
        let (enc_s, enc_payload) = rest.split_at(DHLEN + TAG_LEN);
        let rs: [u8; 32] = ss
            .decrypt_and_hash(enc_s)?
            .as_slice()
            .try_into()
            .map_err(|_| Error::HandshakeFailed)?;
        let es = cipher::x25519(&self.e, &rs)?;
        ss.mix_key(&es.0);
        let responder_payload = ss.decrypt_and_hash(enc_payload)?;
        let payload3 = payload_for(&responder_payload, &rs)?;
        // -> s, se
        let s_pub = PublicKey::from(s);
        let mut message3 = ss.encrypt_and_hash(s_pub.as_bytes())?;
        let se = cipher::x25519(s, &re)?;
        ss.mix_key(&se.0);
        message3.extend_from_slice(&ss.encrypt_and_hash(&payload3)?);
        let (k1, k2) = ss.split();
        Ok(XxInitiatorDone {
            message3,
            completed: Completed {
                handshake_hash: ss.h,
                k1,
                k2,
                remote_ephemeral: re,
            },
        })
    }
}

/// The responder after writing message 2.
pub(crate) struct XxResponder {
    ss: SymmetricState,
    e: StaticSecret,
    re: [u8; 32],
}

impl XxResponder {
    /// Read message 1 (its payload must be empty) and write message 2 carrying `payload`.
    pub(crate) fn respond(
        prologue: &[u8],
        msg1: &[u8],
        s: &StaticSecret,
        e: StaticSecret,
        payload: &[u8],
    ) -> Result<(Self, Vec<u8>)> {
        if msg1.len() < DHLEN {
            return Err(DecodeError::TooShort.into());
        }
        let mut ss = SymmetricState::initialize(XX_PROTOCOL_NAME, prologue);
        let (re, payload1) = msg1.split_at(DHLEN);
        let re: [u8; 32] = re.try_into().map_err(|_| Error::HandshakeFailed)?;
        ss.mix_hash(&re);
        if !ss.decrypt_and_hash(payload1)?.is_empty() {
            return Err(DecodeError::InvalidField("org hello payload").into());
        }
        let e_pub = PublicKey::from(&e);
        ss.mix_hash(e_pub.as_bytes());
        let mut msg = e_pub.as_bytes().to_vec();
        let ee = cipher::x25519(&e, &re)?;
        ss.mix_key(&ee.0);
        msg.extend_from_slice(&ss.encrypt_and_hash(PublicKey::from(s).as_bytes())?);
        let es = cipher::x25519(s, &re)?;
        ss.mix_key(&es.0);
        msg.extend_from_slice(&ss.encrypt_and_hash(payload)?);
        Ok((XxResponder { ss, e, re }, msg))
    }

    /// Read message 3: returns the initiator's payload, its static key and the split. Takes
    /// `&self` so that a forged message 3 does not consume the handshake.
    pub(crate) fn finish(&self, msg3: &[u8]) -> Result<(Vec<u8>, [u8; 32], Completed)> {
        let mut ss = self.ss.clone();
        if msg3.len() < DHLEN + TAG_LEN + TAG_LEN {
            return Err(Error::HandshakeFailed);
        }
        let (enc_s, enc_payload) = msg3.split_at(DHLEN + TAG_LEN);
        let rs: [u8; 32] = ss
            .decrypt_and_hash(enc_s)?
            .as_slice()
            .try_into()
            .map_err(|_| Error::HandshakeFailed)?;
        let se = cipher::x25519(&self.e, &rs)?;
        ss.mix_key(&se.0);
        let payload = ss.decrypt_and_hash(enc_payload)?;
        let (k1, k2) = ss.split();
        Ok((
            payload,
            rs,
            Completed {
                handshake_hash: ss.h,
                k1,
                k2,
                remote_ephemeral: self.re,
            },
        ))
    }

    /// The responder's ephemeral secret: its first DH-ratchet key, as the agent's is in an
    /// NXhfs session (docs/PROTOCOL.md §17.2, §18.2).
    pub(crate) fn ratchet_key(&self) -> StaticSecret {
        self.e.clone()
    }
}

#[cfg(test)]
mod tests {
    //! Interoperability with the `snow` crate playing either side live.
    use super::*;

    fn key(rng: &mut rand_core::OsRng) -> StaticSecret {
        cipher::random_x25519(rng).unwrap()
    }

    fn snow_builder() -> snow::Builder<'static> {
        snow::Builder::new("Noise_XX_25519_AESGCM_SHA256".parse().unwrap())
    }

    /// snow as responder, ours as initiator; then ours as responder, snow as initiator. The
    /// payloads and the handshake hash must agree, and the split keys must decrypt each other.
    #[test]
    fn interoperates_with_snow_both_ways() {
        let mut rng = rand_core::OsRng;
        let prologue = b"hushwire/test/xx";
        for _ in 0..4 {
            // Ours initiates.
            let (i_s, r_s) = (key(&mut rng), key(&mut rng));
            let mut snow_r = snow_builder()
                .prologue(prologue)
                .local_private_key(&r_s.to_bytes())
                .build_responder()
                .unwrap();
            let (init, msg1) = XxInitiator::start(prologue, key(&mut rng)).unwrap();
            let mut buf = [0u8; 1024];
            let mut out = [0u8; 1024];
            snow_r.read_message(&msg1, &mut buf).unwrap();
            let n = snow_r.write_message(b"responder cert", &mut out).unwrap();
            let done = init
                .finish(&out[..n], &i_s, |p, rs| {
                    assert_eq!(p, b"responder cert");
                    assert_eq!(rs, PublicKey::from(&r_s).as_bytes());
                    Ok(b"initiator cert".to_vec())
                })
                .unwrap();
            let n = snow_r.read_message(&done.message3, &mut buf).unwrap();
            assert_eq!(&buf[..n], b"initiator cert");
            assert_eq!(snow_r.get_handshake_hash(), &done.completed.handshake_hash);
            let mut snow_t = snow_r.into_transport_mode().unwrap();
            let ct = cipher::aead_seal(&done.completed.k1.0, &[0u8; 12], &[], b"hi");
            let n = snow_t.read_message(&ct, &mut buf).unwrap();
            assert_eq!(&buf[..n], b"hi");

            // Snow initiates.
            let (i_s, r_s) = (key(&mut rng), key(&mut rng));
            let mut snow_i = snow_builder()
                .prologue(prologue)
                .local_private_key(&i_s.to_bytes())
                .build_initiator()
                .unwrap();
            let n = snow_i.write_message(&[], &mut out).unwrap();
            let (resp, msg2) =
                XxResponder::respond(prologue, &out[..n], &r_s, key(&mut rng), b"r-cert").unwrap();
            let n = snow_i.read_message(&msg2, &mut buf).unwrap();
            assert_eq!(&buf[..n], b"r-cert");
            let n = snow_i.write_message(b"i-cert", &mut out).unwrap();
            let (payload, rs, completed) = resp.finish(&out[..n]).unwrap();
            assert_eq!(payload, b"i-cert");
            assert_eq!(&rs, PublicKey::from(&i_s).as_bytes());
            assert_eq!(snow_i.get_handshake_hash(), &completed.handshake_hash);
            let mut snow_t = snow_i.into_transport_mode().unwrap();
            let n = snow_t.write_message(b"to responder", &mut out).unwrap();
            let pt = cipher::aead_open(&completed.k1.0, &[0u8; 12], &[], &out[..n]).unwrap();
            assert_eq!(pt, b"to responder");
        }
    }

    #[test]
    fn altered_messages_fail() {
        let mut rng = rand_core::OsRng;
        let (i_s, r_s) = (key(&mut rng), key(&mut rng));
        let (init, msg1) = XxInitiator::start(b"p", key(&mut rng)).unwrap();
        let (resp, msg2) = XxResponder::respond(b"p", &msg1, &r_s, key(&mut rng), b"r").unwrap();
        for i in 0..msg2.len() {
            let mut bad = msg2.clone();
            bad[i] ^= 1;
            assert!(
                init.finish(&bad, &i_s, |_, _| Ok(Vec::new())).is_err(),
                "byte {i}"
            );
        }
        let done = init.finish(&msg2, &i_s, |_, _| Ok(b"i".to_vec())).unwrap();
        for i in 0..done.message3.len() {
            let mut bad = done.message3.clone();
            bad[i] ^= 1;
            assert!(resp.finish(&bad).is_err(), "byte {i}");
        }
        let (_, _, c) = resp.finish(&done.message3).unwrap();
        assert_eq!(c.handshake_hash, done.completed.handshake_hash);
    }
}
