// A Node-only ESM consumer (tsconfig.node.json: lib es2022 + @types/node, no DOM), checked by
// test.sh. Never executed.
import { readFile } from 'node:fs/promises';
import { init, generateStorageKey, HushwireError, type InitInput } from 'hushwire';

export async function nodeSide(): Promise<number> {
  await init();
  await init('./node_modules/hushwire/hushwire_bg.wasm');
  await init(new URL('file:///srv/app/hushwire_bg.wasm'));
  await init(readFile('./hushwire_bg.wasm'));
  const bytes: InitInput = new Uint8Array(8);
  await init(bytes);
  try {
    return generateStorageKey().length;
  } catch (e) {
    if (e instanceof HushwireError && e.code === 'NOT_INITIALIZED') return 0;
    throw e;
  }
}
