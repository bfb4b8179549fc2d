// The package as a CommonJS consumer sees it (require('hushwire') -> index.cjs).
const { test, before } = require('node:test');
const assert = require('node:assert/strict');
const hw = require('hushwire');
const { execFileSync } = require('node:child_process');

// The organisation's side (the package cannot sign): the native helper certifies the key.
function certify(agentPublicKey, agentId, deviceId, notBefore, notAfter) {
  const out = execFileSync(
    process.env.HUSHWIRE_CROSS_BIN,
    ['certify', Buffer.from(agentPublicKey).toString('hex'), agentId, deviceId, String(notBefore), String(notAfter)],
    { encoding: 'utf8' },
  );
  const field = (name) => out.match(new RegExp(`^${name}=(.*)$`, 'm'))[1];
  return { orgPublicKey: field('org'), cert: new Uint8Array(Buffer.from(field('certificate'), 'hex')) };
}

const NOW = 1_800_000_000;
before(() => hw.init());

test('CJS: handshake, messages both ways, errors with codes', () => {
  const key = hw.AgentKey.generate();
  const { orgPublicKey, cert } = certify(key.publicKey, 'bob', 'phone', NOW - 1, NOW + 10);
  const agent = hw.AgentIdentity.create(key, cert, orgPublicKey);
  const { handshake, hello } = hw.VisitorHandshake.start(orgPublicKey);
  const { session: a, reply } = agent.accept(hello);
  const v = handshake.finish(reply, NOW);
  assert.equal(a.openText(v.sealText('hi from cjs')), 'hi from cjs');
  const e = a.seal(new TextEncoder().encode('reply'));
  assert.equal(v.openText(e), 'reply');
  assert.throws(() => v.open(e), (err) => err instanceof hw.HushwireError && err.code === 'REPLAY');
  assert.equal(v.safetyCode, a.safetyCode);
  const k = hw.generateStorageKey();
  const back = hw.Session.importState(a.exportState(k), k);
  assert.equal(v.openText(back.sealText('restored')), 'restored');
  for (const o of [key, agent, handshake, a, v, back]) o.free();
});

test('CJS: garbage is MALFORMED', () => {
  assert.throws(() => hw.Session.importState('%%%', new Uint8Array(32)), (e) => e.code === 'MALFORMED');
});
