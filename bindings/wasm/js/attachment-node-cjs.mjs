// Source of the CommonJS entry of hushwire/attachment (attachment.cjs, bundled by esbuild; its
// import of the main entry is rewritten to ./index.cjs by build.sh).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { init as coreInit } from './attachment.js';

export * from './attachment.js';

export async function init(input) {
  if (globalThis.crypto === undefined) {
    globalThis.crypto = require('node:crypto').webcrypto;
  }
  if (input === undefined) input = readFile(join(__dirname, 'attachment_bg.wasm'));
  return coreInit(input);
}
