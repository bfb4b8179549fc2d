// hushwire: the hand-written wrapper over the wasm-bindgen glue (./hushwire.js).
//
// Every public call goes through `guard`, which
//   * throws HushwireError NOT_INITIALIZED before `init()` has finished,
//   * turns the Rust layer's errors into HushwireError with the core's stable code,
//   * marks the instance unusable (INSTANCE_POISONED) if the WebAssembly instance ever traps
//     or the glue fails in an unexpected way, so no later call runs on a broken heap, and
//     zeroes its whole linear memory at that moment (every object's secrets at once).
// This file imports no Node builtins: it is the browser / worker / bundler entry.
import * as wasmGlue from './hushwire.js';
import { backstop } from './finalize.js';

import { HushwireError } from './error.js';
import { verifiedModule } from './integrity.js';

export { HushwireError };

const UNINIT = 0;
const READY = 1;
const POISONED = 2;
let state = UNINIT;
let initPromise = null;
let poisonCause = null;
let memory = null; // the instance's WebAssembly.Memory, kept only to wipe it on poisoning
// The wasm-bindgen glue in use: the WebAssembly build's, or (when the page forbids compiling
// WebAssembly) the same module compiled to JavaScript by wasm2js (./hushwire_nowasm.js).
let glue = wasmGlue;

function notReady() {
  if (state === POISONED) {
    return new HushwireError(
      'INSTANCE_POISONED',
      'the hushwire WebAssembly instance trapped earlier and can no longer be used; reload it',
      { cause: poisonCause },
    );
  }
  return new HushwireError(
    'NOT_INITIALIZED',
    'hushwire is not initialised: await init() before using it',
  );
}

// The message of each code; the Rust layer sends only `CODE` or `CODE:fixed detail`.
const MESSAGES = {
  MALFORMED: 'malformed input',
  BAD_CERTIFICATE: 'agent certificate is invalid',
  CERTIFICATE_EXPIRED: 'agent certificate has expired',
  CERTIFICATE_NOT_YET_VALID: 'agent certificate is not yet valid',
  CERTIFICATE_KEY_MISMATCH: 'agent certificate is for a different key',
  WRONG_ORGANIZATION: 'message is for a different organisation',
  HANDSHAKE_FAILED: 'handshake failed',
  WEAK_KEY: 'peer public key is weak (low order)',
  WRONG_SESSION: 'message belongs to another session',
  REFLECTED: 'message was sent by this side (reflected)',
  REPLAY: 'message was already received (replay) or is too old',
  TOO_FAR_AHEAD: 'message is too far ahead of the last one received',
  TAMPERED: 'message failed authentication (tampered or forged)',
  MESSAGE_TOO_LARGE: 'message is too large',
  SESSION_EXHAUSTED: 'session has sent its maximum number of messages',
  EXPORT_AUTHENTICATION: 'export could not be opened (wrong storage key or tampered)',
  INVALID_ARGUMENT: 'invalid argument',
  RANDOMNESS_UNAVAILABLE: 'secure randomness is unavailable',
  ATTACHMENT_CORRUPTED: 'attachment is truncated or corrupted',
  DOWNGRADE: 'message of another protocol version than its session (downgrade refused)',
  NOT_A_MEMBER: 'not a member of the conversation',
  ROSTER_FORBIDDEN: 'not allowed by the conversation roster',
  ROSTER_CONFLICT: 'roster event conflicts with the current roster',
  CONVERSATION_FULL: 'conversation is full',
};

function coded(code, detail) {
  const base = MESSAGES[code] ?? 'operation failed';
  return new HushwireError(code, detail ? `${base}: ${detail}` : base);
}

function convert(e) {
  if (e instanceof HushwireError) return e;
  // Only the Rust layer throws strings: `CODE` or `CODE:detail`.
  if (typeof e === 'string' && /^[A-Z_]+(:|$)/.test(e)) {
    const i = e.indexOf(':');
    return i < 0 ? coded(e) : coded(e.slice(0, i), e.slice(i + 1));
  }
  // A trap (WebAssembly.RuntimeError) or anything unexpected from the glue: the instance's
  // memory may be inconsistent. Fail closed from now on.
  poison(e);
  return notReady();
}

// No call ever enters the instance again, and its allocator may be mid-update, so freeing
// objects one by one is not safe; zeroing all of its memory wipes every secret it held.
function poison(cause) {
  state = POISONED;
  poisonCause = cause;
  if (memory !== null) new Uint8Array(memory.buffer).fill(0);
}

// `deep`: the call was a handshake step, whose ML-KEM code uses more stack (src/lib.rs).
function guard(fn, deep = false) {
  if (state !== READY) throw notReady();
  try {
    return fn();
  } catch (e) {
    throw convert(e);
  } finally {
    // Zero what the call left on the wasm stack (see wipeStack in src/lib.rs).
    if (state === READY) {
      try {
        if (deep) glue.wipeStackDeep();
        else glue.wipeStack();
      } catch (e) {
        poison(e);
      }
    }
  }
}

// Argument errors found in JS; before init (or once poisoned) that state is reported instead.
function invalid(message) {
  if (state !== READY) return notReady();
  return new HushwireError('INVALID_ARGUMENT', `invalid argument: ${message}`);
}

function bytes(value, what) {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw invalid(`${what} must be a Uint8Array`);
}

function string(value, what) {
  if (typeof value !== 'string') throw invalid(`${what} must be a string`);
  return value;
}

function seconds(value, what) {
  if (typeof value === 'bigint') {
    if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(`${what} out of range`);
    return Number(value);
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(`${what} must be a non-negative integer number of Unix seconds`);
  }
  return value;
}

// A count (a limit, not a time): a non-negative safe integer.
function count(value, what) {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(`${what} must be a non-negative integer`);
  }
  return value;
}

// Inputs far beyond any valid message are refused before they are copied into WebAssembly
// memory, so a hostile relay cannot make the instance run out of memory (and trap). Largest
// valid inputs: an envelope ~64 KiB; a session export with 20 000 stored keys < 1 MiB of text.
const MAX_WIRE_BYTES = 1 << 20;
const MAX_TEXT_CHARS = 4 << 20;
function bounded(value) {
  if (value.length > (typeof value === 'string' ? MAX_TEXT_CHARS : MAX_WIRE_BYTES)) {
    if (state !== READY) throw notReady();
    throw new HushwireError('MALFORMED', 'malformed input: input is too long');
  }
  return value;
}

const encoder = new TextEncoder();

function utf8(value, what) {
  return encoder.encode(string(value, what));
}

// Unpadded base64url (RFC 4648 §5), the text form of every wire value. Decoding is as strict
// as the Rust core's: no padding, no other alphabet, no non-zero trailing bits, surrounding
// whitespace (Rust's `str::trim` set) ignored. Anything else is MALFORMED.
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64_INDEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64_INDEX[B64.charCodeAt(i)] = i;
const TRIM = /^[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

function toBase64(bytes) {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + B64[n & 63];
  }
  if (i + 1 === bytes.length) {
    out += B64[bytes[i] >> 2] + B64[(bytes[i] & 3) << 4];
  } else if (i + 2 === bytes.length) {
    const n = (bytes[i] << 8) | bytes[i + 1];
    out += B64[n >> 10] + B64[(n >> 4) & 63] + B64[(n & 15) << 2];
  }
  return out;
}

function fromBase64(text) {
  const t = bounded(text).replace(TRIM, '');
  const bad = () => coded('MALFORMED', 'invalid base64url text');
  if (t.length % 4 === 1) throw bad();
  const out = new Uint8Array(Math.floor((t.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    const v = c < 128 ? B64_INDEX[c] : -1;
    if (v < 0) throw bad();
    acc = ((acc << 6) | v) & 0xfff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) throw bad(); // non-canonical trailing bits
  return out;
}

// A wire value given as base64url text or bytes.
function wire(value, what) {
  if (state !== READY) throw notReady();
  return typeof value === 'string' ? fromBase64(value) : bounded(bytes(value, what));
}

const disposeSymbol = typeof Symbol.dispose === 'symbol' ? Symbol.dispose : Symbol.for('Symbol.dispose');

// Base of every class: owns one glue object; `free()` releases its Rust memory (zeroising
// secrets: the Rust allocator wipes every block it frees); using it afterwards throws
// OBJECT_FREED. Once the instance is poisoned its memory is already zero, so `free()` only
// detaches the glue object (no call into the broken instance, no later finaliser call).
//
// The glue object is held in a private field and reached only through `raw()` (module
// scope): applications never see it, so they cannot call into the glue unguarded (where
// errors are bare strings and a trap would not poison the instance).
let raw;
// Free one glue object: through the instance while it is usable, else only detach it.
function release(inner) {
  if (state === READY) guard(() => inner.free());
  else inner.__destroy_into_raw();
}
const { track, untrack } = backstop(release);
class Owned {
  #inner;
  constructor(inner) {
    this.#inner = inner;
    track(this, inner);
  }
  static {
    raw = (owner) => {
      const inner = owner.#inner;
      if (inner === null) {
        throw new HushwireError('OBJECT_FREED', `this ${owner.constructor.name} has been freed`);
      }
      return inner;
    };
  }
  free() {
    const inner = this.#inner;
    this.#inner = null;
    if (inner === null) return;
    untrack(this);
    release(inner);
  }
  [disposeSymbol]() {
    this.free();
  }
}

function fromInner(Class, inner) {
  return new Class(TOKEN, inner);
}
const TOKEN = Symbol('hushwire-internal');
function checkToken(token) {
  if (token !== TOKEN) {
    throw new TypeError('use the static factory methods (generate, start, create, importState, ...)');
  }
}

// Sealed exports (sessions and agent identities): base64url text of the core's binary export.
function exportState(owner, storageKey) {
  const k = bytes(storageKey, 'storageKey');
  return guard(() => toBase64(raw(owner).exportState(k)));
}

function importState(Class, GlueClass, exported, storageKey) {
  const s = wire(string(exported, 'exported'), 'exported');
  const k = bytes(storageKey, 'storageKey');
  return guard(() => fromInner(Class, GlueClass.importState(s, k)));
}

/** An agent device's X25519 key. */
export class AgentKey extends Owned {
  constructor(token, inner) {
    checkToken(token);
    super(inner);
  }
  static generate() {
    return guard(() => fromInner(AgentKey, glue.AgentKey.generate()));
  }
  static fromSecretBytes(secret) {
    const s = bytes(secret, 'secret');
    return guard(() => fromInner(AgentKey, glue.AgentKey.fromSecretBytes(s)));
  }
  secretBytes() {
    return guard(() => raw(this).secretBytes());
  }
  get publicKey() {
    return guard(() => raw(this).publicKey());
  }
}

/** An agent device's key with its organisation certificate. */
export class AgentIdentity extends Owned {
  constructor(token, inner) {
    checkToken(token);
    super(inner);
  }
  static create(agentKey, certificate, orgPublicKey) {
    if (!(agentKey instanceof AgentKey)) throw invalid('agentKey must be an AgentKey');
    const cert = wire(certificate, 'certificate');
    const org = wire(orgPublicKey, 'orgPublicKey');
    return guard(() => fromInner(AgentIdentity, glue.AgentIdentity.create(raw(agentKey), cert, org)));
  }
  accept(hello) {
    const h = wire(hello, 'hello');
    return guard(() => {
      const accepted = raw(this).accept(h);
      try {
        return { session: fromInner(Session, accepted.takeSession()), reply: toBase64(accepted.reply) };
      } finally {
        accepted.free();
      }
    }, true);
  }
  get agentId() {
    return guard(() => raw(this).agentId);
  }
  get deviceId() {
    return guard(() => raw(this).deviceId);
  }
  exportState(storageKey) {
    return exportState(this, storageKey);
  }
  static importState(exported, storageKey) {
    return importState(AgentIdentity, glue.AgentIdentity, exported, storageKey);
  }
}

/** The visitor's half-open handshake. */
export class VisitorHandshake extends Owned {
  constructor(token, inner) {
    checkToken(token);
    super(inner);
  }
  static start(orgPublicKey, options = {}) {
    const org = wire(string(orgPublicKey, 'orgPublicKey'), 'orgPublicKey');
    const version = options?.version ?? 2;
    if (version !== 1 && version !== 2) throw invalid('version must be 1 or 2');
    return guard(() => {
      const handshake = fromInner(VisitorHandshake, glue.VisitorHandshake.startWithVersion(org, version));
      return { handshake, hello: toBase64(raw(handshake).hello) };
    }, true);
  }
  get sessionId() {
    return guard(() => raw(this).sessionId);
  }
  finish(reply, now = Math.floor(Date.now() / 1000)) {
    const t = seconds(now, 'now');
    const r = wire(reply, 'reply');
    return guard(() => fromInner(Session, raw(this).finish(r, t)), true);
  }
}

/** An established session. */
export class Session extends Owned {
  constructor(token, inner) {
    checkToken(token);
    super(inner);
  }
  seal(plaintext) {
    const p = bytes(plaintext, 'plaintext');
    return guard(() => raw(this).seal(p));
  }
  sealText(text) {
    const p = utf8(text, 'text');
    try {
      return guard(() => toBase64(raw(this).seal(p)));
    } finally {
      p.fill(0); // the UTF-8 copy made here; the string itself cannot be wiped
    }
  }
  open(envelope) {
    const e = wire(envelope, 'envelope');
    return guard(() => raw(this).open(e));
  }
  openText(envelope) {
    // The core checks UTF-8 before committing: a message that is not text is refused
    // (MALFORMED) without being consumed, so `open` can still read it.
    const e = wire(envelope, 'envelope');
    return guard(() => raw(this).openText(e));
  }
  get safetyCode() {
    return guard(() => raw(this).safetyCode);
  }
  get sessionId() {
    return guard(() => raw(this).sessionId);
  }
  get role() {
    return guard(() => raw(this).role);
  }
  get agentId() {
    return guard(() => raw(this).agentId);
  }
  get deviceId() {
    return guard(() => raw(this).deviceId);
  }
  get config() {
    return guard(() => {
      const s = raw(this);
      return { maxSkip: s.maxSkip, maxStoredSkipped: s.maxStoredSkipped };
    });
  }
  setConfig(config) {
    if (config === null || typeof config !== 'object') {
      throw invalid('setConfig takes an object { maxSkip?, maxStoredSkipped? }');
    }
    const { maxSkip, maxStoredSkipped } = config;
    if (maxSkip === undefined && maxStoredSkipped === undefined) {
      throw invalid('setConfig needs maxSkip or maxStoredSkipped');
    }
    // A limit left out keeps its current value.
    const a = maxSkip === undefined ? undefined : count(maxSkip, 'maxSkip');
    const b = maxStoredSkipped === undefined ? undefined : count(maxStoredSkipped, 'maxStoredSkipped');
    guard(() => {
      const s = raw(this);
      s.setConfig(a ?? s.maxSkip, b ?? s.maxStoredSkipped);
    });
  }
  exportState(storageKey) {
    return exportState(this, storageKey);
  }
  static importState(exported, storageKey) {
    return importState(Session, glue.Session, exported, storageKey);
  }
}

/** 32 random bytes for `exportState` / `importState`. */
export function generateStorageKey() {
  return guard(() => glue.generateStorageKey());
}

/** Whether `init()` has completed and the instance is usable. */
export function isInitialized() {
  return state === READY;
}

/**
 * Load and instantiate the WebAssembly module. Call once and await it before anything else;
 * later calls return the same promise. `input`: a URL or path string, URL, Request, Response,
 * BufferSource (the .wasm bytes), WebAssembly.Module, or a promise of one. Without it the
 * .wasm next to this file is fetched (Node's entry reads it from disk instead).
 */
export function init(input) {
  if (state === POISONED || initPromise !== null) {
    // The input is not used: a rejected promise of one must not surface as unhandled.
    if (typeof input?.then === 'function') Promise.resolve(input).catch(() => {});
    if (state === POISONED) return Promise.reject(notReady());
  }
  if (initPromise === null) {
    initPromise = (async () => {
      let source;
      try {
        source = await input;
      } catch (e) {
        // A rejected input (a .wasm that could not be read or fetched) is reported, not rethrown raw.
        throw new HushwireError('INIT_FAILED', `could not load the hushwire module: ${e?.message ?? e}`, { cause: e });
      }
      if (
        source !== undefined &&
        !(typeof WebAssembly === 'object' && source instanceof WebAssembly.Module) &&
        !isFetchable(source) &&
        !(source instanceof ArrayBuffer || ArrayBuffer.isView(source))
      ) {
        throw new HushwireError('INVALID_ARGUMENT', 'invalid argument: init() takes a URL, Request, Response, bytes or a WebAssembly.Module');
      }
      // The JavaScript build has no .wasm to fetch or check.
      const module = glue.isJavaScriptBuild === true ? undefined : await verifiedModule(source);
      let exports;
      try {
        exports = await glue.default(module === undefined ? undefined : { module_or_path: module });
      } catch (e) {
        if (!wasmForbidden(e)) {
          throw new HushwireError('INIT_FAILED', `could not instantiate the hushwire module: ${e?.message ?? e}`, { cause: e });
        }
        // The page's Content-Security-Policy (no 'wasm-unsafe-eval') or the browser (WebAssembly
        // disabled) forbids WebAssembly: load the same module compiled to JavaScript instead
        // (about 100 KB gzipped more, several times slower; see README.md, "Pages that forbid
        // WebAssembly"). Kept external so bundlers make it a chunk loaded only then.
        try {
          const alt = await import('./hushwire_nowasm.js');
          exports = await alt.default();
          glue = alt;
        } catch (e2) {
          throw new HushwireError('INIT_FAILED', `WebAssembly is forbidden here and the JavaScript build could not be loaded: ${e2?.message ?? e2}`, { cause: e });
        }
      }
      memory = exports.memory;
      state = READY;
    })();
    initPromise.catch(() => {
      initPromise = null; // allow a retry with another input
    });
  }
  return initPromise;
}

// A failure that says WebAssembly may not be compiled here (not that the module is bad): CSP
// without 'wasm-unsafe-eval', or no WebAssembly at all (disabled by policy, Lockdown Mode).
// Browsers word and type it differently: Chromium a CompileError "Refused to compile or
// instantiate WebAssembly module because 'unsafe-eval' is not an allowed source...", Firefox
// "call to WebAssembly.instantiateStreaming() blocked by CSP", Safari "Refused to create a
// WebAssembly object because 'unsafe-eval' or 'wasm-unsafe-eval' is not an allowed source".
function wasmForbidden(e) {
  if (typeof WebAssembly !== 'object') return true;
  return /blocked by CSP|Content.Security.Policy|unsafe-eval|Refused to (compile|create)/i.test(String(e?.message ?? ''));
}

/** Which build runs: 'wasm', 'javascript' (wasm2js, where WebAssembly is forbidden), or null before init. */
export function backend() {
  if (state !== READY) return null;
  return glue.isJavaScriptBuild === true ? 'javascript' : 'wasm';
}

function isFetchable(v) {
  return (
    typeof v === 'string' ||
    v instanceof URL ||
    (typeof Request === 'function' && v instanceof Request) ||
    (typeof Response === 'function' && v instanceof Response)
  );
}

// ---------------------------------------------------------------------------------------
// Storage key vault (browsers): a random 32-byte storage key, kept in IndexedDB encrypted by
// a non-extractable AES-GCM CryptoKey that is itself stored in IndexedDB (structured clone
// keeps it non-extractable). Script on the origin can still *use* the key while it runs, but
// cannot read its bytes, so a copied database is useless without this browser profile.
// ---------------------------------------------------------------------------------------

// Every IndexedDB or WebCrypto failure (no database access, a blocked or aborted
// transaction, quota, a store of another layout, a record that no longer decrypts) is a
// HushwireError STORAGE_UNAVAILABLE, with the browser's error as `cause`.
function storageError(what, cause) {
  return new HushwireError('STORAGE_UNAVAILABLE', `storage key vault: ${what} failed`, { cause });
}

async function attempt(what, fn) {
  try {
    return await fn();
  } catch (e) {
    throw e instanceof HushwireError ? e : storageError(what, e);
  }
}

// One request in its own transaction. Resolves with the request's result only once the
// transaction has committed (`complete`): a write that resolved can no longer be rolled back.
function transact(db, storeName, mode, request) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(storeName, mode);
    const req = request(tx.objectStore(storeName));
    tx.oncomplete = () => resolve(req.result);
    tx.onabort = () => reject(tx.error ?? req.error ?? new DOMException('transaction aborted', 'AbortError'));
  });
}

function request(open) {
  return new Promise((resolve, reject) => {
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
    open.onblocked = () => {}; // waits: other connections close on `versionchange`
  });
}

// A connection to `databaseName` that has `storeName`: the current version if it has the
// store, else one version up, creating it. Two tabs racing to add the same store: the loser's
// upgrade finds it present and leaves it.
async function openStore(databaseName, storeName) {
  const withStore = (open) => {
    open.onupgradeneeded = () => {
      if (!open.result.objectStoreNames.contains(storeName)) open.result.createObjectStore(storeName);
    };
    return request(open);
  };
  for (;;) {
    // A database that does not exist yet is created here (at version 1) with the store.
    const c = await withStore(indexedDB.open(databaseName));
    if (c.objectStoreNames.contains(storeName)) return c;
    const version = c.version + 1;
    c.close();
    try {
      return await withStore(indexedDB.open(databaseName, version));
    } catch (e) {
      // Another tab upgraded past `version` first (VersionError): look again.
      if (e?.name !== 'VersionError') throw e;
    }
  }
}

/**
 * Open (or create) a storage-key vault in IndexedDB. Needs `indexedDB` and `crypto.subtle`
 * (browsers and workers; INVALID_ARGUMENT without them); does not need `init()`. Every other
 * failure is STORAGE_UNAVAILABLE.
 */
export async function createStorageKeyVault({
  databaseName = 'hushwire',
  storeName = 'storage-keys',
  keyName = 'default',
} = {}) {
  if (typeof indexedDB === 'undefined' || !globalThis.crypto?.subtle) {
    throw new HushwireError('INVALID_ARGUMENT', 'invalid argument: createStorageKeyVault needs indexedDB and crypto.subtle');
  }
  // The connection is opened on demand and dropped when another connection needs a new
  // version (a vault opening another store in the same database adds it by an upgrade), so
  // several vaults, in one tab or many, share a database without blocking each other.
  let db = null;
  const connect = () => {
    if (db === null) db = openStore(databaseName, storeName).then((c) => {
      c.onversionchange = () => {
        c.close();
        db = null;
      };
      c.onclose = () => {
        db = null;
      };
      return c;
    }, (e) => {
      db = null;
      throw e;
    });
    return db;
  };
  await attempt('opening the database', connect);
  const run = (mode, request) => connect().then((c) => transact(c, storeName, mode, request));
  const read = () => attempt('reading the key', () => run('readonly', (s) => s.get(keyName)));
  const unwrap = (record) => attempt('decrypting the key', async () => {
    const key = new Uint8Array(
      await crypto.subtle.decrypt({ name: 'AES-GCM', iv: record.iv }, record.wrappingKey, record.ciphertext),
    );
    if (key.length !== 32) {
      key.fill(0);
      throw new DOMException('the stored key is not 32 bytes', 'DataError');
    }
    return key;
  });
  return {
    /**
     * The stored key's 32 bytes, creating and storing a fresh one the first time. Resolves
     * only once the new key's transaction has committed.
     */
    async getOrCreate() {
      const existing = await read();
      if (existing) return unwrap(existing);
      const key = new Uint8Array(32);
      try {
        const record = await attempt('wrapping a new key', async () => {
          const wrappingKey = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, [
            'encrypt',
            'decrypt',
          ]);
          crypto.getRandomValues(key);
          const iv = crypto.getRandomValues(new Uint8Array(12));
          return { wrappingKey, iv, ciphertext: await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, wrappingKey, key) };
        });
        await run('readwrite', (s) => s.add(record, keyName));
        return key;
      } catch (e) {
        key.fill(0);
        if (e?.name !== 'ConstraintError') throw e instanceof HushwireError ? e : storageError('storing a new key', e);
        // Another tab stored its key first: use that one.
        return unwrap(await read());
      }
    },
    /**
     * The stored key's 32 bytes, or null if there is none (never creates one): tells a first
     * visit from storage the browser has cleared.
     */
    async get() {
      const existing = await read();
      return existing ? unwrap(existing) : null;
    },
    /** Delete the stored key (exports sealed under it become unreadable); resolves once committed. */
    async delete() {
      await attempt('deleting the key', () => run('readwrite', (s) => s.delete(keyName)));
    },
    /** Close the database connection (a later call opens it again). */
    close() {
      const pending = db;
      db = null;
      pending?.then((c) => c.close(), () => {});
    },
  };
}
