//! Callback interfaces: app-owned pieces that the library calls.
//!
//! Each is a `#[uniffi::export(with_foreign)]` trait the app implements in Kotlin, Swift or
//! Python. The conventions every callback interface here follows, so that future ones (a
//! `KeyManager` that keeps storage keys in the Android Keystore, the iOS Keychain or an HSM
//! and seals/opens exports for the library) fit alongside `SessionStore` without changing it:
//!
//! * every method returns `Result<_, HushwireError>`; an implementation may throw a
//!   `HushwireError` of its choice, and any other exception arrives as `CALLBACK_FAILED`;
//! * methods receive and return plain strings and bytes, never library objects;
//! * the library never holds a session's ratchet lock while a callback runs, so an
//!   implementation may call back into hushwire (even `seal`/`open` on the same session)
//!   without deadlocking; the one exception is ordering: `saveTo` holds that session's
//!   persistence lock during `save` (see [`SessionStore::save`]), and a `saveTo` of the same
//!   session from inside `save` is refused with `INVALID_ARGUMENT` rather than deadlocking;
//! * callbacks run on the thread that called into hushwire, and must be thread-safe if the app
//!   uses hushwire from several threads;
//! * helpers that use a callback take it as an explicit argument (`Session.saveTo(store, key)`,
//!   `loadSession(store, id, key)`); a `KeyManager` would be accepted in the same way, in
//!   overloads that take it instead of a `StorageKey`.

use crate::error::Result;

/// Where the app keeps exported sessions (a database table, files, `SharedPreferences`,
/// `UserDefaults`...). Export strings are sealed and safe to store in ordinary app storage.
///
/// Contract for implementers: `save` may simply overwrite. For one `Session` object, `saveTo`
/// calls never overlap and each exports the state only once the previous call's `save` has
/// returned, so saves arrive in state order and the last one holds the newest state; no
/// compare-and-set is needed. The library cannot order saves coming from two `Session`
/// objects of the same session (loaded twice, or in two processes): keep one live object per
/// session. `save` runs while its session's other `saveTo` calls wait, so it must not wait for
/// another thread that itself calls `saveTo` on that session (a deadlock the library cannot
/// detect; the same thread calling it gets `INVALID_ARGUMENT`).
#[uniffi::export(with_foreign)]
pub trait SessionStore: Send + Sync {
    /// Store (or replace) the export string for `sessionId`. Calls for one session object are
    /// serialised and arrive oldest state first: overwriting is correct.
    fn save(&self, session_id: String, exported: String) -> Result<()>;
    /// The export string stored for `sessionId`, or none.
    fn load(&self, session_id: String) -> Result<Option<String>>;
    /// Forget `sessionId` (not an error if absent).
    fn delete(&self, session_id: String) -> Result<()>;
}
