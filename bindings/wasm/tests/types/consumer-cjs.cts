// The CommonJS view of the types (index.d.cts, `require('hushwire')`), checked with
// consumer.ts by test.sh. Never executed.
import hw = require('hushwire');

export async function cjs(orgPublicKey: string): Promise<string> {
  await hw.init();
  const { handshake, hello } = hw.VisitorHandshake.start(orgPublicKey);
  handshake.free();
  handshake[Symbol.dispose]();
  const key: Uint8Array = hw.generateStorageKey();
  return hello + key.length + String(hw.isInitialized());
}
