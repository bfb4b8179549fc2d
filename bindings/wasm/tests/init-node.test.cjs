// A fresh process, CommonJS entry: a missing .wasm is INIT_FAILED; a file URL object works.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { pathToFileURL } = require('node:url');
const hw = require('hushwire');

test('CJS: missing .wasm -> INIT_FAILED; init(URL of the file) works', async () => {
  await assert.rejects(hw.init('./missing/hushwire_bg.wasm'), (e) => e.code === 'INIT_FAILED' && e.cause?.code === 'ENOENT');
  await hw.init(pathToFileURL(require.resolve('hushwire/hushwire_bg.wasm')));
  assert.equal(hw.generateStorageKey().length, 32);
});
