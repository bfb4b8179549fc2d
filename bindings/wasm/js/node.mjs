// Node.js ESM entry: the browser wrapper, with an init() that reads the .wasm from disk.
import { readFile } from 'node:fs/promises';
import { init as coreInit } from './index.js';

export * from './index.js';

/**
 * Node: without an argument, reads hushwire_bg.wasm next to this file. On Node 18, where
 * `globalThis.crypto` is not defined by default, installs node:crypto's WebCrypto there so the
 * module can draw randomness (crypto.getRandomValues).
 */
export async function init(input) {
  if (globalThis.crypto === undefined) {
    const { webcrypto } = await import('node:crypto');
    globalThis.crypto = webcrypto;
  }
  if (input === undefined) input = readFile(new URL('./hushwire_bg.wasm', import.meta.url));
  return coreInit(input);
}
