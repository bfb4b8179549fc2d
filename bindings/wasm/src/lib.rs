//! WebAssembly bindings of [`hushwire`], the raw layer of the npm package `hushwire`.
//!
//! JavaScript users do not call this layer directly: the package's hand-written wrapper
//! (`bindings/wasm/js/core.js`) checks initialisation, turns every failure into a
//! `HushwireError` with the core's stable [`hushwire::Error::code`], and marks the instance
//! unusable if it ever traps.
//!
//! Conventions of this layer:
//! * every fallible export returns `Result<_, JsValue>`; the error is a JS `Error` whose
//!   `name` is `"HushwireError"` and whose `code` property is the core's code (or
//!   `INVALID_ARGUMENT` for a bad number or key length given by the caller);
//! * handshake messages travel as base64url strings; envelopes as bytes or base64url;
//! * times are Unix seconds as JS numbers (integers up to 2^53 - 1);
//! * no export panics on any input: the core never panics, and this layer checks every
//!   conversion itself.
#![deny(missing_docs)]

use hushwire::{Envelope, Hello, Reply, Role, StorageKey};
use wasm_bindgen::prelude::*;

/// Turn a core error into a JS `Error` carrying the stable code. Messages hold no secrets.
fn to_js(e: hushwire::Error) -> JsValue {
    js_error(e.code(), &e.to_string())
}

fn js_error(code: &str, message: &str) -> JsValue {
    let err = js_sys::Error::new(message);
    err.set_name("HushwireError");
    // Setting a property on a fresh object cannot fail; ignore the Result regardless.
    let _ = js_sys::Reflect::set(&err, &JsValue::from_str("code"), &JsValue::from_str(code));
    err.into()
}

fn invalid(what: &str) -> JsValue {
    js_error("INVALID_ARGUMENT", &format!("invalid argument: {what}"))
}

/// A JS number holding Unix seconds: finite, integral, 0 ..= 2^53 - 1.
fn seconds(value: f64, what: &str) -> Result<u64, JsValue> {
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= 9_007_199_254_740_991.0 {
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

/// An organisation's Ed25519 signing key: certifies agent devices. Keep it offline.
#[wasm_bindgen(js_name = OrgSigningKey)]
pub struct WasmOrgSigningKey(hushwire::OrgSigningKey);

#[wasm_bindgen(js_class = OrgSigningKey)]
impl WasmOrgSigningKey {
    /// A fresh random key.
    pub fn generate() -> Result<WasmOrgSigningKey, JsValue> {
        hushwire::OrgSigningKey::generate().map(Self).map_err(to_js)
    }

    /// Rebuild from the 32-byte seed returned by `secretBytes`.
    #[wasm_bindgen(js_name = fromSecretBytes)]
    pub fn from_secret_bytes(seed: &[u8]) -> Result<WasmOrgSigningKey, JsValue> {
        let mut s = key32(seed, "org secret key must be 32 bytes")?;
        let key = hushwire::OrgSigningKey::from_secret_bytes(&s);
        s.iter_mut().for_each(|b| *b = 0);
        Ok(Self(key))
    }

    /// The 32-byte secret seed.
    #[wasm_bindgen(js_name = secretBytes)]
    pub fn secret_bytes(&self) -> Vec<u8> {
        self.0.secret_bytes().to_vec()
    }

    /// The public key to pin in visitor widgets, as base64url text.
    #[wasm_bindgen(js_name = publicKey)]
    pub fn public_key(&self) -> String {
        self.0.public_key().to_string()
    }

    /// Certify an agent device's 32-byte public key; returns the certificate bytes.
    #[wasm_bindgen(js_name = certifyAgent)]
    pub fn certify_agent(
        &self,
        agent_public_key: &[u8],
        agent_id: &str,
        device_id: &str,
        not_before: f64,
        not_after: f64,
    ) -> Result<Vec<u8>, JsValue> {
        let pk = key32(agent_public_key, "agent public key must be 32 bytes")?;
        let nb = seconds(not_before, "notBefore")?;
        let na = seconds(not_after, "notAfter")?;
        self.0
            .certify_agent(&pk, agent_id, device_id, nb, na)
            .map(|c| c.to_bytes())
            .map_err(to_js)
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
    /// the organisation (`orgPublicKey` as base64url).
    pub fn create(
        key: &WasmAgentKey,
        certificate: &[u8],
        org_public_key: &str,
    ) -> Result<WasmAgentIdentity, JsValue> {
        let org: hushwire::OrgPublicKey = org_public_key.parse().map_err(to_js)?;
        let cert = hushwire::AgentCertificate::from_bytes(certificate).map_err(to_js)?;
        let key = hushwire::AgentKey::from_secret_bytes(&key.0.secret_bytes());
        hushwire::AgentIdentity::new(key, cert, &org)
            .map(Self)
            .map_err(to_js)
    }

    /// Accept a hello (base64url text) from a visitor.
    #[wasm_bindgen(js_name = acceptText)]
    pub fn accept_text(&self, hello: &str) -> Result<WasmAccepted, JsValue> {
        let hello: Hello = hello.parse().map_err(to_js)?;
        self.accept_hello(&hello)
    }

    /// Accept a hello (bytes) from a visitor.
    #[wasm_bindgen(js_name = acceptBytes)]
    pub fn accept_bytes(&self, hello: &[u8]) -> Result<WasmAccepted, JsValue> {
        let hello = Hello::from_bytes(hello).map_err(to_js)?;
        self.accept_hello(&hello)
    }

    fn accept_hello(&self, hello: &Hello) -> Result<WasmAccepted, JsValue> {
        let (session, reply) = self.0.accept(hello).map_err(to_js)?;
        Ok(WasmAccepted {
            session: Some(session),
            reply: reply.to_string(),
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
    pub fn export_state(&self, key: &[u8]) -> Result<String, JsValue> {
        self.0.export(&storage_key(key)?).map_err(to_js)
    }

    /// Open an identity sealed by `exportState`.
    #[wasm_bindgen(js_name = importState)]
    pub fn import_state(exported: &str, key: &[u8]) -> Result<WasmAgentIdentity, JsValue> {
        hushwire::AgentIdentity::import(exported, &storage_key(key)?)
            .map(Self)
            .map_err(to_js)
    }
}

/// The result of `AgentIdentity.accept`: the agent's session and the reply to send.
#[wasm_bindgen(js_name = Accepted)]
pub struct WasmAccepted {
    session: Option<hushwire::Session>,
    reply: String,
}

#[wasm_bindgen(js_class = Accepted)]
impl WasmAccepted {
    /// The reply for the visitor, base64url.
    #[wasm_bindgen(getter)]
    pub fn reply(&self) -> String {
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
    hello: String,
}

#[wasm_bindgen(js_class = VisitorHandshake)]
impl WasmVisitorHandshake {
    /// Start a handshake with an agent of the organisation whose key (base64url) is pinned.
    pub fn start(org_public_key: &str) -> Result<WasmVisitorHandshake, JsValue> {
        let org: hushwire::OrgPublicKey = org_public_key.parse().map_err(to_js)?;
        let (inner, hello) = hushwire::VisitorHandshake::start(&org).map_err(to_js)?;
        Ok(Self {
            inner,
            hello: hello.to_string(),
        })
    }

    /// The hello to send to the agent, base64url.
    #[wasm_bindgen(getter)]
    pub fn hello(&self) -> String {
        self.hello.clone()
    }

    /// The session id, 32 hex digits.
    #[wasm_bindgen(getter, js_name = sessionId)]
    pub fn session_id(&self) -> String {
        self.inner.session_id().to_string()
    }

    /// Finish with the agent's reply (base64url) at `now` Unix seconds.
    #[wasm_bindgen(js_name = finishText)]
    pub fn finish_text(&mut self, reply: &str, now: f64) -> Result<WasmSession, JsValue> {
        let now = seconds(now, "now")?;
        let reply: Reply = reply.parse().map_err(to_js)?;
        self.inner.finish_at(&reply, now).map(WasmSession).map_err(to_js)
    }

    /// Finish with the agent's reply (bytes) at `now` Unix seconds.
    #[wasm_bindgen(js_name = finishBytes)]
    pub fn finish_bytes(&mut self, reply: &[u8], now: f64) -> Result<WasmSession, JsValue> {
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
        self.0.seal(plaintext).map(|e| e.to_bytes()).map_err(to_js)
    }

    /// Seal a message; returns the envelope as base64url text.
    #[wasm_bindgen(js_name = sealText)]
    pub fn seal_text(&mut self, plaintext: &[u8]) -> Result<String, JsValue> {
        self.0.seal(plaintext).map(|e| e.to_string()).map_err(to_js)
    }

    /// Open an envelope given as bytes.
    #[wasm_bindgen(js_name = openBytes)]
    pub fn open_bytes(&mut self, envelope: &[u8]) -> Result<Vec<u8>, JsValue> {
        let env = Envelope::from_bytes(envelope).map_err(to_js)?;
        self.0.open(&env).map_err(to_js)
    }

    /// Open an envelope given as base64url text.
    #[wasm_bindgen(js_name = openText)]
    pub fn open_text(&mut self, envelope: &str) -> Result<Vec<u8>, JsValue> {
        let env: Envelope = envelope.parse().map_err(to_js)?;
        self.0.open(&env).map_err(to_js)
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
    pub fn export_state(&self, key: &[u8]) -> Result<String, JsValue> {
        self.0.export(&storage_key(key)?).map_err(to_js)
    }

    /// Open a session sealed by `exportState` (here or in any other binding).
    #[wasm_bindgen(js_name = importState)]
    pub fn import_state(exported: &str, key: &[u8]) -> Result<WasmSession, JsValue> {
        hushwire::Session::import(exported, &storage_key(key)?)
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

/// Conformance testing only: the files of `docs/vectors/`, recomputed by this build, as an
/// object mapping file name to JSON text.
#[wasm_bindgen(js_name = regenerateVectors)]
pub fn regenerate_vectors() -> js_sys::Object {
    let out = js_sys::Object::new();
    for (name, text) in hushwire::test_vectors::generate() {
        let _ = js_sys::Reflect::set(&out, &JsValue::from_str(name), &JsValue::from_str(&text));
    }
    out
}

/// Testing only: traps the instance (a deliberate `unreachable`), so tests can check that the
/// JS wrapper marks it unusable. Never needed by applications.
#[wasm_bindgen(js_name = trapForTesting)]
pub fn trap_for_testing() {
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
}
