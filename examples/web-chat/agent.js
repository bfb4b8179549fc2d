// The agent console. It enrols itself: on first use it generates its device key here, in the
// browser, and shows the public key; the organisation admin certifies that key with
// `hushwire-agent certify` and the agent pastes the certificate back. Nothing secret is ever
// fetched: the relay serves only public data (the pages, the package, the organisation key),
// and the relay token arrives in the URL fragment (never sent to a server) or is typed in.
// A key the relay reports is never certified automatically: a malicious relay would get its
// own key certified. The package is imported by URL (the CSP allows no inline import map).
import { init, AgentIdentity, AgentKey, Session, createStorageKeyVault } from '/pkg/index.js';
import { coordinateTabs } from '/pkg/tabs.js';
import {
  RelayConnection, appendGap, appendLine, appendWarning, codeOf, deliveryOrder, fromB64, newRef, openLocalState, pageConfig,
  pending, toB64,
} from './common.js';
import { attachControls, isAttachment, showAttachment, uploadFile } from './attachments.js';

const $ = (id) => document.getElementById(id);
const log = $('log');

/** Resolves when `button` is clicked and `attempt()` returns true. */
function untilAccepted(button, attempt) {
  return new Promise((resolve) => {
    button.addEventListener('click', async () => {
      if (await attempt()) resolve();
    });
  });
}

/**
 * The agent identity: sealed in `state.identity` once enrolled. Before that the device key's
 * secret waits in `state.pendingKey` (inside the sealed local state) so that a reload does not
 * change the key the admin is certifying.
 */
async function enrol(state, store, storageKey, orgPublicKey) {
  if (state.identity) return AgentIdentity.importState(state.identity, storageKey);
  const key = state.pendingKey ? AgentKey.fromSecretBytes(fromB64(state.pendingKey)) : AgentKey.generate();
  if (!state.pendingKey) {
    state.pendingKey = toB64(key.secretBytes());
    await store.save(state);
  }
  const publicKey = toB64(key.publicKey);
  $('pubkey').textContent = publicKey;
  $('pubkey-cmd').textContent = publicKey;
  $('enrol').hidden = false;
  $('status').textContent = 'not enrolled: waiting for a certificate';
  let identity = null;
  await untilAccepted($('import'), async () => {
    try {
      // Checks that the certificate is for this key and signed by the pinned organisation.
      identity = AgentIdentity.create(key, $('cert').value.trim(), orgPublicKey);
    } catch (e) {
      $('enrol-error').textContent = `certificate refused (${codeOf(e)})`;
      return false;
    }
    return true;
  });
  key.free();
  state.identity = identity.exportState(storageKey);
  delete state.pendingKey;
  await store.save(state);
  $('enrol').hidden = true;
  return identity;
}

/**
 * Takes the relay token out of a `#token=` fragment (which browsers never send to a server):
 * saves it and removes it from the URL, so it is not left in the address bar or history.
 */
async function takeFragmentToken(state, store) {
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  if (!token) return;
  history.replaceState(null, '', location.pathname + location.search);
  state.relayToken = token;
  await store.save(state);
}

/** The saved relay token, or the one the agent types in. */
async function relayToken(state, store) {
  if (state.relayToken) return state.relayToken;
  $('login').hidden = false;
  await untilAccepted($('login-button'), async () => Boolean($('token').value.trim()));
  state.relayToken = $('token').value.trim();
  $('token').value = '';
  await store.save(state);
  $('login').hidden = true;
  return state.relayToken;
}

// Several console tabs share one device: the tab holding the Web Lock (hushwire/tabs) owns the
// identity, the sessions and the relay connection; the others render the sealed local state
// when the owner says it changed and send replies and accepts through the owner. When the
// owner's tab closes, the next one takes over from the saved state.
async function main() {
  await init();
  const vault = await createStorageKeyVault({ databaseName: 'hushwire-agent' });
  const { storageKey, store, lost } = await openLocalState(vault, 'hushwire.agent');
  let becameOwner;
  const ownership = new Promise((resolve) => (becameOwner = resolve));
  let handlerReady; // the owner's request handler, once this tab runs the console
  const handler = new Promise((resolve) => (handlerReady = resolve));
  const waitingHere = new Set(); // a follower's copy of the owner's waiting list
  const tabs = coordinateTabs('hushwire.agent', {
    onOwner: () => becameOwner(),
    onRequest: async (message, id) => (await handler)(message, id),
    onBroadcast: (m) => {
      if (m.waiting) waitingHere.add(m.waiting);
      if (m.taken) waitingHere.delete(m.taken);
      follow();
    },
  });
  // A refused request (offline, no such conversation) is reported in the status line.
  const request = (message) => tabs.request(message).catch((e) => ($('status').textContent = `not sent (${codeOf(e)})`));

  $('form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = $('input').value;
    if (!text.trim()) return;
    $('input').value = '';
    request({ type: 'say', conversation: shown, text });
  });

  let shown = null; // the conversation on screen
  let blobToken = null; // the relay token, for uploading and fetching attachment blobs
  // Attachments are fetched and decrypted again when shown (the transcript keeps the manifest).
  const render = (id, who, text, cls) => {
    if (!isAttachment(text) || !blobToken) return appendLine(log, who, text, cls);
    showAttachment(log, who, text, cls, { conversation: id, token: blobToken });
  };
  // Any tab uploads the ciphertext blob itself, then has the owner seal and send the manifest.
  attachControls($('attach'), $('file'), $('console'), async (file) => {
    const id = shown;
    if (!id || !blobToken) return;
    try {
      const text = await uploadFile(file, { conversation: id, token: blobToken });
      await tabs.request({ type: 'say', conversation: id, text });
    } catch (e) {
      $('status').textContent = `attachment not sent: ${e.message ?? codeOf(e)}`;
    }
  });
  function show(id, convs) {
    shown = id;
    log.replaceChildren();
    $('conv').textContent = id ? id.slice(0, 8) : 'none';
    $('safety').textContent = '—';
    if (!id) return;
    try {
      const s = Session.importState(convs[id].session, storageKey); // read-only: never seals
      $('safety').textContent = s.safetyCode;
      s.free();
    } catch (e) {
      appendWarning(log, codeOf(e));
    }
    for (const l of convs[id].transcript) {
      if (l.gap) appendGap(log);
      else render(id, l.from, l.text, l.from === 'you' ? 'agent' : 'visitor');
    }
  }
  function addWaiting(id) {
    if (document.querySelector(`li[data-conv="${id}"]`)) return;
    const li = document.createElement('li');
    li.dataset.conv = id;
    li.textContent = `Visitor ${id.slice(0, 8)} `;
    const btn = document.createElement('button');
    btn.textContent = 'Accept';
    btn.className = 'accept';
    btn.onclick = () => request({ type: 'accept', conversation: id });
    li.append(btn);
    $('waiting').append(li);
  }
  const removeWaiting = (id) => document.querySelector(`li[data-conv="${id}"]`)?.remove();

  // A follower shows the owner's saved state; it never imports a session to seal or open.
  let following = Promise.resolve();
  function follow() {
    following = following.then(async () => {
      if (tabs.isOwner) return;
      const saved = await store.load();
      if (!saved?.identity || !saved.relayToken) {
        $('status').textContent = 'this console is being set up in another tab';
        return;
      }
      $('console').hidden = false;
      const convs = saved.convs || {};
      for (const id of waitingHere) if (convs[id]) waitingHere.delete(id);
      for (const li of [...$('waiting').children]) if (!waitingHere.has(li.dataset.conv)) li.remove();
      for (const id of waitingHere) addWaiting(id);
      show(saved.current && convs[saved.current] ? saved.current : null, convs);
      $('status').textContent = 'connected through another tab';
      window.hushwireDemo = { ready: true, owner: false };
    });
    return following;
  }
  // localStorage reaches other tabs asynchronously (another renderer process): a broadcast can
  // arrive before the write it announces, so the 'storage' event (fired once the write is
  // visible here) triggers a render too.
  addEventListener('storage', (e) => {
    if (e.key === 'hushwire.agent') follow();
  });
  await follow();
  // Not awaited: if the owner goes away first, this tab may become the owner that answers it.
  tabs.request({ type: 'waiting' }).then((ids) => {
    for (const id of ids || []) waitingHere.add(id);
    follow();
  }, () => {});
  await ownership;
  await following;
  log.replaceChildren();
  $('waiting').replaceChildren();
  handlerReady(await own());
  window.hushwireDemo = { ready: true, owner: true };

  // This tab owns the console. Returns the handler of the requests of every tab.
  async function own() {
    // { convs: { id: { session, seq, transcript } }, unacked, current, identity, pendingKey,
    // relayToken }. `seq` is the last visitor frame accepted; `unacked` the posts not acked yet.
    const saved = await store.load();
    const state = saved || { convs: {}, current: null };
    // Storage the browser took away: this device enrols again (a new key), and says why.
    if (!saved && lost) $('enrol-error').textContent = `the saved console state is gone (${lost}): enrol this device again`;
    state.unacked ||= [];
    await takeFragmentToken(state, store);
    const { org_public_key: orgPublicKey } = await pageConfig();
    const identity = await enrol(state, store, storageKey, orgPublicKey);
    $('me').textContent = `${identity.agentId} (${identity.deviceId})`;
    const token = await relayToken(state, store);
    blobToken = token;
    $('console').hidden = false;

    const sessions = new Map();
    for (const [id, c] of Object.entries(state.convs)) {
      try {
        sessions.set(id, Session.importState(c.session, storageKey));
      } catch (e) {
        appendWarning(log, codeOf(e));
        delete state.convs[id];
      }
    }
    const save = async () => {
      for (const [id, s] of sessions) state.convs[id].session = s.exportState(storageKey);
      await store.save(state);
      tabs.broadcast('changed');
    };

    const showOwn = (id) => {
      state.current = id;
      show(id, state.convs);
    };
    if (state.current && sessions.has(state.current)) showOwn(state.current);

    // The waiting list, mirrored to the other tabs.
    const waiting = new Set();
    const addWaitingOwn = (id) => {
      if (sessions.has(id)) return;
      waiting.add(id);
      addWaiting(id);
      tabs.broadcast({ waiting: id });
    };
    const removeWaitingOwn = (id) => {
      waiting.delete(id);
      removeWaiting(id);
      tabs.broadcast({ taken: id });
    };

    // A post is kept until acked (saved with the ratchet state that sealed it) and resent with
    // the same ref after a reconnect: the relay stores it once.
    const post = (conversation, kind, data) => {
      const p = { ref: newRef(), conversation, kind, data };
      state.unacked.push(p);
      return p;
    };
    const sendPosts = (posts) => {
      for (const f of pending.frames(posts)) relay.send(f);
    };

    async function onFrame(f) {
      const id = f.conversation;
      // The relay's ids are 32 lowercase hex digits; anything else is a broken or hostile relay
      // (the id ends up in selectors and storage keys).
      if (id !== undefined && !/^[0-9a-f]{32}$/.test(id)) return;
      if (f.type === 'waiting') addWaitingOwn(id);
      else if (f.type === 'taken') removeWaitingOwn(id);
      else if (f.type === 'assigned') {
        if (sessions.has(id)) {
          relay.send({ type: 'sync', conversation: id, after: state.convs[id].seq });
          // Posts whose ack was lost with the connection: the same refs, so stored once.
          sendPosts(state.unacked.filter((p) => p.conversation === id));
        }
      } else if (f.type === 'accepted') {
        removeWaitingOwn(id);
        if (sessions.has(id)) return;
        try {
          const { session, reply } = identity.accept(f.hello);
          sessions.set(id, session);
          state.convs[id] = { seq: f.seq, transcript: [] };
          const p = post(id, 'reply', reply);
          await save();
          sendPosts([p]);
          relay.send({ type: 'sync', conversation: id, after: f.seq });
          showOwn(id);
        } catch (e) {
          appendWarning(log, codeOf(e));
        }
      } else if (f.type === 'deliver') {
        const s = sessions.get(id);
        const c = state.convs[id];
        if (!s) return;
        const order = deliveryOrder(c.seq, f);
        if (order === 'seen') return;
        if (order === 'gap') {
          c.transcript.push({ gap: true });
          if (shown === id) appendGap(log);
        }
        if (f.kind === 'message') {
          try {
            const text = s.openText(f.data);
            c.transcript.push({ from: 'visitor', text });
            if (shown === id) render(id, 'visitor', text);
          } catch (e) {
            if (shown === id) appendWarning(log, codeOf(e));
          }
        }
        c.seq = f.seq;
        await save();
      } else if (f.type === 'synced') {
        // A sync stops at the relay's limit: continue from where it ended.
        if (f.more && sessions.has(id)) relay.send({ type: 'sync', conversation: id, after: state.convs[id].seq });
      } else if (f.type === 'ack') {
        if (pending.settle(state.unacked, f.ref)) await save();
      } else if (f.type === 'error') {
        $('status').textContent = `relay error ${f.code}`;
        // A refused post is never stored: stop resending it (the status says why).
        if (f.ref && pending.settle(state.unacked, f.ref)) await save();
        if (f.code === 'UNAUTHORIZED') {
          // A wrong or revoked token: forget it, so the next load asks again.
          delete state.relayToken;
          await store.save(state);
          $('status').textContent = 'the relay refused the token: reload and log in again';
        }
      }
    }

    const relay = new RelayConnection({
      onStatus: (s) => ($('status').textContent = s),
      onOpen: async () => relay.send({ type: 'agent', token }),
      onFrame,
    });

    // Requests of every tab run one after another with the relay's frames. `handled` (saved with
    // the state) holds the last request ids done, so one retried after a hand-over is not
    // sealed and sent twice.
    return (message, id) => {
      if (message.type === 'waiting') return [...waiting];
      if (message.type === 'accept') return void relay.send({ type: 'accept', conversation: message.conversation });
      const run = relay.chain.then(async () => {
        state.handled ||= [];
        if (state.handled.includes(id) || message.type !== 'say') return;
        const conv = message.conversation;
        const session = sessions.get(conv);
        if (!session) throw Object.assign(new Error('no such conversation'), { code: 'NO_CONVERSATION' });
        // Offline: refused (the typing tab shows it), as a single console did.
        if (!relay.connected) throw Object.assign(new Error('not connected to the relay'), { code: 'OFFLINE' });
        const text = String(message.text);
        state.handled = [...state.handled.slice(-49), id];
        const envelope = session.sealText(text);
        state.convs[conv].transcript.push({ from: 'you', text });
        const p = post(conv, 'message', envelope);
        await save();
        if (shown === conv) render(conv, 'you', text, 'agent');
        sendPosts([p]);
      });
      relay.chain = run.catch(() => {}); // the requesting tab reports it
      return run;
    };
  }
}

main().catch((e) => {
  $('status').textContent = `failed: ${codeOf(e)}`;
  console.error(e);
});
