// A fresh process: init() with a plain file path (relative to the working directory), as the
// README documents for Node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { relative } from 'node:path';
import * as hw from 'hushwire';

test('init(relative path) reads the .wasm from disk', async () => {
  const wasmPath = createRequire(import.meta.url).resolve('hushwire/hushwire_bg.wasm');
  await hw.init(relative(process.cwd(), wasmPath));
  assert.equal(hw.generateStorageKey().length, 32);
});
