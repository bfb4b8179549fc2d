#!/usr/bin/env bash
# Builds the npm package `hushwire` into bindings/wasm/pkg/ (generated, not committed).
#
#   bash bindings/wasm/build.sh
#
# Steps: Rust -> wasm32-unknown-unknown (rustup's target if installed, else Debian's rustc-web
# with -Zbuild-std, see shared/TOOLCHAIN.md), wasm-bindgen --target web at exactly the version
# in Cargo.lock, wasm-opt (npm binaryen), then the hand-written wrapper from js/ and a CommonJS
# bundle of it (esbuild). Fails if the .wasm plus JS shipped to browsers exceeds 86 KB gzipped.
#
# Tuning (measured in README.md): HUSHWIRE_WASM_OPT_LEVEL (cargo opt-level for every crate;
# default "split", see below), HUSHWIRE_WASM_OPT_FLAG (wasm-opt level, default -O3), HUSHWIRE_WASM_SIMD (default 0).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

opt_level=${HUSHWIRE_WASM_OPT_LEVEL:-split}
wasm_opt_flag=${HUSHWIRE_WASM_OPT_FLAG:--O3}
# HUSHWIRE_WASM_SIMD=1: build with wasm SIMD (about 25 % faster messages, 4 % smaller, but needs
# Safari >= 16.4 / Chrome >= 91 / Firefox >= 89; off by default for older iPhones).
simd=${HUSHWIRE_WASM_SIMD:-0}
simd_opt=()
default_target_dir=$root/target/wasm
if [ "$simd" = 1 ]; then
    export RUSTFLAGS="${RUSTFLAGS:-} -Ctarget-feature=+simd128"
    simd_opt=(--enable-simd)
    default_target_dir=$root/target/wasm-simd
fi
target_dir=${HUSHWIRE_WASM_TARGET_DIR:-$default_target_dir}
out="$here/pkg"
# The budget: 86 KB gzipped while the package is one module. Protocol v2 brought ML-KEM-768
# (83.6 KB with the core at opt-level 2, 67.9 KB with HUSHWIRE_WASM_CORE_OPT_LEVEL=z; v1 was
# 58.6 KB); the visitor/full split of issue 11 is what brings the visitor entry to <= 64 KB.
# HUSHWIRE_WASM_MAX_GZIP overrides it (bytes), see README.md.
max_gzip=${HUSHWIRE_WASM_MAX_GZIP:-$((86 * 1024))}

# ---- tools -------------------------------------------------------------------------------
if [ -f "$root/scripts/install-deps.sh" ]; then
    bash "$root/scripts/install-deps.sh" wasm
fi
if [ -f "$root/scripts/env.sh" ]; then
    # shellcheck source=/dev/null
    . "$root/scripts/env.sh"
fi
export PATH="$root/target/tools/bin:$root/target/tools/node/node_modules/.bin:$HOME/.cargo/bin:$PATH"

want_bg=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
have_bg=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have_bg" != "$want_bg" ]; then
    echo "installing wasm-bindgen-cli $want_bg (found '${have_bg:-none}')"
    cargo install --locked wasm-bindgen-cli --version "=$want_bg" ||
        cargo install wasm-bindgen-cli --version "=$want_bg"
fi
if ! command -v wasm-opt >/dev/null 2>&1; then
    npm install --prefix "$root/target/tools/node" --no-audit --no-fund --loglevel=error binaryen@132.0.0
fi
if [ ! -x "$here/node_modules/.bin/esbuild" ] || [ ! -x "$here/node_modules/.bin/vite" ]; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

# ---- compile -------------------------------------------------------------------------------
# Size and speed (numbers in README.md): everything is built for size (opt-level "z") except
# the crates on the per-message path (AES, GHASH, CTR, SHA-256/HMAC and the array types they
# use) at opt-level 3, and the core itself at 2: generic code (AES-GCM's CTR and GHASH loops,
# HMAC) is compiled in the crate that instantiates it, which is the core. Handshakes are rare,
# messages are not.
t0=$SECONDS
hot_crates=(aes ctr polyval ghash aes-gcm cipher universal-hash inout sha2 hmac digest
    block-buffer hybrid-array)
cargo_args=(--release --locked --target wasm32-unknown-unknown -p hushwire-wasm --target-dir "$target_dir")
if [ "$opt_level" = split ]; then
    export CARGO_PROFILE_RELEASE_OPT_LEVEL=z
    for c in "${hot_crates[@]}"; do cargo_args+=(--config "profile.release.package.$c.opt-level=3"); done
    # HUSHWIRE_WASM_CORE_OPT_LEVEL: the core's own level (numbers bare, "s"/"z" quoted in TOML).
    core_opt=${HUSHWIRE_WASM_CORE_OPT_LEVEL:-2}
    case $core_opt in [0-3]) ;; *) core_opt="\"$core_opt\"" ;; esac
    cargo_args+=(--config "profile.release.package.hushwire.opt-level=$core_opt")
else
    export CARGO_PROFILE_RELEASE_OPT_LEVEL=$opt_level
fi
export CARGO_PROFILE_RELEASE_PANIC=abort
export CARGO_PROFILE_RELEASE_DEBUG=false
# When core/alloc are rebuilt (-Zbuild-std), panics become plain traps and the binary carries
# no panic locations or Debug formatting: about 10 KB gzipped. The crate is no_std with a
# trapping panic handler either way, so behaviour is the same; only the size differs.
size_flags="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none"
if command -v rustup >/dev/null 2>&1 && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    # build-std needs the standard library's source; fetch it if rustup can.
    rustup component list --installed 2>/dev/null | grep -q '^rust-src' ||
        rustup component add rust-src >/dev/null 2>&1 || true
    if rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
        RUSTC_BOOTSTRAP=1 RUSTFLAGS="${RUSTFLAGS:-} $size_flags" \
            cargo build "${cargo_args[@]}" -Zbuild-std=core,alloc
    else
        echo "note: rustup's rust-src component is missing, so the size flags are off and the package" \
            "will likely exceed its budget (rustup component add rust-src)"
        cargo build "${cargo_args[@]}"
    fi
else
    # Debian fallback (shared/TOOLCHAIN.md): Debian's rustc builds the standard library for
    # wasm32 itself; the package is no_std there, so core and alloc are all it needs.
    PATH=/usr/bin:$PATH RUSTC_BOOTSTRAP=1 CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-19 \
        RUSTFLAGS="${RUSTFLAGS:-} $size_flags" cargo build "${cargo_args[@]}" -Zbuild-std=core,alloc
fi
echo "rust -> wasm: $((SECONDS - t0)) s (opt-level $opt_level)"

# ---- bindgen, optimise, package -------------------------------------------------------------
stage="$target_dir/stage"
rm -rf "$out" "$stage"
mkdir -p "$out" "$stage"
wasm-bindgen --target web --no-typescript --out-name hushwire --out-dir "$stage" \
    "$target_dir/wasm32-unknown-unknown/release/hushwire_wasm.wasm"
raw=$(stat -c %s "$stage/hushwire_bg.wasm")
wasm-opt "$wasm_opt_flag" --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue "${simd_opt[@]}" --strip-debug --strip-producers \
    "$stage/hushwire_bg.wasm" -o "$out/hushwire_bg.wasm"

# The wrapper (js/core.js) and the wasm-bindgen glue become one file per module system:
#   index.js   ESM for browsers, workers and bundlers (minified; no Node builtins)
#   index.cjs  CommonJS for Node (reads the .wasm with fs)
#   node.mjs   ESM for Node: re-exports index.js with an init() that reads the .wasm with fs
cp "$here"/js/{core.js,node-cjs.mjs} "$stage/"
esbuild="$here/node_modules/.bin/esbuild"
"$esbuild" "$stage/core.js" --bundle --format=esm --platform=browser --target=es2022 --minify --keep-names \
    --legal-comments=none --log-level=error --outfile="$out/index.js"
"$esbuild" "$stage/node-cjs.mjs" --bundle --format=cjs --platform=node --target=node18 --keep-names \
    --log-level=error --define:import.meta.url=undefined --outfile="$out/index.cjs"
cp "$here"/js/{package.json,node.mjs,index.d.ts,README.md,CHANGELOG.md,LICENSE} "$out/"
cp "$here/js/index.d.ts" "$out/index.d.cts"

# ---- size budget ----------------------------------------------------------------------------
gz() { gzip -9 -c "$@" | wc -c; }
wasm_size=$(stat -c %s "$out/hushwire_bg.wasm")
wasm_gz=$(gz "$out/hushwire_bg.wasm")
js_gz=$(gz "$out/index.js")
total=$((wasm_gz + js_gz))
printf 'hushwire_bg.wasm: %d bytes raw from bindgen, %d after wasm-opt %s, %d gzipped\n' \
    "$raw" "$wasm_size" "$wasm_opt_flag" "$wasm_gz"
printf 'index.js (browser JS: glue + wrapper, minified): %d bytes gzipped\n' "$js_gz"
printf 'total shipped to a browser: %d bytes gzipped (budget %d)\n' "$total" "$max_gzip"
if [ "$total" -gt "$max_gzip" ]; then
    echo "FAIL: the package exceeds the gzipped budget of $max_gzip bytes" >&2
    exit 1
fi
if [ "$total" -gt $((86 * 1024)) ]; then
    echo "NOTE: over the 86 KB gzipped target (allowed by HUSHWIRE_WASM_MAX_GZIP=$max_gzip); see bindings/wasm/README.md"
fi
echo "built $out"
