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
    () => hw.OrgSigningKey.generate(),
    () => hw.AgentKey.generate(),
  ]) {
    assert.throws(call, (e) => e instanceof hw.HushwireError && e.code === 'RANDOMNESS_UNAVAILABLE');
  }
  assert.equal(hw.isInitialized(), true); // a refused call, not a trap
});
