// A fresh process: the FinalizationRegistry backstop frees objects the application dropped
// without free(), through the guarded path (the stack is wiped after each), exactly once, and
// never an object that free() already released. Calls into the instance are counted by
// wrapping its exports at instantiation (nothing test-only ships).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as hw from 'hushwire';
import { connect, isBindgenImports, setup } from './helpers.mjs';

const calls = new Map();
const original = WebAssembly.instantiate;
WebAssembly.instantiate = async function (...args) {
  // Node's own fetch (undici) instantiates its HTTP parser through the same global: only the
  // wasm-bindgen module (imports from its `*_bg.js` glue) is ours.
  if (!isBindgenImports(args[1])) return original.apply(this, args);
  WebAssembly.instantiate = original;
  const { instance, module } = await original.apply(this, args);
  const exports = {};
  for (const [name, value] of Object.entries(instance.exports)) {
    exports[name] = typeof value !== 'function' ? value : (...a) => {
      calls.set(name, (calls.get(name) ?? 0) + 1);
      return value(...a);
    };
  }
  return { instance: { exports }, module };
};
const count = (name) => calls.get(name) ?? 0;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
async function collect() {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('dropped objects are freed once after GC, through the guarded path; freed ones are not freed again', async () => {
  await hw.init();
  const env = setup(hw);
  await collect();
  const before = count('__wbg_session_free');
  // 20 pairs dropped without free(), 20 pairs freed by hand (each pair: visitor + agent side).
  (() => {
    for (let i = 0; i < 20; i++) {
      const { visitor, agentSession } = connect(hw, env);
      visitor.openText(agentSession.sealText('dropped'));
    }
    for (let i = 0; i < 20; i++) {
      const { visitor, agentSession } = connect(hw, env);
      visitor.free();
      agentSession.free();
    }
  })();
  assert.equal(count('__wbg_session_free') - before, 40, 'the 40 freed by hand');
  const wipes = count('wipeStack');
  await collect();
  assert.equal(count('__wbg_session_free') - before, 80, 'the 40 dropped, after GC; none twice');
  assert.ok(count('wipeStack') - wipes >= 40, 'each finaliser free is followed by a stack wipe');
  env.agent.free();
});
