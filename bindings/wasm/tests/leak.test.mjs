// Memory in a long-lived page (Debian chromium): 10 000 sessions are created (full handshake),
// used (a message each way) and dropped without free(); the FinalizationRegistry backstop must
// give their WebAssembly memory back, so the instance's memory and the JS heap stay flat. A
// control keeps 2 000 sessions alive and must see the memory grow, so the measurement can
// fail. Numbers are printed (the README quotes them).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as hw from 'hushwire';
import { agentSetup, launch, serve, skip } from './browser-harness.mjs';

const ROUNDS = 10;
const PER_ROUND = 1000;

const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
import { init, AgentKey, AgentIdentity, VisitorHandshake } from '/pkg/index.js';
// The instance's memory, seen by wrapping the instantiation the glue does (no test export).
let memory;
const instantiate = WebAssembly.instantiate;
WebAssembly.instantiate = async (...args) => {
  const r = await instantiate(...args);
  memory = (r.instance ?? r).exports.memory;
  return r;
};
await init(await WebAssembly.compileStreaming(fetch('/pkg/hushwire_bg.wasm')));
const setup = await (await fetch('/setup')).json();
const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const key = AgentKey.fromSecretBytes(b64(setup.agentSecret));
const agent = AgentIdentity.create(key, b64(setup.certificate), setup.orgPublicKey);
key.free();
function one() {
  const { handshake, hello } = VisitorHandshake.start(setup.orgPublicKey);
  const { session, reply } = agent.accept(hello);
  const visitor = handshake.finish(reply);
  if (session.openText(visitor.sealText('hello')) !== 'hello') throw new Error('visitor -> agent');
  if (visitor.openText(session.sealText('hi')) !== 'hi') throw new Error('agent -> visitor');
  return [handshake, session, visitor];
}
const kept = [];
window.drop = (n) => { for (let i = 0; i < n; i++) one(); };
window.keep = (n) => { for (let i = 0; i < n; i++) kept.push(one()); };
window.wasmBytes = () => memory.buffer.byteLength;
window.ready = true;
</script>`;

let server, base, setup;
before(async () => {
  await hw.init();
  setup = agentSetup(hw);
  ({ base, close: server } = await serve((url, req, send) => {
    if (url.pathname === '/leak.html') return send(200, 'text/html', PAGE);
    if (url.pathname === '/setup') return send(200, 'application/json', JSON.stringify(setup));
    return false;
  }));
});
after(() => server?.());

test('10 000 dropped sessions in chromium: wasm memory and JS heap stay flat', { skip, timeout: 300_000 }, async () => {
  const browser = await launch();
  try {
    const page = await browser.context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${base}/leak.html`);
    await page.waitForFunction(() => window.ready === true, null, { timeout: 30_000 });
    const cdp = await browser.context.newCDPSession(page);
    // Collect, let the finalisers run (they are queued as a task after the collection), collect
    // what they released; then measure.
    const measure = async () => {
      for (let i = 0; i < 3; i++) {
        await cdp.send('HeapProfiler.collectGarbage');
        await page.evaluate(() => new Promise((ok) => setTimeout(ok, 20)));
      }
      const { usedSize } = await cdp.send('Runtime.getHeapUsage');
      return { wasm: await page.evaluate(() => window.wasmBytes()), heap: usedSize };
    };
    const start = await measure();
    const samples = [];
    const t0 = performance.now();
    for (let r = 0; r < ROUNDS; r++) {
      await page.evaluate((n) => window.drop(n), PER_ROUND);
      samples.push(await measure());
    }
    const ms = performance.now() - t0;
    const kb = (n) => (n / 1024).toFixed(0);
    console.log(`leak test: ${ROUNDS * PER_ROUND} sessions dropped in ${(ms / 1000).toFixed(1)} s; ` +
      `wasm memory KiB start ${kb(start.wasm)}, after each 1000: ${samples.map((s) => kb(s.wasm)).join(' ')}; ` +
      `JS heap KiB start ${kb(start.heap)}, after each 1000: ${samples.map((s) => kb(s.heap)).join(' ')}`);
    assert.deepEqual(errors, []);
    // Flat: from the second round on (allocator and JIT warmed up) neither grows. The heap may
    // wobble by a little (V8's own bookkeeping); a leak of even 100 B per session would be
    // 800 KiB over the last 8 000.
    const base2 = samples[1];
    const last = samples[samples.length - 1];
    assert.ok(last.wasm <= base2.wasm, `wasm memory grew from ${base2.wasm} to ${last.wasm} bytes`);
    assert.ok(last.heap <= base2.heap + 256 * 1024, `JS heap grew from ${base2.heap} to ${last.heap} bytes`);

    // Control: the same sessions kept alive do grow the wasm memory (a session's state is held
    // there: about 400 B each, 768 KiB for 2000), so the flat line above is the backstop at
    // work, not a blind measurement.
    await page.evaluate(() => window.keep(2000));
    const kept = await measure();
    console.log(`leak test control: 2000 sessions kept: wasm memory KiB ${kb(kept.wasm)}, JS heap KiB ${kb(kept.heap)}`);
    assert.ok(kept.wasm > last.wasm + 512 * 1024, `keeping 2000 sessions grew wasm memory only to ${kept.wasm}`);
  } finally {
    await browser.close();
  }
});
