// Node's view of init()'s input, shared by the ESM (node.mjs) and CommonJS (index.cjs) entries.
// Node's fetch cannot read files, so a path or a file: URL is read from disk here; http(s):
// and data: URLs and every non-string input go to the wrapper unchanged. A read that fails
// (a missing .wasm) is returned as a rejected promise, which the wrapper reports as
// INIT_FAILED with the fs error as `cause`.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const FETCHED = /^(https?|data|blob):/i;

/** The input to hand to the wrapper's init(): `defaultFile` (a file URL or path) if none. */
export function nodeInput(input, defaultFile) {
  if (input === undefined) return readFile(defaultFile);
  if (input instanceof URL) return input.protocol === 'file:' ? readFile(input) : input;
  if (typeof input === 'string') {
    if (FETCHED.test(input)) return input;
    return readFile(/^file:/i.test(input) ? fileURLToPath(input) : input);
  }
  return input;
}

/** On Node 18 `globalThis.crypto` is missing by default: install node:crypto's WebCrypto. */
export async function ensureWebCrypto() {
  if (globalThis.crypto === undefined) {
    const { webcrypto } = await import('node:crypto');
    globalThis.crypto = webcrypto;
  }
}
