// Node benchmark, all in one run (same process, same machine state):
//   hushwire (wasm) seal+open of a 256-byte message, and a full handshake, against
//   @noble/ciphers AES-256-GCM, WebCrypto AES-256-GCM (awaited) and libsodium-wrappers
//   (crypto_secretbox_easy and the XChaCha20-Poly1305 AEAD) doing encrypt+decrypt of the
//   same 256 bytes with a fresh random nonce each time (as hushwire does).
//
//   cd benches/js && npm install && node bench.mjs        (build bindings/wasm/pkg first)
//   BENCH_SECONDS=5 BENCH_ROUNDS=5 node bench.mjs          (time per case, default 3 s in 5 rounds)
import { webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gcm } from '@noble/ciphers/aes.js';
import sodiumModule from 'libsodium-wrappers';
import * as hw from 'hushwire';

const subtle = webcrypto.subtle;
const rand = (n) => webcrypto.getRandomValues(new Uint8Array(n));
const SIZE = 256;
const SECONDS = Number(process.env.BENCH_SECONDS || 3);
const msg = rand(SIZE);

function timeSync(fn, seconds) {
  for (let i = 0; i < 200; i++) fn(); // warm up
  let n = 0;
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(Math.round(seconds * 1e9));
  let now = t0;
  while (now < end) {
    for (let i = 0; i < 50; i++) fn();
    n += 50;
    now = process.hrtime.bigint();
  }
  return n / (Number(now - t0) / 1e9);
}

async function timeAsync(fn, seconds) {
  for (let i = 0; i < 200; i++) await fn();
  let n = 0;
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(Math.round(seconds * 1e9));
  let now = t0;
  while (now < end) {
    for (let i = 0; i < 50; i++) await fn();
    n += 50;
    now = process.hrtime.bigint();
  }
  return n / (Number(now - t0) / 1e9);
}

function check(cond, what) {
  if (!cond) throw new Error(`benchmark self-check failed: ${what}`);
}
const eq = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

await hw.init();
await sodiumModule.ready;
const sodium = sodiumModule;

// ---- hushwire -----------------------------------------------------------------------------
// The agent identity of docs/vectors/handshake.json (the package cannot sign certificates);
// handshakes finish at its verification time.
const vectors = JSON.parse(readFileSync(new URL('../../docs/vectors/handshake.json', import.meta.url), 'utf8'));
const NOW = vectors.verification_time;
const orgPk = Buffer.from(vectors.org_public_key, 'hex').toString('base64url');
const agentKey = hw.AgentKey.fromSecretBytes(Buffer.from(vectors.agent_static_secret, 'hex'));
const agent = hw.AgentIdentity.create(agentKey, Buffer.from(vectors.certificate, 'hex'), orgPk);
function handshake() {
  const { handshake: h, hello } = hw.VisitorHandshake.start(orgPk);
  const { session: a, reply } = agent.accept(hello);
  const v = h.finish(reply, NOW);
  h.free();
  return [v, a];
}
const [visitor, agentSession] = handshake();
// Sealing without delivering would grow the skipped-key store; every iteration opens what it sealed.
check(eq(agentSession.open(visitor.seal(msg)), msg), 'hushwire round trip');
const hushwireSealOpen = () => agentSession.open(visitor.seal(msg));
const hushwireHandshake = () => {
  const [v, a] = handshake();
  v.free();
  a.free();
};

// ---- @noble/ciphers -------------------------------------------------------------------------
const key = rand(32);
{
  const n = rand(12);
  check(eq(gcm(key, n).decrypt(gcm(key, n).encrypt(msg)), msg), 'noble round trip');
}
const nobleSealOpen = () => {
  const nonce = rand(12);
  const ct = gcm(key, nonce).encrypt(msg);
  return gcm(key, nonce).decrypt(ct);
};

// The same with nonces taken from a batch drawn 1 KiB at a time, as the hushwire package does
// in Node (js/random.js): shows the ratio without the ~4 us per-call cost of Node's
// getRandomValues on one side only.
const noncePool = new Uint8Array(1020);
let nonceAt = noncePool.length;
const pooledNonce = () => {
  if (nonceAt === noncePool.length) {
    webcrypto.getRandomValues(noncePool);
    nonceAt = 0;
  }
  const n = noncePool.slice(nonceAt, nonceAt + 12);
  noncePool.fill(0, nonceAt, nonceAt + 12);
  nonceAt += 12;
  return n;
};
const noblePooledSealOpen = () => {
  const nonce = pooledNonce();
  const ct = gcm(key, nonce).encrypt(msg);
  return gcm(key, nonce).decrypt(ct);
};

// ---- WebCrypto ------------------------------------------------------------------------------
const cryptoKey = await subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt', 'decrypt']);
const webcryptoSealOpen = async () => {
  const iv = rand(12);
  const ct = await subtle.encrypt({ name: 'AES-GCM', iv }, cryptoKey, msg);
  return new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv }, cryptoKey, ct));
};
check(eq(await webcryptoSealOpen(), msg), 'webcrypto round trip');

// ---- libsodium ------------------------------------------------------------------------------
const sbKey = sodium.crypto_secretbox_keygen();
const secretbox = () => {
  const nonce = sodium.randombytes_buf(sodium.crypto_secretbox_NONCEBYTES);
  const ct = sodium.crypto_secretbox_easy(msg, nonce, sbKey);
  return sodium.crypto_secretbox_open_easy(ct, nonce, sbKey);
};
check(eq(secretbox(), msg), 'secretbox round trip');
const aeadKey = sodium.crypto_aead_xchacha20poly1305_ietf_keygen();
const aead = () => {
  const nonce = sodium.randombytes_buf(sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  const ct = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(msg, null, null, nonce, aeadKey);
  return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, ct, null, nonce, aeadKey);
};
check(eq(aead(), msg), 'aead round trip');

// ---- run ------------------------------------------------------------------------------------
// Interleaved rounds (every case once per round) and the median per case, so a burst of load
// on a shared machine hits all cases alike instead of skewing one.
const cases = [
  ['hushwire seal+open (ratchet, padding, AES-256-GCM)', hushwireSealOpen],
  ['@noble/ciphers AES-256-GCM encrypt+decrypt', nobleSealOpen],
  ['@noble/ciphers, nonces from a 1 KiB batch', noblePooledSealOpen],
  ['WebCrypto AES-256-GCM encrypt+decrypt (awaited)', webcryptoSealOpen, true],
  ['libsodium crypto_secretbox_easy+open', secretbox],
  ['libsodium XChaCha20-Poly1305 AEAD enc+dec', aead],
  ['hushwire full handshake (start+accept+finish)', hushwireHandshake],
];
const ROUNDS = Number(process.env.BENCH_ROUNDS || 5);
const samples = cases.map(() => []);
const perRound = SECONDS / ROUNDS;
for (let r = 0; r < ROUNDS; r++) {
  for (const [i, [, fn, isAsync]] of cases.entries()) {
    samples[i].push(isAsync ? await timeAsync(fn, perRound) : timeSync(fn, perRound));
  }
}
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = cases.map(([name], i) => ({ name, ops: median(samples[i]) }));
const base = rows[0].ops;
const fmt = (x) => x.toLocaleString('en-US', { maximumFractionDigits: 0 });
console.log(`node ${process.version}, ${SIZE}-byte messages, ${SECONDS} s per case in ${ROUNDS} interleaved rounds (median), one process`);
console.log('| case | ops/s | hushwire seal+open ÷ this |');
console.log('|---|---:|---:|');
for (const r of rows) {
  const ratio = r === rows[0] || r.name.includes('handshake') ? '' : `${(base / r.ops).toFixed(2)}×`;
  console.log(`| ${r.name} | ${fmt(r.ops)} | ${ratio} |`);
}
const noble = rows[1].ops;
const noblePooled = rows[2].ops;
const web = rows[3].ops;
console.log(`target: hushwire >= 2x @noble/ciphers: ${base >= 2 * noble ? 'met' : 'NOT met'} (${(base / noble).toFixed(2)}x; ` +
  `${(base / noblePooled).toFixed(2)}x with batched nonces on both sides); ` +
  `faster than awaited WebCrypto: ${base > web ? 'met' : 'NOT met'} (${(base / web).toFixed(2)}x)`);
