// An ESM browser project with `lib: ["es2022", "dom"]` (no esnext.disposable), checked by
// test.sh through tsconfig.es2022.json. Never executed.
import { init, createStorageKeyVault, Session, type InitInput } from 'hushwire';

export async function browserSide(exported: string): Promise<string> {
  await init(fetch('/assets/hushwire_bg.wasm'));
  await init(new Request('/assets/hushwire_bg.wasm'));
  const input: InitInput = new URL('/assets/hushwire_bg.wasm', location.href);
  await init(input);
  await init(await WebAssembly.compile(new Uint8Array(8)));
  const vault = await createStorageKeyVault({ storeName: 'keys' });
  const key = await vault.getOrCreate();
  const session = Session.importState(exported, key);
  key.fill(0);
  vault.close();
  const text = session.sealText('hi');
  session.free();
  session[Symbol.dispose]();
  return text;
}
