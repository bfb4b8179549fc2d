// The glue of the no-WebAssembly build (pkg/hushwire_nowasm.js): wasm-bindgen's glue of the
// module built for the wasm MVP (-Ctarget-cpu=mvp: one table, which wasm2js requires),
// instantiating binaryen's wasm2js translation of that same module instead of compiling it.
// One source of truth: the Rust code, compiled twice. build.sh bundles this with
// wasm2js-shim.js standing in for WebAssembly.instantiate.
import glueInit from './hushwire.js';

export * from './hushwire.js';

/** Marks this glue as the JavaScript build (see core.js `backend()`). */
export const isJavaScriptBuild = true;

/** Instantiates the JavaScript translation; nothing is fetched or compiled. */
export default function init() {
  // Any bytes: the shim ignores them (the glue insists on some input to pass along).
  return glueInit({ module_or_path: new Uint8Array(0) });
}
