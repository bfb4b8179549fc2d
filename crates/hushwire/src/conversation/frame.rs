//! The conversation frame: what a conversation puts inside each pairwise envelope
//! (docs/PROTOCOL.md §18.5).
//!
//! `frame = version || type || conversation_id[16] || counter u32 || roster_head[32] || body`

use alloc::vec::Vec;

use crate::encoding::Reader;
use crate::error::{DecodeError, Result};
use crate::types::MAX_PLAINTEXT_LEN;

/// The frame format version.
const FRAME_VERSION: u8 = 1;
/// Bytes before the body.
pub(crate) const FRAME_OVERHEAD: usize = 1 + 1 + 16 + 4 + 32;
/// Largest message body: what a pairwise message carries, less the frame header.
pub const MAX_CONVERSATION_MESSAGE_LEN: usize = MAX_PLAINTEXT_LEN - FRAME_OVERHEAD;

/// Frame types.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum FrameType {
    /// A message to every member.
    Message = 1,
    /// A message to the organisation's members only.
    Whisper = 2,
    /// A roster event; the head field is the head it applies to.
    Event = 3,
    /// The roster log for a new member.
    Welcome = 4,
    /// History sealed for one member under a visible grant.
    History = 5,
    /// The visitor's first frame on a new pairwise session: proves it knows the conversation.
    Present = 6,
}

impl FrameType {
    fn from_byte(b: u8) -> Result<Self, DecodeError> {
        Ok(match b {
            1 => FrameType::Message,
            2 => FrameType::Whisper,
            3 => FrameType::Event,
            4 => FrameType::Welcome,
            5 => FrameType::History,
            6 => FrameType::Present,
            other => return Err(DecodeError::UnexpectedType(other)),
        })
    }
}

pub(crate) struct Frame<'a> {
    pub(crate) kind: FrameType,
    pub(crate) conversation_id: [u8; 16],
    pub(crate) counter: u32,
    pub(crate) head: [u8; 32],
    pub(crate) body: &'a [u8],
}

impl Frame<'_> {
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FRAME_OVERHEAD + self.body.len());
        out.push(FRAME_VERSION);
        out.push(self.kind as u8);
        out.extend_from_slice(&self.conversation_id);
        out.extend_from_slice(&self.counter.to_be_bytes());
        out.extend_from_slice(&self.head);
        out.extend_from_slice(self.body);
        out
    }

    /// Decode; checks version, type, then length.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Frame<'_>, DecodeError> {
        let mut r = Reader::new(bytes);
        let version = r.u8()?;
        if version != FRAME_VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let kind = FrameType::from_byte(r.u8()?)?;
        Ok(Frame {
            kind,
            conversation_id: r.array()?,
            counter: r.u32()?,
            head: r.array()?,
            body: r.rest(),
        })
    }
}
