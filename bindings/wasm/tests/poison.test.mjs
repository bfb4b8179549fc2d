// A fresh process: once the instance traps, every later call throws INSTANCE_POISONED and the
// instance's whole memory has been zeroed (every object's secrets at once).
//
// Nothing test-only ships to make it trap: captureInstance wraps the module's randomness
// import (the glue's `fillRandom`) so that, when armed, it calls the module's own
// `__wbindgen_malloc` with an invalid alignment, which traps (`unreachable`) in the middle of
// the outer call, exactly like a bug in the Rust code would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as hw from 'hushwire';
import { captureInstance, connect, occurrences } from './helpers.mjs';

let armed = false;
const captured = captureInstance({
  wrapImports(imports) {
    const [moduleName, functions] = Object.entries(imports).find(([, f]) =>
      Object.keys(f).some((name) => name.includes('fillRandom')));
    const name = Object.keys(functions).find((n) => n.includes('fillRandom'));
    const original = functions[name];
    return {
      ...imports,
      [moduleName]: {
        ...functions,
        [name](...args) {
          if (armed) captured.exports.__wbindgen_malloc(1, 3); // traps
          return original(...args);
        },
      },
    };
  },
});

test('a trap poisons the instance for good and wipes its memory', async () => {
  await hw.init();
  const { visitor, agentSession, agent } = connect(hw);
  const storageKey = hw.generateStorageKey();
  const exported = visitor.exportState(storageKey);
  let held = hw.Session.importState(exported, storageKey); // never freed: left to the GC
  const agentKey = hw.AgentKey.generate();
  const secret = agentKey.secretBytes();
  const memory = captured.exports.memory;
  assert.equal(occurrences(new Uint8Array(memory.buffer), secret), 1); // held by agentKey

  armed = true;
  assert.throws(() => hw.AgentKey.generate(), (e) => {
    assert.ok(e instanceof hw.HushwireError);
    assert.equal(e.code, 'INSTANCE_POISONED');
    assert.ok(e.cause instanceof WebAssembly.RuntimeError, String(e.cause));
    return true;
  });
  armed = false;
  assert.equal(hw.isInitialized(), false);

  // Every byte of the instance's memory is zero: no secret of any live object remains.
  const bytes = new Uint8Array(memory.buffer);
  assert.equal(bytes.findIndex((b) => b !== 0), -1);

  for (const call of [
    () => visitor.sealText('x'),
    () => visitor.safetyCode,
    () => held.open(new Uint8Array(100)),
    () => hw.AgentKey.fromSecretBytes(new Uint8Array(32)),
    () => hw.generateStorageKey(),
    () => hw.Session.importState(exported, storageKey),
  ]) {
    assert.throws(call, (e) => e instanceof hw.HushwireError && e.code === 'INSTANCE_POISONED');
  }
  // free() does not enter the broken instance and does not throw; the object is freed.
  for (const o of [visitor, agentSession, agent, agentKey]) o.free();
  await assert.rejects(hw.init(), (e) => e.code === 'INSTANCE_POISONED');

  // An object never freed is finalised by the glue on the zeroed memory: that must neither
  // throw (an uncaught error in a finaliser would end the process) nor trap.
  held = null;
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc');
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
});
