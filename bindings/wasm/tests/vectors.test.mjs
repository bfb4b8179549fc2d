// Cross-implementation: the shipped package, driven through its public API, reproduces every
// value of docs/vectors/*.json that an application can observe (agent key, hello, reply,
// safety code, every envelope, the export) byte for byte, and accepts the vectors'
// certificate. (The package cannot sign, so the certificate itself is taken as input.)
//
// The vectors come from hushwire::test_vectors::generate(), which draws all randomness from a
// public deterministic generator (HMAC-SHA256 in counter mode over a fixed seed, see
// docs/PROTOCOL.md). Here the same generator stands in for crypto.getRandomValues, and the
// same scenario runs in the same order. No test-only code is compiled into the package: the
// build under test is the one that ships. Internal values (chain and message keys, the
// handshake hash) are covered because every envelope depends on them.
//
// Because the vectors publish those internal values, the same run also checks erasure where
// residue.test.mjs cannot: after free() on everything, the instance's memory (read from the
// instance the package creates, via captureInstance) holds none of the secrets, ephemeral
// keys, handshake hash, initial chain keys, message keys, storage key or plaintexts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as hw from 'hushwire';
import { captureInstance, occurrences } from './helpers.mjs';

const captured = captureInstance();

const dir = new URL('../../../docs/vectors/', import.meta.url);
const load = async (name) => JSON.parse(await readFile(new URL(name, dir), 'utf8'));
const hex = (bytes) => Buffer.from(bytes).toString('hex');
const unhex = (text) => new Uint8Array(Buffer.from(text, 'hex'));

/** The generator of the vectors: block_i = HMAC(SHA-256(seed), i as u64 big-endian). */
class VectorRng {
  constructor(seed) {
    this.key = createHash('sha256').update(seed).digest();
    this.counter = 0n;
    this.buf = Buffer.alloc(0);
  }
  fill(dest) {
    for (let i = 0; i < dest.length; i++) {
      if (this.buf.length === 0) {
        const c = Buffer.alloc(8);
        c.writeBigUInt64BE(this.counter++);
        this.buf = createHmac('sha256', this.key).update(c).digest();
      }
      dest[i] = this.buf[0];
      this.buf = this.buf.subarray(1);
    }
    return dest;
  }
  draw(n) {
    return this.fill(new Uint8Array(n));
  }
}

const realCrypto = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
before(() => hw.init());
after(() => {
  if (realCrypto) Object.defineProperty(globalThis, 'crypto', realCrypto);
});

test('the package reproduces docs/vectors/*.json byte for byte', async () => {
  const hs = await load('handshake.json');
  const msgs = await load('messages.json');
  const exp = await load('export.json');
  const rng = new VectorRng('hushwire protocol v1 test vectors');
  // From here on every random byte the module draws comes from the vector generator.
  Object.defineProperty(globalThis, 'crypto', {
    value: { getRandomValues: (a) => rng.fill(a) },
    configurable: true,
    writable: true,
  });

  // Keys and certificate.
  assert.equal(hex(rng.draw(32)), hs.org_signing_seed); // the organisation's seed (Rust signs)
  const orgPublicKey = Buffer.from(hs.org_public_key, 'hex').toString('base64url');
  const agentSecret = rng.draw(32);
  assert.equal(hex(agentSecret), hs.agent_static_secret);
  const agentKey = hw.AgentKey.fromSecretBytes(agentSecret);
  assert.equal(hex(agentKey.publicKey), hs.agent_static_public);
  const agent = hw.AgentIdentity.create(agentKey, unhex(hs.certificate), orgPublicKey);
  assert.equal(agent.agentId, hs.agent_id);
  assert.equal(agent.deviceId, hs.device_id);

  // Handshake.
  // The v1 scenario (session_v2.json has the v2 one, below).
  const { handshake, hello } = hw.VisitorHandshake.start(orgPublicKey, { version: 1 });
  assert.equal(hello, hs.hello_base64url);
  assert.equal(handshake.sessionId, hs.session_id);
  const { session: agentSession, reply } = agent.accept(hello);
  assert.equal(reply, hs.reply_base64url);
  const visitor = handshake.finish(reply, hs.verification_time);
  assert.equal(visitor.safetyCode, hs.safety_code);
  assert.equal(agentSession.safetyCode, hs.safety_code);
  assert.equal(visitor.sessionId, hs.session_id);

  // Messages, sealed in sending order, opened in the recorded delivery order; the last one
  // delivered is opened only after the export, by the restored session.
  const sealed = msgs.messages.map((m) => {
    const from = m.sender === 'visitor' ? visitor : agentSession;
    const envelope = from.seal(unhex(m.plaintext));
    assert.equal(hex(envelope), m.envelope, m.label);
    assert.equal(Buffer.from(envelope).toString('base64url'), m.envelope_base64url, m.label);
    return { m, envelope };
  });
  const byDelivery = sealed.slice().sort((a, b) => a.m.delivery_order - b.m.delivery_order);
  const late = byDelivery.pop();
  for (const { m, envelope } of byDelivery) {
    const to = m.sender === 'visitor' ? agentSession : visitor;
    assert.equal(hex(to.open(envelope)), m.plaintext, m.label);
  }
  assert.equal(hex(late.envelope), exp.late_envelope);

  // Export with one skipped key pending, and the late message after import.
  // Drawn through the package: the same 32 bytes the Rust generator drew at this point.
  const storageKey = hw.generateStorageKey();
  assert.equal(hex(storageKey), exp.storage_key);
  const exported = visitor.exportState(storageKey);
  assert.equal(exported, exp.export);
  assert.equal(hex(Buffer.from(exported, 'base64url')), exp.export_bytes);
  const identityExport = agent.exportState(storageKey);
  assert.equal(identityExport, exp.identity_export);
  const restored = hw.Session.importState(exported, storageKey);
  assert.equal(restored.openText(late.envelope), exp.late_plaintext_utf8);

  for (const o of [agentKey, agent, handshake, agentSession, visitor, restored]) o.free();

  const secrets = {
    'agent static secret': hs.agent_static_secret,
    'visitor ephemeral secret': hs.visitor_ephemeral_secret,
    'agent ephemeral secret': hs.agent_ephemeral_secret,
    'handshake hash': hs.handshake_hash,
    'chain key visitor->agent': hs.chain_key_visitor_to_agent,
    'chain key agent->visitor': hs.chain_key_agent_to_visitor,
    'storage key': exp.storage_key,
    'late plaintext': hex(new TextEncoder().encode(exp.late_plaintext_utf8)),
  };
  for (const m of msgs.messages) {
    secrets[`message key ${m.label}`] = m.message_key;
    // Short plaintexts would match by chance; every one of 8 bytes or more is searched for.
    if (m.plaintext.length >= 16) secrets[`plaintext ${m.label}`] = m.plaintext;
  }
  const memory = new Uint8Array(captured.exports.memory.buffer);
  const found = Object.entries(secrets).map(([name, value]) => [name, occurrences(memory, unhex(value))]);
  const left = found.filter(([, count]) => count > 0);
  assert.deepEqual(left, [], `left in wasm memory after free(): ${left.map(([n, c]) => `${n} ${c}×`).join(', ')}`);
  assert.ok(found.length >= 10, 'the vectors should name at least ten secrets');
});

test('the package reproduces session_v2.json (protocol v2) from its recorded draws', async () => {
  const v = await load('session_v2.json');
  const hs = v.handshake;
  // Each getRandomValues call must ask for exactly the next recorded draw.
  let queue = [];
  const feed = (draws) => {
    assert.equal(queue.length, 0, 'every recorded draw was used');
    queue = draws.map(unhex);
  };
  Object.defineProperty(globalThis, 'crypto', {
    value: {
      getRandomValues: (a) => {
        const next = queue.shift();
        assert.ok(next && next.length === a.length, `a draw of ${a.length} bytes was recorded`);
        a.set(next);
        return a;
      },
    },
    configurable: true,
    writable: true,
  });
  const orgPublicKey = Buffer.from(hs.org_public_key, 'hex').toString('base64url');
  const agent = hw.AgentIdentity.create(hw.AgentKey.fromSecretBytes(unhex(hs.agent_static_secret)), unhex(hs.certificate), orgPublicKey);
  feed(hs.visitor_draws.values);
  const { handshake, hello } = hw.VisitorHandshake.start(orgPublicKey);
  assert.equal(hex(Buffer.from(hello, 'base64url')), hs.hello);
  feed(hs.agent_draws.values);
  const { session: agentSession, reply } = agent.accept(hello);
  assert.equal(hex(Buffer.from(reply, 'base64url')), hs.reply);
  const visitor = handshake.finish(reply, hs.verification_time);
  assert.equal(visitor.safetyCode, hs.safety_code);

  // Seal lazily in the recorded order, open in the recorded delivery order (as verify_v2.py).
  const sides = { visitor, agent: agentSession };
  const sealed = new Map();
  let next = 0;
  let exported;
  const deliveries = v.delivery_order.indexes;
  for (let d = 0; d < deliveries.length; d++) {
    const i = deliveries[d];
    while (!sealed.has(i)) {
      const m = v.messages[next++];
      feed(m.draws);
      const envelope = sides[m.sender].seal(new TextEncoder().encode(m.plaintext_utf8));
      assert.equal(hex(envelope), m.envelope, `envelope ${m.index}`);
      sealed.set(m.index, envelope);
    }
    const m = v.messages.find((x) => x.index === i);
    const to = m.sender === 'visitor' ? agentSession : visitor;
    assert.equal(to.openText(sealed.get(i)), m.plaintext_utf8, `open ${i}`);
    if (d === 3) {
      feed(v.export.draws);
      exported = visitor.exportState(unhex(v.export.storage_key));
      assert.equal(exported, v.export.export);
    }
  }
  const restored = hw.Session.importState(exported, unhex(v.export.storage_key));
  for (const i of v.export.late_after_import) {
    const m = v.messages.find((x) => x.index === i);
    assert.equal(restored.openText(sealed.get(i)), m.plaintext_utf8, `late ${i} after import`);
  }
  for (const o of [agent, handshake, agentSession, visitor, restored]) o.free();
});
