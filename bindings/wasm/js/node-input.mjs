// Node's view of init()'s input, shared by the ESM (node.mjs) and CommonJS (index.cjs) entries.
// Node's fetch cannot read files, so a path or a file: URL is read from disk here; http(s):
// and data: URLs and every non-string input go to the wrapper unchanged. A read that fails
// (a missing .wasm) is returned as a rejected promise, which the wrapper reports as
// INIT_FAILED with the fs error as `cause`.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const FETCHED = /^(https?|data|blob):/i;

// The .wasm next to this file; inside an application's bundle (esbuild, Rollup, webpack for
// Node) this file is gone, so the installed package's copy, as resolved from the bundle.
async function readDefault(defaultFile) {
  try {
    return await readFile(defaultFile);
  } catch (e) {
    if (e?.code !== 'ENOENT') throw e;
    let installed;
    try {
      installed = createRequire(defaultFile).resolve('hushwire/hushwire_bg.wasm');
    } catch {
      throw e; // neither: report the file that was looked for first
    }
    return readFile(installed);
  }
}

/** The input to hand to the wrapper's init(): `defaultFile` (a file URL or path) if none. */
export function nodeInput(input, defaultFile) {
  if (input === undefined) return readDefault(defaultFile);
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
