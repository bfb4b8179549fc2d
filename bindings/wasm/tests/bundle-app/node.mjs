// The Node app the Node bundler recipes build: init() without arguments must find the .wasm.
import { init, generateStorageKey, backend } from 'hushwire';

await init();
console.log(`ok ${backend()} ${generateStorageKey().length}`);
