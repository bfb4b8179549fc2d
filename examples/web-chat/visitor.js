// The visitor's chat widget. The organisation's public key is pinned by the page configuration
// served with the widget (common.js pageConfig); in production it is part of the widget served
// from the organisation's own origin. Never from the URL: a link could swap in another key.
// The package is imported by URL, not through an import map: the Content-Security-Policy
// allows no inline script, and an import map can only be inline.
import { init, VisitorHandshake, Session, createStorageKeyVault } from '/pkg/index.js';
import { coordinateTabs } from '/pkg/tabs.js';
import {
  RelayConnection, appendGap, appendNotice, appendLine, appendWarning, codeOf, deliveryOrder, newRef, openLocalState,
  pageConfig, pending,
} from './common.js';
import { attachControls, isAttachment, showAttachment, uploadFile } from './attachments.js';

const $ = (id) => document.getElementById(id);
const log = $('log');

// Several tabs of the shop share one conversation: the tab holding the Web Lock (hushwire/tabs)
// owns the session and the relay connection; the others render the sealed local state when
// the owner says it changed and send their lines through the owner. When the owner's tab
// closes, the next tab takes over from the saved state (the relay redelivers anything after
// the last saved sequence number, and posts not acked are resent with their refs).
async function main() {
  await init();
  const org = (await pageConfig()).org_public_key;
  const vault = await createStorageKeyVault({ databaseName: 'hushwire-visitor' });
  const { storageKey, store, lost } = await openLocalState(vault, 'hushwire.visitor');
  let becameOwner;
  const ownership = new Promise((resolve) => (becameOwner = resolve));
  let handlerReady; // the owner's request handler, once this tab runs the conversation
  const handler = new Promise((resolve) => (handlerReady = resolve));
  const tabs = coordinateTabs('hushwire.visitor', {
    onOwner: () => becameOwner(),
    onRequest: async (message, id) => (await handler)(message, id),
    onBroadcast: (m) => (m === 'reload' ? location.reload() : follow()),
  });

  $('form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = $('input').value;
    if (!text.trim()) return;
    $('input').value = '';
    tabs.request({ type: 'say', text }).catch((e) => appendWarning(log, codeOf(e)));
  });
  $('new-chat').addEventListener('click', () => tabs.request({ type: 'new' }));
  // The conversation and its token, for the attachment blobs (from the state this tab shows).
  let blobContext = () => null;
  // Attachments are fetched and decrypted again when shown (the transcript keeps the manifest).
  const renderLine = (who, text, cls) => {
    const ctx = blobContext();
    if (!isAttachment(text) || !ctx) return appendLine(log, who, text, cls);
    showAttachment(log, who, text, cls, ctx);
  };
  // Any tab uploads the ciphertext blob itself, then has the owner seal and send the manifest.
  attachControls($('attach'), $('file'), $('widget'), async (file) => {
    const ctx = blobContext();
    if (!ctx) {
      $('status').textContent = 'attachments can be sent once the conversation has started';
      return;
    }
    try {
      const text = await uploadFile(file, ctx);
      await tabs.request({ type: 'say', text });
    } catch (e) {
      $('status').textContent = `attachment not sent: ${e.message ?? codeOf(e)}`;
    }
  });

  // A follower shows the owner's saved state; it never imports the session to seal or open.
  // Renders run one after another, so an older load never overwrites a newer one.
  let following = Promise.resolve();
  const follow = () => (following = following.then(followOnce, (e) => console.error(e)));
  async function followOnce() {
    if (tabs.isOwner) return;
    const saved = (await store.load()) || { transcript: [], queue: [] };
    blobContext = () => (saved.conversation ? { conversation: saved.conversation, token: saved.token } : null);
    render(saved);
    if (saved.session) {
      try {
        const s = Session.importState(saved.session, storageKey); // read-only: never seals
        $('agent').textContent = s.agentId;
        $('safety').textContent = s.safetyCode;
        s.free();
      } catch (e) {
        appendWarning(log, codeOf(e));
      }
    }
    $('status').textContent = 'connected through another tab';
    window.hushwireDemo = { ready: true, owner: false };
  }
  // localStorage reaches other tabs asynchronously (another renderer process): a broadcast can
  // arrive before the write it announces, so the 'storage' event (fired once the write is
  // visible here) triggers a render too.
  addEventListener('storage', (e) => {
    if (e.key === 'hushwire.visitor') follow();
  });
  await follow();
  await ownership;
  await following;
  log.replaceChildren();
  handlerReady(await own());
  window.hushwireDemo = { ready: true, owner: true };

  function render(saved) {
    log.replaceChildren();
    for (const line of saved.transcript) {
      if (line.gap) appendGap(log);
      else if (line.notice) appendNotice(log, line.notice);
      else renderLine(line.from, line.text, line.from === 'you' ? 'visitor' : 'agent');
    }
    for (const text of saved.queue || []) appendLine(log, 'you', text, 'visitor queued');
  }

  // This tab owns the conversation: the session, the relay connection and the saved state.
  // Returns the handler of the requests of every tab (this one's included).
  async function own() {
    // Persistent state: { conversation, token, session (sealed export), seq, transcript, queue,
    // unacked }. `seq` is the last agent frame accepted; `unacked` the posts not acknowledged yet.
    let state = await store.load();
    // Storage the browser took away (noticed when this page opened it): a fresh conversation,
    // and the transcript says why the old one is gone.
    if (!state) state = { transcript: lost ? [{ notice: lost }] : [], queue: [] };
    let session = null;
    let handshake = null;
    blobContext = () => (state.conversation ? { conversation: state.conversation, token: state.token } : null);
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
    const save = async () => {
      if (session) state.session = session.exportState(storageKey);
      await store.save(state);
      tabs.broadcast('changed');
    };

    render(state);
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
            renderLine('agent', text);
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
          tabs.broadcast('changed');
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

    // Requests of every tab run one after another with the relay's frames. `handled` (saved with
    // the state) holds the last request ids done, so one retried after a hand-over is not
    // sealed and sent twice.
    return (message, id) => {
      const run = relay.chain.then(async () => {
        state.handled ||= [];
        if (state.handled.includes(id)) return;
        state.handled = [...state.handled.slice(-49), id];
        if (message.type === 'new') {
          await store.save({ transcript: [], queue: [] });
          tabs.broadcast('reload');
          location.reload();
        } else if (message.type === 'say') {
          const text = String(message.text);
          if (session && relay.connected) {
            const envelope = session.sealText(text);
            state.transcript.push({ from: 'you', text });
            const p = post('message', envelope);
            await save();
            renderLine('you', text, 'visitor');
            sendPosts([p]);
          } else {
            // No agent yet (or offline): keep it, sent once the session exists.
            state.queue.push(text);
            await save();
            appendLine(log, 'you', text, 'visitor queued');
          }
        }
      });
      relay.chain = run.catch((e) => console.error(e));
      return run;
    };
  }
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
