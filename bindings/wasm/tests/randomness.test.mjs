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

test('crypto removed after earlier draws -> still fails closed (looked up on every draw)', async () => {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
  const { webcrypto } = await import('node:crypto');
  Object.defineProperty(globalThis, 'crypto', { value: webcrypto, configurable: true, writable: true });
  const key = hw.generateStorageKey();
  assert.equal(key.length, 32);
  // A getRandomValues that throws (e.g. a blocked API) is the same as a missing one.
  Object.defineProperty(globalThis, 'crypto', {
    value: { getRandomValues() { throw new Error('blocked'); } },
    configurable: true,
    writable: true,
  });
  assert.throws(() => hw.AgentKey.generate(), (e) => e.code === 'RANDOMNESS_UNAVAILABLE');
  Object.defineProperty(globalThis, 'crypto', saved ?? { value: undefined, configurable: true, writable: true });
});
