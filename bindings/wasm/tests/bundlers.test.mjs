// Tested recipes (README.md, "Bundlers"): a small app (bundle-app/) importing 'hushwire' by
// name is bundled by esbuild, webpack 5 and Rollup, and served as a plain static folder with
// no bundler at all; each runs a handshake and messages in Debian chromium. The Node recipes
// (esbuild and Rollup for Node) must find the .wasm by themselves. Vite: vite.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import webpack from 'webpack';
import { rollup } from 'rollup';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import * as hw from 'hushwire';
import { agentSetup, launch, serve, skip } from './browser-harness.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const app = join(here, 'bundle-app');
const pkg = fileURLToPath(new URL('../pkg/', import.meta.url));
// Inside node_modules, so that a Node bundle resolves the installed package as an app's would.
const outRoot = fileURLToPath(new URL('../node_modules/.cache/hushwire-bundles/', import.meta.url));
const HTML = (script) => `<!doctype html><meta charset="utf-8"><pre id="out">running</pre><script type="module" src="${script}"></script>`;

// Each recipe writes a folder served at /<name>/ with index.html.
const recipes = {
  // esbuild does not emit assets for `new URL(..., import.meta.url)`: copy the package's
  // .wasm (and the no-wasm chunk, loaded only where WebAssembly is forbidden) next to the bundle.
  async esbuild(dir) {
    await esbuild.build({ entryPoints: [join(app, 'main.js')], bundle: true, format: 'esm', platform: 'browser',
      outfile: join(dir, 'main.js'), logLevel: 'silent', external: ['./hushwire_nowasm.js'] });
    for (const f of ['hushwire_bg.wasm', 'hushwire_nowasm.js']) await cp(join(pkg, f), join(dir, f));
    await writeFile(join(dir, 'index.html'), HTML('main.js'));
  },
  // webpack 5 turns `new URL('hushwire_bg.wasm', import.meta.url)` into an emitted asset and
  // the no-wasm import() into a chunk by itself: no configuration beyond the defaults.
  async webpack(dir) {
    const stats = await new Promise((ok, fail) => webpack({
      mode: 'production', entry: join(app, 'main.js'), experiments: { outputModule: true, topLevelAwait: true },
      output: { path: dir, filename: 'main.js', module: true, publicPath: 'auto' }, target: 'web',
    }, (e, s) => (e ? fail(e) : ok(s))));
    assert.ok(!stats.hasErrors(), stats.toString('errors-only'));
    assert.ok((await readdir(dir)).some((f) => f.endsWith('.wasm')), 'webpack emitted the .wasm');
    await writeFile(join(dir, 'index.html'), HTML('main.js'));
  },
  // Rollup resolves the package (plugin-node-resolve) but, like esbuild, leaves the .wasm URL
  // alone: copy the .wasm and the no-wasm chunk next to the bundle.
  async rollup(dir) {
    const bundle = await rollup({ input: join(app, 'main.js'), plugins: [nodeResolve({ browser: true })],
      external: (id) => id.endsWith('hushwire_nowasm.js'), onwarn() {} });
    await bundle.write({ file: join(dir, 'main.js'), format: 'es', inlineDynamicImports: true });
    for (const f of ['hushwire_bg.wasm', 'hushwire_nowasm.js']) await cp(join(pkg, f), join(dir, f));
    await writeFile(join(dir, 'index.html'), HTML('main.js'));
  },
  // No bundler: the package's files copied to a static folder (as a CDN would serve them)
  // and imported by URL from a plain <script type="module">.
  async static(dir) {
    await cp(pkg, join(dir, 'hushwire'), { recursive: true });
    const main = (await readFile(join(app, 'main.js'), 'utf8')).replace("from 'hushwire'", "from './hushwire/index.js'");
    await writeFile(join(dir, 'main.js'), main);
    await writeFile(join(dir, 'index.html'), HTML('main.js'));
  },
};

let server, base, setup;
before(async () => {
  await hw.init();
  setup = agentSetup(hw);
  await rm(outRoot, { recursive: true, force: true });
  const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
  ({ base, close: server } = await serve((url, req, send) => {
    if (url.pathname === '/setup') return send(200, 'application/json', JSON.stringify(setup));
    if (url.pathname.includes('..')) return false;
    const file = join(outRoot, url.pathname.endsWith('/') ? `${url.pathname}index.html` : url.pathname);
    readFile(file).then((body) => send(200, TYPES[extname(file)] || 'application/octet-stream', body), () => send(404, 'text/plain', 'not found'));
    return undefined;
  }));
});
after(() => server?.());

test('browser recipes: esbuild, webpack 5, Rollup and a plain static folder each run the app in chromium', { skip, timeout: 180_000 }, async () => {
  const browser = await launch();
  try {
    for (const [name, build] of Object.entries(recipes)) {
      const dir = join(outRoot, name);
      await mkdir(dir, { recursive: true });
      await build(dir);
      const page = await browser.context.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`${base}/${name}/`);
      await page.waitForFunction(() => document.getElementById('out').textContent !== 'running', null, { timeout: 30_000 });
      const out = await page.locator('#out').textContent();
      assert.deepEqual(errors, [], `${name}: ${errors}`);
      assert.equal(out, 'ok wasm to agent to visitor', `${name}: ${out}`);
      await page.close();
    }
  } finally {
    await browser.close();
  }
});

test('Node recipes: esbuild and Rollup bundles for Node find the .wasm without configuration', async () => {
  const entry = join(app, 'node.mjs');
  const esb = join(outRoot, 'node-esbuild', 'app.mjs');
  await esbuild.build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'node', outfile: esb, logLevel: 'silent',
    external: ['./hushwire_nowasm.js'] });
  const rol = join(outRoot, 'node-rollup', 'app.mjs');
  // Rollup: resolve with the 'node' condition (the package's Node entry reads the .wasm from disk).
  const bundle = await rollup({ input: entry, plugins: [nodeResolve({ exportConditions: ['node'] })], external: (id) => id.startsWith('node:') || id.endsWith('hushwire_nowasm.js'), onwarn() {} });
  await bundle.write({ file: rol, format: 'es', inlineDynamicImports: true });
  for (const file of [esb, rol]) {
    assert.equal(execFileSync(process.execPath, [file], { encoding: 'utf8' }).trim(), 'ok wasm 32', file);
  }
});
