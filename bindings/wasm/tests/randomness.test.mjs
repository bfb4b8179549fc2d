// A fresh process: without crypto.getRandomValues, key generation fails closed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as hw from 'hushwire';

test('no crypto.getRandomValues -> RANDOMNESS_UNAVAILABLE', async () => {
  await hw.init();
  // The first draw happens lazily, after init; take WebCrypto away before it.
  Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true, writable: true });
  for (const call of [
    () => hw.generateStorageKey(),
    () => hw.AgentKey.generate(),
  ]) {
    assert.throws(call, (e) => e instanceof hw.HushwireError && e.code === 'RANDOMNESS_UNAVAILABLE');
  }
  assert.equal(hw.isInitialized(), true); // a refused call, not a trap
});

test('crypto removed after earlier draws -> fails closed once the drawn bytes are used up', async () => {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
  const { webcrypto } = await import('node:crypto');
  Object.defineProperty(globalThis, 'crypto', { value: webcrypto, configurable: true, writable: true });
  const key = hw.generateStorageKey();
  assert.equal(key.length, 32);
  // A getRandomValues that throws (e.g. a blocked API) is the same as a missing one. In Node
  // the package hands out bytes already drawn in 1 KiB batches (js/random.js), so at most
  // 1 KiB more can be served before the next draw fails; nothing falls back.
  Object.defineProperty(globalThis, 'crypto', {
    value: { getRandomValues() { throw new Error('blocked'); } },
    configurable: true,
    writable: true,
  });
  let served = 0;
  let code = null;
  for (let i = 0; i < 64 && code === null; i++) {
    try {
      hw.AgentKey.generate().free();
      served++;
    } catch (e) {
      code = e.code;
    }
  }
  assert.equal(code, 'RANDOMNESS_UNAVAILABLE');
  assert.ok(served < 1024 / 32, `served ${served} keys from the batch`);
  assert.equal(hw.isInitialized(), true);
  Object.defineProperty(globalThis, 'crypto', saved ?? { value: undefined, configurable: true, writable: true });
});
