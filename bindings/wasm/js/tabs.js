// Several tabs, one session: exactly one tab of an origin (the owner) holds a session's state
// and seals with it; the other tabs send and receive through it over a BroadcastChannel.
// Two tabs that each imported the same export would seal different messages with the same
// counter, and the receiver would refuse one of them as REPLAY.
//
// Ownership is a Web Lock (navigator.locks, W3C Web Locks API): the owner's request callback
// never settles, so the browser holds the lock until that tab's document goes away (closed,
// reloaded, navigated, crashed) and then grants it to the next waiting tab, which becomes the
// owner. No two tabs ever hold it at once.
//
// Without Web Locks (browsers before 2022) the tabs elect an owner over the BroadcastChannel:
// a tab claims ownership when no owner has announced itself for a while, and the lowest tab id
// wins a simultaneous claim. That is best effort: after an owner crashes two tabs can both
// seal for a moment, and the peer then refuses one side's messages as REPLAY (never accepts a
// wrong one). Without BroadcastChannel too, every tab is its own owner.
// A separate entry (`hushwire/tabs`): pages that need no coordination do not download it.
import { HushwireError } from './index.js';

const BEAT_MS = 500; // fallback: the owner announces itself this often ...
const SILENCE_MS = 1500; // ... and is presumed gone after this long without a word
const CLAIM_MS = 300; // how long a claim waits for a competing one

/**
 * Join the tabs coordinating the session `name` (any string; one per session or per store).
 * `onRequest(message, id)` runs in the owner for every `request()` of any tab (its own
 * included) and its result (or thrown error) is the request's; `id` stays the same when a
 * request is retried with a new owner, so the owner can recognise one it already handled.
 * `onBroadcast(message)` runs in the other tabs for every `broadcast()`. `onOwner()` runs once,
 * when this tab becomes the owner (at once, or when the owner goes away).
 */
export function coordinateTabs(name, { onRequest, onBroadcast = () => {}, onOwner = () => {} } = {}) {
  if (typeof name !== 'string' || name === '' || typeof onRequest !== 'function') {
    throw new HushwireError('INVALID_ARGUMENT', 'invalid argument: coordinateTabs(name, { onRequest }) needs a name and an onRequest function');
  }
  const self = crypto.getRandomValues(new Uint32Array(2)).join('-');
  const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(`hushwire-tabs:${name}`) : null;
  const locks = typeof navigator !== 'undefined' && navigator.locks?.request ? navigator.locks : null;
  const outstanding = new Map(); // id -> { message, resolve, reject }
  let owner = false;
  let closed = false;
  let release = null;

  const post = (m) => channel?.postMessage(m);
  // The owner runs each request id once: a copy resent by a follower (after a hand-over it
  // could not see through) gets the first run's result.
  const handled = new Map(); // id -> promise of { ok, value | error }; the last 256
  const handle = (id, message) => {
    let result = handled.get(id);
    if (result === undefined) {
      result = (async () => {
        try {
          return { ok: true, value: await onRequest(message, id) };
        } catch (e) {
          return { ok: false, error: { code: e?.code ?? 'ERROR', message: String(e?.message ?? e) } };
        }
      })();
      handled.set(id, result);
      if (handled.size > 256) handled.delete(handled.keys().next().value);
    }
    return result;
  };
  const settle = (id, result) => {
    const r = outstanding.get(id);
    if (!r) return;
    outstanding.delete(id);
    if (result.ok) r.resolve(result.value);
    else r.reject(Object.assign(new Error(result.error.message), { code: result.error.code }));
  };
  // Outstanding requests go (again) to whoever owns now: a request the old owner took but never
  // answered is retried with the same id.
  const resend = () => {
    for (const [id, r] of outstanding) {
      if (owner) handle(id, r.message).then((res) => settle(id, res));
      else post({ t: 'req', id, from: self, body: r.message });
    }
  };
  const become = () => {
    if (owner || closed) return;
    owner = true;
    post({ t: 'owner', tab: self });
    try {
      onOwner();
    } finally {
      resend();
    }
  };

  // ---- fallback election (no Web Locks) --------------------------------------------------
  let lastHeard = 0;
  let ownerId = null; // the owner last announced
  let claim = null; // { timer } while claiming
  let beat = null;
  const startClaim = () => {
    if (owner || closed || claim) return;
    post({ t: 'claim', tab: self });
    claim = {
      timer: setTimeout(() => {
        claim = null;
        if (Date.now() - lastHeard < SILENCE_MS) return; // someone else won meanwhile
        beat = setInterval(() => post({ t: 'owner', tab: self }), BEAT_MS);
        become();
      }, CLAIM_MS),
    };
  };
  const watch = () => {
    const timer = setInterval(() => {
      if (owner || closed) return clearInterval(timer);
      if (Date.now() - lastHeard > SILENCE_MS) startClaim();
    }, BEAT_MS);
  };

  if (channel) {
    channel.onmessage = ({ data: m }) => {
      if (closed || !m || typeof m !== 'object') return;
      if (m.t === 'req' && owner) {
        handle(m.id, m.body).then((res) => post({ t: 'res', id: m.id, to: m.from, ...res }));
      } else if (m.t === 'res' && m.to === self) {
        settle(m.id, m);
      } else if (m.t === 'cast' && !owner) {
        onBroadcast(m.body);
      } else if (m.t === 'who' && owner) {
        post({ t: 'owner', tab: self });
      } else if (m.t === 'owner' && m.tab !== self) {
        lastHeard = Date.now();
        // A new owner: requests still unanswered (sent to the one before, or before there was
        // any) go to it.
        if (m.tab !== ownerId) {
          ownerId = m.tab;
          resend();
        }
      } else if (m.t === 'claim' && !locks) {
        if (owner) post({ t: 'owner', tab: self }); // already decided: tell the claimant
        else if (claim && m.tab < self) {
          clearTimeout(claim.timer); // a lower id claims too: let it win
          claim = null;
          lastHeard = Date.now();
        }
      } else if (m.t === 'bye' && !locks && !owner) {
        lastHeard = 0;
        startClaim();
      }
    };
  }

  if (locks) {
    locks.request(`hushwire-tabs:${name}`, () => new Promise((resolve) => {
      release = resolve;
      if (closed) resolve();
      else become();
    })).catch(() => {});
  } else if (channel) {
    globalThis.addEventListener?.('pagehide', () => owner && post({ t: 'bye' }));
    post({ t: 'who' });
    setTimeout(() => {
      if (Date.now() - lastHeard > SILENCE_MS) startClaim();
      watch();
    }, CLAIM_MS);
  } else {
    queueMicrotask(become);
  }

  let counter = 0;
  return {
    /** Whether this tab owns the session now. */
    get isOwner() {
      return owner;
    },
    /** How ownership is decided: 'locks' (Web Locks), 'election' (fallback) or 'alone'. */
    mode: locks ? 'locks' : channel ? 'election' : 'alone',
    /** Send `message` (structured-cloneable) to the owner's `onRequest`; resolves with its result. */
    request(message) {
      if (closed) return Promise.reject(new HushwireError('INVALID_ARGUMENT', 'invalid argument: this tab group is closed'));
      const id = `${self}:${++counter}`;
      return new Promise((resolve, reject) => {
        outstanding.set(id, { message, resolve, reject });
        if (owner) handle(id, message).then((res) => settle(id, res));
        else post({ t: 'req', id, from: self, body: message });
      });
    },
    /** From the owner: deliver `message` to every other tab's `onBroadcast`. */
    broadcast(message) {
      if (owner) post({ t: 'cast', body: message });
    },
    /** Leave the group: give up ownership (the next tab takes over) and stop listening. */
    close() {
      if (closed) return;
      if (owner && !locks) post({ t: 'bye' });
      closed = true;
      owner = false;
      clearInterval(beat);
      release?.();
      channel?.close();
    },
  };
}
