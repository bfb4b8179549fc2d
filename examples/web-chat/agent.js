// The agent console. DEMO ONLY: loads the agent's sealed identity and its storage key from
// /demo/agent-console.json; see agent.html.
import { init, AgentIdentity, Session, createStorageKeyVault } from 'hushwire';
import { RelayConnection, SealedStore, appendLine, appendWarning, codeOf, fromB64 } from './common.js';

const $ = (id) => document.getElementById(id);
const log = $('log');

async function main() {
  await init();
  const cfg = await (await fetch('/demo/agent-console.json')).json();
  const identity = AgentIdentity.importState(cfg.identity, fromB64(cfg.storage_key));
  $('me').textContent = `${identity.agentId} (${identity.deviceId})`;
  const vault = await createStorageKeyVault({ databaseName: 'hushwire-agent' });
  const storageKey = await vault.getOrCreate();
  const store = await SealedStore.open('hushwire.agent', storageKey);

  // { convs: { id: { session, seq, transcript } }, current }
  const state = (await store.load()) || { convs: {}, current: null };
  const sessions = new Map();
  for (const [id, c] of Object.entries(state.convs)) {
    try {
      sessions.set(id, Session.importState(c.session, storageKey));
    } catch (e) {
      appendWarning(log, codeOf(e));
      delete state.convs[id];
    }
  }
  const save = () => {
    for (const [id, s] of sessions) state.convs[id].session = s.exportState(storageKey);
    return store.save(state);
  };

  function show(id) {
    state.current = id;
    log.replaceChildren();
    $('conv').textContent = id ? id.slice(0, 8) : 'none';
    $('safety').textContent = id ? sessions.get(id).safetyCode : '—';
    if (id) for (const l of state.convs[id].transcript) appendLine(log, l.from, l.text, l.from === 'you' ? 'agent' : 'visitor');
  }
  if (state.current && sessions.has(state.current)) show(state.current);

  function addWaiting(id) {
    if (sessions.has(id) || document.querySelector(`li[data-conv="${id}"]`)) return;
    const li = document.createElement('li');
    li.dataset.conv = id;
    li.textContent = `Visitor ${id.slice(0, 8)} `;
    const btn = document.createElement('button');
    btn.textContent = 'Accept';
    btn.className = 'accept';
    btn.onclick = () => relay.send({ type: 'accept', conversation: id });
    li.append(btn);
    $('waiting').append(li);
  }
  const removeWaiting = (id) => document.querySelector(`li[data-conv="${id}"]`)?.remove();

  async function onFrame(f) {
    const id = f.conversation;
    if (f.type === 'waiting') addWaiting(id);
    else if (f.type === 'taken') removeWaiting(id);
    else if (f.type === 'assigned') {
      if (sessions.has(id)) relay.send({ type: 'sync', conversation: id, after: state.convs[id].seq });
    } else if (f.type === 'accepted') {
      removeWaiting(id);
      if (sessions.has(id)) return;
      try {
        const { session, reply } = identity.accept(f.hello);
        sessions.set(id, session);
        state.convs[id] = { seq: f.seq, transcript: [] };
        await save();
        relay.send({ type: 'post', conversation: id, kind: 'reply', data: reply });
        relay.send({ type: 'sync', conversation: id, after: f.seq });
        show(id);
      } catch (e) {
        appendWarning(log, codeOf(e));
      }
    } else if (f.type === 'deliver') {
      const s = sessions.get(id);
      const c = state.convs[id];
      if (!s || f.seq <= c.seq) return;
      if (f.kind === 'message') {
        try {
          const text = s.openText(f.data);
          c.transcript.push({ from: 'visitor', text });
          if (state.current === id) appendLine(log, 'visitor', text);
        } catch (e) {
          if (state.current === id) appendWarning(log, codeOf(e));
        }
      }
      c.seq = f.seq;
      await save();
    } else if (f.type === 'error') {
      $('status').textContent = `relay error ${f.code}`;
    }
  }

  const relay = new RelayConnection({
    onStatus: (s) => ($('status').textContent = s),
    onOpen: async () => relay.send({ type: 'agent', token: cfg.relay_token }),
    onFrame,
  });

  $('form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = $('input').value;
    const id = state.current;
    if (!text.trim() || !id || !relay.connected) return;
    $('input').value = '';
    relay.chain = relay.chain.then(async () => {
      const envelope = sessions.get(id).sealText(text);
      state.convs[id].transcript.push({ from: 'you', text });
      await save();
      appendLine(log, 'you', text, 'agent');
      relay.send({ type: 'post', conversation: id, kind: 'message', data: envelope, ref: String(Date.now()) });
    });
  });
  window.hushwireDemo = { ready: true };
}

main().catch((e) => {
  $('status').textContent = `failed: ${codeOf(e)}`;
  console.error(e);
});
