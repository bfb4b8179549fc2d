/**
 * hushwire: end-to-end encryption for customer-engagement chat, compiled to WebAssembly.
 *
 * Await {@link init} once, then: the visitor's widget calls {@link VisitorHandshake.start},
 * the agent {@link AgentIdentity.accept}, the visitor {@link VisitorHandshake.finish}; both
 * sides then {@link Session.seal} and {@link Session.open} messages. The relay only ever sees
 * base64url handshake messages and envelopes.
 *
 * Every failure throws a {@link HushwireError} with a stable {@link HushwireError.code}.
 */

// `Symbol.dispose` (for `using`), declared the way TypeScript's own lib (esnext.disposable,
// TS >= 5.2) and @types/node declare it, so these types also compile where `lib` lacks it.
declare global {
  interface SymbolConstructor {
    readonly dispose: unique symbol;
  }
}

/** Stable error codes: the Rust core's `Error::code()` strings plus the JS-only ones. */
export type HushwireErrorCode =
  | 'MALFORMED'
  | 'BAD_CERTIFICATE'
  | 'CERTIFICATE_EXPIRED'
  | 'CERTIFICATE_NOT_YET_VALID'
  | 'CERTIFICATE_KEY_MISMATCH'
  | 'WRONG_ORGANIZATION'
  | 'HANDSHAKE_FAILED'
  | 'WEAK_KEY'
  | 'WRONG_SESSION'
  | 'REFLECTED'
  | 'REPLAY'
  | 'TOO_FAR_AHEAD'
  | 'TAMPERED'
  | 'MESSAGE_TOO_LARGE'
  | 'SESSION_EXHAUSTED'
  | 'EXPORT_AUTHENTICATION'
  | 'INVALID_ARGUMENT'
  | 'RANDOMNESS_UNAVAILABLE'
  | 'ATTACHMENT_CORRUPTED'
  | 'DOWNGRADE'
  | 'NOT_A_MEMBER'
  | 'ROSTER_FORBIDDEN'
  | 'ROSTER_CONFLICT'
  | 'CONVERSATION_FULL'
  /** JS only: a call was made before `init()` completed. */
  | 'NOT_INITIALIZED'
  /** JS only: the WebAssembly instance trapped earlier; reload the page / worker / process. */
  | 'INSTANCE_POISONED'
  /** JS only: the object was used after `free()` (or after `using` disposed it). */
  | 'OBJECT_FREED'
  /** JS only: `init()` could not fetch or instantiate the module. */
  | 'INIT_FAILED'
  /** JS only: the {@link StorageKeyVault}'s IndexedDB or WebCrypto operation failed (`cause` says why). */
  | 'STORAGE_UNAVAILABLE';

/** The error type of every failure in this package. Messages never contain secrets. */
export class HushwireError extends Error {
  /** Always `"HushwireError"`. */
  readonly name: 'HushwireError';
  /** Stable, upper-case code: react to this, not to the message. */
  readonly code: HushwireErrorCode;
  constructor(code: HushwireErrorCode, message: string, options?: { cause?: unknown });
}

// The instance type of a global class if this compilation declares it (DOM lib, @types/node),
// else `never`: these declarations then compile in Node-only projects (no DOM lib) and in
// browser projects alike, without either lib having to be present.
type GlobalInstance<K extends string> = typeof globalThis extends { [P in K]: { prototype: infer T } } ? T : never;
type WasmModule = typeof globalThis extends { WebAssembly: { Module: { prototype: infer T } } } ? T : never;

/**
 * What {@link init} accepts: where to get the .wasm, or the module itself. In Node a string
 * is a file path or a `file:`/`http(s):` URL; in browsers a URL (relative to the page).
 */
export type InitInput =
  | string
  | GlobalInstance<'URL'>
  | GlobalInstance<'Request'>
  | GlobalInstance<'Response'>
  | ArrayBuffer
  | ArrayBufferView
  | WasmModule;

/**
 * Load and instantiate the WebAssembly module. Await it once before any other call (no
 * top-level await is used). Later calls return the same promise; after a failure
 * (`INIT_FAILED`) it may be called again.
 *
 * Without `input`: browsers and workers fetch `hushwire_bg.wasm` next to the package's JS;
 * Node reads it from disk (and, on Node 18, installs `node:crypto`'s WebCrypto as
 * `globalThis.crypto` if it is missing). In Node a path or `file:` URL is read from disk.
 * Every failure to get or instantiate the module, including a rejected `input` promise or a
 * missing file, rejects with `INIT_FAILED` (the original error as `cause`).
 */
export function init(input?: InitInput | Promise<InitInput>): Promise<void>;

/** Whether {@link init} has completed and the instance is usable (not poisoned). */
export function isInitialized(): boolean;

/**
 * Which build runs: `'wasm'`, or `'javascript'` (the same module compiled to JavaScript by
 * wasm2js: the `hushwire/nowasm` entry, or the fallback {@link init} loads when the page's
 * Content-Security-Policy or the browser forbids WebAssembly). `null` before `init()`.
 */
export function backend(): 'wasm' | 'javascript' | null;

/**
 * Objects owning WebAssembly memory. Call `free()` (or `using`) to wipe secrets promptly.
 *
 * What is wiped: the module's allocator zeroes every block it frees and the wrapper zeroes
 * the stack after every call, so once an object is freed none of its keys remain in the
 * instance's memory, and no call leaves a copy of a storage key, agent secret or plaintext
 * behind. Byte arrays this package returns (`open`, `secretBytes`, `generateStorageKey`,
 * `getOrCreate`) are yours: `fill(0)` them when done. JavaScript strings (`sealText`'s input,
 * `openText`'s result) cannot be wiped by anyone; they live in the JS heap like any string.
 * If the instance is poisoned (`INSTANCE_POISONED`) its whole memory is zeroed at once, and
 * `free()` then only detaches the object.
 */
interface Owned {
  /** Release the object's memory now, zeroising key material. Later use throws `OBJECT_FREED`. Idempotent. */
  free(): void;
  /** Same as {@link free}, for `using` declarations. */
  [Symbol.dispose](): void;
}

/** An agent device's X25519 key. */
export class AgentKey implements Owned {
  private constructor();
  /** A fresh random key. */
  static generate(): AgentKey;
  /** Rebuild from the 32 bytes returned by {@link secretBytes}. */
  static fromSecretBytes(secret: Uint8Array): AgentKey;
  /** The 32 secret bytes. */
  secretBytes(): Uint8Array;
  /**
   * The 32-byte public key, for the organisation to certify. This package cannot sign:
   * certificates come from the organisation's offline tooling (`hushwire-agent certify
   * --public-key <base64url>`, or the Rust, Kotlin, Swift and Python libraries).
   */
  readonly publicKey: Uint8Array;
  free(): void;
  [Symbol.dispose](): void;
}

/** An agent device's key with its organisation certificate: accepts visitors. */
export class AgentIdentity implements Owned {
  private constructor();
  /**
   * Combine a key (copied; free yours when done) with its certificate, checking that the
   * certificate is for this key and signed by `orgPublicKey` (base64url text or 32 bytes).
   */
  static create(agentKey: AgentKey, certificate: Uint8Array | string, orgPublicKey: string | Uint8Array): AgentIdentity;
  /**
   * Accept a visitor's hello (base64url text or bytes). Returns this side's session, ready
   * to seal at once, and the reply (base64url) to send back through the relay.
   */
  accept(hello: string | Uint8Array): { session: Session; reply: string };
  /** The certified agent id. */
  readonly agentId: string;
  /** The certified device id. */
  readonly deviceId: string;
  /** Seal the identity under a 32-byte storage key, as text for IndexedDB / localStorage. */
  exportState(storageKey: Uint8Array): string;
  /** Open an identity sealed by {@link exportState}. */
  static importState(exported: string, storageKey: Uint8Array): AgentIdentity;
  free(): void;
  [Symbol.dispose](): void;
}

/** The visitor's half-open handshake. */
export class VisitorHandshake implements Owned {
  private constructor();
  /**
   * Start a session with an agent of the organisation whose public key (base64url) the widget
   * pins. Send `hello` (base64url) to the agent through the relay. Protocol version 2 (hybrid
   * post-quantum handshake, DH ratchet) unless `options.version` is 1, only for an agent known
   * to be too old for v2: a reply of another version is refused (`DOWNGRADE`).
   */
  static start(
    orgPublicKey: string,
    options?: { version?: 1 | 2 },
  ): { handshake: VisitorHandshake; hello: string };
  /** The new session's id, 32 hex digits (public; usable for routing). */
  readonly sessionId: string;
  /**
   * Finish with the agent's reply (base64url or bytes), checking its certificate at `now`
   * (Unix seconds, default `Date.now()`). A failed reply leaves the handshake usable for the
   * genuine one.
   */
  finish(reply: string | Uint8Array, now?: number | bigint): Session;
  free(): void;
  [Symbol.dispose](): void;
}

/** An established, end-to-end encrypted session. Not safe to use from two places at once. */
export class Session implements Owned {
  private constructor();
  /** Seal a message (at most 64 KiB); returns the envelope bytes. */
  seal(plaintext: Uint8Array): Uint8Array;
  /** Seal a text message (UTF-8); returns the envelope as base64url text. */
  sealText(text: string): string;
  /**
   * Open an envelope (bytes or base64url text) from the peer. Out-of-order delivery within
   * the window is fine; replays throw `REPLAY`, altered envelopes `TAMPERED`.
   */
  open(envelope: Uint8Array | string): Uint8Array;
  /**
   * {@link open}, decoding the plaintext as UTF-8. A message that authenticates but is not
   * valid UTF-8 throws `MALFORMED` **without being consumed**: the session is unchanged, and
   * {@link open} can still read the same envelope as bytes (once).
   */
  openText(envelope: Uint8Array | string): string;
  /** A short code both people can compare out of band; equal on both sides of a genuine session. */
  readonly safetyCode: string;
  /** The session id, 32 hex digits. */
  readonly sessionId: string;
  /** Which side this is. */
  readonly role: 'visitor' | 'agent';
  /** The certified agent id. */
  readonly agentId: string;
  /** The certified agent device id. */
  readonly deviceId: string;
  /** The current out-of-order limits (see {@link setConfig}). */
  readonly config: { readonly maxSkip: number; readonly maxStoredSkipped: number };
  /**
   * Change the out-of-order limits (defaults 1000 / 1000, each at most 20 000; `maxSkip` at
   * least 1). A limit left out keeps its current value; at least one must be given. Throws
   * `INVALID_ARGUMENT` for anything else.
   */
  setConfig(config: { maxSkip?: number; maxStoredSkipped?: number }): void;
  /**
   * Seal the whole session state under a 32-byte storage key, as text for IndexedDB /
   * localStorage. Keep the storage key elsewhere (see {@link createStorageKeyVault}).
   */
  exportState(storageKey: Uint8Array): string;
  /** Open a session sealed by {@link exportState} here or by any other hushwire binding. */
  static importState(exported: string, storageKey: Uint8Array): Session;
  free(): void;
  [Symbol.dispose](): void;
}

/** 32 random bytes for use as a storage key. */
export function generateStorageKey(): Uint8Array;

/** A storage key kept in IndexedDB, encrypted by a non-extractable WebCrypto AES-GCM key. */
export interface StorageKeyVault {
  /**
   * The stored 32-byte key, created on first use. Resolves only once the IndexedDB
   * transaction storing a new key has committed. Rejects with `STORAGE_UNAVAILABLE` on any
   * IndexedDB or WebCrypto failure (the key is then not stored, and its bytes are wiped).
   */
  getOrCreate(): Promise<Uint8Array>;
  /**
   * The stored key, or `null` if there is none; never creates one. A key missing where your
   * exports exist means the browser deleted it (eviction, site data cleared): start fresh.
   */
  get(): Promise<Uint8Array | null>;
  /** Delete the stored key; exports sealed under it become unreadable. Resolves once committed. */
  delete(): Promise<void>;
  /** Close the IndexedDB connection. */
  close(): void;
}

/**
 * Open (or create) a {@link StorageKeyVault} in IndexedDB (browsers and workers; does not need
 * {@link init}). Rejects with `INVALID_ARGUMENT` where IndexedDB or WebCrypto is missing, and
 * with `STORAGE_UNAVAILABLE` if the database cannot be opened.
 */
export function createStorageKeyVault(options?: {
  databaseName?: string;
  storeName?: string;
  keyName?: string;
}): Promise<StorageKeyVault>;
