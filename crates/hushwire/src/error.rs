//! The one error type of the crate.
//!
//! Every failure has its own variant and a stable [`Error::code`] string that the JS, Kotlin,
//! Swift and Python bindings carry unchanged, so an app can react to `REPLAY` the same way on
//! every platform. No variant carries key material or plaintext.

/// Why a byte string could not be decoded.
///
/// Decoders never panic: every malformed input ends up here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before a complete structure was read.
    #[error("input is too short")]
    TooShort,
    /// The input is longer than the structure allows (see the limits in the crate docs).
    #[error("input is too long")]
    TooLong,
    /// Bytes were left over after a complete structure.
    #[error("unexpected trailing bytes")]
    TrailingBytes,
    /// The text form is not valid unpadded base64url.
    #[error("invalid base64url text")]
    Base64,
    /// The protocol or format version is not one this library speaks.
    #[error("unsupported version {0}")]
    UnsupportedVersion(u8),
    /// The message-type byte is not the one expected here (for example a reply where an
    /// envelope was expected, or a type defined by a later protocol version).
    #[error("unexpected message type {0:#04x}")]
    UnexpectedType(u8),
    /// A field holds a value outside its allowed range (named for diagnostics).
    #[error("invalid field: {0}")]
    InvalidField(&'static str),
}

/// Everything that can go wrong in hushwire.
///
/// The enum is `#[non_exhaustive]`: later versions add variants. Match on the ones you handle
/// and treat the rest as a failed operation. [`Error::code`] gives a stable string per variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Input bytes or text could not be decoded; the sub-error says why.
    #[error("malformed input: {0}")]
    Malformed(#[from] DecodeError),
    /// The certificate's signature does not verify under the pinned organisation key, or the
    /// certificate is not well formed.
    #[error("agent certificate is invalid")]
    BadCertificate,
    /// The certificate's `not_after` lies in the past.
    #[error("agent certificate has expired")]
    CertificateExpired,
    /// The certificate's `not_before` lies in the future.
    #[error("agent certificate is not yet valid")]
    CertificateNotYetValid,
    /// The certificate certifies a different key than the one the agent proved in the
    /// handshake (a substituted key or a misconfigured agent).
    #[error("agent certificate is for a different key")]
    CertificateKeyMismatch,
    /// The message names a different organisation than the one this party belongs to or pinned.
    #[error("message is for a different organisation")]
    WrongOrganization,
    /// The handshake could not be completed: a handshake message was altered, its keys were
    /// substituted, or it answers a different hello.
    #[error("handshake failed")]
    HandshakeFailed,
    /// A Diffie-Hellman output was all zero: the peer sent a low-order public key.
    #[error("peer public key is weak (low order)")]
    WeakKey,
    /// The envelope belongs to a different session.
    #[error("message belongs to another session")]
    WrongSession,
    /// The envelope was sent by this side of the session (a reflected message).
    #[error("message was sent by this side (reflected)")]
    Reflected,
    /// The message counter was already used, or is too old for its key to still be held.
    #[error("message was already received (replay) or is too old")]
    Replay,
    /// The message counter is further ahead than the out-of-order window allows.
    #[error("message is too far ahead of the last one received")]
    TooFarAhead,
    /// Authentication failed: the envelope was altered, or was not sealed by the peer.
    #[error("message failed authentication (tampered or forged)")]
    Tampered,
    /// The plaintext exceeds [`crate::MAX_PLAINTEXT_LEN`], or an attachment exceeds
    /// [`crate::attachment::MAX_ATTACHMENT_LEN`].
    #[error("message is too large")]
    MessageTooLarge,
    /// This side has sent 2^32 - 1 messages; start a new session.
    #[error("session has sent its maximum number of messages")]
    SessionExhausted,
    /// A sealed export did not authenticate: wrong storage key, or the export was altered.
    #[error("export could not be opened (wrong storage key or tampered)")]
    ExportAuthentication,
    /// A parameter supplied by the caller is out of range (named for diagnostics).
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// The operating system's random number generator failed. Nothing was produced.
    #[error("secure randomness is unavailable")]
    Randomness,
    /// An attachment's ciphertext does not belong to its manifest, or was truncated,
    /// extended, reordered or altered (docs/PROTOCOL.md §15). Plaintext released before this
    /// error was authentic, but the file is incomplete: discard it.
    #[error("attachment is truncated or corrupted")]
    AttachmentCorrupted,
    /// A handshake message or envelope of another protocol version than the session or
    /// handshake it is meant for: a v1 reply to a v2 hello, a v1 envelope for a v2 session
    /// (docs/PROTOCOL.md §16.4). A relay stripping the post-quantum part ends here.
    #[error("message of another protocol version than its session (downgrade refused)")]
    Downgrade,
    /// The envelope, session or named member does not belong to a current member of the
    /// conversation (for example it comes from a removed device), or this device is no
    /// longer a member.
    #[error("not a member of the conversation")]
    NotAMember,
    /// A roster event, whisper or history is not allowed from this sender (docs/PROTOCOL.md
    /// §18.4): the visitor cannot change the roster, a member cannot join twice, history
    /// arrives only under a grant.
    #[error("not allowed by the conversation's roster")]
    RosterForbidden,
    /// A roster event builds on a roster this member has already moved past: two members
    /// changed the roster at once, or the relay replayed an old event. The roster codes differ.
    #[error("roster event conflicts with the current roster")]
    RosterConflict,
    /// The conversation has its maximum number of members or roster events.
    #[error("conversation is full")]
    ConversationFull,
}

impl Error {
    /// A stable, upper-case code for this error, identical in every binding.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Malformed(_) => "MALFORMED",
            Error::BadCertificate => "BAD_CERTIFICATE",
            Error::CertificateExpired => "CERTIFICATE_EXPIRED",
            Error::CertificateNotYetValid => "CERTIFICATE_NOT_YET_VALID",
            Error::CertificateKeyMismatch => "CERTIFICATE_KEY_MISMATCH",
            Error::WrongOrganization => "WRONG_ORGANIZATION",
            Error::HandshakeFailed => "HANDSHAKE_FAILED",
            Error::WeakKey => "WEAK_KEY",
            Error::WrongSession => "WRONG_SESSION",
            Error::Reflected => "REFLECTED",
            Error::Replay => "REPLAY",
            Error::TooFarAhead => "TOO_FAR_AHEAD",
            Error::Tampered => "TAMPERED",
            Error::MessageTooLarge => "MESSAGE_TOO_LARGE",
            Error::SessionExhausted => "SESSION_EXHAUSTED",
            Error::ExportAuthentication => "EXPORT_AUTHENTICATION",
            Error::InvalidArgument(_) => "INVALID_ARGUMENT",
            Error::Randomness => "RANDOMNESS_UNAVAILABLE",
            Error::AttachmentCorrupted => "ATTACHMENT_CORRUPTED",
            Error::Downgrade => "DOWNGRADE",
            Error::NotAMember => "NOT_A_MEMBER",
            Error::RosterForbidden => "ROSTER_FORBIDDEN",
            Error::RosterConflict => "ROSTER_CONFLICT",
            Error::ConversationFull => "CONVERSATION_FULL",
        }
    }
}

#[cfg(feature = "std")]
impl Error {
    /// The hushwire error inside an `std::io::Error` returned by the attachment stream
    /// adapters ([`crate::attachment::Decryptor`], …), if it is one; `None` for an error of
    /// the underlying reader or writer.
    pub fn from_io(err: &std::io::Error) -> Option<&Error> {
        err.get_ref().and_then(|e| e.downcast_ref::<Error>())
    }
}

#[cfg(feature = "std")]
impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        let kind = match e {
            Error::AttachmentCorrupted | Error::Malformed(_) => std::io::ErrorKind::InvalidData,
            _ => std::io::ErrorKind::Other,
        };
        std::io::Error::new(kind, e)
    }
}

/// Every code [`Error::code`] can return, in the order of `docs/PROTOCOL.md` section 11.
///
/// The single source of truth for error codes: `scripts/check-error-codes.py` (run by
/// `scripts/test.sh`) checks the JS, Kotlin, Swift and Python bindings and the spec against it.
pub const ERROR_CODES: &[&str] = &[
    "MALFORMED",
    "BAD_CERTIFICATE",
    "CERTIFICATE_EXPIRED",
    "CERTIFICATE_NOT_YET_VALID",
    "CERTIFICATE_KEY_MISMATCH",
    "WRONG_ORGANIZATION",
    "HANDSHAKE_FAILED",
    "WEAK_KEY",
    "WRONG_SESSION",
    "REFLECTED",
    "REPLAY",
    "TOO_FAR_AHEAD",
    "TAMPERED",
    "MESSAGE_TOO_LARGE",
    "SESSION_EXHAUSTED",
    "EXPORT_AUTHENTICATION",
    "INVALID_ARGUMENT",
    "RANDOMNESS_UNAVAILABLE",
    "ATTACHMENT_CORRUPTED",
    "DOWNGRADE",
    "NOT_A_MEMBER",
    "ROSTER_FORBIDDEN",
    "ROSTER_CONFLICT",
    "CONVERSATION_FULL",
];

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// One value of every variant, in [`ERROR_CODES`] order, for tests here and in the bindings
/// (`test_vectors::every_error`). The `match` has no wildcard, so adding a variant without
/// adding it here (and its code to [`ERROR_CODES`]) does not compile.
#[cfg(any(test, feature = "testing"))]
pub fn every_error() -> alloc::vec::Vec<Error> {
    let all = [
        Error::Malformed(DecodeError::TooShort),
        Error::BadCertificate,
        Error::CertificateExpired,
        Error::CertificateNotYetValid,
        Error::CertificateKeyMismatch,
        Error::WrongOrganization,
        Error::HandshakeFailed,
        Error::WeakKey,
        Error::WrongSession,
        Error::Reflected,
        Error::Replay,
        Error::TooFarAhead,
        Error::Tampered,
        Error::MessageTooLarge,
        Error::SessionExhausted,
        Error::ExportAuthentication,
        Error::InvalidArgument("x"),
        Error::Randomness,
        Error::AttachmentCorrupted,
        Error::Downgrade,
        Error::NotAMember,
        Error::RosterForbidden,
        Error::RosterConflict,
        Error::ConversationFull,
    ];
    for e in &all {
        match e {
            Error::Malformed(_)
            | Error::BadCertificate
            | Error::CertificateExpired
            | Error::CertificateNotYetValid
            | Error::CertificateKeyMismatch
            | Error::WrongOrganization
            | Error::HandshakeFailed
            | Error::WeakKey
            | Error::WrongSession
            | Error::Reflected
            | Error::Replay
            | Error::TooFarAhead
            | Error::Tampered
            | Error::MessageTooLarge
            | Error::SessionExhausted
            | Error::ExportAuthentication
            | Error::InvalidArgument(_)
            | Error::Randomness
            | Error::AttachmentCorrupted
            | Error::Downgrade
            | Error::NotAMember
            | Error::RosterForbidden
            | Error::RosterConflict
            | Error::ConversationFull => {}
        }
    }
    all.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn error_codes_lists_every_code_once_in_order() {
        let codes: Vec<&str> = every_error().iter().map(Error::code).collect();
        assert_eq!(codes, ERROR_CODES);
        for (i, c) in ERROR_CODES.iter().enumerate() {
            assert!(!ERROR_CODES[..i].contains(c), "{c} is listed twice");
            assert!(c.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'), "{c}");
        }
    }
}
