// The visitor's chat widget. The organisation's public key is pinned by the page configuration
// served with the widget (common.js pageConfig); in production it is part of the widget served
// from the organisation's own origin. Never from the URL: a link could swap in another key.
// The package is imported by URL, not through an import map: the Content-Security-Policy
// allows no inline script, and an import map can only be inline.
import { init, VisitorHandshake, Session, createStorageKeyVault } from '/pkg/index.js';
import {
  RelayConnection, SealedStore, appendGap, appendLine, appendWarning, codeOf, deliveryOrder, newRef, pageConfig, pending,
} from './common.js';
import { attachControls, isAttachment, showAttachment, uploadFile } from './attachments.js';

const $ = (id) => document.getElementById(id);
const log = $('log');

async function main() {
  await init();
  const org = (await pageConfig()).org_public_key;
  const vault = await createStorageKeyVault({ databaseName: 'hushwire-visitor' });
  const storageKey = await vault.getOrCreate();
  const store = await SealedStore.open('hushwire.visitor', storageKey);

  // Persistent state: { conversation, token, session (sealed export), seq, transcript, queue,
  // unacked }. `seq` is the last agent frame accepted; `unacked` the posts not acknowledged yet.
  let state = (await store.load()) || { transcript: [], queue: [] };
  let session = null;
  let handshake = null;
  if (state.session) {
    try {
      session = Session.importState(state.session, storageKey);
    } catch (e) {
      appendWarning(log, codeOf(e));
      state = { transcript: [], queue: state.queue || [] };
    }
  } else if (state.conversation) {
    // The handshake was still open when the page went away; its secret is gone with the page.
    // Start a fresh conversation and keep the queued lines.
    state = { transcript: [], queue: state.queue || [] };
  }
  const save = () => {
    if (session) state.session = session.exportState(storageKey);
    return store.save(state);
  };

  // Attachments are fetched and decrypted again when shown (the transcript keeps the manifest).
  const render = (who, text, cls) => {
    if (!isAttachment(text)) return appendLine(log, who, text, cls);
    showAttachment(log, who, text, cls, { conversation: state.conversation, token: state.token });
  };
  for (const line of state.transcript) {
    if (line.gap) appendGap(log);
    else render(line.from, line.text, line.from === 'you' ? 'visitor' : 'agent');
  }
  for (const text of state.queue) appendLine(log, 'you', text, 'visitor queued');
  const showSession = () => {
    $('agent').textContent = session.agentId;
    $('safety').textContent = session.safetyCode;
  };
  if (session) showSession();

  // Kept until acked (saved by the caller together with the ratchet state that sealed it) and
  // resent with the same ref after a reconnect: the relay stores it once.
  const post = (kind, data) => {
    const p = { ref: newRef(), kind, data };
    (state.unacked ||= []).push(p);
    return p;
  };
  const sendPosts = (posts) => {
    for (const f of pending.frames(posts)) relay.send(f);
  };

  async function flushQueue() {
    if (!session || !relay.connected) return;
    const queued = state.queue;
    state.queue = [];
    for (const text of queued) {
      const envelope = session.sealText(text);
      state.transcript.push({ from: 'you', text });
      const p = post('message', envelope);
      await save(); // the ratchet moved: persist before sending
      sendPosts([p]);
    }
    for (const el of log.querySelectorAll('.queued')) el.classList.remove('queued');
  }

  async function onFrame(f) {
    if (f.type === 'created') {
      state = { conversation: f.conversation, token: f.token, seq: 0, transcript: state.transcript, queue: state.queue };
      const started = VisitorHandshake.start(org);
      handshake = started.handshake;
      const p = post('hello', started.hello);
      await save();
      sendPosts([p]);
    } else if (f.type === 'ack') {
      if (pending.settle(state.unacked || [], f.ref)) await save();
    } else if (f.type === 'deliver') {
      const order = deliveryOrder(state.seq || 0, f);
      if (order === 'seen') return;
      if (order === 'gap') {
        state.transcript.push({ gap: true });
        appendGap(log);
      }
      if (f.kind === 'reply' && !session && handshake) {
        try {
          session = handshake.finish(f.data);
          handshake.free();
          handshake = null;
          showSession();
        } catch (e) {
          // A forged reply leaves the handshake usable for the genuine one.
          appendWarning(log, codeOf(e));
        }
      } else if (f.kind === 'message' && session) {
        try {
          const text = session.openText(f.data);
          state.transcript.push({ from: 'agent', text });
          render('agent', text);
        } catch (e) {
          appendWarning(log, codeOf(e));
        }
      }
      state.seq = f.seq;
      await save();
      await flushQueue();
    } else if (f.type === 'ready' || f.type === 'synced') {
      // A sync stops at the relay's limit: continue from where it ended.
      if (f.more) relay.send({ type: 'sync', after: state.seq || 0 });
      await flushQueue();
    } else if (f.type === 'error') {
      $('status').textContent = `relay error ${f.code}`;
      // A refused post is never stored: stop resending it (the status says why).
      if (f.ref && pending.settle(state.unacked || [], f.ref)) await save();
      if (f.code === 'UNAUTHORIZED') {
        // The relay forgot us (new database): start over.
        state = { transcript: state.transcript, queue: state.queue };
        session = null;
        await store.save(state);
      }
    }
  }

  const relay = new RelayConnection({
    onStatus: (s) => ($('status').textContent = s),
    onOpen: async () => {
      // Rejoin our conversation if we have a session or a handshake still open in this page.
      if (state.conversation && (session || handshake)) {
        relay.send({ type: 'resume', conversation: state.conversation, token: state.token, after: state.seq || 0 });
        // Posts whose ack was lost with the connection: the same refs, so stored once.
        sendPosts(state.unacked || []);
      } else {
        relay.send({ type: 'create' });
      }
    },
    onFrame,
  });

  // Sends an attachment once there is a session (its blob needs the conversation's token).
  attachControls($('attach'), $('file'), $('widget'), (file) => {
    relay.chain = relay.chain.then(async () => {
      if (!session || !relay.connected) {
        $('status').textContent = 'attachments can be sent once an agent has joined';
        return;
      }
      try {
        const text = await uploadFile(file, { conversation: state.conversation, token: state.token });
        const envelope = session.sealText(text);
        state.transcript.push({ from: 'you', text });
        const p = post('message', envelope);
        await save();
        render('you', text, 'visitor');
        sendPosts([p]);
      } catch (e) {
        $('status').textContent = `attachment not sent: ${e.message ?? codeOf(e)}`;
      }
    });
  });

  $('form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const text = $('input').value;
    if (!text.trim()) return;
    $('input').value = '';
    relay.chain = relay.chain.then(async () => {
      if (session && relay.connected) {
        const envelope = session.sealText(text);
        state.transcript.push({ from: 'you', text });
        const p = post('message', envelope);
        await save();
        appendLine(log, 'you', text, 'visitor');
        sendPosts([p]);
      } else {
        // No agent yet (or offline): keep it, sent once the session exists.
        state.queue.push(text);
        await save();
        appendLine(log, 'you', text, 'visitor queued');
      }
    });
  });
  $('new-chat').addEventListener('click', async () => {
    await store.save({ transcript: [], queue: [] });
    location.reload();
  });
  window.hushwireDemo = { ready: true };
}

$('open').addEventListener('click', () => {
  $('widget').hidden = false;
  $('open').hidden = true;
  sessionStorage.setItem('widget-open', '1');
  if (!window.hushwireStarted) {
    window.hushwireStarted = true;
    main().catch((e) => {
      $('status').textContent = `failed: ${codeOf(e)}`;
      console.error(e);
    });
  }
});
// A reload with an open conversation reopens the widget.
if (sessionStorage.getItem('widget-open') || localStorage.getItem('hushwire.visitor')) $('open').click();
