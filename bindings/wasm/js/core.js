// hushwire: the hand-written wrapper over the wasm-bindgen glue (./hushwire.js).
//
// Every public call goes through `guard`, which
//   * throws HushwireError NOT_INITIALIZED before `init()` has finished,
//   * turns the Rust layer's errors into HushwireError with the core's stable code,
//   * marks the instance unusable (INSTANCE_POISONED) if the WebAssembly instance ever traps
//     or the glue fails in an unexpected way, so no later call runs on a broken heap.
// This file imports no Node builtins: it is the browser / worker / bundler entry.
import initGlue, * as glue from './hushwire.js';

/** The error type of every failure; `code` is stable (see README.md). */
export class HushwireError extends Error {
  constructor(code, message, options) {
    super(message, options);
    this.name = 'HushwireError';
    this.code = code;
  }
}

const UNINIT = 0;
const READY = 1;
const POISONED = 2;
let state = UNINIT;
let initPromise = null;
let poisonCause = null;

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

function convert(e) {
  if (e instanceof HushwireError) return e;
  if (
    e !== null &&
    typeof e === 'object' &&
    e.name === 'HushwireError' &&
    typeof e.code === 'string' &&
    !(e instanceof WebAssembly.RuntimeError)
  ) {
    return new HushwireError(e.code, e.message);
  }
  // A trap (WebAssembly.RuntimeError) or anything unexpected from the glue: the instance's
  // memory may be inconsistent. Fail closed from now on.
  state = POISONED;
  poisonCause = e;
  return notReady();
}

function guard(fn) {
  if (state !== READY) throw notReady();
  try {
    return fn();
  } catch (e) {
    throw convert(e);
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
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function utf8(value, what) {
  return encoder.encode(string(value, what));
}

const disposeSymbol = typeof Symbol.dispose === 'symbol' ? Symbol.dispose : Symbol.for('Symbol.dispose');

// Base of every class: owns one glue object; `free()` releases its Rust memory (zeroising
// secrets); using it afterwards throws OBJECT_FREED.
class Owned {
  #inner;
  constructor(inner) {
    this.#inner = inner;
  }
  /** @internal */
  get _inner() {
    if (this.#inner === null) {
      throw new HushwireError('OBJECT_FREED', `this ${this.constructor.name} has been freed`);
    }
    return this.#inner;
  }
  free() {
    const inner = this.#inner;
    this.#inner = null;
    if (inner !== null && state === READY) guard(() => inner.free());
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

/** An organisation's Ed25519 signing key (certifies agent devices). */
export class OrgSigningKey extends Owned {
  constructor(token, inner) {
    checkToken(token);
    super(inner);
  }
  static generate() {
    return guard(() => fromInner(OrgSigningKey, glue.OrgSigningKey.generate()));
  }
  static fromSecretBytes(seed) {
    const s = bytes(seed, 'seed');
    return guard(() => fromInner(OrgSigningKey, glue.OrgSigningKey.fromSecretBytes(s)));
  }
  secretBytes() {
    return guard(() => this._inner.secretBytes());
  }
  get publicKey() {
    return guard(() => this._inner.publicKey());
  }
  certifyAgent(agentPublicKey, agentId, deviceId, notBefore, notAfter) {
    const pk = bytes(agentPublicKey, 'agentPublicKey');
    const a = string(agentId, 'agentId');
    const d = string(deviceId, 'deviceId');
    const nb = seconds(notBefore, 'notBefore');
    const na = seconds(notAfter, 'notAfter');
    return guard(() => this._inner.certifyAgent(pk, a, d, nb, na));
  }
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
    return guard(() => this._inner.secretBytes());
  }
  get publicKey() {
    return guard(() => this._inner.publicKey());
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
    const cert = bounded(bytes(certificate, 'certificate'));
    const org = bounded(string(orgPublicKey, 'orgPublicKey'));
    return guard(() => fromInner(AgentIdentity, glue.AgentIdentity.create(agentKey._inner, cert, org)));
  }
  accept(hello) {
    return guard(() => {
      const inner = this._inner;
      const accepted =
        typeof hello === 'string'
          ? inner.acceptText(bounded(hello))
          : inner.acceptBytes(bounded(bytes(hello, 'hello')));
      try {
        return { session: fromInner(Session, accepted.takeSession()), reply: accepted.reply };
      } finally {
        accepted.free();
      }
    });
  }
  get agentId() {
    return guard(() => this._inner.agentId);
  }
  get deviceId() {
    return guard(() => this._inner.deviceId);
  }
  exportState(storageKey) {
    const k = bytes(storageKey, 'storageKey');
    return guard(() => this._inner.exportState(k));
  }
  static importState(exported, storageKey) {
    const s = bounded(string(exported, 'exported'));
    const k = bytes(storageKey, 'storageKey');
    return guard(() => fromInner(AgentIdentity, glue.AgentIdentity.importState(s, k)));
  }
}

/** The visitor's half-open handshake. */
export class VisitorHandshake extends Owned {
  constructor(token, inner) {
    checkToken(token);
    super(inner);
  }
  static start(orgPublicKey) {
    const org = bounded(string(orgPublicKey, 'orgPublicKey'));
    return guard(() => {
      const handshake = fromInner(VisitorHandshake, glue.VisitorHandshake.start(org));
      return { handshake, hello: handshake._inner.hello };
    });
  }
  get sessionId() {
    return guard(() => this._inner.sessionId);
  }
  finish(reply, now = Math.floor(Date.now() / 1000)) {
    const t = seconds(now, 'now');
    reply = bounded(typeof reply === 'string' ? reply : bytes(reply, 'reply'));
    return guard(() => {
      const inner = this._inner;
      const session = typeof reply === 'string' ? inner.finishText(reply, t) : inner.finishBytes(reply, t);
      return fromInner(Session, session);
    });
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
    return guard(() => this._inner.seal(p));
  }
  sealText(text) {
    const p = utf8(text, 'text');
    return guard(() => this._inner.sealText(p));
  }
  open(envelope) {
    if (typeof envelope === 'string') {
      bounded(envelope);
      return guard(() => this._inner.openText(envelope));
    }
    const e = bounded(bytes(envelope, 'envelope'));
    return guard(() => this._inner.openBytes(e));
  }
  openText(envelope) {
    const plain = this.open(envelope);
    try {
      return decoder.decode(plain);
    } catch {
      throw new HushwireError('MALFORMED', 'malformed input: the message is not valid UTF-8 text');
    }
  }
  get safetyCode() {
    return guard(() => this._inner.safetyCode);
  }
  get sessionId() {
    return guard(() => this._inner.sessionId);
  }
  get role() {
    return guard(() => this._inner.role);
  }
  get agentId() {
    return guard(() => this._inner.agentId);
  }
  get deviceId() {
    return guard(() => this._inner.deviceId);
  }
  setConfig({ maxSkip, maxStoredSkipped }) {
    const a = seconds(maxSkip, 'maxSkip');
    const b = seconds(maxStoredSkipped, 'maxStoredSkipped');
    guard(() => this._inner.setConfig(a, b));
  }
  exportState(storageKey) {
    const k = bytes(storageKey, 'storageKey');
    return guard(() => this._inner.exportState(k));
  }
  static importState(exported, storageKey) {
    const s = bounded(string(exported, 'exported'));
    const k = bytes(storageKey, 'storageKey');
    return guard(() => fromInner(Session, glue.Session.importState(s, k)));
  }
}

/** 32 random bytes for `exportState` / `importState`. */
export function generateStorageKey() {
  return guard(() => glue.generateStorageKey());
}

/** Conformance testing only: the files of docs/vectors/ recomputed by this build. */
export function regenerateVectors() {
  return guard(() => {
    const out = glue.regenerateVectors();
    return Object.assign({}, out);
  });
}

/** @internal Testing only: makes the instance trap, to test INSTANCE_POISONED. */
export function _trapForTesting() {
  return guard(() => glue.trapForTesting());
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
  if (state === POISONED) return Promise.reject(notReady());
  if (initPromise === null) {
    initPromise = (async () => {
      const source = await input;
      if (
        source !== undefined &&
        !(source instanceof WebAssembly.Module) &&
        !isFetchable(source) &&
        !(source instanceof ArrayBuffer || ArrayBuffer.isView(source))
      ) {
        throw new HushwireError('INVALID_ARGUMENT', 'invalid argument: init() takes a URL, Request, Response, bytes or a WebAssembly.Module');
      }
      try {
        await initGlue(source === undefined ? undefined : { module_or_path: source });
      } catch (e) {
        throw new HushwireError('INIT_FAILED', `could not instantiate the hushwire module: ${e?.message ?? e}`, { cause: e });
      }
      state = READY;
    })();
    initPromise.catch(() => {
      initPromise = null; // allow a retry with another input
    });
  }
  return initPromise;
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

function idbRequest(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/**
 * Open (or create) a storage-key vault in IndexedDB. Needs `indexedDB` and `crypto.subtle`
 * (browsers and workers); does not need `init()`.
 */
export async function createStorageKeyVault({
  databaseName = 'hushwire',
  storeName = 'storage-keys',
  keyName = 'default',
} = {}) {
  if (typeof indexedDB === 'undefined' || !globalThis.crypto?.subtle) {
    throw new HushwireError('INVALID_ARGUMENT', 'invalid argument: createStorageKeyVault needs indexedDB and crypto.subtle');
  }
  const open = indexedDB.open(databaseName, 1);
  open.onupgradeneeded = () => open.result.createObjectStore(storeName);
  const db = await idbRequest(open);
  const tx = (mode) => db.transaction(storeName, mode).objectStore(storeName);
  const unwrap = async (record) =>
    new Uint8Array(
      await crypto.subtle.decrypt({ name: 'AES-GCM', iv: record.iv }, record.wrappingKey, record.ciphertext),
    );
  return {
    /** The stored key's 32 bytes, creating and storing a fresh one the first time. */
    async getOrCreate() {
      const existing = await idbRequest(tx('readonly').get(keyName));
      if (existing) return unwrap(existing);
      const wrappingKey = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, [
        'encrypt',
        'decrypt',
      ]);
      const key = crypto.getRandomValues(new Uint8Array(32));
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const ciphertext = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, wrappingKey, key);
      try {
        await idbRequest(tx('readwrite').add({ wrappingKey, iv, ciphertext }, keyName));
        return key;
      } catch {
        key.fill(0); // another tab won the race: use its key
        return unwrap(await idbRequest(tx('readonly').get(keyName)));
      }
    },
    /** Delete the stored key (exports sealed under it become unreadable). */
    async delete() {
      await idbRequest(tx('readwrite').delete(keyName));
    },
    /** Close the database connection. */
    close() {
      db.close();
    },
  };
}
