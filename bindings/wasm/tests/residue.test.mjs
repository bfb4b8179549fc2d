// A fresh process: the instance's linear memory holds none of the secrets or plaintexts that
// went through it once nothing needs them: a plaintext as soon as the seal / open call that
// handled it returned, the storage key as soon as each export / import / generateStorageKey
// call returned, and, after `free()` on every object, the agent's secret key and everything
// else (bytes and text, sealed and opened, in order and out of order, before and after an
// export / import).
//
// The memory is read from the instance the package itself creates (captureInstance wraps
// WebAssembly.instantiate), so nothing test-only ships. Chain and message keys are not
// reachable from JavaScript and are not searched for here (the core's own erasure tests cover
// them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as hw from 'hushwire';
import { captureInstance, certify, occurrences, NOW } from './helpers.mjs';

const captured = captureInstance();

test('no secret or plaintext is left in wasm memory after free()', async () => {
  await hw.init();
  const secrets = {};
  const found = {};
  // The stack sits below the module's data (wasm-ld's stack-first layout) and is all zero
  // after init: everything below the first non-zero byte. Between calls no frame is live, so
  // after every call (and the wrapper's stack wipe) all of it must be zero again, whatever
  // the call derived there (message keys, ephemeral secrets, random bytes). The top 16 bytes
  // are the wipe's own frame record (it leaves a saved stack pointer, 0x000fbffc, there).
  const stackEnd = new Uint8Array(captured.exports.memory.buffer).findIndex((b) => b !== 0);
  assert.ok(stackEnd >= 64 * 1024, `stack region of ${stackEnd} bytes`);
  let dirtyStack = 0;
  // Scan the whole linear memory for every secret recorded so far that nothing still holds.
  const live = new Set();
  const scan = () => {
    const memory = new Uint8Array(captured.exports.memory.buffer);
    dirtyStack = Math.max(dirtyStack, memory.subarray(0, stackEnd - 16).reduce((n, b) => n + (b !== 0), 0));
    for (const [name, bytes] of Object.entries(secrets)) {
      if (!live.has(name)) found[name] = Math.max(found[name] ?? 0, occurrences(memory, bytes));
    }
  };
  // Distinct, recognisable plaintexts: 40 random bytes each (hex text for the text API).
  const plain = () => new Uint8Array(randomBytes(40));
  const text = () => randomBytes(24).toString('hex');

  const storageKey = hw.generateStorageKey();
  secrets['storage key'] = storageKey.slice();
  scan();

  const generated = hw.AgentKey.generate();
  const agentSecret = generated.secretBytes();
  secrets['agent secret'] = agentSecret.slice();
  live.add('agent secret'); // held by the identities until they are freed
  const { orgPublicKey, cert } = certify(generated.publicKey);
  generated.free();
  const agentKey = hw.AgentKey.fromSecretBytes(agentSecret);
  const agent = hw.AgentIdentity.create(agentKey, cert, orgPublicKey);
  agentKey.free();
  const identityExport = agent.exportState(storageKey);
  scan();
  const agent2 = hw.AgentIdentity.importState(identityExport, storageKey);
  scan();

  const { handshake, hello } = hw.VisitorHandshake.start(orgPublicKey);
  const { session: agentSession, reply } = agent2.accept(hello);
  const visitor = handshake.finish(reply, NOW);
  handshake.free();

  // In order, bytes and text.
  const p1 = plain();
  secrets['plaintext (seal/open)'] = p1;
  assert.deepEqual(agentSession.open(visitor.seal(p1)), p1);
  scan();
  const t1 = text();
  secrets['plaintext (sealText/openText)'] = new TextEncoder().encode(t1);
  assert.equal(visitor.openText(agentSession.sealText(t1)), t1);
  scan();

  // Out of order: three sealed, opened 3, 1, 2 (the skipped keys are stored, then used).
  const ps = [plain(), plain(), plain()];
  ps.forEach((p, i) => { secrets[`plaintext out of order #${i + 1}`] = p; });
  const envs = ps.map((p) => visitor.seal(p));
  scan();
  for (const i of [2, 0, 1]) {
    assert.deepEqual(agentSession.open(envs[i]), ps[i]);
    scan();
  }

  // One skipped message left stored at export time, opened after import.
  const late = plain();
  secrets['plaintext opened after import'] = late;
  const lateEnv = visitor.seal(late);
  scan();
  const p5 = plain();
  secrets['plaintext before export'] = p5;
  assert.deepEqual(agentSession.open(visitor.seal(p5)), p5);
  scan();
  const exported = agentSession.exportState(storageKey);
  scan();
  agentSession.free();
  const restored = hw.Session.importState(exported, storageKey);
  scan();
  assert.deepEqual(restored.open(lateEnv), late);
  scan();
  const t2 = text();
  secrets['plaintext after import (text)'] = new TextEncoder().encode(t2);
  assert.equal(visitor.openText(restored.sealText(t2)), t2);
  scan();

  for (const o of [visitor, restored, agent, agent2]) o.free();
  live.clear();
  scan();

  const summary = Object.entries(found).map(([n, c]) => `${n}: ${c}×`).join(', ');
  console.log(`residue (most copies seen in any scan): ${summary}; most non-zero stack bytes after a call: ${dirtyStack} of ${stackEnd}`);
  for (const [name, count] of Object.entries(found)) assert.equal(count, 0, `${name} found ${count}× (${summary})`);
  assert.equal(dirtyStack, 0, `${dirtyStack} non-zero bytes left on the stack after a call`);
});
