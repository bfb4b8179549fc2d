//! The JSON frames spoken over `/ws`. Payloads travel as unpadded base64url strings and are
//! never interpreted.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::store::{ConvId, StoredFrame};

/// A frame from a client.
#[derive(Deserialize, Debug)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Visitor: open a new conversation.
    Create,
    /// Visitor: rejoin a conversation and receive the agent's frames after `after`.
    Resume {
        /// The conversation id (32 hex digits).
        conversation: String,
        /// The visitor's bearer token from `created`.
        token: String,
        /// Last sequence number already seen.
        #[serde(default)]
        after: u64,
    },
    /// Agent: log in with a relay token.
    Agent {
        /// The agent's relay token.
        token: String,
    },
    /// Agent: take a waiting conversation.
    Accept {
        /// The conversation id.
        conversation: String,
    },
    /// Fetch the peer's frames after `after` (agents name the conversation).
    Sync {
        /// The conversation id (agents only).
        #[serde(default)]
        conversation: Option<String>,
        /// Last sequence number already seen.
        #[serde(default)]
        after: u64,
    },
    /// Store and forward a frame.
    Post {
        /// The conversation id (agents only).
        #[serde(default)]
        conversation: Option<String>,
        /// `hello`, `reply` or `message`.
        kind: String,
        /// The opaque payload, base64url.
        data: String,
        /// The client's id for this post (at most 64 characters), echoed in the ack. A resend
        /// with the same id is answered with the original sequence number, not stored again.
        #[serde(default, rename = "ref")]
        reference: Option<String>,
    },
    /// Keep-alive.
    Ping,
    /// Administrator agent: delete one conversation of its organisation, with its frames.
    Delete {
        /// The conversation id.
        conversation: String,
    },
    /// Administrator agent: delete every conversation of its organisation.
    DeleteAll,
    /// Administrator agent: a page of its organisation's conversations (metadata) with an
    /// id above `after`.
    Export {
        /// The last conversation id of the previous page.
        #[serde(default)]
        after: Option<String>,
    },
    /// Administrator agent: a page of one conversation's frames (both senders) after `after`.
    ExportFrames {
        /// The conversation id.
        conversation: String,
        /// Last sequence number already exported.
        #[serde(default)]
        after: u64,
    },
}

/// Stable error codes sent in `{"type":"error"}` frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Not valid JSON, an unknown type or field value, not base64url.
    BadFrame,
    /// Over the frame size limit.
    TooLarge,
    /// Too many frames per second.
    RateLimited,
    /// Unknown conversation, wrong token, or not logged in.
    Unauthorized,
    /// Not allowed for this participant.
    Forbidden,
    /// Another agent accepted the conversation first.
    Taken,
    /// No login frame within 10 seconds.
    AuthTimeout,
    /// The client did not read its frames; reconnect and sync.
    SlowConsumer,
    /// A post reused its `ref` for a different frame (nothing stored).
    RefReused,
    /// Storage or randomness failure.
    Internal,
    /// Nothing received (not even a pong) within the idle timeout.
    IdleTimeout,
    /// A quota is reached: the conversation's queue before an agent accepts it, or the
    /// frames, bytes or conversations a conversation, an organisation or the relay may hold.
    /// Nothing was stored.
    QuotaExceeded,
}

impl Code {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::BadFrame => "BAD_FRAME",
            Code::TooLarge => "TOO_LARGE",
            Code::RateLimited => "RATE_LIMITED",
            Code::Unauthorized => "UNAUTHORIZED",
            Code::Forbidden => "FORBIDDEN",
            Code::Taken => "TAKEN",
            Code::AuthTimeout => "AUTH_TIMEOUT",
            Code::SlowConsumer => "SLOW_CONSUMER",
            Code::RefReused => "REF_REUSED",
            Code::Internal => "INTERNAL",
            Code::IdleTimeout => "IDLE_TIMEOUT",
            Code::QuotaExceeded => "QUOTA_EXCEEDED",
        }
    }
}

/// An error answered to the client; `fatal` ones close the connection.
#[derive(Debug)]
pub struct FrameError {
    /// The code.
    pub code: Code,
    /// A fixed, payload-free explanation.
    pub message: &'static str,
    /// Whether the connection closes after it.
    pub fatal: bool,
}

impl FrameError {
    /// An error that closes the connection.
    pub fn fatal(code: Code, message: &'static str) -> Self {
        FrameError {
            code,
            message,
            fatal: true,
        }
    }
    /// An error the connection survives.
    pub fn soft(code: Code, message: &'static str) -> Self {
        FrameError {
            code,
            message,
            fatal: false,
        }
    }
    /// The `error` frame.
    pub fn to_json(&self, reference: Option<&str>) -> String {
        let mut v = json!({"type": "error", "code": self.code.as_str(), "message": self.message});
        if let (Some(r), Some(obj)) = (reference, v.as_object_mut()) {
            obj.insert("ref".into(), Value::String(r.to_string()));
        }
        v.to_string()
    }
}

/// Lowercase hex of a conversation id.
pub fn conv_hex(id: &ConvId) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses exactly 32 lowercase hex digits.
pub fn parse_conv(s: &str) -> Option<ConvId> {
    if s.len() != 32
        || !s
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    {
        return None;
    }
    let mut out = [0u8; 16];
    for (byte, chunk) in out.iter_mut().zip(s.as_bytes().chunks(2)) {
        let hex = std::str::from_utf8(chunk).ok()?;
        *byte = u8::from_str_radix(hex, 16).ok()?;
    }
    Some(out)
}

/// Unpadded base64url.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes unpadded base64url.
pub fn unb64(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

/// A `deliver` frame for a stored frame, with `data` possibly altered by a tamper mode.
pub fn deliver(id: &ConvId, frame: &StoredFrame, data: &[u8]) -> String {
    json!({
        "type": "deliver",
        "conversation": conv_hex(id),
        "seq": frame.seq,
        "prev": frame.prev,
        "from": frame.sender.as_str(),
        "kind": frame.kind.as_str(),
        "data": b64(data),
    })
    .to_string()
}
