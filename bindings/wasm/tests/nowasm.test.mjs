// The no-WebAssembly build (`hushwire/nowasm`: the same Rust module through wasm2js) in Node:
// it chats with the WebAssembly build, passes the same error contract, and its speed is
// printed next to the WebAssembly build's (README.md quotes the numbers).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as js from 'hushwire/nowasm';
import * as hw from 'hushwire';
import { NOW, assertCode, connect, setup } from './helpers.mjs';

before(async () => {
  await js.init();
  await hw.init();
});

test('the JavaScript build reports itself, and the WebAssembly build too', () => {
  assert.equal(js.backend(), 'javascript');
  assert.equal(hw.backend(), 'wasm');
});

test('the JavaScript build handshakes and chats with the WebAssembly build, both ways', () => {
  const env = setup(hw); // agent on the WebAssembly build
  const { handshake, hello } = js.VisitorHandshake.start(env.orgPublicKey);
  const { session: agent, reply } = env.agent.accept(hello);
  const visitor = handshake.finish(reply, NOW);
  assert.equal(visitor.safetyCode, agent.safetyCode);
  assert.equal(agent.openText(visitor.sealText('from wasm2js')), 'from wasm2js');
  assert.equal(visitor.openText(agent.sealText('from wasm')), 'from wasm');
  const key = js.generateStorageKey();
  const moved = hw.Session.importState(visitor.exportState(key), key);
  assert.equal(agent.openText(moved.sealText('exported by wasm2js, imported by wasm')), 'exported by wasm2js, imported by wasm');
  const envelope = agent.sealText('replayed');
  moved.openText(envelope);
  assertCode(() => moved.openText(envelope), 'REPLAY');
  assertCode(() => visitor.open(new Uint8Array([1, 2, 3])), 'MALFORMED');
  for (const o of [visitor, agent, moved, handshake, env.agent]) o.free();
  assertCode(() => visitor.sealText('x'), 'OBJECT_FREED');
});

test('speed: JavaScript build against WebAssembly build (handshake, 256-byte seal + open)', () => {
  const time = (lib, n, fn) => {
    for (let i = 0; i < Math.min(n, 50); i++) fn(); // warm up the JIT
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    return (performance.now() - t0) / n;
  };
  const results = {};
  for (const [name, lib] of [['wasm', hw], ['javascript', js]]) {
    const env = setup(lib);
    const handshake = time(lib, 20, () => {
      const c = connect(lib, env);
      c.visitor.free();
      c.agentSession.free();
    });
    const { visitor, agentSession } = connect(lib, env);
    const msg = new Uint8Array(256).fill(7);
    const message = time(lib, 300, () => agentSession.open(visitor.seal(msg)));
    results[name] = { handshake, message };
    visitor.free();
    agentSession.free();
    env.agent.free();
  }
  const f = (ms) => `${ms.toFixed(3)} ms`;
  console.log(`no-wasm speed: full handshake ${f(results.javascript.handshake)} vs wasm ${f(results.wasm.handshake)} ` +
    `(${(results.javascript.handshake / results.wasm.handshake).toFixed(1)}x); seal+open 256 B ${f(results.javascript.message)} ` +
    `vs wasm ${f(results.wasm.message)} (${(results.javascript.message / results.wasm.message).toFixed(1)}x)`);
  assert.ok(results.javascript.message < 5, 'a message stays in the milliseconds');
});
