//! The `uniffi-bindgen` command line, built from the same uniffi version as the library so the
//! generated bindings always match the scaffolding.
fn main() {
    uniffi::uniffi_bindgen_main()
}
