//! Established sessions.

use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};

use zeroize::Zeroizing;

use crate::error::Result;
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
/// session's ratchet lock and may block while another thread uses the same session; each holds
/// it for the duration of one AES-GCM operation (microseconds), never while app code (a
/// `SessionStore`) runs. `saveTo` also holds the session's persistence lock while the store
/// runs, so concurrent `saveTo` calls on one session wait for each other (and only for each
/// other). `sessionId`, `role`, `agentId` and `deviceId` never block.
#[derive(uniffi::Object)]
pub struct Session {
    inner: Mutex<hushwire::Session>,
    /// Held by `save_to` from the export through the store call, so exports reach the store
    /// in the order they were taken: an older state can never overwrite a newer one.
    persist: Mutex<()>,
    /// The thread inside `save_to`, to refuse (rather than deadlock on) a `saveTo` of this
    /// session from inside its own store callback.
    persist_owner: Mutex<Option<ThreadId>>,
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
            persist: Mutex::new(()),
            persist_owner: Mutex::new(None),
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

    /// Open a base64url envelope whose plaintext is UTF-8 text. Same errors as `open`. If the
    /// message authenticates but its plaintext is not UTF-8, this fails with `MALFORMED`
    /// **without consuming the message**: the session is unchanged and the same envelope can
    /// still be read once as bytes with `open`.
    pub fn open_text(&self, envelope_text: String) -> Result<String> {
        let envelope: hushwire::Envelope = envelope_text.parse()?;
        Ok(lock(&self.inner).open_text(&envelope)?)
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
    ///
    /// Ordered: concurrent `saveTo` calls on this session run one at a time, each exporting
    /// and storing before the next exports, so the store always ends with the newest state
    /// (never an older one that would reuse message counters after a restart). The ratchet
    /// lock is released before the store runs: `seal`/`open` on other threads do not wait for
    /// the store, and a store may call them. A store that calls `saveTo` on the same session
    /// from inside `save` gets `INVALID_ARGUMENT` instead of a deadlock. Errors thrown by the
    /// store arrive as themselves (if a `HushwireError`) or as `CALLBACK_FAILED`.
    pub fn save_to(&self, store: Arc<dyn SessionStore>, storage_key: Arc<StorageKey>) -> Result<()> {
        let me = thread::current().id();
        // Only this thread can have stored its own id, so the check cannot race.
        if *lock(&self.persist_owner) == Some(me) {
            return Err(hushwire::Error::InvalidArgument(
                "saveTo called from inside this session's own store callback",
            )
            .into());
        }
        let _persist = lock(&self.persist);
        let _owner = Owner::set(&self.persist_owner, me);
        let exported = self.export_state(storage_key)?;
        store.save(self.session_id.clone(), exported)
    }
}

/// Marks a thread as the one inside `save_to`; clears the mark when dropped (also on error).
struct Owner<'a>(&'a Mutex<Option<ThreadId>>);

impl<'a> Owner<'a> {
    fn set(slot: &'a Mutex<Option<ThreadId>>, id: ThreadId) -> Self {
        *lock(slot) = Some(id);
        Owner(slot)
    }
}

impl Drop for Owner<'_> {
    fn drop(&mut self) {
        *lock(self.0) = None;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::{start_visitor_handshake, AgentIdentity};
    use crate::keys::{AgentKey, OrgSigningKey};
    use std::collections::HashMap;
    use std::sync::mpsc;
    use std::time::Duration;

    const NOW: u64 = 1_800_000_000;

    fn pair() -> (Arc<Session>, Arc<Session>) {
        let org = OrgSigningKey::generate().unwrap();
        let key = AgentKey::generate().unwrap();
        let cert = org
            .certify_agent(key.public_key(), "a@x".into(), "d".into(), NOW - 60, NOW + 60)
            .unwrap();
        let agent = AgentIdentity::new(key, cert, org.public_key()).unwrap();
        let start = start_visitor_handshake(org.public_key()).unwrap();
        let accepted = agent.accept(start.hello.clone()).unwrap();
        let visitor = start.handshake.finish_at(accepted.reply.clone(), NOW).unwrap();
        (visitor, accepted.session)
    }

    /// A store whose first `save` reports that it started and then blocks until released.
    struct GatedStore {
        data: Mutex<HashMap<String, String>>,
        calls: Mutex<u32>,
        entered: Mutex<mpsc::Sender<u32>>,
        gate: Mutex<mpsc::Receiver<()>>,
    }

    impl SessionStore for GatedStore {
        fn save(&self, session_id: String, exported: String) -> Result<()> {
            let call = {
                let mut calls = lock(&self.calls);
                *calls += 1;
                *calls
            };
            lock(&self.entered).send(call).unwrap();
            if call == 1 {
                lock(&self.gate).recv().unwrap();
            }
            lock(&self.data).insert(session_id, exported);
            Ok(())
        }
        fn load(&self, session_id: String) -> Result<Option<String>> {
            Ok(lock(&self.data).get(&session_id).cloned())
        }
        fn delete(&self, session_id: String) -> Result<()> {
            lock(&self.data).remove(&session_id);
            Ok(())
        }
    }

    #[test]
    fn concurrent_saves_never_leave_an_older_state_in_the_store() {
        let (visitor, agent) = pair();
        let key = StorageKey::generate().unwrap();
        let (entered_tx, entered) = mpsc::channel();
        let (release, gate) = mpsc::channel();
        let store = Arc::new(GatedStore {
            data: Mutex::new(HashMap::new()),
            calls: Mutex::new(0),
            entered: Mutex::new(entered_tx),
            gate: Mutex::new(gate),
        });
        // Thread 1 seals and saves; its store call blocks on the gate.
        let t1 = {
            let (v, s, k) = (visitor.clone(), store.clone(), key.clone());
            std::thread::spawn(move || {
                let env = v.seal(b"one".to_vec()).unwrap();
                v.save_to(s, k).unwrap();
                env
            })
        };
        assert_eq!(entered.recv().unwrap(), 1);
        // Thread 2 seals a newer message and saves while thread 1's save is still pending.
        let t2 = {
            let (v, s, k) = (visitor.clone(), store.clone(), key.clone());
            std::thread::spawn(move || {
                let env = v.seal(b"two".to_vec()).unwrap();
                v.save_to(s, k).unwrap();
                env
            })
        };
        // Ordered persistence makes thread 2 wait for thread 1; give an unordered one the
        // chance to overtake (then the second save arrives here first).
        let overtook = entered.recv_timeout(Duration::from_millis(500)).is_ok();
        release.send(()).unwrap();
        let one = t1.join().unwrap();
        let two = t2.join().unwrap();
        if !overtook {
            assert_eq!(entered.recv().unwrap(), 2);
        }
        assert_eq!(agent.open(one).unwrap(), b"one");
        assert_eq!(agent.open(two).unwrap(), b"two");
        // Restart from the store: the next message must use a fresh counter.
        let restored = load_session(store, visitor.session_id(), key).unwrap().unwrap();
        let three = restored.seal(b"three".to_vec()).unwrap();
        assert_eq!(agent.open(three).unwrap(), b"three");
    }

    #[test]
    fn open_text_refuses_non_utf8_without_consuming_it() {
        let (visitor, agent) = pair();
        let text = crate::envelope_to_text(visitor.seal(vec![0xff, 0xfe, b'a']).unwrap()).unwrap();
        let err = agent.open_text(text.clone()).unwrap_err();
        assert_eq!(err.code(), "MALFORMED");
        assert_eq!(err.code(), agent.open_text(text.clone()).unwrap_err().code());
        // Still unread: the bytes open once, then it is a replay.
        let bytes = crate::envelope_from_text(text.clone()).unwrap();
        assert_eq!(agent.open(bytes.clone()).unwrap(), vec![0xff, 0xfe, b'a']);
        assert_eq!(agent.open(bytes).unwrap_err().code(), "REPLAY");
        assert_eq!(agent.open_text(text).unwrap_err().code(), "REPLAY");
        let ok = visitor.seal_text("ünï ✓".into()).unwrap();
        assert_eq!(agent.open_text(ok).unwrap(), "ünï ✓");
    }

    /// A store that calls back into its session from inside `save`.
    struct Reentrant {
        session: Mutex<Option<Arc<Session>>>,
        key: Arc<StorageKey>,
        inner: Mutex<Vec<String>>,
    }

    impl SessionStore for Reentrant {
        fn save(&self, _: String, exported: String) -> Result<()> {
            let session = lock(&self.session).clone().unwrap();
            session.seal(b"from inside save".to_vec())?;
            let nested = session.save_to(Arc::new(NullStore), self.key.clone());
            lock(&self.inner).push(nested.unwrap_err().code().to_owned());
            lock(&self.inner).push(exported);
            Ok(())
        }
        fn load(&self, _: String) -> Result<Option<String>> {
            Ok(None)
        }
        fn delete(&self, _: String) -> Result<()> {
            Ok(())
        }
    }

    struct NullStore;

    impl SessionStore for NullStore {
        fn save(&self, _: String, _: String) -> Result<()> {
            Ok(())
        }
        fn load(&self, _: String) -> Result<Option<String>> {
            Ok(None)
        }
        fn delete(&self, _: String) -> Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_store_may_seal_but_not_save_the_same_session_from_inside_save() {
        let (visitor, _) = pair();
        let key = StorageKey::generate().unwrap();
        let store = Arc::new(Reentrant {
            session: Mutex::new(Some(visitor.clone())),
            key: key.clone(),
            inner: Mutex::new(Vec::new()),
        });
        visitor.save_to(store.clone(), key.clone()).unwrap();
        assert_eq!(lock(&store.inner)[0], "INVALID_ARGUMENT");
        // The mark is cleared afterwards: a later saveTo works again.
        visitor.save_to(Arc::new(NullStore), key).unwrap();
        *lock(&store.session) = None;
    }
}
