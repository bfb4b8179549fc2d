// A session started in Rust (native) continues in wasm via export/import, and back.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as hw from 'hushwire';

const cross = process.env.HUSHWIRE_CROSS_BIN;
before(() => hw.init());

function run(...args) {
  const out = execFileSync(cross, args, { encoding: 'utf8' });
  return Object.fromEntries(out.trim().split('\n').map((l) => {
    const i = l.indexOf('=');
    return i < 0 ? [l, true] : [l.slice(0, i), l.slice(i + 1)];
  }));
}

test('Rust -> wasm -> Rust through exported sessions', { skip: !cross && 'HUSHWIRE_CROSS_BIN not set' }, () => {
  const key = hw.generateStorageKey();
  const hex = Buffer.from(key).toString('hex');
  const started = run('start', hex);
  const visitor = hw.Session.importState(started.visitor, key);
  const agent = hw.Session.importState(started.agent, key);
  assert.equal(visitor.safetyCode, started.safety);
  assert.equal(agent.safetyCode, started.safety);
  assert.equal(agent.agentId, 'rust-agent');
  assert.equal(agent.openText(started.envelope), 'hello from rust');
  assert.equal(visitor.openText(agent.sealText('wasm agent here')), 'wasm agent here');
  const forVisitor = agent.sealText('sealed in wasm');
  const resumed = run('resume', hex, visitor.exportState(key), agent.exportState(key), forVisitor);
  assert.equal(resumed.plaintext, 'sealed in wasm');
  assert.ok('ok' in resumed);
  // The wrong key is refused by Rust too.
  const other = Buffer.from(hw.generateStorageKey()).toString('hex');
  assert.throws(() => execFileSync(cross, ['resume', other, visitor.exportState(key), agent.exportState(key), forVisitor], { stdio: 'pipe' }),
    (e) => /EXPORT_AUTHENTICATION/.test(String(e.stderr)));
});
