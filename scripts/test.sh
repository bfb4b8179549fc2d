#!/usr/bin/env bash
# Runs every test of the project. Installs what it needs (scripts/install-deps.sh) on a fresh
# Debian machine with rustup. `.ci/run` calls this.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n==== %s ====\n' "$*"; }
timed() {
    local name=$1; shift
    local t0=$SECONDS
    step "$name"
    "$@"
    echo "---- $name: $((SECONDS - t0)) s"
}

bash scripts/install-deps.sh rust
timed "format" cargo fmt --all -- --check
timed "clippy" cargo clippy --workspace --all-targets --locked -- -D warnings
# Every feature combination of the core and each feature of every other crate builds lint-clean
# (cargo-hack). The libraries are linted, tests run with the default features below.
feature_matrix() {
    cargo hack clippy -p hushwire --feature-powerset --lib --locked -- -D warnings
    cargo hack clippy --workspace --exclude hushwire --each-feature --locked -- -D warnings
}
timed "feature matrix" feature_matrix
timed "MSRV" bash scripts/check-msrv.sh
timed "docs" env RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
timed "rust tests" cargo test --workspace --locked
# The core's optional futures-io attachment adapters (a feature off by default).
timed "async attachment adapters" cargo test -p hushwire --locked --features futures-io --test attachment_async

# An independent Python implementation of docs/PROTOCOL.md recomputes every vector.
spec_check() {
    python3 -c "import cryptography" 2>/dev/null || python3 -m pip install --quiet "cryptography>=42"
    # Pure-Python ML-KEM (FIPS 203) for the v2 vectors (docs/vectors/verify_v2.py).
    python3 -c "import kyber_py" 2>/dev/null || python3 -m pip install --quiet "kyber-py==1.2.0" ||
        python3 -m pip install --quiet --break-system-packages "kyber-py==1.2.0"
    python3 docs/vectors/verify.py
}
timed "spec vectors, independent implementation" spec_check

# hushwire::ERROR_CODES against PROTOCOL.md section 11, the JS package and the UniFFI bindings.
timed "error codes, one source of truth" python3 scripts/check-error-codes.py

# Each component owns a test script that installs its own tools and prints its runners'
# summary lines.
for script in \
    bindings/wasm/test.sh \
    bindings/uniffi/test.sh \
    examples/relay/test.sh \
    fuzz/smoke.sh; do
    if [ -f "$script" ]; then
        timed "$script" bash "$root/$script"
    fi
done

step "all tests passed"
