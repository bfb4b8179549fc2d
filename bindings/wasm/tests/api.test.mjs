// The package as an ESM consumer sees it (import 'hushwire' resolves to pkg/ via exports).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as hw from 'hushwire';
import { NOW, setup, connect, certify, assertCode } from './helpers.mjs';

before(() => hw.init());

test('init is idempotent and reports readiness', async () => {
  await hw.init();
  assert.equal(hw.isInitialized(), true);
});

test('full handshake, messages both ways, equal safety codes', () => {
  const { visitor, agentSession } = connect(hw);
  assert.equal(visitor.role, 'visitor');
  assert.equal(agentSession.role, 'agent');
  assert.equal(visitor.agentId, 'alice@shop.example');
  assert.equal(agentSession.deviceId, 'laptop-1');
  assert.equal(visitor.sessionId, agentSession.sessionId);
  assert.match(visitor.sessionId, /^[0-9a-f]{32}$/);
  assert.equal(visitor.safetyCode, agentSession.safetyCode);
  assert.ok(visitor.safetyCode.length > 0);

  const env = visitor.seal(new TextEncoder().encode('Hi, my order has not arrived'));
  assert.ok(env instanceof Uint8Array);
  assert.equal(agentSession.openText(env), 'Hi, my order has not arrived');
  const text = agentSession.sealText('Sorry! Let me check. 🚚');
  assert.match(text, /^[A-Za-z0-9_-]+$/);
  assert.equal(visitor.openText(text), 'Sorry! Let me check. 🚚');
  assert.deepEqual(visitor.open(agentSession.seal(new Uint8Array([0, 1, 2, 255]))), new Uint8Array([0, 1, 2, 255]));
  assert.equal(agentSession.openText(visitor.sealText('')), '');
});

test('openText refuses non-UTF-8 with MALFORMED without consuming the message', () => {
  const { visitor, agentSession } = connect(hw);
  const binary = new Uint8Array([0x68, 0x69, 0xff, 0xfe, 0x00]); // not UTF-8
  const env = visitor.seal(binary);
  const later = visitor.sealText('next message');
  for (const form of [env, Buffer.from(env).toString('base64url')]) {
    assertCode(() => agentSession.openText(form), 'MALFORMED');
  }
  assert.throws(() => agentSession.openText(env), { message: 'malformed input: the message is not valid UTF-8 text' });
  assert.equal(hw.isInitialized(), true);
  // Not consumed: the same envelope still opens as bytes, once.
  assert.deepEqual(agentSession.open(env), binary);
  assertCode(() => agentSession.open(env), 'REPLAY');
  assertCode(() => agentSession.openText(env), 'REPLAY');
  assert.equal(agentSession.openText(later), 'next message');
  // An overlong encoding and a lone surrogate half are not UTF-8 either.
  for (const bad of [[0xc0, 0x80], [0xed, 0xa0, 0x80]]) {
    const e = agentSession.seal(new Uint8Array(bad));
    assertCode(() => visitor.openText(e), 'MALFORMED');
    assert.deepEqual(visitor.open(e), new Uint8Array(bad));
  }
});

test('safety codes differ between sessions', () => {
  const env = setup(hw);
  const a = connect(hw, env);
  const b = connect(hw, env);
  assert.notEqual(a.visitor.safetyCode, b.visitor.safetyCode);
  assert.notEqual(a.visitor.sessionId, b.visitor.sessionId);
});

test('out-of-order delivery, then replay is refused', () => {
  const { visitor, agentSession } = connect(hw);
  const msgs = ['one', 'two', 'three', 'four'].map((m) => visitor.sealText(m));
  assert.equal(agentSession.openText(msgs[2]), 'three');
  assert.equal(agentSession.openText(msgs[0]), 'one');
  assert.equal(agentSession.openText(msgs[3]), 'four');
  assert.equal(agentSession.openText(msgs[1]), 'two');
  for (const m of msgs) assertCode(() => agentSession.open(m), 'REPLAY');
});

test('tampered envelopes, reflected and wrong-session messages get their codes', () => {
  const { visitor, agentSession } = connect(hw);
  const env = visitor.seal(new TextEncoder().encode('pay 10 EUR'));
  for (const i of [env.length - 1, env.length - 20, 40]) {
    const bad = env.slice();
    bad[i] ^= 0x01;
    assertCode(() => agentSession.open(bad), 'TAMPERED');
  }
  assert.equal(agentSession.openText(env), 'pay 10 EUR'); // the real one still opens
  assertCode(() => visitor.open(visitor.seal(new Uint8Array(3))), 'REFLECTED');
  const other = connect(hw);
  assertCode(() => other.agentSession.open(visitor.seal(new Uint8Array(3))), 'WRONG_SESSION');
  assertCode(() => agentSession.setConfig({ maxSkip: 30_000, maxStoredSkipped: 10 }), 'INVALID_ARGUMENT');
  agentSession.setConfig({ maxSkip: 2, maxStoredSkipped: 10 });
  const ahead = [1, 2, 3, 4].map(() => visitor.seal(new Uint8Array(1)));
  assertCode(() => agentSession.open(ahead[3]), 'TOO_FAR_AHEAD');
});

test('certificate checks: expired, not yet valid, wrong organisation', () => {
  const env = setup(hw);
  const { handshake, hello } = hw.VisitorHandshake.start(env.orgPublicKey);
  const { reply } = env.agent.accept(hello);
  assertCode(() => handshake.finish(reply, NOW + 90_000), 'CERTIFICATE_EXPIRED');
  assertCode(() => handshake.finish(reply, NOW - 90_000), 'CERTIFICATE_NOT_YET_VALID');
  assertCode(() => handshake.finish(reply, -1), 'INVALID_ARGUMENT');
  assertCode(() => handshake.finish(reply, 1.5), 'INVALID_ARGUMENT');
  // A failed attempt leaves the handshake usable; bigint time works.
  const s = handshake.finish(reply, BigInt(NOW));
  assert.equal(s.role, 'visitor');
  assertCode(() => handshake.finish(reply, NOW), 'INVALID_ARGUMENT'); // already finished

  const otherOrg = certify(hw.AgentKey.generate().publicKey).orgPublicKey;
  const started = hw.VisitorHandshake.start(otherOrg);
  assertCode(() => env.agent.accept(started.hello), 'WRONG_ORGANIZATION');
  // Default `now` is the real clock: the certificate (valid around 2027) fails or passes
  // deterministically relative to Date.now().
  const h2 = hw.VisitorHandshake.start(env.orgPublicKey);
  const r2 = env.agent.accept(h2.hello).reply;
  const nowSecs = Math.floor(Date.now() / 1000);
  if (nowSecs < NOW - 60) assertCode(() => h2.handshake.finish(r2), 'CERTIFICATE_NOT_YET_VALID');
  else if (nowSecs > NOW + 86_400) assertCode(() => h2.handshake.finish(r2), 'CERTIFICATE_EXPIRED');
  else assert.equal(h2.handshake.finish(r2).role, 'visitor');
});

test('a certificate for another key or organisation is refused when building the identity', () => {
  const k1 = hw.AgentKey.generate();
  const k2 = hw.AgentKey.generate();
  const { orgPublicKey, cert } = certify(k1.publicKey, { agentId: 'a', deviceId: 'd', notBefore: NOW, notAfter: NOW + 1 });
  assertCode(() => hw.AgentIdentity.create(k2, cert, orgPublicKey), 'CERTIFICATE_KEY_MISMATCH');
  const otherOrg = certify(k1.publicKey).orgPublicKey;
  assertCode(() => hw.AgentIdentity.create(k1, cert, otherOrg), 'WRONG_ORGANIZATION');
  const forged = cert.slice();
  forged[forged.length - 1] ^= 1; // the signature's last byte
  assertCode(() => hw.AgentIdentity.create(k1, forged, orgPublicKey), 'BAD_CERTIFICATE');
  // The organisation key as 32 bytes works as well as its base64url text.
  const identity = hw.AgentIdentity.create(k1, cert, new Uint8Array(Buffer.from(orgPublicKey, 'base64url')));
  assert.equal(identity.agentId, 'a');
  // The package has no signing key class at all.
  assert.equal(hw.OrgSigningKey, undefined);
});

test('certificate validity is checked at finish time', () => {
  const key = hw.AgentKey.generate();
  const { orgPublicKey, cert } = certify(key.publicKey, { notBefore: NOW, notAfter: NOW + 10 });
  const agent = hw.AgentIdentity.create(key, cert, orgPublicKey);
  for (const [now, code] of [[NOW - 1, 'CERTIFICATE_NOT_YET_VALID'], [NOW + 11, 'CERTIFICATE_EXPIRED']]) {
    const { handshake, hello } = hw.VisitorHandshake.start(orgPublicKey);
    assertCode(() => handshake.finish(agent.accept(hello).reply, now), code);
  }
  const { handshake, hello } = hw.VisitorHandshake.start(orgPublicKey);
  assert.equal(handshake.finish(agent.accept(hello).reply, NOW + 10).role, 'visitor');
});

test('keys round-trip through their secret bytes', () => {
  const k = hw.AgentKey.generate();
  assert.deepEqual(hw.AgentKey.fromSecretBytes(k.secretBytes()).publicKey, k.publicKey);
  assert.equal(k.publicKey.length, 32);
  assertCode(() => hw.AgentKey.fromSecretBytes(new Uint8Array(33)), 'INVALID_ARGUMENT');
});

test('export / import of sessions and identities', () => {
  const { visitor, agentSession, agent } = connect(hw);
  const key = hw.generateStorageKey();
  assert.equal(key.length, 32);
  visitor.sealText('before export'); // advance the chain
  const saved = visitor.exportState(key);
  assert.equal(typeof saved, 'string');
  const restored = hw.Session.importState(saved, key);
  assert.equal(restored.safetyCode, visitor.safetyCode);
  assert.equal(restored.role, 'visitor');
  assert.equal(agentSession.openText(restored.sealText('after import')), 'after import');
  assert.equal(restored.openText(agentSession.sealText('to restored')), 'to restored');

  const wrong = hw.generateStorageKey();
  assertCode(() => hw.Session.importState(saved, wrong), 'EXPORT_AUTHENTICATION');
  assertCode(() => hw.Session.importState(saved, new Uint8Array(16)), 'INVALID_ARGUMENT');
  const flipped = saved.slice(0, -3) + (saved.at(-3) === 'A' ? 'B' : 'A') + saved.slice(-2);
  assert.throws(() => hw.Session.importState(flipped, key), (e) =>
    ['EXPORT_AUTHENTICATION', 'MALFORMED'].includes(e.code));

  const savedAgent = agent.exportState(key);
  const agent2 = hw.AgentIdentity.importState(savedAgent, key);
  assert.equal(agent2.agentId, 'alice@shop.example');
  assert.equal(agent2.deviceId, 'laptop-1');
  assertCode(() => hw.AgentIdentity.importState(saved, key), 'MALFORMED'); // a session is not an identity
});

test('free() and Symbol.dispose release objects; later use throws OBJECT_FREED', () => {
  const { visitor, agentSession, orgPublicKey, agent } = connect(hw);
  visitor.free();
  visitor.free(); // idempotent
  assertCode(() => visitor.sealText('x'), 'OBJECT_FREED');
  assertCode(() => visitor.safetyCode, 'OBJECT_FREED');
  const dispose = Symbol.dispose ?? Symbol.for('Symbol.dispose');
  agentSession[dispose]();
  assertCode(() => agentSession.open('AAAA'), 'OBJECT_FREED');
  const k = hw.AgentKey.generate();
  k.free();
  assertCode(() => hw.AgentIdentity.create(k, new Uint8Array(10), orgPublicKey), 'OBJECT_FREED');
  assertCode(() => k.publicKey, 'OBJECT_FREED');
  agent.free();
  assertCode(() => agent.accept('AAAA'), 'OBJECT_FREED');
  assert.throws(() => new hw.Session(), TypeError);
});

test('errors are HushwireError instances with a stable code', () => {
  try {
    hw.VisitorHandshake.start('not a key');
    assert.fail('should throw');
  } catch (e) {
    assert.ok(e instanceof hw.HushwireError);
    assert.ok(e instanceof Error);
    assert.equal(e.code, 'MALFORMED');
    assert.match(e.message, /malformed/);
  }
  assertCode(() => hw.VisitorHandshake.start(42), 'INVALID_ARGUMENT');
  const { visitor } = connect(hw);
  assertCode(() => visitor.seal('text is not bytes'), 'INVALID_ARGUMENT');
  assertCode(() => visitor.sealText(new Uint8Array(1)), 'INVALID_ARGUMENT');
  assertCode(() => visitor.open(12), 'INVALID_ARGUMENT');
  assertCode(() => visitor.seal(new Uint8Array(64 * 1024 + 1)), 'MESSAGE_TOO_LARGE');
  assert.ok(visitor.seal(new Uint8Array(64 * 1024)).length > 64 * 1024);
});

test('garbage to every decoder throws MALFORMED, never crashes', () => {
  const env = setup(hw);
  const { visitor, agentSession } = connect(hw, env);
  const { handshake } = hw.VisitorHandshake.start(env.orgPublicKey);
  const key = hw.generateStorageKey();
  const decoders = {
    'VisitorHandshake.start': (g) => hw.VisitorHandshake.start(g.text),
    'AgentIdentity.accept(text)': (g) => env.agent.accept(g.text),
    'AgentIdentity.accept(bytes)': (g) => env.agent.accept(g.bytes),
    'VisitorHandshake.finish(text)': (g) => handshake.finish(g.text, NOW),
    'VisitorHandshake.finish(bytes)': (g) => handshake.finish(g.bytes, NOW),
    'Session.open(text)': (g) => agentSession.open(g.text),
    'Session.open(bytes)': (g) => visitor.open(g.bytes),
    'Session.importState': (g) => hw.Session.importState(g.text, key),
    'AgentIdentity.importState': (g) => hw.AgentIdentity.importState(g.text, key),
    'AgentIdentity.create(cert)': (g) => hw.AgentIdentity.create(hw.AgentKey.generate(), g.bytes, env.orgPublicKey),
    'AgentIdentity.create(org)': (g) => hw.AgentIdentity.create(hw.AgentKey.generate(), env.cert, g.text),
  };
  // Deterministic pseudo-random garbage plus hand-picked edge cases.
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  const samples = [
    { text: '', bytes: new Uint8Array(0) },
    { text: '====', bytes: new Uint8Array([1]) },
    { text: '\u0000\ud800 lone surrogate', bytes: new Uint8Array([1, 0x10]) },
    { text: 'A'.repeat(200_000), bytes: new Uint8Array(200_000).fill(1) },
    { text: '🙂'.repeat(10), bytes: new Uint8Array([2, 0xff, 0, 0]) },
  ];
  for (let n = 0; n < 40; n++) {
    const len = rnd() % 120;
    const b = Uint8Array.from({ length: len }, rnd);
    if (len > 0 && n % 2 === 0) b[0] = 1; // right version byte, to get past the first check
    samples.push({ text: Buffer.from(b).toString('base64url'), bytes: b });
  }
  let calls = 0;
  for (const [name, decode] of Object.entries(decoders)) {
    for (const g of samples) {
      assert.throws(() => decode(g), (e) => {
        assert.ok(e instanceof hw.HushwireError, `${name}: ${e}`);
        assert.equal(e.code, 'MALFORMED', `${name} on ${JSON.stringify(g.text.slice(0, 40))}: ${e.code} ${e.message}`);
        return true;
      });
      calls++;
    }
  }
  assert.ok(calls > 400);
  // Far too long inputs are refused before they are copied into wasm memory.
  assertCode(() => agentSession.open(new Uint8Array(2 << 20)), 'MALFORMED');
  assertCode(() => agentSession.open('A'.repeat(5 << 20)), 'MALFORMED');
  assertCode(() => env.agent.accept(new Uint8Array(2 << 20)), 'MALFORMED');
  // The instance is still healthy afterwards.
  assert.equal(agentSession.openText(visitor.sealText('still fine')), 'still fine');
});

test('base64url text forms: same strictness as the Rust core, same bytes as Node', () => {
  const { visitor, agentSession } = connect(hw);
  // The encoder agrees with Node's base64url for every length class.
  for (let len = 0; len < 70; len++) {
    const plain = new Uint8Array(len).map((_, i) => (i * 37 + len) & 0xff);
    const text = visitor.sealText(new TextDecoder().decode(plain.map((b) => 0x20 + (b % 90))));
    assert.equal(Buffer.from(text, 'base64url').toString('base64url'), text);
    assert.match(text, /^[A-Za-z0-9_-]+$/);
    agentSession.open(text);
  }
  const good = visitor.sealText('edge cases');
  // Surrounding whitespace is ignored, as by Rust's str::trim.
  assert.equal(agentSession.openText(`\n\t ${good}\u3000\r\n`), 'edge cases');
  const key = hw.generateStorageKey();
  const exported = visitor.exportState(key);
  const variants = {
    padding: `${exported}${'='.repeat((4 - (exported.length % 4)) % 4 || 4)}`,
    'standard alphabet': exported.replace(/-/g, '+').replace(/_/g, '/') + '+/',
    'length 1 mod 4': `${exported}${exported.length % 4 === 0 ? 'A' : exported.length % 4 === 3 ? 'AA' : 'AAA'}`,
    'inner space': `${exported.slice(0, 10)} ${exported.slice(10)}`,
    'non-ASCII digit': `${exported.slice(0, 10)}\u0661${exported.slice(11)}`,
  };
  for (const [what, text] of Object.entries(variants)) {
    assertCode(() => hw.Session.importState(text, key), 'MALFORMED');
    assert.ok(what);
  }
  // Non-canonical trailing bits: 'AB' and 'AAB' decode to the same bytes as 'AA' and 'AAA'
  // in a lax decoder; both the core and this package refuse them.
  for (const text of ['AB', 'AAB', 'AAAAAB', 'AAAAAAB']) {
    assertCode(() => hw.VisitorHandshake.start(text), 'MALFORMED');
  }
  assert.equal(hw.Session.importState(exported, key).sessionId, visitor.sessionId);
});
