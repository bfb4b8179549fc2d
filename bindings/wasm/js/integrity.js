// The .wasm this build was made with is checked before it is instantiated: build.sh writes its
// SHA-384 into the JavaScript (esbuild --define), so a page that pins the JavaScript with
// Subresource Integrity pins the .wasm too, wherever it is fetched from. (SRI covers scripts
// and styles, not what a script fetches.) See README.md, "Integrity".
import { HushwireError } from './error.js';

/** `sha384-<base64>` of hushwire_bg.wasm, or null in a build made without it. */
/* global HUSHWIRE_WASM_SHA384 */
export const WASM_SHA384 = typeof HUSHWIRE_WASM_SHA384 === 'string' ? HUSHWIRE_WASM_SHA384 : null;

function failed(message, cause) {
  return new HushwireError('INIT_FAILED', `could not load the hushwire module: ${message}`, { cause });
}

/**
 * The module's bytes from init()'s input (fetched if it is a URL or Request; the .wasm next to
 * this file if there is none), checked against WASM_SHA384; a compiled WebAssembly.Module is
 * passed through (its bytes are gone; whoever compiled it vouches for it).
 */
export async function verifiedModule(source) {
  if (typeof WebAssembly === 'object' && source instanceof WebAssembly.Module) return source;
  let bytes;
  try {
    let res = source ?? new URL('hushwire_bg.wasm', import.meta.url);
    if (!(typeof Response === 'function' && res instanceof Response)) {
      res = res instanceof ArrayBuffer || ArrayBuffer.isView(res) ? null : await fetch(res);
    }
    if (res === null) {
      bytes = source instanceof ArrayBuffer ? new Uint8Array(source) : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    } else {
      if (!res.ok) throw new Error(`${res.status} ${res.statusText} fetching ${res.url}`);
      bytes = new Uint8Array(await res.arrayBuffer());
    }
  } catch (e) {
    throw failed(e?.message ?? String(e), e);
  }
  // No WebCrypto digest outside secure contexts (plain http: other than localhost): nothing
  // to check with there; serve the page over https.
  if (WASM_SHA384 !== null && globalThis.crypto?.subtle) {
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-384', bytes));
    let text = '';
    for (const b of digest) text += String.fromCharCode(b);
    if (`sha384-${btoa(text)}` !== WASM_SHA384) {
      throw failed(`the .wasm is not the one this build was made with (its SHA-384 differs from ${WASM_SHA384})`);
    }
  }
  return bytes;
}
