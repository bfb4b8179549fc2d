// Vite consumes the package: `vite build` of a small app (tests/vite-app) that imports
// 'hushwire' by name, then Debian's chromium loads the built app from 127.0.0.1 and runs a
// handshake and messages both ways in the page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFile, mkdtemp, rm, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, extname } from 'node:path';
import { createRequire } from 'node:module';
import { build } from 'vite';
import * as hw from 'hushwire';
import { certify, NOW } from './helpers.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
let chromium = null;
try {
  chromium = createRequire(join(process.env.HUSHWIRE_TOOLS || '.', 'x.js'))('playwright-core').chromium;
} catch {}
const skip = !chromium || !existsSync(CHROMIUM) ? 'playwright-core or chromium missing (scripts/install-deps.sh browser)' : false;

test('a Vite production build of an app using the package runs in chromium', { skip, timeout: 120_000 }, async () => {
  const outDir = await mkdtemp(join(tmpdir(), 'hushwire-vite-'));
  const profile = await mkdtemp(join(tmpdir(), 'hushwire-chromium-'));
  let server;
  let context;
  try {
    await build({
      root: new URL('./vite-app/', import.meta.url).pathname,
      logLevel: 'error',
      build: { outDir, emptyOutDir: true, target: 'es2022' },
    });
    const assets = await readdir(join(outDir, 'assets'));
    assert.ok(assets.some((f) => f.endsWith('.wasm')), `Vite emitted the .wasm as an asset: ${assets}`);

    await hw.init();
    const key = hw.AgentKey.generate();
    const { orgPublicKey, cert } = certify(key.publicKey, { agentId: 'vite-agent' });
    const setup = JSON.stringify({
      orgPublicKey,
      agentSecret: Buffer.from(key.secretBytes()).toString('hex'),
      certificate: Buffer.from(cert).toString('hex'),
      now: NOW,
    });
    key.free();
    const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
    server = http.createServer(async (req, res) => {
      const path = new URL(req.url, 'http://x').pathname;
      if (path === '/setup.json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(setup);
      }
      const file = path === '/' ? '/index.html' : path;
      try {
        if (file.includes('..')) throw new Error('no');
        const body = await readFile(join(outDir, file));
        res.writeHead(200, { 'content-type': types[extname(file)] || 'application/octet-stream' });
        res.end(body);
      } catch {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => /vite app done|ERROR/.test(document.getElementById('log').textContent), null, { timeout: 30_000 });
    const log = await page.locator('#log').textContent();
    assert.deepEqual(errors, [], log);
    assert.match(log, /agent got: hello through vite/, log);
    assert.match(log, /visitor got: hello back/, log);
    assert.match(log, /garbage -> true MALFORMED/, log);
    assert.doesNotMatch(log, /ERROR/, log);
  } finally {
    await context?.close();
    server?.close();
    await rm(outDir, { recursive: true, force: true });
    await rm(profile, { recursive: true, force: true });
  }
});
