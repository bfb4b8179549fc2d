// Shared helpers for the demo pages: the relay connection, and local state sealed under the
// hushwire storage key (kept in IndexedDB by the package's createStorageKeyVault, wrapped by
// a non-extractable WebCrypto key). Nothing here ever puts plaintext in the DOM as HTML.

/** Decodes unpadded base64url. */
export function fromB64(s) {
  const b = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4));
  return Uint8Array.from(b, (c) => c.charCodeAt(0));
}

/** Encodes unpadded base64url. */
export function toB64(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * HKDF-SHA-256 `info` of the key that seals the demo's local state. A distinct label keeps that
 * key independent of the hushwire storage key it is derived from (which seals session and
 * identity exports): no key is used by two different constructions.
 */
export const LOCAL_STATE_KEY_INFO = 'hushwire web-chat demo: local state key v1';

/**
 * Local state (session exports, transcript, queued lines) as one localStorage item encrypted
 * with AES-256-GCM under a key derived from the storage key: HKDF-SHA-256(ikm = storage key,
 * salt = empty, info = LOCAL_STATE_KEY_INFO), non-extractable. Session exports are sealed by
 * hushwire already; the transcript would otherwise be plaintext on disk.
 */
export class SealedStore {
  constructor(name, key) {
    this.name = name;
    this.key = key;
  }

  static async open(name, storageKeyBytes) {
    const ikm = await crypto.subtle.importKey('raw', storageKeyBytes, 'HKDF', false, ['deriveKey']);
    const key = await crypto.subtle.deriveKey(
      { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: new TextEncoder().encode(LOCAL_STATE_KEY_INFO) },
      ikm,
      { name: 'AES-GCM', length: 256 },
      false,
      ['encrypt', 'decrypt'],
    );
    return new SealedStore(name, key);
  }

  async load() {
    const raw = localStorage.getItem(this.name);
    if (!raw) return null;
    try {
      const { iv, ct } = JSON.parse(raw);
      const pt = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: fromB64(iv) }, this.key, fromB64(ct));
      return JSON.parse(new TextDecoder().decode(pt));
    } catch {
      return null; // unreadable (key deleted or data corrupted): start over
    }
  }

  async save(value) {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const pt = new TextEncoder().encode(JSON.stringify(value));
    const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, this.key, pt));
    localStorage.setItem(this.name, JSON.stringify({ iv: toB64(iv), ct: toB64(ct) }));
  }
}

/**
 * Opens the page's local state, noticing storage the browser took away (Safari's 7-day cap,
 * eviction under storage pressure, private windows, "clear site data"). Returns
 * `{ storageKey, store, lost }`, `lost` being null (nothing lost, or a first visit), `'key'`
 * (the vault key is gone but the sealed state is still there: unreadable, so it is dropped),
 * `'state'` (the key is there but the sealed state is gone) or `'unreadable'` (both there but
 * the state does not open). Whatever was lost, the page starts a fresh conversation and says
 * so ({@link appendNotice}) instead of failing on data it cannot decrypt.
 */
export async function openLocalState(vault, name) {
  const existing = await vault.get();
  const sealed = localStorage.getItem(name);
  const storageKey = existing ?? (await vault.getOrCreate());
  const store = await SealedStore.open(name, storageKey);
  let lost = null;
  if (!existing && sealed) lost = 'key';
  else if (existing && !sealed) lost = 'state';
  else if (sealed && (await store.load()) === null) lost = 'unreadable';
  if (lost === 'key' || lost === 'unreadable') localStorage.removeItem(name);
  return { storageKey, store, lost };
}

/** Says, in the transcript, that the saved conversation was lost and a new one started. */
export function appendNotice(log, lost) {
  const div = document.createElement('div');
  div.className = 'warning notice';
  div.dataset.code = 'STORAGE_LOST';
  div.dataset.lost = lost;
  div.textContent = `ⓘ This browser no longer has the saved conversation (${
    lost === 'state' ? 'its saved state was deleted' : lost === 'key' ? 'its storage key was deleted' : 'it could not be opened'
  }): a new conversation was started. Nothing was shown that could not be verified.`;
  log.append(div);
  return div;
}

/**
 * A WebSocket to the relay that reconnects with backoff. `onOpen(send)` runs on every
 * (re)connection and must log in; `onFrame(frame)` gets every JSON frame.
 */
export class RelayConnection {
  constructor({ onOpen, onFrame, onStatus }) {
    this.onOpen = onOpen;
    this.onFrame = onFrame;
    this.onStatus = onStatus || (() => {});
    this.ws = null;
    this.backoff = 500;
    this.chain = Promise.resolve();
    this.connect();
  }

  connect() {
    const url = new URL('/ws', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => {
      this.backoff = 500;
      this.onStatus('connected');
      this.chain = this.chain.then(() => this.onOpen()).catch((e) => console.error(e));
    };
    // Frames are handled strictly one after another (session state is sequential).
    ws.onmessage = (ev) => {
      let frame;
      try {
        frame = JSON.parse(ev.data);
      } catch {
        return;
      }
      this.chain = this.chain.then(() => this.onFrame(frame)).catch((e) => console.error(e));
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.onStatus('reconnecting');
      setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, 5000);
    };
  }

  get connected() {
    return this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  send(frame) {
    if (!this.connected) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }
}

/** Appends a chat line (text only, never HTML). */
export function appendLine(log, who, text, cls) {
  const div = document.createElement('div');
  div.className = `msg ${cls || who}`;
  const name = document.createElement('b');
  name.textContent = `${who}: `;
  const body = document.createElement('span');
  body.className = 'text';
  body.textContent = text;
  div.append(name, body);
  log.append(div);
  log.scrollTop = log.scrollHeight;
  return div;
}

/**
 * A fresh post id (`ref`): 128 random bits. The relay stores a post once per id, so a post
 * resent after a reconnect with the same id is acknowledged with its original sequence
 * number instead of being stored (and delivered) again.
 */
export function newRef() {
  return toB64(crypto.getRandomValues(new Uint8Array(16)));
}

/**
 * Where a delivered frame stands against `last`, the sequence number of the last peer frame
 * accepted: 'seen' (ignore it), 'next', or 'gap' (its `prev` is not `last`: peer frames in
 * between were never delivered). The relay delivers each conversation's frames in order on a
 * connection (examples/relay/README.md, "Delivery guarantee"), so a gap cannot be filled by
 * waiting: the caller shows it and goes on, never skipping silently.
 */
export function deliveryOrder(last, frame) {
  if (frame.seq <= last) return 'seen';
  return frame.prev === last ? 'next' : 'gap';
}

/** Shows that frames of the peer never arrived: a visible gap in the transcript. */
export function appendGap(log) {
  const div = document.createElement('div');
  div.className = 'warning gap';
  div.dataset.code = 'GAP';
  div.textContent = '⚠ Some messages of this conversation never arrived: the relay did not deliver them.';
  log.append(div);
  log.scrollTop = log.scrollHeight;
}

/**
 * Unacknowledged posts, kept in the sealed local state (`list` is that state's array of
 * `{ ref, kind, data, conversation? }`) until the relay acknowledges them, and resent with the
 * same `ref` after every reconnect.
 */
export const pending = {
  /** Removes and returns the post `ref` (acked or refused). */
  settle(list, ref) {
    const i = list.findIndex((p) => p.ref === ref);
    return i < 0 ? null : list.splice(i, 1)[0];
  },
  /** The post frames to send again, in their original order. */
  frames(list) {
    return list.map(({ ref, kind, data, conversation }) => ({ type: 'post', conversation, kind, data, ref }));
  },
};

/** Shows that a message failed verification: a warning, never its content. */
export function appendWarning(log, code) {
  const div = document.createElement('div');
  div.className = 'warning';
  div.dataset.code = code;
  div.textContent = `⚠ A message could not be verified (${code}) and was not shown. Someone may be tampering with the connection.`;
  log.append(div);
  log.scrollTop = log.scrollHeight;
}

/**
 * The page configuration served with the pages (public data only): `{ org_public_key }`, the
 * organisation key the widget pins and the console checks certificates against. In production
 * it is part of the widget served from the organisation's own origin; it is never taken from
 * the URL, which anyone can hand a visitor.
 */
export async function pageConfig() {
  const res = await fetch('/demo/org.json');
  if (!res.ok) throw Object.assign(new Error('no page configuration'), { code: 'NO_CONFIG' });
  return res.json();
}

/** The error code of a hushwire failure. */
export function codeOf(e) {
  return (e && e.code) || 'ERROR';
}
