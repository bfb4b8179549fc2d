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

test('crypto that throws after earlier draws -> the very next draw fails (no batch)', async () => {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
  const { webcrypto } = await import('node:crypto');
  Object.defineProperty(globalThis, 'crypto', { value: webcrypto, configurable: true, writable: true });
  const key = hw.generateStorageKey();
  assert.equal(key.length, 32);
  // A getRandomValues that throws (e.g. a blocked API) is the same as a missing one. Every
  // draw calls it (js/random.js keeps no batch a process snapshot could duplicate), so not
  // one more key can be made.
  Object.defineProperty(globalThis, 'crypto', {
    value: { getRandomValues() { throw new Error('blocked'); } },
    configurable: true,
    writable: true,
  });
  for (const call of [() => hw.AgentKey.generate(), () => hw.generateStorageKey()]) {
    assert.throws(call, (e) => e instanceof hw.HushwireError && e.code === 'RANDOMNESS_UNAVAILABLE');
  }
  assert.equal(hw.isInitialized(), true);
  Object.defineProperty(globalThis, 'crypto', saved ?? { value: undefined, configurable: true, writable: true });
});

test('every draw in Node calls crypto.getRandomValues: one call per sealed message, one more per ratchet step', async () => {
  const { connect } = await import('./helpers.mjs');
  const { webcrypto } = await import('node:crypto');
  Object.defineProperty(globalThis, 'crypto', { value: webcrypto, configurable: true, writable: true });
  const { visitor, agentSession } = connect(hw);
  let calls = 0;
  Object.defineProperty(globalThis, 'crypto', {
    value: { getRandomValues: (buf) => { calls++; return webcrypto.getRandomValues(buf); } },
    configurable: true,
    writable: true,
  });
  // The visitor's first message takes a DH ratchet step (a new ratchet key), then four more
  // on the same chain: six draws (docs/PROTOCOL.md §17.3).
  for (let i = 0; i < 5; i++) agentSession.open(visitor.seal(new Uint8Array(10)));
  assert.equal(calls, 6);
  // The agent's answer steps too.
  visitor.open(agentSession.seal(new Uint8Array(10)));
  assert.equal(calls, 8);
});
