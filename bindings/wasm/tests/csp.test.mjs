// Pages that forbid WebAssembly (Debian chromium): under `script-src 'self'` the default entry
// falls back to the JavaScript build by itself and chats; with 'wasm-unsafe-eval' it runs the
// WebAssembly build; the explicit `hushwire/nowasm` entry runs under both. Each page performs
// a full handshake (agent certified by the test) and a message each way, with no inline
// script, and reports which build ran and the time per message.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as hw from 'hushwire';
import { agentSetup, browsers, serve } from './browser-harness.mjs';

const MAIN = `
const entry = new URL(location.href).searchParams.get('entry');
const log = (s) => { document.getElementById('log').textContent += s + '\\n'; };
try {
  const lib = await import(entry === 'nowasm' ? '/pkg/nowasm.js' : '/pkg/index.js');
  await lib.init();
  const setup = await (await fetch('/setup')).json();
  const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const key = lib.AgentKey.fromSecretBytes(b64(setup.agentSecret));
  const agent = lib.AgentIdentity.create(key, b64(setup.certificate), setup.orgPublicKey);
  key.free();
  const t0 = performance.now();
  const { handshake, hello } = lib.VisitorHandshake.start(setup.orgPublicKey);
  const { session, reply } = agent.accept(hello);
  const visitor = handshake.finish(reply);
  const handshakeMs = performance.now() - t0;
  const a = session.openText(visitor.sealText('hello agent'));
  const v = visitor.openText(session.sealText('hello visitor'));
  const msg = new Uint8Array(256);
  for (let i = 0; i < 20; i++) session.open(visitor.seal(msg));
  const t1 = performance.now();
  for (let i = 0; i < 200; i++) session.open(visitor.seal(msg));
  const messageMs = (performance.now() - t1) / 200;
  log('backend ' + lib.backend() + ' got ' + a + ' / ' + v + ' handshake ' + handshakeMs.toFixed(2) + ' message ' + messageMs.toFixed(3));
} catch (e) {
  log('ERROR ' + e.code + ' ' + e.message);
}
log('done');
`;
const PAGE = '<!doctype html><meta charset="utf-8"><pre id="log"></pre><script type="module" src="/csp/main.js"></script>';

let server, base, setup;
before(async () => {
  await hw.init();
  setup = agentSetup(hw);
  ({ base, close: server } = await serve((url, req, send) => {
    const csp = `default-src 'none'; script-src 'self'${url.searchParams.get('wasm') === '1' ? " 'wasm-unsafe-eval'" : ''}; connect-src 'self'`;
    if (url.pathname === '/csp/page.html') return send(200, 'text/html', PAGE, { 'content-security-policy': csp });
    if (url.pathname === '/csp/main.js') return send(200, 'text/javascript', MAIN);
    if (url.pathname === '/setup') return send(200, 'application/json', JSON.stringify(setup));
    return false;
  }));
});
after(() => server?.());

for (const { name, skip, launch } of browsers) {
  test(`${name}, strict CSP: the default entry falls back to JavaScript; with wasm-unsafe-eval it runs wasm; nowasm runs anywhere`, { skip, timeout: 180_000 }, async () => {
    const browser = await launch();
    try {
      const results = {};
      for (const entry of ['index', 'nowasm']) {
        for (const wasm of [false, true]) {
          const page = await browser.newPage();
          await page.goto(`${base}/csp/page.html?entry=${entry}&wasm=${wasm ? 1 : 0}`);
          await page.waitFor(() => /done/.test(document.getElementById('log').textContent), null, 90_000);
          const text = await page.text('#log');
          const label = `${entry}, ${wasm ? "script-src 'self' 'wasm-unsafe-eval'" : "script-src 'self'"}`;
          results[label] = text.trim().split('\n')[0];
          assert.deepEqual(page.errors, [], `${label}: ${page.errors}`);
          assert.match(text, /got hello agent \/ hello visitor/, `${label}: ${text}`);
          const expected = entry === 'index' && wasm ? 'wasm' : 'javascript';
          assert.match(text, new RegExp(`backend ${expected} `), `${label}: ${text}`);
          await page.close();
        }
      }
      for (const [label, line] of Object.entries(results)) console.log(`csp (${name}): ${label}: ${line}`);
    } finally {
      await browser.close();
    }
  });
}
