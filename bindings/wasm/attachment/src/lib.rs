//! WebAssembly module of the npm entry `hushwire/attachment`: the raw layer under
//! `bindings/wasm/js/attachment.js`.
//!
//! The file key, the key commitment and the manifest stay in the Rust core
//! ([`hushwire::attachment`]); the JS layer seals and opens the segments with WebCrypto's
//! AES-256-GCM, several times faster in browsers than AES-GCM compiled to wasm, using the
//! segment key and header this module hands out (docs/PROTOCOL.md §15). A module of its own
//! so the visitor's download (the main entry's module) does not carry it.
//!
//! Conventions are those of `hushwire-wasm`: errors are JS strings `"CODE"` or
//! `"CODE:fixed detail"`, lengths are JS numbers (integers up to 2^53 - 1), nothing panics on
//! input. The allocator wipes every freed block and the panic handler traps (shared
//! `platform` module).
#![cfg_attr(target_arch = "wasm32", no_std)]
#![deny(missing_docs)]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

use hushwire::attachment::{self, Metadata, SegmentSize};
use hushwire::{DecodeError, Error};
use wasm_bindgen::prelude::*;

#[cfg(target_arch = "wasm32")]
#[path = "../../src/platform.rs"]
mod platform;

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
#[path = "../../src/random.rs"]
mod random;

fn to_js(e: Error) -> JsValue {
    let detail = match &e {
        Error::Malformed(DecodeError::TooShort) => "input is too short",
        Error::Malformed(DecodeError::TooLong) => "input is too long",
        Error::Malformed(DecodeError::TrailingBytes) => "unexpected trailing bytes",
        Error::Malformed(DecodeError::UnsupportedVersion(_)) => "unsupported version",
        Error::Malformed(DecodeError::UnexpectedType(_)) => "unexpected message type",
        Error::Malformed(DecodeError::InvalidField(field)) => field,
        Error::InvalidArgument(what) => what,
        _ => "",
    };
    if detail.is_empty() {
        JsValue::from_str(e.code())
    } else {
        JsValue::from_str(&[e.code(), detail].join(":"))
    }
}

/// A JS number holding a byte count: finite, integral, 0 ..= 2^53 - 1.
fn length(value: f64) -> Result<u64, JsValue> {
    if value.is_finite() && value >= 0.0 && value % 1.0 == 0.0 && value <= 9_007_199_254_740_991.0 {
        Ok(value as u64)
    } else {
        Err(JsValue::from_str("INVALID_ARGUMENT:length"))
    }
}

/// A fresh file key for a file being sealed (length not yet known).
#[wasm_bindgen(js_name = FileKey)]
pub struct WasmFileKey(attachment::FileKey);

#[wasm_bindgen(js_class = FileKey)]
impl WasmFileKey {
    /// A random file key; `segment_log2` is 16 (64 KiB segments) or 20 (1 MiB).
    pub fn generate(
        media_type: &str,
        name: Option<String>,
        thumbnail: Option<Vec<u8>>,
        segment_log2: u8,
    ) -> Result<WasmFileKey, JsValue> {
        let size = match segment_log2 {
            16 => SegmentSize::Kib64,
            20 => SegmentSize::Mib1,
            _ => return Err(JsValue::from_str("INVALID_ARGUMENT:segment size")),
        };
        let mut meta = Metadata::new(media_type).map_err(to_js)?.with_segment_size(size);
        if let Some(n) = name {
            meta = meta.with_name(&n).map_err(to_js)?;
        }
        if let Some(t) = thumbnail {
            meta = meta.with_thumbnail(&t).map_err(to_js)?;
        }
        attachment::FileKey::generate(meta)
            .map(WasmFileKey)
            .map_err(to_js)
    }

    /// The AES-256-GCM key of every segment (32 bytes; the JS layer imports it into
    /// WebCrypto as non-extractable and wipes this copy).
    #[wasm_bindgen(js_name = segmentKey)]
    pub fn segment_key(&self) -> Vec<u8> {
        self.0.segment_key().aes_key().to_vec()
    }

    /// The blob header (35 bytes): the blob's start and every segment's associated data.
    pub fn header(&self) -> Vec<u8> {
        self.0.segment_key().header().to_vec()
    }

    /// Plaintext bytes per segment.
    #[wasm_bindgen(getter, js_name = segmentSize)]
    pub fn segment_size(&self) -> u32 {
        self.0.segment_size() as u32
    }

    /// The manifest once `plaintext_len` bytes are sealed. Consumes the key.
    #[wasm_bindgen(js_name = intoManifest)]
    pub fn into_manifest(self, plaintext_len: f64) -> Result<WasmManifest, JsValue> {
        self.0
            .into_manifest(length(plaintext_len)?)
            .map(WasmManifest)
            .map_err(to_js)
    }
}

/// A decoded, checked attachment manifest.
#[wasm_bindgen(js_name = Manifest)]
pub struct WasmManifest(attachment::Manifest);

#[wasm_bindgen(js_class = Manifest)]
impl WasmManifest {
    /// Decode a manifest received in a chat message (docs/PROTOCOL.md §15.4 checks).
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: &[u8]) -> Result<WasmManifest, JsValue> {
        attachment::Manifest::from_bytes(bytes)
            .map(WasmManifest)
            .map_err(to_js)
    }

    /// The manifest's bytes, to send as a chat message's plaintext (holds the file key).
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes().to_vec()
    }

    /// The AES-256-GCM key of every segment.
    #[wasm_bindgen(js_name = segmentKey)]
    pub fn segment_key(&self) -> Vec<u8> {
        self.0.segment_key().aes_key().to_vec()
    }

    /// The expected blob header (35 bytes).
    pub fn header(&self) -> Vec<u8> {
        self.0.segment_key().header().to_vec()
    }

    /// Exact file size.
    #[wasm_bindgen(getter, js_name = plaintextLength)]
    pub fn plaintext_length(&self) -> f64 {
        self.0.plaintext_len() as f64
    }

    /// Padded plaintext size: the segments hold exactly this many bytes.
    #[wasm_bindgen(getter, js_name = paddedLength)]
    pub fn padded_length(&self) -> f64 {
        // A decoded manifest's length is within MAX_ATTACHMENT_LEN, so this cannot fail.
        attachment::padded_len(self.0.plaintext_len()).unwrap_or(0) as f64
    }

    /// Exact blob size.
    #[wasm_bindgen(getter, js_name = ciphertextLength)]
    pub fn ciphertext_length(&self) -> f64 {
        self.0.ciphertext_len() as f64
    }

    /// Plaintext bytes per segment.
    #[wasm_bindgen(getter, js_name = segmentSize)]
    pub fn segment_size(&self) -> u32 {
        self.0.segment_size().bytes() as u32
    }

    /// The key commitment (a public id of the blob).
    #[wasm_bindgen(getter)]
    pub fn commitment(&self) -> Vec<u8> {
        self.0.commitment().to_vec()
    }

    /// Media type (untrusted: the sender chose it).
    #[wasm_bindgen(getter, js_name = mediaType)]
    pub fn media_type(&self) -> String {
        self.0.media_type().into()
    }

    /// File name, if any (untrusted).
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> Option<String> {
        self.0.name().map(Into::into)
    }

    /// Thumbnail, if any (untrusted image data).
    #[wasm_bindgen(getter)]
    pub fn thumbnail(&self) -> Option<Vec<u8>> {
        self.0.thumbnail().map(<[u8]>::to_vec)
    }
}

/// Bytes of stack [`wipe_stack`] zeroes (a manifest decode with its HKDFs uses far less).
const STACK_WIPE_BYTES: usize = 8 * 1024;

/// Zero the stack the previous call used (the file key's temporary copies); the JS layer
/// calls it after every call, as the main module's wrapper does.
#[wasm_bindgen(js_name = wipeStack)]
pub fn wipe_stack() {
    burn_stack();
}

#[inline(never)]
fn burn_stack() {
    let mut buf = [0u8; STACK_WIPE_BYTES];
    core::hint::black_box(&mut buf);
}
