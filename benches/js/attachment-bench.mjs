// Attachment throughput: hushwire/attachment against raw WebCrypto AES-256-GCM in the same
// run, in Node and (with --browser) in a Chromium page. Cases: attachment-cases.js.
//
//   bash bindings/wasm/build.sh && cd benches/js && node attachment-bench.mjs [--browser]
//   BENCH_MIB=16 BENCH_ROUNDS=7 BENCH_SEGMENT=65536 node attachment-bench.mjs --browser
//
// BENCH_MIN_RATIO (e.g. 0.8) makes the run fail if a ratio is below it. Not part of CI.
import http from 'node:http';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, extname } from 'node:path';
import { createRequire } from 'node:module';
import { runAttachmentBench, format } from './attachment-cases.js';

const opts = {
  size: Number(process.env.BENCH_MIB ?? 16) << 20,
  seg: Number(process.env.BENCH_SEGMENT ?? 65536),
  rounds: Number(process.env.BENCH_ROUNDS ?? 7),
};
const minRatio = Number(process.env.BENCH_MIN_RATIO ?? 0);
const pkg = new URL('../../bindings/wasm/pkg/', import.meta.url);
const results = [];

const att = await import(new URL('attachment-node.mjs', pkg));
await att.init();
const node = await runAttachmentBench(globalThis.crypto.subtle, att, opts);
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
    const r = await page.evaluate(async (o) => {
      const att = await import('/pkg/attachment.js');
      const { runAttachmentBench } = await import('/attachment-cases.js');
      await att.init();
      return runAttachmentBench(crypto.subtle, att, o);
    }, opts);
    console.log(format(r, `Chromium ${version}`));
    results.push(r);
  } finally {
    await browser.close();
    server.close();
    await rm(profile, { recursive: true, force: true });
  }
}

const low = results.flatMap((r) => Object.entries(r.ratios)).filter(([, v]) => v < minRatio);
if (low.length > 0) {
  console.error(`FAIL: ratio below ${minRatio}: ${low.map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);
  process.exit(1);
}
