// Shared test helpers: an organisation, a certified agent and a finished handshake.
//
// The package cannot sign (the organisation key stays in offline tooling), so certificates
// come from the native example `cross certify`, built by test.sh (HUSHWIRE_CROSS_BIN).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

export const NOW = 1_800_000_000;

const hex = (b) => Buffer.from(b).toString('hex');

/**
 * The organisation's side: certify `agentPublicKey` (bytes) with the organisation whose seed
 * is `orgSeed` (hex), or with a fresh organisation. Returns `{ orgSeed, orgPublicKey, cert }`.
 */
export function certify(
  agentPublicKey,
  { agentId = 'alice@shop.example', deviceId = 'laptop-1', notBefore = NOW - 60, notAfter = NOW + 86_400, orgSeed } = {},
) {
  const bin = process.env.HUSHWIRE_CROSS_BIN;
  if (!bin) throw new Error('HUSHWIRE_CROSS_BIN is not set: run the tests through bindings/wasm/test.sh');
  const args = ['certify', hex(agentPublicKey), agentId, deviceId, String(notBefore), String(notAfter)];
  if (orgSeed) args.push(orgSeed);
  const out = Object.fromEntries(
    execFileSync(bin, args, { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  return { orgSeed: out.org_seed, orgPublicKey: out.org, cert: new Uint8Array(Buffer.from(out.certificate, 'hex')) };
}

export function setup(hw, { agentId = 'alice@shop.example', deviceId = 'laptop-1' } = {}) {
  const key = hw.AgentKey.generate();
  const { orgSeed, orgPublicKey, cert } = certify(key.publicKey, { agentId, deviceId });
  const agent = hw.AgentIdentity.create(key, cert, orgPublicKey);
  key.free();
  return { orgSeed, agent, cert, orgPublicKey };
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

/**
 * Record the WebAssembly instance the package creates, without any test-only export: wraps
 * the global `WebAssembly.instantiate` (which the wasm-bindgen glue calls) for the next
 * instantiation. `wrapImports(imports)` may replace imports before instantiation (used to
 * make the instance trap). Call before `init()`; returns `{ get exports() }`.
 */
/** Imports of a wasm-bindgen module: a namespace named after its `*_bg.js` glue (or `wbg`). */
export function isBindgenImports(imports) {
  return imports != null && Object.keys(imports).some((k) => k === 'wbg' || k.endsWith('_bg.js'));
}

export function captureInstance({ wrapImports } = {}) {
  const original = WebAssembly.instantiate;
  const captured = { instance: null };
  WebAssembly.instantiate = async function (source, imports) {
    // Node's own fetch (undici) instantiates its HTTP parser through the same global, at a time
    // of its choosing: only the wasm-bindgen module (imports from its `*_bg.js` glue) is ours.
    if (!isBindgenImports(imports)) return original.call(this, source, imports);
    WebAssembly.instantiate = original;
    const result = await original.call(this, source, wrapImports ? wrapImports(imports) : imports);
    captured.instance = result instanceof WebAssembly.Instance ? result : result.instance;
    return result;
  };
  return {
    get exports() {
      if (!captured.instance) throw new Error('the package has not instantiated its module yet');
      return captured.instance.exports;
    },
  };
}

/** How many times `needle` (bytes) occurs in `haystack` (bytes). */
export function occurrences(haystack, needle) {
  let count = 0;
  const first = needle[0];
  outer: for (let i = haystack.indexOf(first); i >= 0 && i <= haystack.length - needle.length; i = haystack.indexOf(first, i + 1)) {
    for (let j = 1; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    count++;
  }
  return count;
}
