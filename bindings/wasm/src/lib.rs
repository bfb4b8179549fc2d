//! WebAssembly bindings of [`hushwire`], the raw layer of the npm package `hushwire`.
//!
//! JavaScript users do not call this layer directly: the package's hand-written wrapper
//! (`bindings/wasm/js/core.js`) checks initialisation, turns every failure into a
//! `HushwireError` with the core's stable [`hushwire::Error::code`], and marks the instance
//! unusable if it ever traps.
//!
//! Conventions of this layer:
//! * every fallible export returns `Result<_, JsValue>`; the error is a JS string
//!   `"CODE"` or `"CODE:detail"` (the core's code, or `INVALID_ARGUMENT` for a bad number or
//!   key length given by the caller; the detail is a fixed phrase, never data). The wrapper
//!   turns it into a `HushwireError`;
//! * every wire value (hello, reply, envelope, export, key) crosses as bytes; the wrapper
//!   offers the base64url text forms (so the base64 codec is JS, not wasm code);
//! * times are Unix seconds as JS numbers (integers up to 2^53 - 1);
//! * no export panics on any input: the core never panics, and this layer checks every
//!   conversion itself.
//!
//! The organisation's signing key is deliberately absent: certifying agents is an offline
//! admin task (the `hushwire-agent` CLI, Rust, the mobile and Python bindings), and leaving
//! Ed25519 signing out keeps it off the web and out of every visitor's download.
//!
//! Size: on wasm32 this crate is `no_std` with its own panic handler (a trap) and allocator,
//! so `std` (and its panic machinery, which formats messages) is not linked; `build.sh` adds
//! the size flags (see `bindings/wasm/README.md`). Randomness comes from
//! `crypto.getRandomValues` through `js/random.js`; its absence fails closed.
//!
//! Erasure: on wasm32 the allocator wipes every heap block when it is freed (see
//! `platform`), so the copies wasm-bindgen makes of secrets and plaintexts on their way in
//! and out, and every temporary buffer of the core, are zeroed once released. If the
//! instance ever traps, the JS wrapper zeroes the whole linear memory (see `js/core.js`).
#![cfg_attr(target_arch = "wasm32", no_std)]
#![deny(missing_docs)]

extern crate alloc;

use alloc::borrow::ToOwned;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use hushwire::{DecodeError, Envelope, Error, Hello, OrgPublicKey, Reply, Role, StorageKey};
use wasm_bindgen::prelude::*;

#[cfg(target_arch = "wasm32")]
mod platform;

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod random;

/// Turn a core error into the string the wrapper expects. Details are fixed phrases.
fn to_js(e: Error) -> JsValue {
    let detail = match &e {
        Error::Malformed(d) => match d {
            DecodeError::TooShort => "input is too short",
            DecodeError::TooLong => "input is too long",
            DecodeError::TrailingBytes => "unexpected trailing bytes",
            DecodeError::Base64 => "invalid base64url text",
            DecodeError::UnsupportedVersion(_) => "unsupported version",
            DecodeError::UnexpectedType(_) => "unexpected message type",
            // `Session::open_text`'s refusal (the message is kept, see `open_text` below).
            DecodeError::InvalidField("utf-8") => "the message is not valid UTF-8 text",
            DecodeError::InvalidField(field) => field,
            _ => "",
        },
        Error::InvalidArgument(what) => what,
        _ => "",
    };
    coded(e.code(), detail)
}

fn coded(code: &str, detail: &str) -> JsValue {
    if detail.is_empty() {
        JsValue::from_str(code)
    } else {
        JsValue::from_str(&[code, detail].join(":"))
    }
}

fn invalid(what: &str) -> JsValue {
    coded("INVALID_ARGUMENT", what)
}

/// A JS number holding Unix seconds: finite, integral, 0 ..= 2^53 - 1.
fn seconds(value: f64, what: &str) -> Result<u64, JsValue> {
    // `value % 1.0` rather than `fract()`, which needs `std`.
    if value.is_finite() && value >= 0.0 && value % 1.0 == 0.0 && value <= 9_007_199_254_740_991.0 {
        Ok(value as u64)
    } else {
        Err(invalid(what))
    }
}

fn key32(bytes: &[u8], what: &str) -> Result<[u8; 32], JsValue> {
    bytes.try_into().map_err(|_| invalid(what))
}

fn storage_key(bytes: &[u8]) -> Result<StorageKey, JsValue> {
    let mut k = key32(bytes, "storage key must be 32 bytes")?;
    let key = StorageKey::from_bytes(&k);
    k.iter_mut().for_each(|b| *b = 0);
    Ok(key)
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Visitor => "visitor",
        _ => "agent",
    }
}

/// An agent device's X25519 key.
#[wasm_bindgen(js_name = AgentKey)]
pub struct WasmAgentKey(hushwire::AgentKey);

#[wasm_bindgen(js_class = AgentKey)]
impl WasmAgentKey {
    /// A fresh random key.
    pub fn generate() -> Result<WasmAgentKey, JsValue> {
        hushwire::AgentKey::generate().map(Self).map_err(to_js)
    }

    /// Rebuild from the 32 bytes returned by `secretBytes`.
    #[wasm_bindgen(js_name = fromSecretBytes)]
    pub fn from_secret_bytes(secret: &[u8]) -> Result<WasmAgentKey, JsValue> {
        let mut s = key32(secret, "agent secret key must be 32 bytes")?;
        let key = hushwire::AgentKey::from_secret_bytes(&s);
        s.iter_mut().for_each(|b| *b = 0);
        Ok(Self(key))
    }

    /// The 32 secret bytes.
    #[wasm_bindgen(js_name = secretBytes)]
    pub fn secret_bytes(&self) -> Vec<u8> {
        self.0.secret_bytes().to_vec()
    }

    /// The 32-byte public key, to be certified by the organisation.
    #[wasm_bindgen(js_name = publicKey)]
    pub fn public_key(&self) -> Vec<u8> {
        self.0.public_key().to_vec()
    }
}

/// An agent device's key with its certificate: accepts visitors' hellos.
#[wasm_bindgen(js_name = AgentIdentity)]
pub struct WasmAgentIdentity(hushwire::AgentIdentity);

#[wasm_bindgen(js_class = AgentIdentity)]
impl WasmAgentIdentity {
    /// Combine a key and its certificate; checks the certificate is for this key and signed by
    /// the organisation (its 32-byte public key).
    pub fn create(
        key: &WasmAgentKey,
        certificate: &[u8],
        org_public_key: &[u8],
    ) -> Result<WasmAgentIdentity, JsValue> {
        let org = OrgPublicKey::from_bytes(org_public_key).map_err(to_js)?;
        let cert = hushwire::AgentCertificate::from_bytes(certificate).map_err(to_js)?;
        let key = hushwire::AgentKey::from_secret_bytes(&key.0.secret_bytes());
        hushwire::AgentIdentity::new(key, cert, &org)
            .map(Self)
            .map_err(to_js)
    }

    /// Accept a visitor's hello; the result holds the agent's session and the reply bytes.
    pub fn accept(&self, hello: &[u8]) -> Result<WasmAccepted, JsValue> {
        let hello = Hello::from_bytes(hello).map_err(to_js)?;
        let (session, reply) = self.0.accept(&hello).map_err(to_js)?;
        Ok(WasmAccepted {
            session: Some(session),
            reply: reply.to_bytes(),
        })
    }

    /// The certified agent id.
    #[wasm_bindgen(getter, js_name = agentId)]
    pub fn agent_id(&self) -> String {
        self.0.certificate().agent_id().to_owned()
    }

    /// The certified device id.
    #[wasm_bindgen(getter, js_name = deviceId)]
    pub fn device_id(&self) -> String {
        self.0.certificate().device_id().to_owned()
    }

    /// Seal the identity (key and certificate) under a 32-byte storage key.
    #[wasm_bindgen(js_name = exportState)]
    pub fn export_state(&self, key: &[u8]) -> Result<Vec<u8>, JsValue> {
        self.0.export_bytes(&storage_key(key)?).map_err(to_js)
    }

    /// Open an identity sealed by `exportState`.
    #[wasm_bindgen(js_name = importState)]
    pub fn import_state(exported: &[u8], key: &[u8]) -> Result<WasmAgentIdentity, JsValue> {
        hushwire::AgentIdentity::import_bytes(exported, &storage_key(key)?)
            .map(Self)
            .map_err(to_js)
    }
}

/// The result of `AgentIdentity.accept`: the agent's session and the reply to send.
#[wasm_bindgen(js_name = Accepted)]
pub struct WasmAccepted {
    session: Option<hushwire::Session>,
    reply: Vec<u8>,
}

#[wasm_bindgen(js_class = Accepted)]
impl WasmAccepted {
    /// The reply for the visitor.
    #[wasm_bindgen(getter)]
    pub fn reply(&self) -> Vec<u8> {
        self.reply.clone()
    }

    /// Take the session out (once).
    #[wasm_bindgen(js_name = takeSession)]
    pub fn take_session(&mut self) -> Result<WasmSession, JsValue> {
        self.session
            .take()
            .map(WasmSession)
            .ok_or_else(|| invalid("session already taken"))
    }
}

/// The visitor's half-open handshake.
#[wasm_bindgen(js_name = VisitorHandshake)]
pub struct WasmVisitorHandshake {
    inner: hushwire::VisitorHandshake,
    hello: Vec<u8>,
}

#[wasm_bindgen(js_class = VisitorHandshake)]
impl WasmVisitorHandshake {
    /// Start a handshake with an agent of the organisation whose 32-byte key is pinned, in
    /// protocol `version` (2; 1 only for an agent known to be too old).
    #[wasm_bindgen(js_name = startWithVersion)]
    pub fn start_with_version(org_public_key: &[u8], version: u8) -> Result<WasmVisitorHandshake, JsValue> {
        let org = OrgPublicKey::from_bytes(org_public_key).map_err(to_js)?;
        let (inner, hello) = hushwire::VisitorHandshake::start_with_version(&org, version).map_err(to_js)?;
        Ok(Self {
            inner,
            hello: hello.to_bytes(),
        })
    }

    /// The hello to send to the agent.
    #[wasm_bindgen(getter)]
    pub fn hello(&self) -> Vec<u8> {
        self.hello.clone()
    }

    /// The session id, 32 hex digits.
    #[wasm_bindgen(getter, js_name = sessionId)]
    pub fn session_id(&self) -> String {
        self.inner.session_id().to_string()
    }

    /// Finish with the agent's reply at `now` Unix seconds.
    pub fn finish(&mut self, reply: &[u8], now: f64) -> Result<WasmSession, JsValue> {
        let now = seconds(now, "now")?;
        let reply = Reply::from_bytes(reply).map_err(to_js)?;
        self.inner.finish_at(&reply, now).map(WasmSession).map_err(to_js)
    }
}

/// An established session.
#[wasm_bindgen(js_name = Session)]
pub struct WasmSession(hushwire::Session);

#[wasm_bindgen(js_class = Session)]
impl WasmSession {
    /// Seal a message; returns the envelope bytes.
    pub fn seal(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, JsValue> {
        self.0.seal(plaintext).map(Envelope::into_bytes).map_err(to_js)
    }

    /// Open an envelope.
    pub fn open(&mut self, envelope: &[u8]) -> Result<Vec<u8>, JsValue> {
        let env = Envelope::from_bytes(envelope).map_err(to_js)?;
        self.0.open(&env).map_err(to_js)
    }

    /// Open an envelope whose plaintext must be UTF-8 text. A message that is not is refused
    /// (`MALFORMED`) without being consumed: `open` can still read it as bytes.
    #[wasm_bindgen(js_name = openText)]
    pub fn open_text(&mut self, envelope: &[u8]) -> Result<String, JsValue> {
        let env = Envelope::from_bytes(envelope).map_err(to_js)?;
        self.0.open_text(&env).map_err(to_js)
    }

    /// The safety code both sides can compare out of band.
    #[wasm_bindgen(getter, js_name = safetyCode)]
    pub fn safety_code(&self) -> String {
        self.0.safety_code()
    }

    /// The session id, 32 hex digits.
    #[wasm_bindgen(getter, js_name = sessionId)]
    pub fn session_id(&self) -> String {
        self.0.session_id().to_string()
    }

    /// `"visitor"` or `"agent"`: this side.
    #[wasm_bindgen(getter)]
    pub fn role(&self) -> String {
        role_name(self.0.role()).to_owned()
    }

    /// The certified agent id.
    #[wasm_bindgen(getter, js_name = agentId)]
    pub fn agent_id(&self) -> String {
        self.0.agent_id().to_owned()
    }

    /// The certified device id.
    #[wasm_bindgen(getter, js_name = deviceId)]
    pub fn device_id(&self) -> String {
        self.0.device_id().to_owned()
    }

    /// The current limit on how far ahead a message may be (`SessionConfig::max_skip`).
    #[wasm_bindgen(getter, js_name = maxSkip)]
    pub fn max_skip(&self) -> u32 {
        self.0.config().max_skip
    }

    /// The current limit on stored skipped-message keys (`SessionConfig::max_stored_skipped`).
    #[wasm_bindgen(getter, js_name = maxStoredSkipped)]
    pub fn max_stored_skipped(&self) -> u32 {
        self.0.config().max_stored_skipped
    }

    /// Change the out-of-order limits.
    #[wasm_bindgen(js_name = setConfig)]
    pub fn set_config(&mut self, max_skip: f64, max_stored_skipped: f64) -> Result<(), JsValue> {
        let to_u32 =
            |v: f64, what| seconds(v, what).and_then(|n| u32::try_from(n).map_err(|_| invalid(what)));
        let config = hushwire::SessionConfig {
            max_skip: to_u32(max_skip, "maxSkip")?,
            max_stored_skipped: to_u32(max_stored_skipped, "maxStoredSkipped")?,
        };
        self.0.set_config(config).map_err(to_js)
    }

    /// Seal the session state under a 32-byte storage key.
    #[wasm_bindgen(js_name = exportState)]
    pub fn export_state(&self, key: &[u8]) -> Result<Vec<u8>, JsValue> {
        self.0.export_bytes(&storage_key(key)?).map_err(to_js)
    }

    /// Open a session sealed by `exportState` (here or in any other binding).
    #[wasm_bindgen(js_name = importState)]
    pub fn import_state(exported: &[u8], key: &[u8]) -> Result<WasmSession, JsValue> {
        hushwire::Session::import_bytes(exported, &storage_key(key)?)
            .map(WasmSession)
            .map_err(to_js)
    }
}

/// 32 random bytes for use as a storage key.
#[wasm_bindgen(js_name = generateStorageKey)]
pub fn generate_storage_key() -> Result<Vec<u8>, JsValue> {
    StorageKey::generate()
        .map(|k| k.to_bytes().to_vec())
        .map_err(to_js)
}

/// Bytes of stack [`wipe_stack`] zeroes: above the deepest a message or state call goes
/// (measured: a message about 3.2 KiB; a v1 handshake with its certificate check 10 KiB).
const STACK_WIPE_BYTES: usize = 16 * 1024;
/// Bytes [`wipe_stack_deep`] zeroes after a v2 handshake call, whose ML-KEM-768 key
/// generation, encapsulation and decapsulation go past 16 KiB (29 561 bytes were left dirty
/// by a 16 KiB wipe); 128 KiB of the 1 MiB stack, a few microseconds per handshake.
const STACK_WIPE_DEEP_BYTES: usize = 128 * 1024;

/// Zero the part of the stack that the previous export used. The wrapper calls it after every
/// call: what a call leaves on the stack (derived keys, random bytes, a secret's temporary
/// copies) lives in linear memory too, below the stack pointer, until a later call happens
/// to overwrite it. Called from JS with no other frame on the stack, this frame's zeroed
/// buffer covers all of it.
#[wasm_bindgen(js_name = wipeStack)]
pub fn wipe_stack() {
    burn_stack::<STACK_WIPE_BYTES>();
}

/// [`wipe_stack`] for the handshake calls (`VisitorHandshake.start`/`finish`,
/// `AgentIdentity.accept`), which go deeper.
#[wasm_bindgen(js_name = wipeStackDeep)]
pub fn wipe_stack_deep() {
    burn_stack::<STACK_WIPE_DEEP_BYTES>();
}

#[inline(never)]
fn burn_stack<const N: usize>() {
    let mut buf = [0u8; N];
    // The optimiser must treat the buffer as read, so the zeroing is not removed as dead.
    core::hint::black_box(&mut buf);
}
