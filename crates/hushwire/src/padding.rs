//! Length hiding. The plaintext is followed by `0x80` and zero bytes (ISO/IEC 7816-4) up to a
//! bucket size, so the relay learns only the bucket:
//!
//! * up to 4 KiB (nearly every chat message): power-of-two buckets with a 256-byte floor —
//!   256, 512, 1024, 2048, 4096 — so "ok", a card number and a paragraph look alike;
//! * above 4 KiB: Padmé (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and
//!   Communication with PURBs", PETS 2019), which leaks O(log log n) bits at ≤ 12 % overhead.
//!
//! Padding sits inside the AEAD, so removing it happens only on authenticated data and cannot
//! act as a padding oracle.

use crate::error::{Error, Result};
use alloc::vec::Vec;

/// Smallest padded size.
pub(crate) const PAD_FLOOR: usize = 256;
/// Largest size padded to a power of two; Padmé above.
pub(crate) const POW2_CEILING: usize = 4096;

/// Padded length for a plaintext of `len` bytes (the marker byte included).
pub(crate) const fn padded_len(len: usize) -> usize {
    // One definition for messages and attachments; message lengths fit in any usize.
    padded_len_u64(len as u64) as usize
}

/// [`padded_len`] over `u64`, for attachments (which may exceed a 32-bit `usize`). Callers
/// keep `len` at most [`crate::attachment::MAX_ATTACHMENT_LEN`], far from overflow.
pub(crate) const fn padded_len_u64(len: u64) -> u64 {
    let n = len + 1;
    if n <= PAD_FLOOR as u64 {
        PAD_FLOOR as u64
    } else if n <= POW2_CEILING as u64 {
        n.next_power_of_two()
    } else {
        padme(n)
    }
}

/// Padmé: round `n` up so that only its top ~log2(log2 n) + 1 bits may be non-zero.
const fn padme(n: u64) -> u64 {
    let e = u64::BITS - 1 - n.leading_zeros(); // floor(log2 n)
    let s = u32::BITS - 1 - e.leading_zeros() + 1; // floor(log2 e) + 1
    let last_bits = e - s;
    let mask = (1u64 << last_bits) - 1;
    (n + mask) & !mask
}

/// Whether `n` is a padded length a conforming sender can produce: a fixed point of `P`
/// (`P(n) = n`) no larger than the padding of a [`crate::MAX_PLAINTEXT_LEN`] message.
pub(crate) const fn is_padded_len(n: usize) -> bool {
    n >= PAD_FLOOR && n <= padded_len(crate::MAX_PLAINTEXT_LEN) && padded_len(n - 1) == n
}

/// Append `plaintext`, the marker and zero padding to `out`.
pub(crate) fn pad_into(out: &mut Vec<u8>, plaintext: &[u8]) {
    let end = out.len() + padded_len(plaintext.len());
    out.extend_from_slice(plaintext);
    out.push(0x80);
    out.resize(end, 0);
}

/// `plaintext` with the marker and zero padding.
#[cfg(test)]
pub(crate) fn pad(plaintext: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    pad_into(&mut out, plaintext);
    out
}

/// Strip the padding in place. Only ever applied to authenticated plaintext.
///
/// Refuses (`TAMPERED`) anything a conforming sender cannot produce: no `0x80` marker before
/// the zero bytes, a message longer than [`crate::MAX_PLAINTEXT_LEN`], or a padded length
/// other than exactly `P(len(m) + 1)` (docs/PROTOCOL.md §6.4).
pub(crate) fn unpad(padded: &mut Vec<u8>) -> Result<()> {
    let end = padded.iter().rposition(|&b| b != 0).ok_or(Error::Tampered)?;
    if padded.get(end) != Some(&0x80) || end > crate::MAX_PLAINTEXT_LEN || padded_len(end) != padded.len() {
        return Err(Error::Tampered);
    }
    padded.truncate(end);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    #[test]
    fn buckets() {
        assert_eq!(padded_len(0), 256);
        assert_eq!(padded_len(255), 256);
        assert_eq!(padded_len(256), 512);
        assert_eq!(padded_len(4095), 4096);
        assert_eq!(padded_len(4096), 4352); // Padmé(4097): e = 12, s = 4, 8 low bits cleared
        assert_eq!(padded_len(65536), 67584);
        for len in 4096..70000 {
            let p = padded_len(len);
            assert!(
                p > len && p as f64 <= (len + 1) as f64 * 1.125,
                "len {len} -> {p}"
            );
        }
    }

    #[test]
    fn round_trip() {
        for len in [0, 1, 100, 255, 256, 5000] {
            let msg: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let mut p = pad(&msg);
            assert_eq!(p.len(), padded_len(len));
            unpad(&mut p).unwrap();
            assert_eq!(p, msg);
        }
        assert!(unpad(&mut vec![0u8; 16]).is_err());
        assert!(unpad(&mut vec![1u8, 0, 0]).is_err());
        // A valid marker in the wrong bucket: 10 bytes padded to 512 instead of 256.
        let mut wrong_bucket = vec![0u8; 512];
        wrong_bucket[10] = 0x80;
        assert_eq!(unpad(&mut wrong_bucket), Err(Error::Tampered));
        // Longer than the plaintext limit, in the largest bucket.
        let mut oversize = vec![b'a'; padded_len(crate::MAX_PLAINTEXT_LEN)];
        oversize[crate::MAX_PLAINTEXT_LEN + 1] = 0x80;
        for b in &mut oversize[crate::MAX_PLAINTEXT_LEN + 2..] {
            *b = 0;
        }
        assert_eq!(unpad(&mut oversize), Err(Error::Tampered));
        // Empty plaintext is allowed.
        let mut empty = pad(b"");
        unpad(&mut empty).unwrap();
        assert!(empty.is_empty());
    }

    #[test]
    fn padded_lengths_are_the_fixed_points_of_p() {
        let valid: Vec<usize> = (0..70_000).filter(|&n| is_padded_len(n)).collect();
        let produced: std::collections::BTreeSet<usize> =
            (0..=crate::MAX_PLAINTEXT_LEN).map(padded_len).collect();
        assert_eq!(valid, produced.into_iter().collect::<Vec<_>>());
        assert!(is_padded_len(256) && is_padded_len(4352) && is_padded_len(67_584));
        assert!(!is_padded_len(255) && !is_padded_len(300) && !is_padded_len(68_608));
    }
}
