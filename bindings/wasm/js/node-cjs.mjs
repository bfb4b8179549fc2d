// Source of the CommonJS entry (index.cjs, bundled by esbuild at build time). It bundles its
// own copy of the wrapper and glue: the ESM and CJS entries are separate instances.
import { join } from 'node:path';
import { init as coreInit } from './core.js';
import { ensureWebCrypto, nodeInput } from './node-input.mjs';

export * from './core.js';

export async function init(input) {
  await ensureWebCrypto();
  return coreInit(nodeInput(input, join(__dirname, 'hushwire_bg.wasm')));
}
