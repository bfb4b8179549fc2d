// Node.js ESM entry: the browser wrapper, with an init() that reads the .wasm from disk.
import { init as coreInit } from './index.js';
import { ensureWebCrypto, nodeInput } from './node-input.mjs';

export * from './index.js';

/**
 * Node: without an argument, reads hushwire_bg.wasm next to this file; a path or file: URL
 * (string or URL) is read from disk. On Node 18, where `globalThis.crypto` is not defined by
 * default, installs node:crypto's WebCrypto there so the module can draw randomness.
 */
export async function init(input) {
  await ensureWebCrypto();
  return coreInit(nodeInput(input, new URL('./hushwire_bg.wasm', import.meta.url)));
}
