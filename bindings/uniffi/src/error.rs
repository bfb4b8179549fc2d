//! The one error type of the bindings.
//!
//! Kotlin sees it as `HushwireException` (a sealed class), Swift and Python as
//! `HushwireError`. Every variant carries the same two fields:
//!
//! * `code`: the core's stable code string (`hushwire::Error::code`), identical in the JS,
//!   Kotlin, Swift and Python bindings (`"REPLAY"`, `"TAMPERED"`, `"MALFORMED"`, ...; the list
//!   is `hushwire::ERROR_CODES`), plus one code that exists only in these bindings:
//!   `CALLBACK_FAILED` (an app-owned callback such as a [`crate::SessionStore`] threw something
//!   that is not a `HushwireError`). `scripts/check-error-codes.py` keeps the variants, the
//!   generated Kotlin/Swift/Python and the core's list in step.
//! * `detail`: a human-readable English sentence for logs. It never contains key material,
//!   plaintext or export strings.
//!
//! A core error this version of the bindings does not know yet (the core enum is
//! `#[non_exhaustive]`) arrives as [`HushwireError::Other`] with the core's code unchanged.

/// Why a hushwire call failed. See the module docs for the meaning of `code` and `detail`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum HushwireError {
    /// `MALFORMED`: input bytes or text could not be decoded (wrong length, bad base64url,
    /// unknown version or type, trailing bytes, a field out of range).
    #[error("{code}: {detail}")]
    Malformed {
        /// Always `"MALFORMED"`.
        code: String,
        /// What was wrong, for logs.
        detail: String,
    },
    /// `BAD_CERTIFICATE`: the agent's certificate does not verify under the pinned
    /// organisation key, or is not well formed.
    #[error("{code}: {detail}")]
    BadCertificate {
        /// Always `"BAD_CERTIFICATE"`.
        code: String,
        /// What was wrong, for logs.
        detail: String,
    },
    /// `CERTIFICATE_EXPIRED`: the certificate's `not_after` lies in the past.
    #[error("{code}: {detail}")]
    CertificateExpired {
        /// Always `"CERTIFICATE_EXPIRED"`.
        code: String,
        /// What was wrong, for logs.
        detail: String,
    },
    /// `CERTIFICATE_NOT_YET_VALID`: the certificate's `not_before` lies in the future.
    #[error("{code}: {detail}")]
    CertificateNotYetValid {
        /// Always `"CERTIFICATE_NOT_YET_VALID"`.
        code: String,
        /// What was wrong, for logs.
        detail: String,
    },
    /// `CERTIFICATE_KEY_MISMATCH`: the certificate certifies another key than the one the agent
    /// proved (a substituted key or a misconfigured agent).
    #[error("{code}: {detail}")]
    CertificateKeyMismatch {
        /// Always `"CERTIFICATE_KEY_MISMATCH"`.
        code: String,
        /// What was wrong, for logs.
        detail: String,
    },
    /// `WRONG_ORGANIZATION`: the message names another organisation than the pinned one.
    #[error("{code}: {detail}")]
    WrongOrganization {
        /// Always `"WRONG_ORGANIZATION"`.
        code: String,
        /// What was wrong, for logs.
        detail: String,
    },
    /// `HANDSHAKE_FAILED`: a handshake message was altered or answers another hello.
    #[error("{code}: {detail}")]
    HandshakeFailed {
        /// Always `"HANDSHAKE_FAILED"`.
        code: String,
        /// What was wrong, for logs.
        detail: String,
    },
    /// `WEAK_KEY`: the peer sent a low-order public key.
    #[error("{code}: {detail}")]
    WeakKey {
        /// Always `"WEAK_KEY"`.
        code: String,
        /// What was wrong, for logs.
        detail: String,
    },
    /// `WRONG_SESSION`: the envelope (or stored export) belongs to another session.
    #[error("{code}: {detail}")]
    WrongSession {
        /// Always `"WRONG_SESSION"`.
        code: String,
        /// What was wrong, for logs.
        detail: String,
    },
    /// `REFLECTED`: the envelope was sent by this side of the session.
    #[error("{code}: {detail}")]
    Reflected {
        /// Always `"REFLECTED"`.
        code: String,
        /// What was wrong, for logs.
        detail: String,
    },
    /// `REPLAY`: the message was already received, or is too old for its key to be held.
    #[error("{code}: {detail}")]
    Replay {
        /// Always `"REPLAY"`.
        code: String,
        /// What was wrong, for logs.
        detail: String,
    },
    /// `TOO_FAR_AHEAD`: the counter is further ahead than the out-of-order window allows.
    #[error("{code}: {detail}")]
    TooFarAhead {
        /// Always `"TOO_FAR_AHEAD"`.
        code: String,
        /// What was wrong, for logs.
        detail: String,
    },
    /// `TAMPERED`: authentication failed; the envelope was altered or forged.
    #[error("{code}: {detail}")]
    Tampered {
        /// Always `"TAMPERED"`.
        code: String,
        /// What was wrong, for logs.
        detail: String,
    },
    /// `MESSAGE_TOO_LARGE`: the plaintext exceeds 64 KiB.
    #[error("{code}: {detail}")]
    MessageTooLarge {
        /// Always `"MESSAGE_TOO_LARGE"`.
        code: String,
        /// What was wrong, for logs.
        detail: String,
    },
    /// `SESSION_EXHAUSTED`: this side has sent its maximum number of messages.
    #[error("{code}: {detail}")]
    SessionExhausted {
        /// Always `"SESSION_EXHAUSTED"`.
        code: String,
        /// What was wrong, for logs.
        detail: String,
    },
    /// `EXPORT_AUTHENTICATION`: an export did not open (wrong storage key or altered).
    #[error("{code}: {detail}")]
    ExportAuthentication {
        /// Always `"EXPORT_AUTHENTICATION"`.
        code: String,
        /// What was wrong, for logs.
        detail: String,
    },
    /// `INVALID_ARGUMENT`: a parameter supplied by the caller is out of range.
    #[error("{code}: {detail}")]
    InvalidArgument {
        /// Always `"INVALID_ARGUMENT"`.
        code: String,
        /// What was wrong, for logs.
        detail: String,
    },
    /// `RANDOMNESS_UNAVAILABLE`: the operating system's random number generator failed.
    #[error("{code}: {detail}")]
    RandomnessUnavailable {
        /// Always `"RANDOMNESS_UNAVAILABLE"`.
        code: String,
        /// What was wrong, for logs.
        detail: String,
    },
    /// `ATTACHMENT_CORRUPTED`: an attachment's ciphertext is truncated, extended, altered,
    /// reordered or not the one of its manifest.
    #[error("{code}: {detail}")]
    AttachmentCorrupted {
        /// Always `"ATTACHMENT_CORRUPTED"`.
        code: String,
        /// What was wrong, for logs.
        detail: String,
    },
    /// `DOWNGRADE`: a reply or envelope of another protocol version than its handshake or
    /// session (a relay stripping the post-quantum part of a v2 hello ends here).
    #[error("{code}: {detail}")]
    Downgrade {
        /// Always `"DOWNGRADE"`.
        code: String,
        /// What was wrong, for logs.
        detail: String,
    },
    /// `NOT_A_MEMBER`: the envelope, session or member is not a current member of the conversation (for example a removed device), or this device is no longer one.
    #[error("{code}: {detail}")]
    NotAMember {
        /// Always `"NOT_A_MEMBER"`.
        code: String,
        /// What was wrong, for logs.
        detail: String,
    },
    /// `ROSTER_FORBIDDEN`: a roster event, whisper or history is not allowed from this sender by the conversation's roster.
    #[error("{code}: {detail}")]
    RosterForbidden {
        /// Always `"ROSTER_FORBIDDEN"`.
        code: String,
        /// What was wrong, for logs.
        detail: String,
    },
    /// `ROSTER_CONFLICT`: a roster event builds on a roster this member has already moved past (concurrent change or an old event).
    #[error("{code}: {detail}")]
    RosterConflict {
        /// Always `"ROSTER_CONFLICT"`.
        code: String,
        /// What was wrong, for logs.
        detail: String,
    },
    /// `CONVERSATION_FULL`: the conversation has its maximum number of members (16) or roster events (128).
    #[error("{code}: {detail}")]
    ConversationFull {
        /// Always `"CONVERSATION_FULL"`.
        code: String,
        /// What was wrong, for logs.
        detail: String,
    },
    /// `CALLBACK_FAILED` (bindings only): an app-owned callback (for example a
    /// `SessionStore`) threw an exception that is not a `HushwireError`.
    #[error("{code}: {detail}")]
    CallbackFailed {
        /// Always `"CALLBACK_FAILED"`.
        code: String,
        /// What was wrong, for logs.
        detail: String,
    },
    /// A code from a newer core than these bindings know (`code` is the core's code), or an
    /// app's own code thrown from one of its callbacks.
    #[error("{code}: {detail}")]
    Other {
        /// The stable code string.
        code: String,
        /// What was wrong, for logs.
        detail: String,
    },
}

impl HushwireError {
    /// The stable code string (`"REPLAY"`, `"MALFORMED"`, ...).
    pub fn code(&self) -> &str {
        match self {
            HushwireError::Malformed { code, .. }
            | HushwireError::BadCertificate { code, .. }
            | HushwireError::CertificateExpired { code, .. }
            | HushwireError::CertificateNotYetValid { code, .. }
            | HushwireError::CertificateKeyMismatch { code, .. }
            | HushwireError::WrongOrganization { code, .. }
            | HushwireError::HandshakeFailed { code, .. }
            | HushwireError::WeakKey { code, .. }
            | HushwireError::WrongSession { code, .. }
            | HushwireError::Reflected { code, .. }
            | HushwireError::Replay { code, .. }
            | HushwireError::TooFarAhead { code, .. }
            | HushwireError::Tampered { code, .. }
            | HushwireError::MessageTooLarge { code, .. }
            | HushwireError::SessionExhausted { code, .. }
            | HushwireError::ExportAuthentication { code, .. }
            | HushwireError::InvalidArgument { code, .. }
            | HushwireError::RandomnessUnavailable { code, .. }
            | HushwireError::AttachmentCorrupted { code, .. }
            | HushwireError::Downgrade { code, .. }
            | HushwireError::NotAMember { code, .. }
            | HushwireError::RosterForbidden { code, .. }
            | HushwireError::RosterConflict { code, .. }
            | HushwireError::ConversationFull { code, .. }
            | HushwireError::CallbackFailed { code, .. }
            | HushwireError::Other { code, .. } => code,
        }
    }

    /// A `MALFORMED` error raised by the bindings' own decoders (fixed-length byte strings).
    pub(crate) fn wrong_length(what: &str, expected: usize, got: usize) -> Self {
        let side = if got < expected { "too short" } else { "too long" };
        HushwireError::Malformed {
            code: "MALFORMED".into(),
            detail: format!("malformed input: {what} must be {expected} bytes, input is {side}"),
        }
    }
}

impl From<hushwire::Error> for HushwireError {
    fn from(e: hushwire::Error) -> Self {
        use hushwire::Error as E;
        let code = e.code().to_owned();
        // Display strings of the core never contain secrets or plaintext (core docs).
        let detail = e.to_string();
        match e {
            E::Malformed(_) => HushwireError::Malformed { code, detail },
            E::BadCertificate => HushwireError::BadCertificate { code, detail },
            E::CertificateExpired => HushwireError::CertificateExpired { code, detail },
            E::CertificateNotYetValid => HushwireError::CertificateNotYetValid { code, detail },
            E::CertificateKeyMismatch => HushwireError::CertificateKeyMismatch { code, detail },
            E::WrongOrganization => HushwireError::WrongOrganization { code, detail },
            E::HandshakeFailed => HushwireError::HandshakeFailed { code, detail },
            E::WeakKey => HushwireError::WeakKey { code, detail },
            E::WrongSession => HushwireError::WrongSession { code, detail },
            E::Reflected => HushwireError::Reflected { code, detail },
            E::Replay => HushwireError::Replay { code, detail },
            E::TooFarAhead => HushwireError::TooFarAhead { code, detail },
            E::Tampered => HushwireError::Tampered { code, detail },
            E::MessageTooLarge => HushwireError::MessageTooLarge { code, detail },
            E::SessionExhausted => HushwireError::SessionExhausted { code, detail },
            E::ExportAuthentication => HushwireError::ExportAuthentication { code, detail },
            E::InvalidArgument(_) => HushwireError::InvalidArgument { code, detail },
            E::Randomness => HushwireError::RandomnessUnavailable { code, detail },
            E::AttachmentCorrupted => HushwireError::AttachmentCorrupted { code, detail },
            E::Downgrade => HushwireError::Downgrade { code, detail },
            E::NotAMember => HushwireError::NotAMember { code, detail },
            E::RosterForbidden => HushwireError::RosterForbidden { code, detail },
            E::RosterConflict => HushwireError::RosterConflict { code, detail },
            E::ConversationFull => HushwireError::ConversationFull { code, detail },
            _ => HushwireError::Other { code, detail },
        }
    }
}

/// What a foreign callback's unexpected exception becomes. The foreign exception's own text is
/// deliberately dropped: it is app data and could hold anything.
impl From<uniffi::UnexpectedUniFFICallbackError> for HushwireError {
    fn from(_: uniffi::UnexpectedUniFFICallbackError) -> Self {
        HushwireError::CallbackFailed {
            code: "CALLBACK_FAILED".into(),
            detail: "an app-provided callback threw an exception that is not a HushwireError".into(),
        }
    }
}

/// Shorthand for results in the bindings.
pub type Result<T, E = HushwireError> = core::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_core_error_keeps_its_code_and_variant() {
        // One of each core variant (exhaustive by construction in the core).
        let all = hushwire::test_vectors::every_error();
        let codes: Vec<&str> = all.iter().map(|e| e.code()).collect();
        assert_eq!(codes, hushwire::ERROR_CODES, "every core code is mapped here");
        for e in all {
            let code = e.code();
            let mapped = HushwireError::from(e);
            assert_eq!(mapped.code(), code);
            assert!(
                !matches!(mapped, HushwireError::Other { .. }),
                "{code} must have its own variant"
            );
        }
    }
}
