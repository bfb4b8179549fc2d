// Papercuts found by using the package as a new user: partial / missing setConfig arguments,
// and no glue internals reachable from the public objects.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as hw from 'hushwire';
import { assertCode, connect } from './helpers.mjs';

before(() => hw.init());

test('setConfig takes either limit alone, keeps the other, and reports bad arguments as INVALID_ARGUMENT', () => {
  const { visitor, agentSession, agent } = connect(hw);
  assert.deepEqual(visitor.config, { maxSkip: 1000, maxStoredSkipped: 1000 });
  visitor.setConfig({ maxSkip: 5 });
  assert.deepEqual(visitor.config, { maxSkip: 5, maxStoredSkipped: 1000 });
  visitor.setConfig({ maxStoredSkipped: 7 });
  assert.deepEqual(visitor.config, { maxSkip: 5, maxStoredSkipped: 7 });
  // The new maxSkip is in force: 6 messages ahead is refused.
  for (let i = 0; i < 6; i++) agentSession.sealText('skipped');
  assertCode(() => visitor.openText(agentSession.sealText('too far')), 'TOO_FAR_AHEAD');
  for (const bad of [undefined, null, 5, 'x', {}, { maxSkip: undefined }]) {
    assertCode(() => visitor.setConfig(bad), 'INVALID_ARGUMENT');
  }
  for (const bad of [{ maxSkip: '5' }, { maxSkip: -1 }, { maxSkip: 1.5 }, { maxStoredSkipped: 2n }]) {
    assert.throws(() => visitor.setConfig(bad), (e) => {
      assert.equal(e.code, 'INVALID_ARGUMENT');
      assert.doesNotMatch(e.message, /seconds/);
      return true;
    });
  }
  assertCode(() => visitor.setConfig({ maxSkip: 0 }), 'INVALID_ARGUMENT');
  assertCode(() => visitor.setConfig({ maxStoredSkipped: 20_001 }), 'INVALID_ARGUMENT');
  assert.deepEqual(visitor.config, { maxSkip: 5, maxStoredSkipped: 7 }, 'a refused change changes nothing');
  visitor.free();
  assertCode(() => visitor.config, 'OBJECT_FREED');
  agentSession.free();
  agent.free();
});

test('public objects expose no glue object (_inner or otherwise)', () => {
  const key = hw.AgentKey.generate();
  const { handshake } = hw.VisitorHandshake.start(connect(hw).orgPublicKey);
  const { visitor, agent } = connect(hw);
  for (const obj of [key, handshake, visitor, agent]) {
    assert.equal('_inner' in obj, false);
    assert.deepEqual(Reflect.ownKeys(obj), [], `${obj.constructor.name} has own properties`);
    for (let proto = Object.getPrototypeOf(obj); proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
      for (const name of Reflect.ownKeys(proto)) {
        assert.ok(typeof name === 'symbol' || !name.startsWith('_'), `${obj.constructor.name} has ${String(name)}`);
      }
    }
    obj.free();
  }
  for (const Class of [hw.AgentKey, hw.AgentIdentity, hw.VisitorHandshake, hw.Session]) {
    assert.deepEqual(Object.getOwnPropertyNames(Class).filter((n) => n.startsWith('_')), []);
  }
});
