// Attachment throughput: hushwire/attachment against raw WebCrypto AES-256-GCM in the same
// run, in Node and (with --browser) in a Chromium page. Cases: attachment-cases.js.
//
//   bash bindings/wasm/build.sh && cd benches/js && node attachment-bench.mjs [--browser]
//   BENCH_MIB=16 BENCH_ROUNDS=7 BENCH_SEGMENT=65536 node attachment-bench.mjs --browser
//
// BENCH_MIN_RATIO (e.g. 0.8) makes the run fail if a ratio is below it. BENCH_BASELINE=<dir>
// (an older build's pkg/, e.g. from `git worktree add` + build.sh) times that build's streams
// in the same rounds, for before/after numbers from one run. BENCH_PROFILE=1 records a
// DevTools CPU profile (Profiler domain over CDP) of 5 stream opens in the Chromium page and
// prints where the main thread's time went, for the raw loop and the stream. Not part of CI.
import http from 'node:http';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, extname } from 'node:path';
import { createRequire } from 'node:module';
import { runAttachmentBench, format } from './attachment-cases.js';
import { summarise } from './cpu-profile.js';

const opts = {
  size: Number(process.env.BENCH_MIB ?? 16) << 20,
  seg: Number(process.env.BENCH_SEGMENT ?? 65536),
  rounds: Number(process.env.BENCH_ROUNDS ?? 7),
};
const minRatio = Number(process.env.BENCH_MIN_RATIO ?? 0);
const pkg = new URL('../../bindings/wasm/pkg/', import.meta.url);
const basePkg = process.env.BENCH_BASELINE ? new URL(`file://${join(process.env.BENCH_BASELINE, '/')}`) : null;
const results = [];

const att = await import(new URL('attachment-node.mjs', pkg));
await att.init();
let base = null;
if (basePkg !== null) {
  base = await import(new URL('attachment-node.mjs', basePkg));
  await base.init();
}
const node = await runAttachmentBench(globalThis.crypto.subtle, att, opts, base);
console.log(format(node, `Node ${process.version}`));
results.push(node);

if (process.argv.includes('--browser')) {
  const tools = process.env.HUSHWIRE_TOOLS ?? new URL('../../target/tools/node/node_modules', import.meta.url).pathname;
  const { chromium } = createRequire(join(tools, 'x.js'))('playwright-core');
  const types = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };
  const server = http.createServer(async (req, res) => {
    try {
      const path = new URL(req.url, 'http://x').pathname;
      const file = path.startsWith('/pkg/')
        ? new URL(path.slice(5), pkg)
        : path.startsWith('/base/') && basePkg !== null
          ? new URL(path.slice(6), basePkg)
          : path === '/attachment-cases.js'
          ? new URL('attachment-cases.js', import.meta.url)
          : null;
      if (path === '/') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<!doctype html><meta charset="utf-8"><title>attachment bench</title>');
        return;
      }
      if (file === null) throw new Error('not found');
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': types[extname(file.pathname)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const base = `http://127.0.0.1:${server.address().port}`;
  const profile = await mkdtemp(join(tmpdir(), 'hw-bench-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = browser.pages()[0] ?? (await browser.newPage());
    await page.goto(base + '/');
    const version = browser.browser()?.version() ?? "";
    const r = await page.evaluate(async ([o, withBase]) => {
      const att = await import('/pkg/attachment.js');
      const { runAttachmentBench } = await import('/attachment-cases.js');
      await att.init();
      let b = null;
      if (withBase) {
        b = await import('/base/attachment.js');
        await b.init();
      }
      return runAttachmentBench(crypto.subtle, att, o, b);
    }, [opts, basePkg !== null]);
    console.log(format(r, `Chromium ${version}`));
    results.push(r);
    if (process.env.BENCH_PROFILE) {
      await page.evaluate(async (o) => {
        const att = await import('/pkg/attachment.js');
        const { prepareOpen } = await import('/attachment-cases.js');
        globalThis.hwProfile = await prepareOpen(crypto.subtle, att, o);
      }, opts);
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
      for (const which of ['raw', 'stream']) {
        await cdp.send('Profiler.start');
        const ms = await page.evaluate(async (w) => {
          const t0 = performance.now();
          for (let i = 0; i < 5; i++) await globalThis.hwProfile[w]();
          return performance.now() - t0;
        }, which);
        const { profile } = await cdp.send('Profiler.stop');
        console.log(`profile of 5 ${which} opens (${(ms / 5).toFixed(1)} ms wall per run):\n${summarise(profile, 5)}`);
      }
    }
  } finally {
    await browser.close();
    server.close();
    await rm(profile, { recursive: true, force: true });
  }
}

const low = results
  .flatMap((r) => Object.entries(r.ratios))
  .filter(([k, v]) => !k.startsWith('baseline') && v < minRatio);
if (low.length > 0) {
  console.error(`FAIL: ratio below ${minRatio}: ${low.map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);
  process.exit(1);
}
