// End-to-end test of the web demo in real headless Chromium (Debian's, via playwright-core;
// never downloads a browser). Run by examples/relay/test.sh, which builds everything first:
//
//   node examples/web-chat/e2e.cjs
//
// Env: HUSHWIRE_TOOLS (node_modules with playwright-core, from scripts/env.sh), CHROMIUM.
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const readline = require('node:readline');

const root = path.resolve(__dirname, '..', '..');
const tools = process.env.HUSHWIRE_TOOLS || path.join(root, 'target/tools/node/node_modules');
const { chromium } = require(path.join(tools, 'playwright-core'));
const bin = path.join(root, 'target/debug');
const shots = path.join(root, 'target/e2e-screenshots');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hushwire-e2e-'));
fs.mkdirSync(shots, { recursive: true });

let passed = 0;
let failed = 0;
function check(name, ok, detail) {
  if (ok) {
    passed++;
    console.log(`  ok   ${name}`);
  } else {
    failed++;
    console.log(`  FAIL ${name}${detail ? `: ${detail}` : ''}`);
  }
}

// ---- demo organisation and relay logins --------------------------------------------------
// As examples/run-demo.sh: the relay serves only public data (/demo holds org.json alone), the
// console gets its relay token in the URL fragment, and the admin certifies the key the
// console shows with `hushwire-agent certify`.
const cli = (...args) => execFileSync(path.join(bin, 'hushwire-agent'), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const orgDir = path.join(work, 'org');
cli('init-org', '--dir', orgDir);
// Another organisation's key, offered through ?org= (which the widget must ignore).
const otherOrgKey = cli('init-org', '--dir', path.join(work, 'other-org')).trim();
const publicDir = path.join(work, 'public');
fs.mkdirSync(publicDir);
fs.copyFileSync(path.join(orgDir, 'org.json'), path.join(publicDir, 'org.json'));
const consoleToken = crypto.randomBytes(32).toString('base64url');
const agentToken = `alice-web-console:${consoleToken}`;
// The demo runs over HTTPS (issue #16): a self-signed pair from the relay's gen-cert, which
// the browser trusts by its public key only (--ignore-certificate-errors-spki-list).
const tlsDir = path.join(work, 'tls');
execFileSync(process.env.HUSHWIRE_RELAY_BIN || path.join(bin, 'hushwire-relay'), ['gen-cert', '--out', tlsDir]);
const tlsSpki = crypto.createHash('sha256')
  .update(new crypto.X509Certificate(fs.readFileSync(path.join(tlsDir, 'cert.pem'))).publicKey
    .export({ type: 'spki', format: 'der' }))
  .digest('base64');
// ---- relay process -------------------------------------------------------------------------
const children = new Set();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});
function startRelay(name, bind, extra = []) {
  const db = path.join(work, `${name}.sqlite3`);
  const logFile = path.join(work, `${name}.log`);
  const frameLog = path.join(work, `${name}.frames`);
  const out = fs.openSync(logFile, 'a');
  const child = spawn(process.env.HUSHWIRE_RELAY_BIN || path.join(bin, 'hushwire-relay'), [
    '--bind', bind, '--db', db, '--static', path.join(root, 'examples/web-chat'),
    '--mount', `/pkg=${path.join(root, 'bindings/wasm/pkg')}`, '--mount', `/demo=${publicDir}`,
    '--frame-log', frameLog, '--rate-limit', '50',
    '--tls-cert', path.join(tlsDir, 'cert.pem'), '--tls-key', path.join(tlsDir, 'key.pem'), ...extra,
  ], { env: { ...process.env, HUSHWIRE_AGENT_TOKENS: agentToken }, stdio: ['ignore', 'pipe', out] });
  children.add(child);
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout });
    rl.once('line', (line) => {
      fs.appendFileSync(logFile, `${line}\n`);
      const url = line.trim().split(' ').pop();
      resolve({ child, url, db, logFile, frameLog, bind: url.replace(/^https?:\/\//, '') });
    });
    child.once('exit', (code) => reject(new Error(`relay exited early (${code})`)));
  });
}
function stopRelay(relay) {
  return new Promise((resolve) => {
    if (relay.child.exitCode !== null) return resolve(relay.child.exitCode);
    relay.child.once('exit', (code) => resolve(code));
    relay.child.kill('SIGTERM');
  });
}

const marker = (label) => `${label}-${crypto.randomBytes(6).toString('hex')}`;
const markers = [];

// Every Content-Security-Policy violation in any page, reported through a binding that
// survives reloads (the listener is installed before any page script runs).
const cspViolations = [];
const consoleErrors = [];
async function newContext() {
  const dir = fs.mkdtempSync(path.join(work, 'chromium-'));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      `--ignore-certificate-errors-spki-list=${tlsSpki}`,
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  ctx.setDefaultTimeout(20000);
  await ctx.exposeBinding('hushwireCspViolation', ({ page }, v) => cspViolations.push(`${page.url()}: ${v}`));
  await ctx.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) =>
      window.hushwireCspViolation(`${e.violatedDirective} blocked ${e.blockedURI}`));
  });
  return ctx;
}

/**
 * Routes a page's relay WebSocket through this test, to stage the races of issues #18 and
 * #20 deterministically: `hold()` keeps every frame the page sends from the first `sync` on
 * until `release()`; `dropAcks` drops the relay's `ack` frames (as if the connection had died
 * between the commit and the ack). Counts the acks let through.
 */
async function routeRelay(page) {
  const ctl = {
    holding: false, queue: [], dropAcks: false, acks: 0, dropped: 0,
    hold() { this.holding = true; },
    release() { this.holding = false; for (const send of this.queue.splice(0)) send(); },
    heldSync() { return this.queue.length > 0; },
  };
  await page.routeWebSocket(/\/ws$/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((m) => {
      if (ctl.holding && (ctl.queue.length > 0 || JSON.parse(m).type === 'sync')) ctl.queue.push(() => server.send(m));
      else server.send(m);
    });
    server.onMessage((m) => {
      if (JSON.parse(m).type === 'ack') {
        if (ctl.dropAcks) { ctl.dropped++; return; }
        ctl.acks++;
      }
      ws.send(m);
    });
  });
  return ctl;
}

async function until(cond, what, ms = 20000) {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const openPages = [];
async function openPage(ctx, url, label, beforeGoto) {
  const page = await ctx.newPage();
  if (beforeGoto) await beforeGoto(page);
  openPages.push([label, page]);
  page.on('pageerror', (e) => console.log(`  [${label}] page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    consoleErrors.push(`[${label}] ${m.text()}`);
    console.log(`  [${label}] console: ${m.text()}`);
  });
  const res = await page.goto(url);
  const h = res.headers();
  check(`${label} page served with CSP, nosniff, frame-ancestors 'none', X-Frame-Options DENY`,
    /default-src 'none'/.test(h['content-security-policy'] || '') && /frame-ancestors 'none'/.test(h['content-security-policy'])
      && !/unsafe-inline/.test(h['content-security-policy']) && h['x-content-type-options'] === 'nosniff'
      && h['x-frame-options'] === 'DENY', JSON.stringify(h));
  return page;
}

/**
 * Opens the agent console as a new device would: with the relay token in the fragment, then
 * reads the public key the console generated and shows, certifies it with the CLI as the
 * admin would, and pastes the certificate back.
 */
async function openEnrolledAgent(ctx, base, label, beforeGoto) {
  const agent = await openPage(ctx, `${base}/agent.html#token=${consoleToken}`, label, beforeGoto);
  await agent.locator('#enrol').waitFor();
  const publicKey = (await agent.locator('#pubkey').innerText()).trim();
  await agent.screenshot({ path: path.join(shots, `${label}-enrol.png`), fullPage: true });
  // Reloading before the certificate arrives keeps the same key.
  await agent.reload();
  await agent.locator('#enrol').waitFor();
  check(`${label}: the device key survives a reload before enrolment`, (await agent.locator('#pubkey').innerText()).trim() === publicKey);
  // A certificate for some other (real: the certifier refuses non-canonical and small-order
  // keys) X25519 key is refused.
  const otherKey = crypto.generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' }).x;
  const stranger = cli('certify', '--org-dir', orgDir, '--agent-id', 'alice@shop.example', '--device-id', 'x',
    '--public-key', otherKey).trim();
  await agent.fill('#cert', stranger);
  await agent.click('#import');
  await agent.waitForFunction(() => document.getElementById('enrol-error').textContent.includes('CERTIFICATE_KEY_MISMATCH'));
  const cert = cli('certify', '--org-dir', orgDir, '--agent-id', 'alice@shop.example', '--device-id', 'web-console',
    '--public-key', publicKey).trim();
  await agent.fill('#cert', cert);
  await agent.click('#import');
  await agent.waitForFunction(() => document.getElementById('status').textContent === 'connected');
  check(`${label}: enrolled with a certificate for the key it generated`, (await agent.locator('#me').innerText()) === 'alice@shop.example (web-console)');
  check(`${label}: the relay token is not left in the URL`, !(agent.url().includes(consoleToken)));
  return agent;
}

async function say(page, text) {
  await page.fill('#input', text);
  await page.click('#send');
}
const logText = (page) => page.locator('#log').innerText();
async function waitForText(page, text) {
  await page.locator('#log .msg .text', { hasText: text }).first().waitFor();
}

async function mainRun() {
  let relay = await startRelay('main', '127.0.0.1:0');
  const base = relay.url;
  const ctx = await newContext();
  let agent = await openEnrolledAgent(ctx, base, 'agent');
  for (const secret of ['/demo/agent-console.json', '/demo/storage.key']) {
    const res = await agent.request.get(`${base}${secret}`, { ignoreHTTPSErrors: true }); // Node-side TLS: the browser flag does not apply
    check(`the relay serves no ${secret}`, res.status() === 404, String(res.status()));
  }

  // ?org= names another organisation: if the widget used it, the handshake with this agent
  // would fail (WRONG_ORGANIZATION) and no safety code would appear.
  let visitor = await openPage(ctx, `${base}/visitor.html?org=${otherOrgKey}`, 'visitor');
  await visitor.click('#open');
  await visitor.waitForFunction(() => window.hushwireDemo && window.hushwireDemo.ready);
  // Typed before any agent picked the conversation up: queued in the widget.
  const v1 = marker('VISITOR-ONE');
  markers.push(v1);
  await visitor.waitForFunction(() => document.getElementById('status').textContent === 'connected');
  await say(visitor, v1);
  await visitor.locator('#log .queued').first().waitFor();
  check('message typed before an agent joined is queued client-side', true);

  await agent.locator('button.accept').first().click();
  await visitor.waitForFunction(() => document.getElementById('safety').textContent !== '—');
  const vCode = await visitor.locator('#safety').innerText();
  const aCode = await agent.locator('#safety').innerText();
  check('safety code shown on both sides and equal', vCode.length > 4 && vCode === aCode, `${vCode} / ${aCode}`);
  await waitForText(agent, v1);
  check('queued visitor message decrypted by the agent after the handshake', true);

  const a1 = marker('AGENT-ONE');
  markers.push(a1);
  await say(agent, a1);
  await waitForText(visitor, a1);
  check('agent -> visitor', true);

  // Reload the visitor page: the session and transcript come back from local storage.
  await visitor.reload();
  await visitor.waitForFunction(() => document.getElementById('safety').textContent !== '—');
  const restored = await logText(visitor);
  check('transcript restored after reload', restored.includes(v1) && restored.includes(a1));
  check('same safety code after reload', (await visitor.locator('#safety').innerText()) === vCode);
  await visitor.waitForFunction(() => document.getElementById('status').textContent === 'connected');
  const v2 = marker('VISITOR-TWO');
  markers.push(v2);
  await say(visitor, v2);
  await waitForText(agent, v2);
  const a2 = marker('AGENT-TWO');
  markers.push(a2);
  await say(agent, a2);
  await waitForText(visitor, a2);
  check('both ways after reload', true);

  // Reload the console: identity, token, session and transcript come back from local storage.
  await agent.reload();
  await agent.waitForFunction(() => document.getElementById('status').textContent === 'connected');
  check('console stays enrolled and logged in after reload', (await agent.locator('#enrol').isHidden()) && (await agent.locator('#me').innerText()).startsWith('alice@shop.example'));
  check('console: same safety code and transcript after reload', (await agent.locator('#safety').innerText()) === vCode && (await logText(agent)).includes(v2));
  check('console local state is sealed under the HKDF-derived key, not the storage key itself', await agent.evaluate(async () => {
    const { createStorageKeyVault } = await import('/pkg/index.js');
    const { LOCAL_STATE_KEY_INFO, fromB64 } = await import('/common.js');
    const vault = await createStorageKeyVault({ databaseName: 'hushwire-agent' });
    const storageKey = await vault.getOrCreate();
    vault.close();
    const { iv, ct } = JSON.parse(localStorage.getItem('hushwire.agent'));
    const open = (key) => crypto.subtle.decrypt({ name: 'AES-GCM', iv: fromB64(iv) }, key, fromB64(ct)).then(() => true, () => false);
    const raw = await crypto.subtle.importKey('raw', storageKey, 'AES-GCM', false, ['decrypt']);
    const ikm = await crypto.subtle.importKey('raw', storageKey, 'HKDF', false, ['deriveKey']);
    const derived = await crypto.subtle.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: new TextEncoder().encode(LOCAL_STATE_KEY_INFO) },
      ikm, { name: 'AES-GCM', length: 256 }, false, ['decrypt']);
    return LOCAL_STATE_KEY_INFO.length > 0 && !(await open(raw)) && (await open(derived));
  }));

  // The visitor leaves; the agent answers while they are away; the relay restarts.
  await visitor.close();
  const a3 = marker('AGENT-THREE');
  markers.push(a3);
  await say(agent, a3);
  await agent.waitForTimeout(300); // the ack comes after the commit; give it a moment
  const code = await stopRelay(relay);
  check('relay exits cleanly on SIGTERM', code === 0, `exit ${code}`);
  relay = await startRelay('main', relay.bind);
  await agent.waitForFunction(() => document.getElementById('status').textContent === 'connected');
  visitor = await openPage(ctx, `${base}/visitor.html`, 'visitor');
  await waitForText(visitor, a3);
  check('message stored before the relay restart decrypts from history', true);
  await visitor.waitForFunction(() => document.getElementById('status').textContent === 'connected');
  const v3 = marker('VISITOR-THREE');
  markers.push(v3);
  await say(visitor, v3);
  await waitForText(agent, v3);
  check('conversation continues after the relay restart', true);

  // ---- attachments: both ways, an inline image, drag-and-drop, ciphertext at rest ----------
  const pngMarker = marker('ATTACHMENT-PNG');
  const docMarker = marker('ATTACHMENT-DOC');
  markers.push(pngMarker, docMarker);
  // A 1x1 PNG; decoders ignore the marker bytes after its IEND chunk.
  const png = Buffer.concat([Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64'), Buffer.from(pngMarker)]);
  await visitor.setInputFiles('#file', { name: 'parcel.png', mimeType: 'image/png', buffer: png });
  const shown = agent.locator('#log img.attachment').first();
  await shown.waitFor();
  await agent.waitForFunction(() => { const i = document.querySelector('#log img.attachment'); return i && i.complete; });
  check('visitor -> agent: the image is shown inline after decryption', await shown.evaluate((img) => img.naturalWidth === 1 && img.alt === 'parcel.png'));
  check('visitor sees its own image too', (await visitor.locator('#log img.attachment').count()) === 1);
  // Agent -> visitor by drag-and-drop: a ~190 KB document (several segments and chunks).
  const doc = Buffer.from(`%PDF-1.4 invoice ${docMarker}\n`.repeat(4000));
  await agent.evaluate(({ b64 }) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], 'invoice.pdf', { type: 'application/pdf' }));
    document.getElementById('console').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, { b64: doc.toString('base64') });
  const link = visitor.locator('#log a[download="invoice.pdf"]').first();
  await link.waitFor();
  const [download] = await Promise.all([visitor.waitForEvent('download'), link.click()]);
  const got = fs.readFileSync(await download.path());
  check('agent -> visitor (dropped on the console): the download is the original file', got.equals(doc), `${got.length} bytes`);
  // The relay's blob storage: two blobs, ciphertext only.
  const blobDir = `${relay.db}.blobs`;
  const blobFiles = [];
  const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) (e.isDirectory() ? walk : (f) => blobFiles.push(f))(path.join(d, e.name)); };
  walk(blobDir);
  const blobs = blobFiles.filter((f) => !f.endsWith('.size'));
  const plainAtRest = blobs.filter((f) => {
    const c = fs.readFileSync(f);
    return c.includes(pngMarker) || c.includes(docMarker) || c.includes('PNG') || c.includes('%PDF') || c.includes('parcel') || c.includes('invoice');
  });
  check('relay blob storage holds the two blobs, ciphertext only (no marker, name, type or file signature)',
    blobs.length === 2 && plainAtRest.length === 0, `${blobs.length} blobs; plaintext in ${plainAtRest.join(', ')}`);

  const vText = await logText(visitor);
  const aText = await logText(agent);
  check('visitor saw every agent plaintext', [a1, a2, a3].every((m) => vText.includes(m)));
  check('agent saw every visitor plaintext', [v1, v2, v3].every((m) => aText.includes(m)));
  check('no warnings in a clean run', (await visitor.locator('.warning').count()) + (await agent.locator('.warning').count()) === 0);
  check('?org= in the URL had no effect (the pinned key came from the page configuration)', vCode.length > 4);
  // The violation listener works: a data: image (img-src 'self') is blocked and reported.
  const before = cspViolations.length;
  const errorsBefore = consoleErrors.length;
  await visitor.evaluate(() => { new Image().src = 'data:image/gif;base64,R0lGODlhAQABAAAAACw='; });
  await visitor.waitForTimeout(300);
  const probe = cspViolations.splice(before);
  consoleErrors.splice(errorsBefore); // Chromium also logs the probe's violation
  check('CSP is enforced and violations are seen by this test', probe.length === 1 && probe[0].includes('img-src'), probe.join('; '));
  await visitor.screenshot({ path: path.join(shots, 'visitor.png'), fullPage: true });
  await agent.screenshot({ path: path.join(shots, 'agent.png'), fullPage: true });
  // A tampered blob (one byte flipped at rest) shows an error, never a broken file.
  for (const f of blobs) {
    const c = fs.readFileSync(f);
    c[Math.floor(c.length / 2)] ^= 1;
    fs.writeFileSync(f, c);
  }
  await visitor.reload();
  await visitor.waitForFunction(() => document.querySelectorAll('#log .warning[data-code="ATTACHMENT_CORRUPTED"]').length === 2);
  check('tampered blobs: ATTACHMENT_CORRUPTED warnings instead of the image and the file',
    (await visitor.locator('#log img.attachment').count()) === 0 && (await visitor.locator('#log a[download]').count()) === 0);
  await visitor.screenshot({ path: path.join(shots, 'visitor-tampered-attachment.png'), fullPage: true });
  await ctx.close();
  await stopRelay(relay);

  // What the relay kept and saw: ciphertext only.
  const leaks = [];
  const files = [relay.db, `${relay.db}-wal`, `${relay.db}-shm`, relay.logFile, relay.frameLog];
  for (const f of files) {
    if (!fs.existsSync(f)) continue;
    const content = fs.readFileSync(f);
    for (const m of markers) if (content.includes(m)) leaks.push(`${path.basename(f)} has ${m}`);
  }
  const frames = fs.readFileSync(relay.frameLog, 'utf8');
  check('frame log recorded the traffic', frames.split('\n').length > 20);
  check('database, relay log and frame log contain no plaintext marker', leaks.length === 0, leaks.join(', '));
}

/**
 * Issue #18's sequence and issue #20's fault test in the browser. M2 is posted (and acked)
 * while the console is closed; the console comes back and its `sync` is held until M3 is
 * posted and acked: M2 must still be shown, before M3. Then acks are dropped, the relay is
 * killed with SIGKILL and restarted on the same database and port; both pages resend their
 * unacked posts with the same refs: each message is shown once and no warning (REPLAY) shows.
 */
async function deliveryRun() {
  let relay = await startRelay('delivery', '127.0.0.1:0');
  const base = relay.url;
  const ctx = await newContext();
  let agentCtl;
  const routeAgent = async (page) => { agentCtl = await routeRelay(page); };
  let agent = await openEnrolledAgent(ctx, base, 'agent-delivery', routeAgent);
  let visitorCtl;
  const visitor = await openPage(ctx, `${base}/visitor.html`, 'visitor-delivery', async (page) => { visitorCtl = await routeRelay(page); });
  await visitor.click('#open');
  await agent.locator('button.accept').first().click();
  await visitor.waitForFunction(() => document.getElementById('safety').textContent !== '—');
  await visitor.waitForFunction(() => document.getElementById('status').textContent === 'connected');
  const [m1, m2, m3] = ['M1', 'M2', 'M3'].map(marker);
  markers.push(m1, m2, m3);
  await say(visitor, m1);
  await waitForText(agent, m1);
  await agent.close();
  let acks = visitorCtl.acks;
  await say(visitor, m2);
  await until(() => visitorCtl.acks > acks, 'the ack of M2');
  agent = await openPage(ctx, `${base}/agent.html`, 'agent-delivery', async (page) => {
    await routeAgent(page);
    agentCtl.hold();
  });
  await until(() => agentCtl.heldSync(), "the console's sync");
  acks = visitorCtl.acks;
  await say(visitor, m3);
  await until(() => visitorCtl.acks > acks, 'the ack of M3');
  agentCtl.release();
  await waitForText(agent, m3);
  await waitForText(agent, m2).catch(() => {});
  const lines = await agent.locator('#log .msg.visitor .text').allInnerTexts();
  check('#18: M2, acked while the console was offline, is shown after its reconnect, before M3 (posted before its sync)',
    lines.join(' ') === [m1, m2, m3].join(' '), lines.join(' | '));
  check('#18: no gap or other warning shown', (await agent.locator('.warning').count()) === 0);

  // #20: acks lost, relay killed, clients resend.
  const [vk, ak, vk2, ak2] = ['VK', 'AK', 'VK2', 'AK2'].map(marker);
  markers.push(vk, ak, vk2, ak2);
  visitorCtl.dropAcks = true;
  agentCtl.dropAcks = true;
  await say(visitor, vk);
  await say(agent, ak);
  await waitForText(agent, vk);
  await waitForText(visitor, ak);
  await until(() => visitorCtl.dropped > 0 && agentCtl.dropped > 0, 'both acks to be dropped');
  relay.child.kill('SIGKILL');
  await new Promise((r) => (relay.child.exitCode !== null || relay.child.signalCode ? r() : relay.child.once('exit', r)));
  visitorCtl.dropAcks = false;
  agentCtl.dropAcks = false;
  const [vAcks, aAcks] = [visitorCtl.acks, agentCtl.acks];
  relay = await startRelay('delivery', relay.bind);
  await until(() => visitorCtl.acks > vAcks && agentCtl.acks > aAcks, 'the resent posts to be acked');
  await visitor.waitForFunction(() => document.getElementById('status').textContent === 'connected');
  await agent.waitForFunction(() => document.getElementById('status').textContent === 'connected');
  await say(visitor, vk2);
  await say(agent, ak2);
  await waitForText(agent, vk2);
  await waitForText(visitor, ak2);
  const count = async (page, text) => page.locator('#log .msg .text', { hasText: text }).count();
  const once = [];
  for (const [page, text] of [[agent, vk], [visitor, ak], [agent, vk2], [visitor, ak2], [visitor, vk], [agent, ak]]) once.push(await count(page, text));
  check('#20: after kill -9 and resends every message is shown exactly once on both sides', once.every((n) => n === 1), once.join(','));
  const warnings = (await visitor.locator('.warning').count()) + (await agent.locator('.warning').count());
  check('#20: no replay (or any) warning after the outage', warnings === 0, String(warnings));
  // The frame log (kept across the restart): every resent ref was acked with one seq.
  const posts = new Map();
  const ackSeqs = new Map();
  for (const line of fs.readFileSync(relay.frameLog, 'utf8').split('\n')) {
    const m = /^\d+ (in|out) (\{.*\})$/.exec(line);
    if (!m) continue;
    const f = JSON.parse(m[2]);
    if (m[1] === 'in' && f.type === 'post') posts.set(f.ref, (posts.get(f.ref) || 0) + 1);
    if (m[1] === 'out' && f.type === 'ack') ackSeqs.set(f.ref, new Set([...(ackSeqs.get(f.ref) || []), f.seq]));
  }
  const resent = [...posts].filter(([, n]) => n > 1).map(([r]) => r);
  check('#20: both pages resent their unacked post with the same ref, answered with the original seq',
    resent.length >= 2 && resent.every((r) => ackSeqs.get(r) && ackSeqs.get(r).size === 1), `${resent.length} resent`);
  await visitor.screenshot({ path: path.join(shots, 'visitor-delivery.png'), fullPage: true });
  await agent.screenshot({ path: path.join(shots, 'agent-delivery.png'), fullPage: true });
  await ctx.close();
  await stopRelay(relay);
}

async function tamperRun(mode) {
  const relay = await startRelay(`tamper-${mode}`, '127.0.0.1:0', ['--tamper', mode]);
  const ctx = await newContext();
  const agent = await openEnrolledAgent(ctx, relay.url, `agent-${mode}`);
  const visitor = await openPage(ctx, `${relay.url}/visitor.html`, 'visitor');
  await visitor.click('#open');
  await agent.locator('button.accept').first().click();
  await visitor.waitForFunction(() => document.getElementById('safety').textContent !== '—');
  await visitor.waitForFunction(() => document.getElementById('status').textContent === 'connected');
  const t1 = marker(`T1-${mode}`);
  const t2 = marker(`T2-${mode}`);
  const codes = async (page) => page.locator('.warning').evaluateAll((els) => els.map((e) => e.dataset.code));
  if (mode === 'flip-byte') {
    await say(visitor, t1);
    await agent.locator('.warning').first().waitFor();
    await say(agent, t2);
    await visitor.locator('.warning').first().waitFor();
    const [vw, aw] = [await codes(visitor), await codes(agent)];
    check('flip-byte: tampered envelopes show TAMPERED on both sides', vw[0] === 'TAMPERED' && aw[0] === 'TAMPERED', `${vw} / ${aw}`);
    check('flip-byte: agent shows no message from the visitor', (await agent.locator('#log .msg.visitor').count()) === 0);
    check('flip-byte: visitor shows no message from the agent', (await visitor.locator('#log .msg.agent').count()) === 0);
  } else if (mode === 'replay') {
    await say(visitor, t1);
    await agent.locator('.warning').first().waitFor();
    await waitForText(agent, t1);
    const aw = await codes(agent);
    const shown = await agent.locator('#log .msg.visitor').count();
    check('replay: the copy shows REPLAY, the message is shown once', aw.length === 1 && aw[0] === 'REPLAY' && shown === 1, `${aw} / ${shown}`);
  } else {
    await say(visitor, t1);
    await say(visitor, t2);
    await waitForText(agent, t1);
    await waitForText(agent, t2);
    const lines = await agent.locator('#log .msg.visitor .text').allInnerTexts();
    check('reorder: swapped envelopes both decrypt, no warning', lines.length === 2 && lines[0] === t2 && lines[1] === t1 && (await codes(agent)).length === 0, lines.join(' | '));
  }
  await visitor.screenshot({ path: path.join(shots, `visitor-${mode}.png`), fullPage: true });
  await agent.screenshot({ path: path.join(shots, `agent-${mode}.png`), fullPage: true });
  await ctx.close();
  await stopRelay(relay);
}

/**
 * Several tabs, one session (issue #15): two visitor tabs and two console tabs of the same
 * browser profile. One tab of each owns the session (Web Lock); lines typed in every tab
 * arrive; then each owner tab is closed mid-conversation and the other tab takes over:
 * nothing is lost, nothing shown twice, no warning (no REPLAY) anywhere.
 */
async function tabsRun() {
  const relay = await startRelay('tabs', '127.0.0.1:0');
  const base = relay.url;
  const ctx = await newContext();
  const agent1 = await openEnrolledAgent(ctx, base, 'tabs-agent-1');
  const agent2 = await openPage(ctx, `${base}/agent.html`, 'tabs-agent-2');
  const visitor1 = await openPage(ctx, `${base}/visitor.html`, 'tabs-visitor-1');
  await visitor1.click('#open');
  await visitor1.waitForFunction(() => window.hushwireDemo && window.hushwireDemo.owner === true);
  await visitor1.waitForFunction(() => document.getElementById('status').textContent === 'connected');
  // The second tab opens the widget by itself (a conversation exists) and follows the first.
  const visitor2 = await openPage(ctx, `${base}/visitor.html`, 'tabs-visitor-2');
  await visitor2.waitForFunction(() => window.hushwireDemo && window.hushwireDemo.owner === false);
  await agent2.waitForFunction(() => window.hushwireDemo && window.hushwireDemo.owner === false);
  check('tabs: one owner per page kind, the other tab follows',
    (await agent1.evaluate(() => window.hushwireDemo.owner)) === true);
  // Accepted from the follower console: the request goes through the owner tab.
  await agent2.locator('button.accept').first().click();
  await visitor2.waitForFunction(() => document.getElementById('safety').textContent !== '—');
  const lines = [];
  const sayIn = async (page, label) => {
    const text = marker(label);
    lines.push(text);
    await say(page, text);
    return text;
  };
  await waitForText(visitor1, await sayIn(agent1, 'tabs-a1'));
  await waitForText(agent1, await sayIn(visitor1, 'tabs-v1'));
  await waitForText(agent1, await sayIn(visitor2, 'tabs-v2'));
  await waitForText(visitor2, await sayIn(agent2, 'tabs-a2'));
  for (const [p, l] of [[visitor2, 'tabs-v2'], [agent2, 'tabs-a2']]) {
    for (const t of lines) await waitForText(p, t);
    check(`tabs: the follower ${l.slice(5, 6) === 'v' ? 'visitor' : 'console'} tab shows every line`, true);
  }
  // The owners go away mid-conversation: a line typed in the follower just before, and lines
  // typed right after, in both directions.
  const inFlight = await sayIn(visitor2, 'tabs-v3');
  await visitor1.close();
  const afterV = await sayIn(visitor2, 'tabs-v4');
  await visitor2.waitForFunction(() => window.hushwireDemo.owner === true);
  await waitForText(agent1, inFlight);
  await waitForText(agent1, afterV);
  const beforeA = await sayIn(agent2, 'tabs-a3');
  await waitForText(visitor2, beforeA);
  await agent1.close();
  await agent2.waitForFunction(() => window.hushwireDemo.owner === true);
  await agent2.waitForFunction(() => document.getElementById('status').textContent === 'connected');
  await waitForText(visitor2, await sayIn(agent2, 'tabs-a4'));
  await waitForText(agent2, await sayIn(visitor2, 'tabs-v5'));
  check('tabs: the remaining tabs took over ownership', true);
  for (const [p, label] of [[visitor2, 'visitor'], [agent2, 'console']]) {
    const shown = await p.locator('#log .msg .text').allInnerTexts();
    const missing = lines.filter((t) => !shown.includes(t));
    const twice = lines.filter((t) => shown.filter((x) => x === t).length !== 1);
    const warnings = await p.locator('#log .warning').evaluateAll((els) => els.map((e) => e.dataset.code));
    check(`tabs: the ${label} tab shows all ${lines.length} lines once, no warning (no REPLAY)`,
      missing.length === 0 && twice.length === 0 && warnings.length === 0,
      `missing ${missing} twice ${twice} warnings ${warnings}`);
  }
  await visitor2.screenshot({ path: path.join(shots, 'tabs-visitor.png'), fullPage: true });
  await agent2.screenshot({ path: path.join(shots, 'tabs-agent.png'), fullPage: true });
  await ctx.close();
  await stopRelay(relay);
}

/**
 * Storage that disappears (issue #15): the visitor's browser loses only the vault key, only the
 * sealed export, or all site data between visits. Each time the widget starts a fresh
 * conversation that works, says why the old one is gone (when it can tell: with everything
 * cleared a visit looks like a first one), and shows no decryption failure.
 */
async function storageRun() {
  const relay = await startRelay('storage', '127.0.0.1:0');
  const base = relay.url;
  const agentCtx = await newContext();
  const agent = await openEnrolledAgent(agentCtx, base, 'storage-agent');
  const visitorCtx = await newContext();
  const visitor = await openPage(visitorCtx, `${base}/visitor.html`, 'storage-visitor');
  const start = async () => {
    await visitor.waitForFunction(() => window.hushwireDemo || !document.getElementById('open').hidden);
    if (await visitor.locator('#open').isVisible()) await visitor.click('#open');
    await visitor.waitForFunction(() => window.hushwireDemo && window.hushwireDemo.owner === true);
    await visitor.waitForFunction(() => document.getElementById('status').textContent === 'connected');
  };
  const chat = async (label) => {
    await agent.locator('button.accept').first().click();
    await visitor.waitForFunction(() => document.getElementById('safety').textContent !== '—');
    const v = marker(`${label}-v`);
    await say(visitor, v);
    await waitForText(agent, v);
    const a = marker(`${label}-a`);
    await say(agent, a);
    await waitForText(visitor, a);
  };
  const warnings = (p) => p.locator('#log .warning').evaluateAll((els) => els.map((e) => `${e.dataset.code}:${e.dataset.lost || ''}`));
  await start();
  await chat('storage-first');
  const cases = [
    ['only the vault key deleted', 'key', () => new Promise((ok, fail) => {
      const r = indexedDB.open('hushwire-visitor');
      r.onerror = () => fail(r.error);
      r.onsuccess = () => {
        const tx = r.result.transaction('storage-keys', 'readwrite');
        tx.objectStore('storage-keys').delete('default');
        tx.oncomplete = () => { r.result.close(); ok(); };
      };
    })],
    ['only the sealed export deleted', 'state', () => localStorage.removeItem('hushwire.visitor')],
    ['all site storage cleared', null, () => {
      localStorage.clear();
      sessionStorage.clear();
      return new Promise((ok, fail) => {
        const r = indexedDB.deleteDatabase('hushwire-visitor');
        r.onsuccess = () => ok();
        r.onerror = () => fail(r.error);
      });
    }],
  ];
  for (const [what, lost, clear] of cases) {
    // Cleared while the widget is idle (the vault closes its connection when the database is
    // deleted), then the visitor comes back.
    await visitor.evaluate(clear);
    await visitor.reload();
    await start();
    const fresh = (await visitor.locator('#log .msg').count()) === 0;
    const shown = await warnings(visitor);
    check(`storage, ${what}: a fresh conversation, ${lost ? `saying the ${lost} was lost` : 'like a first visit'}, no other warning`,
      fresh && JSON.stringify(shown) === JSON.stringify(lost ? [`STORAGE_LOST:${lost}`] : []), `fresh ${fresh}, warnings ${shown}`);
    await chat(`storage-${lost || 'all'}`);
    check(`storage, ${what}: the new conversation works both ways, no warning in the console`, (await warnings(agent)).length === 0);
  }
  await visitor.screenshot({ path: path.join(shots, 'storage-visitor.png'), fullPage: true });
  await agentCtx.close();
  await visitorCtx.close();
  await stopRelay(relay);
}

(async () => {
  const t0 = Date.now();
  try {
    console.log('browser e2e: clean run');
    await mainRun();
    console.log('browser e2e: two visitor tabs and two console tabs, owners closed mid-conversation');
    await tabsRun();
    console.log('browser e2e: storage that disappears (vault key, export, everything)');
    await storageRun();
    console.log('browser e2e: delivery order and resends across kill -9');
    await deliveryRun();
    for (const mode of ['flip-byte', 'replay', 'reorder']) {
      console.log(`browser e2e: relay with --tamper ${mode}`);
      await tamperRun(mode);
    }
    check('no Content-Security-Policy violation in any page', cspViolations.length === 0, cspViolations.join('; '));
    check('no console errors', consoleErrors.length === 0, consoleErrors.join('; '));
  } catch (e) {
    failed++;
    console.log(`  FAIL ${e.stack || e}`);
    for (const [label, page] of openPages) {
      if (page.isClosed()) continue;
      const text = await page.locator('body').innerText().catch(() => '?');
      console.log(`  --- ${label} page at failure ---\n${text}`);
    }
  }
  console.log(`browser e2e: ${passed} passed, ${failed} failed (${((Date.now() - t0) / 1000).toFixed(1)} s); screenshots in target/e2e-screenshots/`);
  if (failed) console.log(`relay databases, logs and frame logs kept in ${work}`);
  else fs.rmSync(work, { recursive: true, force: true });
  process.exit(failed ? 1 : 0);
})();
