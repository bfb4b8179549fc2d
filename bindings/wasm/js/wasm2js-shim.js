// Injected by esbuild into the no-WebAssembly glue (build.sh): `WebAssembly.instantiate` and
// `WebAssembly.Instance` in wasm-bindgen's glue are replaced by these, which run the wasm2js
// translation (./hushwire_wasm2js.js, generated) with the glue's imports.
import { instantiate } from './hushwire_wasm2js.js';

export class Wasm2jsInstance {
  constructor(exports) {
    this.exports = exports;
  }
}

export async function wasm2jsInstantiate(_bytes, imports) {
  return new Wasm2jsInstance(instantiate(imports));
}
