// A fresh process: the .wasm is checked against the SHA-384 built into the JavaScript before it
// is instantiated, and integrity.json publishes the SHA-384 of every file a page loads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as hw from 'hushwire';

const pkg = new URL('../pkg/', import.meta.url);
const sri = (bytes) => `sha384-${createHash('sha384').update(bytes).digest('base64')}`;

test('integrity.json holds the version and the SHA-384 of every file a page loads', async () => {
  const { name, version, files } = JSON.parse(await readFile(new URL('integrity.json', pkg), 'utf8'));
  const { version: pkgVersion } = JSON.parse(await readFile(new URL('package.json', pkg), 'utf8'));
  assert.equal(name, 'hushwire');
  assert.equal(version, pkgVersion);
  assert.deepEqual(Object.keys(files).sort(), ['attachment.js', 'attachment_bg.wasm', 'hushwire_bg.wasm', 'hushwire_nowasm.js', 'index.js', 'nowasm.js', 'tabs.js']);
  for (const [file, hash] of Object.entries(files)) assert.equal(hash, sri(await readFile(new URL(file, pkg))), file);
  // The JavaScript carries the .wasm's hash (what SRI on the JavaScript transitively pins).
  assert.ok((await readFile(new URL('index.js', pkg), 'utf8')).includes(files['hushwire_bg.wasm']));
});

test('a valid module that is not this build (one custom section added) is refused with INIT_FAILED; the real one loads', async () => {
  const real = await readFile(new URL('hushwire_bg.wasm', pkg));
  // A custom section (id 0) named "x" with one byte: still a valid module, different bytes.
  const other = Buffer.concat([real, Buffer.from([0, 3, 1, 0x78, 0x2a])]);
  assert.ok(WebAssembly.validate(other));
  await assert.rejects(hw.init(other), (e) => {
    assert.equal(e.code, 'INIT_FAILED');
    assert.match(e.message, /SHA-384/);
    return true;
  });
  assert.equal(hw.isInitialized(), false);
  await hw.init(real);
  assert.equal(hw.backend(), 'wasm');
});
