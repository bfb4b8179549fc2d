//! Established sessions.

use std::sync::{Arc, Mutex};

use zeroize::Zeroizing;

use crate::error::{HushwireError, Result};
use crate::keys::StorageKey;
use crate::store::SessionStore;
use crate::{lock, Role};

/// Per-session tolerance for lost and reordered messages.
#[derive(uniffi::Record, Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// How many messages may be skipped at once (default 1000, at most 20 000).
    pub max_skip: u32,
    /// How many skipped message keys are kept (default 1000, at most 20 000).
    pub max_stored_skipped: u32,
}

/// An established end-to-end session, on either side.
///
/// Thread-safe: every method that reads or changes the ratchet (`seal`, `open`, `sealText`,
/// `openText`, `exportState`, `saveTo`, `setConfig`, `config`, `safetyCode`) takes the
/// session's lock and may block while another thread uses the same session; each holds it for
/// the duration of one AES-GCM operation (microseconds), never while app code (a
/// `SessionStore`) runs. `sessionId`, `role`, `agentId` and `deviceId` never block.
#[derive(uniffi::Object)]
pub struct Session {
    inner: Mutex<hushwire::Session>,
    session_id: String,
    role: Role,
    agent_id: String,
    device_id: String,
}

impl Session {
    pub(crate) fn wrap(session: hushwire::Session) -> Arc<Session> {
        let role = if session.role() == hushwire::Role::Visitor {
            Role::Visitor
        } else {
            Role::Agent
        };
        Arc::new(Session {
            session_id: session.session_id().to_string(),
            agent_id: session.agent_id().to_owned(),
            device_id: session.device_id().to_owned(),
            role,
            inner: Mutex::new(session),
        })
    }
}

#[uniffi::export]
impl Session {
    /// Open a session exported by `exportState`. `EXPORT_AUTHENTICATION` for a wrong key or an
    /// altered export, `MALFORMED` for garbage.
    #[uniffi::constructor]
    pub fn import_state(exported: String, storage_key: Arc<StorageKey>) -> Result<Arc<Self>> {
        let exported = Zeroizing::new(exported);
        Ok(Session::wrap(hushwire::Session::import(
            &exported,
            &storage_key.inner,
        )?))
    }

    /// Seal a message (at most 64 KiB) into envelope bytes for the relay. Locks the session.
    pub fn seal(&self, plaintext: Vec<u8>) -> Result<Vec<u8>> {
        let plaintext = Zeroizing::new(plaintext);
        let envelope = lock(&self.inner).seal(&plaintext)?;
        Ok(envelope.to_bytes())
    }

    /// Open envelope bytes from the peer. Locks the session. Errors: `MALFORMED`, `REPLAY`,
    /// `TAMPERED`, `WRONG_SESSION`, `REFLECTED`, `TOO_FAR_AHEAD`; a failed open leaves the
    /// session unchanged.
    pub fn open(&self, envelope: Vec<u8>) -> Result<Vec<u8>> {
        let envelope = hushwire::Envelope::from_bytes(&envelope)?;
        Ok(lock(&self.inner).open(&envelope)?)
    }

    /// Seal UTF-8 text into the envelope's base64url text form (for JSON transports).
    pub fn seal_text(&self, text: String) -> Result<String> {
        let text = Zeroizing::new(text);
        let envelope = lock(&self.inner).seal(text.as_bytes())?;
        Ok(envelope.to_string())
    }

    /// Open a base64url envelope whose plaintext is UTF-8 text. If the authenticated plaintext
    /// is not UTF-8 this fails with `MALFORMED` and the message is consumed; use `open` for
    /// binary payloads.
    pub fn open_text(&self, envelope_text: String) -> Result<String> {
        let envelope: hushwire::Envelope = envelope_text.parse()?;
        let plain = lock(&self.inner).open(&envelope)?;
        String::from_utf8(plain).map_err(|e| {
            let mut bytes = e.into_bytes();
            zeroize::Zeroize::zeroize(&mut bytes);
            HushwireError::not_utf8("the message")
        })
    }

    /// The 12-digit code (`"1234 5678 9012"`) both sides can compare out of band.
    pub fn safety_code(&self) -> String {
        lock(&self.inner).safety_code()
    }

    /// The session id (32 lowercase hex digits), also readable in every envelope header.
    pub fn session_id(&self) -> String {
        self.session_id.clone()
    }

    /// Which side this session is.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The agent's certified id.
    pub fn agent_id(&self) -> String {
        self.agent_id.clone()
    }

    /// The agent's certified device id.
    pub fn device_id(&self) -> String {
        self.device_id.clone()
    }

    /// The out-of-order settings.
    pub fn config(&self) -> SessionConfig {
        let c = lock(&self.inner).config();
        SessionConfig {
            max_skip: c.max_skip,
            max_stored_skipped: c.max_stored_skipped,
        }
    }

    /// Change the out-of-order settings (`INVALID_ARGUMENT` beyond the limits). They are kept
    /// in exports.
    pub fn set_config(&self, config: SessionConfig) -> Result<()> {
        let c = hushwire::SessionConfig {
            max_skip: config.max_skip,
            max_stored_skipped: config.max_stored_skipped,
        };
        Ok(lock(&self.inner).set_config(c)?)
    }

    /// Seal the session's state under `storageKey`, for persistence. The string is safe to
    /// store in ordinary app storage; the key is not.
    pub fn export_state(&self, storage_key: Arc<StorageKey>) -> Result<String> {
        Ok(lock(&self.inner).export(&storage_key.inner)?)
    }

    /// Export the session under `storageKey` and hand it to `store.save(sessionId, export)`.
    /// The session lock is released before the store runs; errors thrown by the store arrive
    /// as themselves (if a `HushwireError`) or as `CALLBACK_FAILED`.
    pub fn save_to(&self, store: Arc<dyn SessionStore>, storage_key: Arc<StorageKey>) -> Result<()> {
        let exported = self.export_state(storage_key)?;
        store.save(self.session_id.clone(), exported)
    }
}

/// Load a session saved with `Session.saveTo`: `null`/`nil`/`None` if the store has nothing
/// under `sessionId`. `WRONG_SESSION` if the store returned another session's export.
#[uniffi::export]
pub fn load_session(
    store: Arc<dyn SessionStore>,
    session_id: String,
    storage_key: Arc<StorageKey>,
) -> Result<Option<Arc<Session>>> {
    let Some(exported) = store.load(session_id.clone())? else {
        return Ok(None);
    };
    let session = Session::import_state(exported, storage_key)?;
    if session.session_id != session_id {
        return Err(hushwire::Error::WrongSession.into());
    }
    Ok(Some(session))
}
