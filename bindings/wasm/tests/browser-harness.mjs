// Shared by the browser tests: Debian's chromium through playwright-core (never a downloaded
// browser), a local HTTP server that serves the built package under /pkg/, and a certified
// agent for pages to use.
import http from 'node:http';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, extname } from 'node:path';
import { createRequire } from 'node:module';
import { certify } from './helpers.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
let chromium = null;
try {
  chromium = createRequire(join(process.env.HUSHWIRE_TOOLS || '.', 'x.js'))('playwright-core').chromium;
} catch {}

/** The `skip` option of a browser test: false, or why it cannot run here. */
export const skip = !chromium || !existsSync(CHROMIUM) ? 'playwright-core or chromium missing (scripts/install-deps.sh browser)' : false;

const FIREFOX = process.env.FIREFOX || '/usr/bin/firefox-esr';
let puppeteer = null;
try {
  puppeteer = createRequire(join(process.env.HUSHWIRE_TOOLS || '.', 'x.js'))('puppeteer-core');
} catch {}

/**
 * The browsers a cross-browser test runs in: `{ name, skip, launch() }`. `launch()` resolves
 * to `{ newPage({ initScript? }), close() }`, pages offering the subset the tests use:
 * `goto(url)`, `evaluate(fn, arg)`, `waitFor(fn, arg, timeoutMs)`, `text(selector)`,
 * `errors` (uncaught page errors so far) and `close()`. Chromium is Debian's, driven by
 * playwright-core over CDP; Firefox is Debian's firefox-esr, driven by puppeteer-core over
 * WebDriver BiDi. Neither tool downloads a browser.
 */
export const browsers = [
  {
    name: 'chromium',
    skip,
    async launch() {
      const b = await launch();
      return {
        async newPage({ initScript } = {}) {
          const page = await b.context.newPage();
          const errors = [];
          page.on('pageerror', (e) => errors.push(String(e)));
          if (initScript) await page.addInitScript(initScript);
          return {
            errors,
            goto: (url) => page.goto(url),
            evaluate: (fn, arg) => page.evaluate(fn, arg),
            waitFor: (fn, arg, timeout = 30_000) => page.waitForFunction(fn, arg, { timeout }),
            text: (selector) => page.locator(selector).textContent(),
            close: () => page.close(),
          };
        },
        close: () => b.close(),
      };
    },
  },
  {
    name: 'firefox',
    skip: !puppeteer || !existsSync(FIREFOX) ? 'puppeteer-core or firefox-esr missing (scripts/install-deps.sh browser)' : false,
    async launch() {
      const profile = await mkdtemp(join(tmpdir(), 'hushwire-firefox-'));
      const browser = await puppeteer.launch({
        browser: 'firefox',
        protocol: 'webDriverBiDi',
        executablePath: FIREFOX,
        headless: true,
        userDataDir: profile,
      });
      return {
        async newPage({ initScript } = {}) {
          const page = await browser.newPage();
          const errors = [];
          // Firefox reports CSP refusals (a blocked favicon, a refused WebAssembly compile) as
          // page errors; they are reports, not exceptions of the page's code.
          page.on('pageerror', (e) => {
            if (!/^(Error: )?Content-Security-Policy:/.test(String(e))) errors.push(String(e));
          });
          if (initScript) await page.evaluateOnNewDocument(initScript);
          return {
            errors,
            goto: (url) => page.goto(url),
            evaluate: (fn, arg) => page.evaluate(fn, arg),
            waitFor: (fn, arg, timeout = 30_000) => page.waitForFunction(fn, { timeout, polling: 50 }, arg),
            text: (selector) => page.$eval(selector, (e) => e.textContent),
            close: () => page.close(),
          };
        },
        async close() {
          await browser.close();
          await rm(profile, { recursive: true, force: true });
        },
      };
    },
  },
];

/** A headless chromium with a fresh profile; `close()` removes the profile. */
export async function launch({ args = [] } = {}) {
  const profile = await mkdtemp(join(tmpdir(), 'hushwire-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', ...args],
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

const pkgDir = new URL('../pkg/', import.meta.url);
const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };

/**
 * An HTTP server on 127.0.0.1: `/pkg/*` is the built package, anything else goes to
 * `handle(url, req, send)` (`send(status, type, body, headers?)`; return false for a 404).
 */
export async function serve(handle) {
  let base;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, base);
    const send = (status, type, body, headers = {}) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
      res.end(body);
    };
    if (url.pathname.startsWith('/pkg/') && !url.pathname.includes('..')) {
      readFile(new URL(url.pathname.slice(5), pkgDir)).then(
        (data) => send(200, TYPES[extname(url.pathname)] || 'application/octet-stream', data),
        () => send(404, 'text/plain', 'not found'));
      return;
    }
    if (url.pathname === '/favicon.ico') return send(204, 'image/x-icon', '');
    if (handle(url, req, send) === false) send(404, 'text/plain', 'not found');
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${server.address().port}`;
  return { base, close: () => server.close() };
}

/** A freshly certified agent, valid now: `{ orgPublicKey, agentSecret, certificate }` (base64). */
export function agentSetup(hw, agentId = 'alice@shop.example') {
  const now = Math.floor(Date.now() / 1000);
  const key = hw.AgentKey.generate();
  const { orgPublicKey, cert } = certify(key.publicKey, { agentId, deviceId: 'browser', notBefore: now - 600, notAfter: now + 3600 });
  const setup = {
    orgPublicKey,
    agentSecret: Buffer.from(key.secretBytes()).toString('base64'),
    certificate: Buffer.from(cert).toString('base64'),
  };
  key.free();
  return setup;
}
