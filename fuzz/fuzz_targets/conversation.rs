#![no_main]
//! Fuzz target `conversation`; its body (and what it asserts) is in `fuzz/common/targets.rs`.

use libfuzzer_sys::fuzz_target;

#[path = "../common/targets.rs"]
mod targets;

fuzz_target!(|data: &[u8]| targets::conversation(data));
