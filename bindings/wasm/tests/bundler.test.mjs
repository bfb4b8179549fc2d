// The browser entry bundles for the web with no Node builtins (what Vite/webpack need), and
// the package's exports map sends each environment to the right file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as esbuild from 'esbuild';

const pkg = new URL('../pkg/', import.meta.url);

test('the browser entry bundles with platform=browser and imports no Node builtins', async () => {
  const result = await esbuild.build({
    stdin: { contents: "import { init, Session } from 'hushwire'; console.log(init, Session);", resolveDir: new URL('.', import.meta.url).pathname },
    bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent',
  });
  const out = result.outputFiles[0].text;
  assert.doesNotMatch(out, /node:|require\(/);
  assert.match(out, /hushwire_bg\.wasm/);
  for (const f of ['index.js']) {
    const src = await readFile(new URL(f, pkg), 'utf8');
    assert.doesNotMatch(src, /from ['"]node:|import\(['"]node:|\brequire\(/, f);
    assert.doesNotMatch(src, /^await /m, `${f} uses top-level await`);
  }
});

test('exports map: node import -> node.mjs, require -> index.cjs, browser -> index.js', async () => {
  const json = JSON.parse(await readFile(new URL('package.json', pkg), 'utf8'));
  const dot = json.exports['.'];
  assert.equal(dot.node.import, './node.mjs');
  assert.equal(dot.node.require, './index.cjs');
  assert.equal(dot.browser, './index.js');
  assert.equal(dot.default, './index.js');
  const require = createRequire(import.meta.url);
  assert.match(require.resolve('hushwire'), /index\.cjs$/);
  assert.match(import.meta.resolve('hushwire'), /node\.mjs$/);
});
