// Shared test helpers: an organisation, a certified agent and a finished handshake.
import assert from 'node:assert/strict';

export const NOW = 1_800_000_000;

export function setup(hw, { agentId = 'alice@shop.example', deviceId = 'laptop-1' } = {}) {
  const org = hw.OrgSigningKey.generate();
  const key = hw.AgentKey.generate();
  const cert = org.certifyAgent(key.publicKey, agentId, deviceId, NOW - 60, NOW + 86_400);
  const agent = hw.AgentIdentity.create(key, cert, org.publicKey);
  key.free();
  return { org, agent, cert, orgPublicKey: org.publicKey };
}

export function connect(hw, env = setup(hw)) {
  const { handshake, hello } = hw.VisitorHandshake.start(env.orgPublicKey);
  const { session: agentSession, reply } = env.agent.accept(hello);
  const visitor = handshake.finish(reply, NOW);
  handshake.free();
  return { ...env, visitor, agentSession };
}

export function assertCode(fn, code) {
  assert.throws(fn, (e) => {
    assert.equal(e.name, 'HushwireError', `expected HushwireError, got ${e}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    return true;
  });
}
