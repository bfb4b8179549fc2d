// A fresh process: once the instance traps, every later call throws INSTANCE_POISONED.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as hw from 'hushwire';
import { connect } from './helpers.mjs';

test('a trap poisons the instance for good', async () => {
  await hw.init();
  const { visitor } = connect(hw);
  assert.throws(() => hw._trapForTesting(), (e) => {
    assert.ok(e instanceof hw.HushwireError);
    assert.equal(e.code, 'INSTANCE_POISONED');
    assert.ok(e.cause instanceof WebAssembly.RuntimeError);
    return true;
  });
  assert.equal(hw.isInitialized(), false);
  for (const call of [
    () => visitor.sealText('x'),
    () => visitor.safetyCode,
    () => hw.AgentKey.fromSecretBytes(new Uint8Array(32)),
    () => hw.generateStorageKey(),
  ]) {
    assert.throws(call, (e) => e instanceof hw.HushwireError && e.code === 'INSTANCE_POISONED');
  }
  visitor.free(); // does not touch the broken instance, does not throw
  await assert.rejects(hw.init(), (e) => e.code === 'INSTANCE_POISONED');
});
