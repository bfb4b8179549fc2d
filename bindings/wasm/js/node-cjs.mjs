// Source of the CommonJS entry (index.cjs, bundled by esbuild at build time). It bundles its
// own copy of the wrapper and glue: the ESM and CJS entries are separate instances.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { init as coreInit } from './core.js';

export * from './core.js';

export async function init(input) {
  if (globalThis.crypto === undefined) {
    globalThis.crypto = require('node:crypto').webcrypto;
  }
  if (input === undefined) input = readFile(join(__dirname, 'hushwire_bg.wasm'));
  return coreInit(input);
}
