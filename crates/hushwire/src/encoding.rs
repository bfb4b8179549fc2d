//! Byte-level reading and the base64url text form shared by every wire type.

use alloc::{string::String, vec::Vec};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::DecodeError;

/// Unpadded base64url (RFC 4648 §5), the text form of every hushwire wire type.
pub(crate) fn to_base64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decode unpadded base64url, refusing inputs that would decode past `max_len` bytes before
/// allocating for them.
pub(crate) fn from_base64(text: &str, max_len: usize) -> Result<Vec<u8>, DecodeError> {
    if text.len() > max_len.div_ceil(3) * 4 {
        return Err(DecodeError::TooLong);
    }
    URL_SAFE_NO_PAD
        .decode(text.as_bytes())
        .map_err(|_| DecodeError::Base64)
}

/// A cursor over untrusted bytes; every read is bounds-checked and returns a typed error.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() < n {
            return Err(DecodeError::TooShort);
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// The `version ‖ type` prefix every wire message starts with.
    pub(crate) fn header(&mut self, expected_type: u8) -> Result<(), DecodeError> {
        let version = self.u8()?;
        if version != crate::types::PROTOCOL_VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let ty = self.u8()?;
        if ty != expected_type {
            return Err(DecodeError::UnexpectedType(ty));
        }
        Ok(())
    }

    /// The version (1 or 2) and type bytes of a message that exists in both versions.
    pub(crate) fn versioned_header(&mut self, expected_type: u8) -> Result<u8, DecodeError> {
        let version = self.u8()?;
        if version != crate::types::PROTOCOL_VERSION && version != crate::types::PROTOCOL_VERSION_2 {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let ty = self.u8()?;
        if ty != expected_type {
            return Err(DecodeError::UnexpectedType(ty));
        }
        Ok(version)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        let [byte] = self.array()?;
        Ok(byte)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// A 1-byte length followed by that many bytes of UTF-8 (1..=`max` bytes).
    pub(crate) fn short_str(&mut self, max: usize, field: &'static str) -> Result<String, DecodeError> {
        let len = self.u8()? as usize;
        if len == 0 || len > max {
            return Err(DecodeError::InvalidField(field));
        }
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::InvalidField(field))
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.buf)
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes)
        }
    }
}

/// Twelve decimal digits of the first 8 bytes of `okm` (big-endian, mod 10^12), in groups of
/// four: `"0123 4567 8901"`. By hand rather than `core::fmt`, which keeps the wasm build small.
pub(crate) fn twelve_digit_code(okm: &[u8; 32]) -> String {
    let [a, b, c, d, e, f, g, h, ..] = *okm;
    let mut n = u64::from_be_bytes([a, b, c, d, e, f, g, h]) % 1_000_000_000_000;
    let mut text = *b"0000 0000 0000";
    for digit in text.iter_mut().rev().filter(|c| **c != b' ') {
        *digit = b'0' + (n % 10) as u8;
        n /= 10;
    }
    text.iter().map(|&b| char::from(b)).collect()
}

/// Append a 1-byte length and the string's bytes; callers validate the length first.
pub(crate) fn put_short_str(out: &mut Vec<u8>, s: &str) {
    out.push(s.len() as u8);
    out.extend_from_slice(s.as_bytes());
}

/// Implements `TryFrom<&[u8]>` (`from_bytes`), `Display`/`FromStr` (base64url) and, with the `serde` feature, serde as a
/// base64url string for human-readable formats and as bytes otherwise.
macro_rules! wire_text_and_serde {
    ($ty:ty, $max:expr) => {
        impl core::fmt::Display for $ty {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(&crate::encoding::to_base64(&self.to_bytes()))
            }
        }

        impl TryFrom<&[u8]> for $ty {
            type Error = crate::error::Error;
            /// Same as `from_bytes`.
            fn try_from(bytes: &[u8]) -> Result<Self, Self::Error> {
                Self::from_bytes(bytes)
            }
        }

        impl core::str::FromStr for $ty {
            type Err = crate::error::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let bytes = crate::encoding::from_base64(s.trim(), $max)?;
                Self::from_bytes(&bytes)
            }
        }

        #[cfg(feature = "serde")]
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                if s.is_human_readable() {
                    s.serialize_str(&crate::encoding::to_base64(&self.to_bytes()))
                } else {
                    s.serialize_bytes(&self.to_bytes())
                }
            }
        }

        #[cfg(feature = "serde")]
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                        f.write_str(concat!("a hushwire ", stringify!($ty)))
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$ty, E> {
                        v.parse().map_err(E::custom)
                    }
                    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<$ty, E> {
                        <$ty>::from_bytes(v).map_err(E::custom)
                    }
                    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<$ty, A::Error> {
                        let mut bytes = alloc::vec::Vec::new();
                        while let Some(b) = seq.next_element::<u8>()? {
                            if bytes.len() >= $max {
                                return Err(serde::de::Error::custom("too long"));
                            }
                            bytes.push(b);
                        }
                        <$ty>::from_bytes(&bytes).map_err(serde::de::Error::custom)
                    }
                }
                if d.is_human_readable() {
                    d.deserialize_str(V)
                } else {
                    d.deserialize_bytes(V)
                }
            }
        }
    };
}
pub(crate) use wire_text_and_serde;
