//! getrandom's backend for the core, shared by both wasm modules of the npm package:
//! `js/random.js`, which calls `crypto.getRandomValues` (browsers, workers, Node >= 19; the
//! Node entries install `node:crypto`'s WebCrypto on Node 18) on every draw (see that file
//! for why nothing is batched).
use core::num::NonZeroU32;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/js/random.js")]
extern "C" {
    // If `crypto` is missing or throws, the draw fails and the core reports
    // RANDOMNESS_UNAVAILABLE; nothing falls back to a weaker source.
    #[wasm_bindgen(catch, js_name = fillRandom)]
    fn fill_random(buf: &mut [u8]) -> Result<(), JsValue>;
}

const UNAVAILABLE: NonZeroU32 = match NonZeroU32::new(getrandom::Error::CUSTOM_START) {
    Some(code) => code,
    None => NonZeroU32::MIN,
};

fn fill(buf: &mut [u8]) -> Result<(), getrandom::Error> {
    // getRandomValues fills at most 65 536 bytes per call.
    for chunk in buf.chunks_mut(65_536) {
        fill_random(chunk).map_err(|_| getrandom::Error::from(UNAVAILABLE))?;
    }
    Ok(())
}

getrandom::register_custom_getrandom!(fill);
