// Real browsers: Debian's chromium (playwright-core) and firefox-esr (puppeteer-core over
// WebDriver BiDi) each load two pages, visitor and
// agent, that import the package as ESM and talk through a tiny HTTP mailbox relay on
// 127.0.0.1. Also checks a module Web Worker and the IndexedDB storage-key vault, including
// its failures (aborted transaction, missing store, undecryptable record, refused open).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as hw from 'hushwire';
import { agentSetup, browsers, serve } from './browser-harness.mjs';

const IMPORT_MAP = '<script type="importmap">{"imports":{"hushwire":"/pkg/index.js"}}</script>';
const page = (body) => `<!doctype html><meta charset="utf-8">${IMPORT_MAP}<pre id="log"></pre><script type="module">
const log = (line) => { document.getElementById('log').textContent += line + '\\n'; };
const post = (box, text) => fetch('/box/' + box, { method: 'POST', body: text });
async function take(box) {
  for (;;) { const r = await fetch('/box/' + box); if (r.status === 200) return r.text(); }
}
${body}
</script>`;

const VISITOR = page(`
import { init, VisitorHandshake, Session, createStorageKeyVault } from 'hushwire';
await init();
const setup = await (await fetch('/setup/visitor')).json();
const { handshake, hello } = VisitorHandshake.start(setup.orgPublicKey);
await post('to-agent', hello);
const session = handshake.finish(await take('to-visitor'));
handshake.free();
log('visitor safety ' + session.safetyCode);
await post('to-agent', session.sealText('Hello from the visitor ✓'));
log('visitor got: ' + session.openText(await take('to-visitor')));
// Persist across a "reload" with the IndexedDB vault.
const vault = await createStorageKeyVault();
const key = await vault.getOrCreate();
const again = await vault.getOrCreate();
log('vault key ' + key.length + ' stable ' + (key.join() === again.join()));
const restored = Session.importState(session.exportState(key), key);
await post('to-agent', restored.sealText('after restore'));
// A module worker uses the same package.
const worker = new Worker('/worker.js', { type: 'module' });
log('worker: ' + await new Promise((ok) => { worker.onmessage = (e) => ok(e.data); }));
log('visitor done');
`);

const AGENT = page(`
import { init, AgentKey, AgentIdentity } from 'hushwire';
await init();
const setup = await (await fetch('/setup/agent')).json();
const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const key = AgentKey.fromSecretBytes(b64(setup.agentSecret));
const agent = AgentIdentity.create(key, b64(setup.certificate), setup.orgPublicKey);
key.free();
const { session, reply } = agent.accept(await take('to-agent'));
await post('to-visitor', reply);
log('agent safety ' + session.safetyCode);
log('agent got: ' + session.openText(await take('to-agent')));
await post('to-visitor', session.sealText('Hello from the agent, ' + session.agentId));
log('agent got: ' + session.openText(await take('to-agent')));
try { session.open(new Uint8Array([1, 2, 3])); } catch (e) { log('garbage -> ' + e.name + ' ' + e.code); }
log('agent done');
`);

// The vault's contract: getOrCreate resolves only once its transaction has committed, and
// every IndexedDB / WebCrypto failure is a HushwireError STORAGE_UNAVAILABLE.
const VAULT = page(`
import { createStorageKeyVault, HushwireError } from 'hushwire';
const raw = (db, store, key) => new Promise((ok, fail) => {
  const r = db.transaction(store).objectStore(store).get(key);
  r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error);
});
const openRaw = (name) => new Promise((ok, fail) => {
  // Closes itself when a vault upgrades the database (as every connection to it must).
  const r = indexedDB.open(name); r.onerror = () => fail(r.error);
  r.onsuccess = () => { r.result.onversionchange = () => r.result.close(); ok(r.result); };
});
const outcome = async (p) => {
  try { await p; return 'resolved'; } catch (e) {
    return (e instanceof HushwireError ? 'HushwireError ' : 'other ') + e.code + ' cause ' + e.cause?.name;
  }
};
const vault = await createStorageKeyVault({ databaseName: 'vault-test' });
const none = await vault.get();
const key = await vault.getOrCreate();
log('get before ' + none + ' after ' + ((await vault.get()).join() === key.join()));
// A second connection sees the committed record as soon as getOrCreate has resolved.
log('committed ' + (key.length === 32 && (await raw(await openRaw('vault-test'), 'storage-keys', 'default')) !== undefined));
// An aborted write: the key is neither returned nor stored.
const add = IDBObjectStore.prototype.add;
IDBObjectStore.prototype.add = function (...args) { const r = add.apply(this, args); this.transaction.abort(); return r; };
const aborted = await createStorageKeyVault({ databaseName: 'vault-test', keyName: 'aborted' });
log('aborted write -> ' + await outcome(aborted.getOrCreate()));
IDBObjectStore.prototype.add = add;
log('aborted stored ' + ((await raw(await openRaw('vault-test'), 'storage-keys', 'aborted')) !== undefined));
// A second store in the same database (added by a version upgrade while the first vault's
// connection is open): its own key; the first vault keeps working.
const second = await createStorageKeyVault({ databaseName: 'vault-test', storeName: 'second' });
const key2 = await second.getOrCreate();
log('second store ' + (key2.length === 32 && key2.join() !== key.join()) +
  ' first still ' + ((await vault.getOrCreate()).join() === key.join()) +
  ' second stable ' + ((await second.getOrCreate()).join() === key2.join()));
// A store of another layout (in-line keys): the key cannot be stored there.
const v = (await openRaw('vault-test')).version + 1;
await new Promise((ok, fail) => {
  const r = indexedDB.open('vault-test', v);
  r.onupgradeneeded = () => r.result.createObjectStore('inline', { keyPath: 'id' });
  r.onsuccess = () => { r.result.close(); ok(); }; r.onerror = () => fail(r.error); });
const otherLayout = await createStorageKeyVault({ databaseName: 'vault-test', storeName: 'inline' });
log('other layout -> ' + await outcome(otherLayout.getOrCreate()));
// A record that no longer decrypts.
const other = await openRaw('vault-test');
await new Promise((ok) => { const tx = other.transaction('storage-keys', 'readwrite');
  tx.objectStore('storage-keys').put({ iv: new Uint8Array(12), wrappingKey: null, ciphertext: new Uint8Array(48) }, 'broken');
  tx.oncomplete = ok; });
const broken = await createStorageKeyVault({ databaseName: 'vault-test', keyName: 'broken' });
log('broken record -> ' + await outcome(broken.getOrCreate()));
// No IndexedDB access at all (as in some private modes).
const open = IDBFactory.prototype.open;
IDBFactory.prototype.open = function () { throw new DOMException('denied', 'SecurityError'); };
log('open refused -> ' + await outcome(createStorageKeyVault({ databaseName: 'vault-test-2' })));
IDBFactory.prototype.open = open;
await vault.delete();
log('deleted ' + ((await raw(await openRaw('vault-test'), 'storage-keys', 'default')) === undefined));
log('vault done');
`);

const WORKER = `import { init, AgentKey } from 'hushwire-in-worker';`.replace(
  "'hushwire-in-worker'", "'/pkg/index.js'") + `
await init();
const k = AgentKey.generate();
postMessage('agent key ' + k.publicKey.length + ' bytes');
`;

let server, base, setupData;
const boxes = new Map();
const waiters = new Map();

function route(url, req, send) {
  if (url.pathname.startsWith('/box/')) {
    const name = url.pathname.slice(5);
    if (req.method === 'POST') {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        const w = waiters.get(name)?.shift();
        if (w) w(body); else { if (!boxes.has(name)) boxes.set(name, []); boxes.get(name).push(body); }
        send(204, 'text/plain', '');
      });
      return;
    }
    const queued = boxes.get(name)?.shift();
    if (queued !== undefined) return send(200, 'text/plain', queued);
    // Long poll: wait up to 5 s for a message.
    let done = false;
    const timer = setTimeout(() => { done = true; send(204, 'text/plain', ''); }, 5000);
    if (!waiters.has(name)) waiters.set(name, []);
    waiters.get(name).push((msg) => {
      if (done) { boxes.set(name, [msg, ...(boxes.get(name) || [])]); return; }
      clearTimeout(timer); send(200, 'text/plain', msg);
    });
    return;
  }
  if (url.pathname === '/visitor.html') return send(200, 'text/html', VISITOR);
  if (url.pathname === '/agent.html') return send(200, 'text/html', AGENT);
  if (url.pathname === '/vault.html') return send(200, 'text/html', VAULT);
  if (url.pathname === '/worker.js') return send(200, 'text/javascript', WORKER);
  if (url.pathname === '/setup/visitor') return send(200, 'application/json', JSON.stringify({ orgPublicKey: setupData.orgPublicKey }));
  if (url.pathname === '/setup/agent') return send(200, 'application/json', JSON.stringify(setupData));
  return false;
}

before(async () => {
  await hw.init();
  setupData = agentSetup(hw);
  ({ base, close: server } = await serve(route));
});

after(() => server?.());

for (const { name, skip, launch } of browsers) {
  test(`visitor and agent pages in ${name} exchange messages through the relay`, { skip, timeout: 120_000 }, async () => {
    const browser = await launch();
    try {
      const [agentPage, visitorPage] = [await browser.newPage(), await browser.newPage()];
      await agentPage.goto(`${base}/agent.html`);
      await visitorPage.goto(`${base}/visitor.html`);
      const text = async (p) => p.text('#log');
      const finished = (p, who) => p.waitFor((w) => new RegExp(`${w} done|ERROR`).test(document.getElementById('log').textContent), who, 45_000).catch(() => {});
      await Promise.all([finished(visitorPage, 'visitor'), finished(agentPage, 'agent')]);
      const v = await text(visitorPage);
      const a = await text(agentPage);
      const errors = [...agentPage.errors, ...visitorPage.errors];
      const logs = `visitor page:\n${v}\nagent page:\n${a}\nbrowser errors: ${errors.join('\n')}`;
      assert.deepEqual(errors, [], logs);
      assert.doesNotMatch(v + a, /ERROR/, logs);
      assert.match(v, /visitor done/, logs);
      assert.match(a, /agent done/, logs);
      assert.match(a, /agent got: Hello from the visitor ✓/);
      assert.match(v, /visitor got: Hello from the agent, alice@shop.example/);
      assert.match(a, /agent got: after restore/);
      assert.match(a, /garbage -> HushwireError MALFORMED/);
      assert.match(v, /vault key 32 stable true/);
      assert.match(v, /worker: agent key 32 bytes/);
      const code = (s, who) => s.match(new RegExp(`${who} safety (.+)`))[1];
      assert.equal(code(v, 'visitor'), code(a, 'agent'));

      const vaultPage = await browser.newPage();
      await vaultPage.goto(`${base}/vault.html`);
      await finished(vaultPage, 'vault');
      const t = await text(vaultPage);
      const vlog = `vault page:\n${t}\nbrowser errors: ${vaultPage.errors.join('\n')}`;
      assert.deepEqual(vaultPage.errors, [], vlog);
      assert.match(t, /get before null after true/, vlog);
      assert.match(t, /committed true/, vlog);
      assert.match(t, /aborted write -> HushwireError STORAGE_UNAVAILABLE cause AbortError/, vlog);
      assert.match(t, /aborted stored false/, vlog);
      assert.match(t, /second store true first still true second stable true/, vlog);
      assert.match(t, /other layout -> HushwireError STORAGE_UNAVAILABLE cause DataError/, vlog);
      assert.match(t, /broken record -> HushwireError STORAGE_UNAVAILABLE cause TypeError/, vlog);
      assert.match(t, /open refused -> HushwireError STORAGE_UNAVAILABLE cause SecurityError/, vlog);
      assert.match(t, /deleted true/, vlog);
      assert.match(t, /vault done/, vlog);
    } finally {
      await browser.close();
    }
  });
}
