// Node.js ESM entry of hushwire/attachment: init() reads attachment_bg.wasm from disk and, on
// Node 18, installs node:crypto's WebCrypto as globalThis.crypto (segments use crypto.subtle).
import { readFile } from 'node:fs/promises';
import { init as coreInit } from './attachment.js';

export * from './attachment.js';

/** Node: without an argument, reads attachment_bg.wasm next to this file. */
export async function init(input) {
  if (globalThis.crypto === undefined) {
    const { webcrypto } = await import('node:crypto');
    globalThis.crypto = webcrypto;
  }
  if (input === undefined) input = readFile(new URL('./attachment_bg.wasm', import.meta.url));
  return coreInit(input);
}
