// The wasm module's randomness source (imported by the Rust layer; see src/lib.rs).
//
// Every draw calls crypto.getRandomValues, in browsers, workers and Node alike. Earlier
// builds served Node's small draws from a 1 KiB batch to save about 4 µs per sealed message;
// a batch held in memory is duplicated by anything that copies the process (a VM or
// container snapshot restored twice, a Node startup snapshot), and two copies would then seal
// with the same "random" bytes. The saving is not worth that: measured on Node 20 (2 shared
// cores), one getRandomValues(12) costs 4.0-4.5 µs (5.8 µs under heavy load), and a 256-byte
// seal + open takes 31.7 µs in this build against 27.4 µs before (batch, no wiping), medians of
// 30 interleaved rounds (README.md).
//
// The global is looked up on every draw: if it is missing or throws, the draw fails and the
// core reports RANDOMNESS_UNAVAILABLE; nothing falls back to a weaker source.
export function fillRandom(buf) {
  globalThis.crypto.getRandomValues(buf);
}
