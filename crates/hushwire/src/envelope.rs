//! The sealed chat message on the wire; its layout is documented on [`Envelope`] (public,
//! so it reaches docs.rs).

use crate::cipher::{NONCE_LEN, TAG_LEN};
use crate::encoding::{wire_text_and_serde, Reader};
use crate::error::{DecodeError, Result};
use crate::padding;
use crate::types::{SessionId, MAX_PLAINTEXT_LEN, PROTOCOL_VERSION, PROTOCOL_VERSION_2};
use alloc::vec::Vec;

/// Message-type byte of a chat message envelope.
pub(crate) const TYPE_MESSAGE: u8 = 0x03;
/// Length of the authenticated header (the AAD).
pub(crate) const HEADER_LEN: usize = 1 + 1 + 16 + 1 + 4;
/// Length of the v2 header: v1's fields plus the sender's ratchet key and `pn`, before `n`.
pub(crate) const HEADER_V2_LEN: usize = 1 + 1 + 16 + 1 + 32 + 4 + 4;
/// Bytes a v1 envelope adds to the padded plaintext.
pub(crate) const OVERHEAD: usize = HEADER_LEN + NONCE_LEN + TAG_LEN;
/// Largest envelope a peer can produce: a v2 envelope of a [`MAX_PLAINTEXT_LEN`] message, padded.
pub const MAX_ENVELOPE_LEN: usize =
    HEADER_V2_LEN + NONCE_LEN + TAG_LEN + padding::padded_len(MAX_PLAINTEXT_LEN);
/// Smallest envelope: a v1 envelope of an empty message, padded to the 256-byte floor.
pub const MIN_ENVELOPE_LEN: usize = OVERHEAD + padding::padded_len(0);

/// Which side of a session sent a message.
///
/// Exhaustive: a session has exactly two sides, so `match` needs no catch-all arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The visitor (the handshake initiator).
    Visitor,
    /// The agent (the handshake responder).
    Agent,
}

impl Role {
    pub(crate) fn to_byte(self) -> u8 {
        match self {
            Role::Visitor => 0x01,
            Role::Agent => 0x02,
        }
    }

    pub(crate) fn from_byte(b: u8) -> Result<Self, DecodeError> {
        match b {
            0x01 => Ok(Role::Visitor),
            0x02 => Ok(Role::Agent),
            _ => Err(DecodeError::InvalidField("sender role")),
        }
    }

    /// The other side.
    pub fn peer(self) -> Role {
        match self {
            Role::Visitor => Role::Agent,
            Role::Agent => Role::Visitor,
        }
    }
}

/// A sealed chat message: what the relay carries and stores.
///
/// Its header (session id, sender, counter) is readable by anyone, for routing and ordering;
/// everything else is ciphertext. Binary form: [`Envelope::to_bytes`]; text form (base64url,
/// for JSON transports): `to_string()` / `parse()`.
///
/// ```text
/// offset size field
///   0     1   version        0x01
///   1     1   message type   0x03 (chat message)
///   2    16   session id
///  18     1   sender role    0x01 visitor, 0x02 agent
///  19     4   counter        big-endian, 0 ..= 2^32 - 2
///  23    12   nonce          fresh random per message
///  35   n+16  AES-256-GCM ciphertext of the padded plaintext, then the tag
/// ```
///
/// Bytes 0..23 are the AAD. The plaintext is padded to a bucket (256, 512, ... 4096 bytes,
/// then Padmé) before encryption, so `n` reveals only the bucket. Details in
/// `docs/PROTOCOL.md` §6.
#[derive(Clone, PartialEq, Eq)]
pub struct Envelope {
    bytes: Vec<u8>,
}

impl core::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Envelope")
            .field("session_id", &self.session_id())
            .field("sender", &self.sender())
            .field("counter", &self.counter())
            .field("len", &self.bytes.len())
            .finish()
    }
}

impl Envelope {
    /// Build the envelope `header || nonce || AES-256-GCM(body)`, where `body` is the
    /// `body_len` bytes that `write` appends (the padded plaintext; unpadded bytes for the
    /// `testing` hook), encrypted in place. The buffer is allocated at its final size, so it
    /// never reallocates and leaves no copy of the plaintext behind.
    pub(crate) fn seal_body(
        header: &[u8],
        nonce: &[u8; NONCE_LEN],
        message_key: &[u8; 32],
        body_len: usize,
        write: impl FnOnce(&mut Vec<u8>),
    ) -> Result<Self> {
        let body = header.len() + NONCE_LEN;
        let mut bytes = Vec::with_capacity(body + body_len + TAG_LEN);
        bytes.extend_from_slice(header);
        bytes.extend_from_slice(nonce);
        write(&mut bytes);
        let sealed = match bytes.get_mut(body..) {
            Some(plaintext) => crate::cipher::aead_seal_in_place(message_key, nonce, header, plaintext),
            None => Err(crate::error::Error::MessageTooLarge),
        };
        match sealed {
            Ok(tag) => {
                bytes.extend_from_slice(&tag);
                Ok(Envelope { bytes })
            }
            Err(e) => {
                // Unreachable for messages within MAX_PLAINTEXT_LEN; still, never free plaintext.
                zeroize::Zeroize::zeroize(&mut bytes);
                Err(e)
            }
        }
    }

    /// Decode and structurally validate an envelope. Authenticity is checked by
    /// [`crate::Session::open`].
    ///
    /// Checks, in this order (docs/PROTOCOL.md §6.1): at most [`MAX_ENVELOPE_LEN`] bytes
    /// (`TooLong`), version (`UnsupportedVersion`), type (`UnexpectedType`), at least
    /// [`MIN_ENVELOPE_LEN`] bytes (`TooShort`), sender role and counter `!= 0xffffffff`
    /// (`InvalidField`), and a padded length that is one of the padding sizes (`InvalidField`).
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`](crate::Error::Malformed) if `bytes` is not a structurally valid v1 envelope: longer than
    /// [`MAX_ENVELOPE_LEN`], another version or message type, an invalid sender role or counter,
    /// or too short to hold a nonce, a tag and padding.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_ENVELOPE_LEN {
            return Err(DecodeError::TooLong.into());
        }
        let mut r = Reader::new(bytes);
        let version = r.versioned_header(TYPE_MESSAGE)?;
        let header_len = if version == PROTOCOL_VERSION_2 {
            HEADER_V2_LEN
        } else {
            HEADER_LEN
        };
        if bytes.len() < MIN_ENVELOPE_LEN + (header_len - HEADER_LEN) {
            return Err(DecodeError::TooShort.into());
        }
        r.take(16)?;
        Role::from_byte(r.u8()?)?;
        if version == PROTOCOL_VERSION_2 {
            // The ratchet key (checked by the X25519 step) and `pn` (any value).
            r.take(32 + 4)?;
        }
        if r.u32()? == u32::MAX {
            return Err(DecodeError::InvalidField("counter").into());
        }
        r.take(NONCE_LEN)?;
        // The padded length is public; refusing sizes no conforming sender produces costs
        // nothing and keeps odd lengths away from the AEAD.
        if !padding::is_padded_len(r.remaining().saturating_sub(TAG_LEN)) {
            return Err(DecodeError::InvalidField("padded length").into());
        }
        Ok(Envelope {
            bytes: bytes.to_vec(),
        })
    }

    /// The binary encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.bytes.clone()
    }

    /// The binary encoding, without a copy.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The binary encoding, borrowed.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The `N` bytes at offset `at`. Every envelope holds more than [`OVERHEAD`] bytes
    /// (`from_bytes` checks it, `seal_body` builds it), so the zero fallback is never taken;
    /// it only keeps the accessors panic-free.
    fn array_at<const N: usize>(&self, at: usize) -> [u8; N] {
        self.bytes
            .get(at..)
            .and_then(|rest| rest.get(..N))
            .and_then(|field| field.try_into().ok())
            .unwrap_or([0; N])
    }

    /// The session this envelope belongs to.
    pub fn session_id(&self) -> SessionId {
        SessionId(self.array_at(2))
    }

    /// Who sent it.
    pub fn sender(&self) -> Role {
        // Validated in `from_bytes`/construction.
        let [role] = self.array_at(18);
        Role::from_byte(role).unwrap_or(Role::Visitor)
    }

    /// The protocol version (1 or 2): the session's version.
    pub fn version(&self) -> u8 {
        let [version] = self.array_at(0);
        version
    }

    fn header_len(&self) -> usize {
        if self.version() == PROTOCOL_VERSION_2 {
            HEADER_V2_LEN
        } else {
            HEADER_LEN
        }
    }

    /// The sender's message counter in its current sending chain (0 for its first message;
    /// in v2, 0 again after each ratchet step).
    pub fn counter(&self) -> u32 {
        u32::from_be_bytes(self.array_at(self.header_len() - 4))
    }

    /// v2: the sender's ratchet public key and `pn` (messages in its previous chain).
    pub(crate) fn ratchet_fields(&self) -> Option<([u8; 32], u32)> {
        (self.version() == PROTOCOL_VERSION_2)
            .then(|| (self.array_at(19), u32::from_be_bytes(self.array_at(51))))
    }

    pub(crate) fn header(&self) -> &[u8] {
        self.bytes.get(..self.header_len()).unwrap_or_default()
    }

    pub(crate) fn nonce(&self) -> [u8; NONCE_LEN] {
        self.array_at(self.header_len())
    }

    pub(crate) fn ciphertext(&self) -> &[u8] {
        self.bytes
            .get(self.header_len() + NONCE_LEN..)
            .unwrap_or_default()
    }
}

wire_text_and_serde!(Envelope, MAX_ENVELOPE_LEN);

/// Build the 23-byte authenticated header.
pub(crate) fn header(session_id: &SessionId, sender: Role, counter: u32) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    let fields = [
        &[PROTOCOL_VERSION, TYPE_MESSAGE][..],
        &session_id.0,
        &[sender.to_byte()],
        &counter.to_be_bytes(),
    ];
    for (d, s) in h.iter_mut().zip(fields.into_iter().flatten()) {
        *d = *s;
    }
    h
}

/// Build the 59-byte v2 authenticated header (docs/PROTOCOL.md §17.3).
pub(crate) fn header_v2(
    session_id: &SessionId,
    sender: Role,
    ratchet_key: &[u8; 32],
    prev_chain_len: u32,
    counter: u32,
) -> [u8; HEADER_V2_LEN] {
    let mut h = [0u8; HEADER_V2_LEN];
    let fields = [
        &[PROTOCOL_VERSION_2, TYPE_MESSAGE][..],
        &session_id.0,
        &[sender.to_byte()],
        ratchet_key,
        &prev_chain_len.to_be_bytes(),
        &counter.to_be_bytes(),
    ];
    for (d, s) in h.iter_mut().zip(fields.into_iter().flatten()) {
        *d = *s;
    }
    h
}
