// hushwire/tabs in Debian chromium and firefox-esr: pages of one origin elect one owner, requests from every
// page run in the owner (once per id, even when retried), broadcasts reach the others, and
// when the owner page closes another takes over and answers what was outstanding. Run with
// Web Locks and again with navigator.locks removed (the documented election fallback).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { browsers, serve } from './browser-harness.mjs';

const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
import { coordinateTabs } from '/pkg/tabs.js';
const me = new URLSearchParams(location.search).get('name');
window.events = [];
window.group = coordinateTabs('test', {
  // The first owner (a) never answers a 'slow' request in time: it is outstanding when a closes.
  onRequest: async (m, id) => {
    window.events.push('handled ' + m + ' ' + id);
    await new Promise((ok) => setTimeout(ok, me === 'a' && m.startsWith('slow') ? 60_000 : 10));
    return me + ' did ' + m;
  },
  onBroadcast: (m) => window.events.push('cast ' + m),
  onOwner: () => window.events.push('owner'),
});
window.ready = true;
</script>`;

let server, base;
before(async () => {
  ({ base, close: server } = await serve((url, req, send) => (url.pathname === '/tabs.html' ? send(200, 'text/html', PAGE) : false)));
});
after(() => server?.());

for (const { name, skip, launch } of browsers) for (const locks of [true, false]) {
  test(`${name}, tabs: one owner, requests through it, hand-over on close (${locks ? 'Web Locks' : 'election without Web Locks'})`, { skip, timeout: 60_000 }, async () => {
    const browser = await launch();
    try {
      const initScript = locks ? undefined : () => Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined });
      const open = async (tab) => {
        const p = await browser.newPage({ initScript });
        await p.goto(`${base}/tabs.html?name=${tab}`);
        await p.waitFor(() => window.ready);
        return p;
      };
      const a = await open('a');
      await a.waitFor(() => window.group.isOwner, null, 10_000);
      const b = await open('b');
      const c = await open('c');
      await new Promise((ok) => setTimeout(ok, locks ? 100 : 1000));
      assert.equal(await a.evaluate(() => window.group.mode), locks ? 'locks' : 'election');
      assert.deepEqual(await Promise.all([a, b, c].map((p) => p.evaluate(() => window.group.isOwner))), [true, false, false]);
      assert.equal(await b.evaluate(() => window.group.request('x')), 'a did x');
      assert.equal(await a.evaluate(() => window.group.request('y')), 'a did y');
      await a.evaluate(() => window.group.broadcast('hello'));
      await b.waitFor(() => window.events.includes('cast hello'));
      assert.ok(!(await a.evaluate(() => window.events.includes('cast hello'))), 'the owner does not get its own broadcast');
      // A request the owner takes but never answers: closing the owner hands it to the next.
      const pending = c.evaluate(() => window.group.request('slow-then-retried'));
      await a.waitFor(() => window.events.some((e) => e.startsWith('handled slow-then-retried')));
      await a.close();
      const result = await pending;
      const owners = await Promise.all([b, c].map((p) => p.evaluate(() => window.group.isOwner)));
      assert.equal(owners.filter(Boolean).length, 1, `exactly one new owner: ${owners}`);
      assert.match(result, /^(b|c) did slow-then-retried$/);
      assert.equal(result[0], owners[0] ? 'b' : 'c');
      // The new owner ran it under the id the first owner saw.
      const newOwner = owners[0] ? b : c;
      const handled = (await newOwner.evaluate(() => window.events)).filter((e) => e.startsWith('handled slow'));
      assert.equal(handled.length, 1, String(handled));
      // And it still serves the other page.
      const other = owners[0] ? c : b;
      assert.equal(await other.evaluate(() => window.group.request('z')), `${result[0]} did z`);
    } finally {
      await browser.close();
    }
  });
}
