//! Placeholder; filled in by the UniFFI bindings work.
