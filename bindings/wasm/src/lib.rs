//! Placeholder; filled in by the wasm bindings work.
