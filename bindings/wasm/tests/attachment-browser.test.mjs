// hushwire/attachment in a real browser (Debian chromium via playwright-core): the page loads
// the browser entry as ESM, reproduces a vector of docs/vectors/attachment.json through
// WebCrypto (file key fed through crypto.getRandomValues), round-trips a File through the
// Blob helpers and the streams, and sees a tampered blob refused with ATTACHMENT_CORRUPTED.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, extname } from 'node:path';
import { createRequire } from 'node:module';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
let chromium = null;
try {
  chromium = createRequire(join(process.env.HUSHWIRE_TOOLS || '.', 'x.js'))('playwright-core').chromium;
} catch {}
const skip = !chromium || !existsSync(CHROMIUM) ? 'playwright-core or chromium missing (scripts/install-deps.sh browser)' : false;
const pkgDir = new URL('../pkg/', import.meta.url);
const vectors = new URL('../../../docs/vectors/attachment.json', import.meta.url);

const PAGE = `<!doctype html><meta charset="utf-8"><pre id="log"></pre><script type="module">
const log = (l) => { document.getElementById('log').textContent += l + '\\n'; };
const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const unhex = (h) => Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16));
try {
  const att = await import('/pkg/attachment.js');
  await att.init();
  const f = (await (await fetch('/vectors.json')).json()).files.find((x) => x.label === 'three segments');
  const data = Uint8Array.from({ length: Number(f.plaintext_length) }, (_, i) => i % 251);
  // The module's next 32 random bytes are the vector's file key.
  const real = crypto.getRandomValues.bind(crypto);
  let feed = unhex(f.file_key);
  crypto.getRandomValues = (a) => { real(a); const n = Math.min(feed.length, a.length); a.set(feed.subarray(0, n)); feed = feed.subarray(n); return a; };
  const want = att.AttachmentManifest.fromBytes(unhex(f.manifest));
  const opts = { mediaType: want.mediaType, name: want.name, thumbnail: want.thumbnail, segmentSize: 65536 };
  const { manifest, blob } = await att.encryptFile(new Blob([data]), opts);
  crypto.getRandomValues = real;
  const digest = hex(new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer())));
  log('vector ' + (digest === f.blob_sha256) + ' ' + (hex(manifest.toBytes()) === f.manifest));
  const input = new File([data], 'photo.png', { type: 'image/png' });
  const sent = await att.encryptFile(input);
  const got = att.AttachmentManifest.fromBytes(sent.manifest.toBytes());
  const file = await att.decryptFile(got, sent.blob);
  const same = hex(new Uint8Array(await file.arrayBuffer())) === hex(data);
  log('file ' + file.name + ' ' + file.type + ' ' + same);
  const plain = await new Response(sent.blob.stream().pipeThrough(att.createDecryptionStream(got))).arrayBuffer();
  log('stream ' + (plain.byteLength === data.length));
  const bad = new Uint8Array(await sent.blob.arrayBuffer());
  bad[70000] ^= 1;
  try { await att.decryptFile(got, new Blob([bad])); log('tampered accepted'); }
  catch (e) { log('tampered -> ' + e.name + ' ' + e.code); }
  log('done');
} catch (e) { log('ERROR ' + e + ' ' + e.stack); }
</script>`;

let server;
let base;
before(async () => {
  server = http.createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    try {
      let body;
      let type = 'text/html';
      if (path === '/') body = PAGE;
      else if (path === '/vectors.json') [body, type] = [await readFile(vectors), 'application/json'];
      else if (path.startsWith('/pkg/') && !path.includes('..')) {
        body = await readFile(new URL(path.slice(5), pkgDir));
        type = { '.js': 'text/javascript', '.wasm': 'application/wasm' }[extname(path)] ?? 'application/octet-stream';
      } else throw new Error('not found');
      res.writeHead(200, { 'content-type': type });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${server.address().port}`;
});
after(() => server?.close());

test('attachments in chromium: vector bytes, File round trip, stream, tamper refused', { skip, timeout: 60_000 }, async () => {
  const profile = await mkdtemp(join(tmpdir(), 'hushwire-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${base}/`);
    await page.waitForFunction(() => /done|ERROR/.test(document.getElementById('log').textContent), null, { timeout: 45_000 });
    const log = await page.locator('#log').textContent();
    assert.deepEqual(errors, [], log);
    assert.match(log, /vector true true/, log);
    assert.match(log, /file photo\.png image\/png true/, log);
    assert.match(log, /stream true/, log);
    assert.match(log, /tampered -> HushwireError ATTACHMENT_CORRUPTED/, log);
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
});
