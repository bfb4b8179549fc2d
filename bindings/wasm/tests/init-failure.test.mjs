// A fresh process: a failed init() (bad bytes) throws INIT_FAILED and can be retried.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as hw from 'hushwire';

test('init with bad bytes rejects with INIT_FAILED; a retry with the real module works', async () => {
  await assert.rejects(hw.init(new Uint8Array([0, 1, 2, 3])), (e) => e.code === 'INIT_FAILED');
  assert.equal(hw.isInitialized(), false);
  assert.throws(() => hw.generateStorageKey(), (e) => e.code === 'NOT_INITIALIZED');
  const wasmPath = createRequire(import.meta.url).resolve('hushwire/hushwire_bg.wasm');
  await hw.init(await readFile(wasmPath));
  assert.equal(hw.generateStorageKey().length, 32);
});
