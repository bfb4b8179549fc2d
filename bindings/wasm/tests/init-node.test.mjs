// A fresh process: Node's init() failures are INIT_FAILED (never a raw fs error or the
// rejected input itself), a discarded input never surfaces as an unhandled rejection, and a
// path or file: URL works as documented.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import * as hw from 'hushwire';

const wasmPath = createRequire(import.meta.url).resolve('hushwire/hushwire_bg.wasm');
const unhandled = [];
process.on('unhandledRejection', (e) => unhandled.push(e));
const settle = () => new Promise((ok) => setTimeout(ok, 50));

test('a missing .wasm path rejects with INIT_FAILED, the fs error as cause', async () => {
  await assert.rejects(hw.init('/nonexistent/hushwire_bg.wasm'), (e) => {
    assert.equal(e.name, 'HushwireError');
    assert.equal(e.code, 'INIT_FAILED');
    assert.equal(e.cause?.code, 'ENOENT');
    return true;
  });
  await assert.rejects(hw.init(new URL('file:///nonexistent/hushwire_bg.wasm')), (e) => e.code === 'INIT_FAILED');
  assert.equal(hw.isInitialized(), false);
});

test('init(Promise.reject(x)) rejects with INIT_FAILED whose cause is x', async () => {
  const x = new Error('the application could not fetch it');
  await assert.rejects(hw.init(Promise.reject(x)), (e) => e.code === 'INIT_FAILED' && e.cause === x);
  await settle();
  assert.deepEqual(unhandled, []);
});

test('init(file URL string) works; later inputs are ignored without unhandled rejections', async () => {
  await hw.init(pathToFileURL(wasmPath).href);
  assert.equal(hw.generateStorageKey().length, 32);
  await hw.init(Promise.reject(new Error('ignored')));
  await hw.init('/nonexistent/hushwire_bg.wasm');
  await settle();
  assert.deepEqual(unhandled, []);
});
