// A fresh process: every call before init() throws NOT_INITIALIZED.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as hw from 'hushwire';

const calls = {
  'AgentKey.fromSecretBytes': () => hw.AgentKey.fromSecretBytes(new Uint8Array(32)),
  'AgentKey.generate': () => hw.AgentKey.generate(),
  'VisitorHandshake.start': () => hw.VisitorHandshake.start('AAAA'),
  'Session.importState': () => hw.Session.importState('AAAA', new Uint8Array(32)),
  'AgentIdentity.importState': () => hw.AgentIdentity.importState('AAAA', new Uint8Array(32)),
  generateStorageKey: () => hw.generateStorageKey(),
  'bad arguments': () => hw.Session.importState(42, 'not a key'),
  'huge input': () => hw.VisitorHandshake.start('A'.repeat(5 << 20)),
};

test('every call before init() throws NOT_INITIALIZED', async () => {
  assert.equal(hw.isInitialized(), false);
  for (const [name, call] of Object.entries(calls)) {
    assert.throws(call, (e) => e instanceof hw.HushwireError && e.code === 'NOT_INITIALIZED', name);
  }
  const pending = hw.init();
  // Still not usable until the promise settles.
  assert.throws(calls.generateStorageKey, (e) => e.code === 'NOT_INITIALIZED');
  await pending;
  assert.equal(hw.generateStorageKey().length, 32);
});

test('after init, init() again is a no-op returning success', async () => {
  await hw.init(new Uint8Array([1, 2, 3]));
  assert.equal(hw.isInitialized(), true);
});
