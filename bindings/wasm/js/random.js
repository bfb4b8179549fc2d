// The wasm module's randomness source (imported by the Rust layer; see src/lib.rs).
//
// Browsers and workers: every draw calls crypto.getRandomValues, which is cheap there and, in
// Chromium, reads the operating system's generator directly.
//
// Node: crypto.getRandomValues is OpenSSL's userspace DRBG behind a per-call job object, about
// 4 µs per call from JavaScript, and a chat seals one random nonce per message. So the Node
// entries draw 1 KiB at a time from it and hand each byte out once, wiping it as it goes.
// That is the same buffering OpenSSL's DRBG already does one level down; Node has no fork(),
// so no copy of the buffer can ever be consumed twice. The global is looked up on every
// refill: if it disappears or throws, the draw fails and nothing falls back.
const POOL_BYTES = 1024;
const isNode = typeof process === 'object' && typeof process.versions?.node === 'string';
const pool = new Uint8Array(POOL_BYTES);
let next = POOL_BYTES; // bytes before `next` are used (and zero)

export function fillRandom(buf) {
  const c = globalThis.crypto;
  if (!isNode || buf.length > POOL_BYTES / 4) {
    c.getRandomValues(buf);
    return;
  }
  if (POOL_BYTES - next < buf.length) {
    pool.fill(0, next);
    c.getRandomValues(pool);
    next = 0;
  }
  const end = next + buf.length;
  buf.set(pool.subarray(next, end));
  pool.fill(0, next, end);
  next = end;
}
