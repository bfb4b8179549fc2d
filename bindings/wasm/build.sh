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
# Two modules: the main one (hushwire-wasm) and the attachment entry's (attachment/), which
# only apps that send or show files load. The no-wasm build below needs only the main one.
cargo_args=(--release --locked --target wasm32-unknown-unknown)
packages=(-p hushwire-wasm -p hushwire-wasm-attachment)
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
# compile TARGET_DIR [RUSTFLAGS...]: the module into TARGET_DIR/wasm32-unknown-unknown/release.
compile() {
    local dir=$1
    shift
    local flags="${RUSTFLAGS:-} $* $size_flags"
    if command -v rustup >/dev/null 2>&1 && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
        # build-std needs the standard library's source; fetch it if rustup can.
        rustup component list --installed 2>/dev/null | grep -q '^rust-src' ||
            rustup component add rust-src >/dev/null 2>&1 || true
        if rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
            RUSTC_BOOTSTRAP=1 RUSTFLAGS="$flags" cargo build "${cargo_args[@]}" "${packages[@]}" --target-dir "$dir" -Zbuild-std=core,alloc
        else
            echo "note: rustup's rust-src component is missing, so the size flags are off and the package" \
                "will likely exceed its budget (rustup component add rust-src)"
            RUSTFLAGS="${RUSTFLAGS:-} $*" cargo build "${cargo_args[@]}" "${packages[@]}" --target-dir "$dir"
        fi
    else
        # Debian fallback (shared/TOOLCHAIN.md): Debian's rustc builds the standard library for
        # wasm32 itself; the package is no_std there, so core and alloc are all it needs.
        PATH=/usr/bin:$PATH RUSTC_BOOTSTRAP=1 CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-19 \
            RUSTFLAGS="$flags" cargo build "${cargo_args[@]}" "${packages[@]}" --target-dir "$dir" -Zbuild-std=core,alloc
    fi
}
compile "$target_dir"
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
wasm-bindgen --target web --no-typescript --out-name attachment_glue --out-dir "$stage" \
    "$target_dir/wasm32-unknown-unknown/release/hushwire_wasm_attachment.wasm"
wasm-opt "$wasm_opt_flag" --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue "${simd_opt[@]}" --strip-debug --strip-producers \
    "$stage/attachment_glue_bg.wasm" -o "$out/attachment_bg.wasm"

# The wrapper (js/core.js) and the wasm-bindgen glue become one file per module system:
#   index.js   ESM for browsers, workers and bundlers (minified; no Node builtins)
#   index.cjs  CommonJS for Node (reads the .wasm with fs)
#   node.mjs   ESM for Node: re-exports index.js with an init() that reads the .wasm with fs
cp "$here"/js/{core.js,error.js,integrity.js,finalize.js,node-cjs.mjs,node-input.mjs,attachment.js,attachment-node-cjs.mjs} "$stage/"
# The .wasm's SHA-384, written into the JavaScript that checks it before instantiating.
wasm_sri="sha384-$(openssl dgst -sha384 -binary "$out/hushwire_bg.wasm" | base64 -w0)"
esbuild="$here/node_modules/.bin/esbuild"
"$esbuild" "$stage/core.js" --bundle --format=esm --platform=browser --target=es2022 --minify --keep-names \
    --legal-comments=none --log-level=error --external:./hushwire_nowasm.js --define:HUSHWIRE_WASM_SHA384="\"$wasm_sri\"" \
    --outfile="$out/index.js"
"$esbuild" "$stage/node-cjs.mjs" --bundle --format=cjs --platform=node --target=node18 --keep-names \
    --log-level=error --external:./hushwire_nowasm.js --define:HUSHWIRE_WASM_SHA384="\"$wasm_sri\"" \
    --define:import.meta.url=undefined --outfile="$out/index.cjs"
# tabs.js (multi-tab ownership) is its own entry over index.js, which it imports.
"$esbuild" "$here/js/tabs.js" --format=esm --platform=browser --target=es2022 --minify --keep-names \
    --legal-comments=none --log-level=error --outfile="$out/tabs.js"
# The attachment entry (attachment.js / .cjs / -node.mjs) takes HushwireError from the main
# entry, left external so both entries share one error class.
"$esbuild" "$stage/attachment.js" --bundle --format=esm --platform=browser --target=es2022 --minify --keep-names \
    --legal-comments=none --log-level=error --external:./index.js --outfile="$out/attachment.js"
"$esbuild" "$stage/attachment-node-cjs.mjs" --bundle --format=cjs --platform=node --target=node18 --keep-names \
    --log-level=error --define:import.meta.url=undefined --external:./index.js --outfile="$out/attachment.cjs"
# The CJS entry must share the CJS main entry's HushwireError, not load the ESM one.
sed -i 's#require("./index.js")#require("./index.cjs")#' "$out/attachment.cjs"
if grep -q 'index\.js' "$out/attachment.cjs" || ! grep -q 'require("./index.cjs")' "$out/attachment.cjs"; then
    echo "FAIL: attachment.cjs does not take HushwireError from index.cjs" >&2
    exit 1
fi
cp "$here"/js/{package.json,node.mjs,node-input.mjs,attachment-node.mjs,tabs.d.ts,index.d.ts,attachment.d.ts,README.md,CHANGELOG.md,LICENSE} "$out/"
cp "$here/js/index.d.ts" "$out/index.d.cts"
cp "$here/js/attachment.d.ts" "$out/attachment.d.cts"

# ---- the no-WebAssembly build ---------------------------------------------------------------
# The same Rust code for the wasm MVP (wasm2js refuses wasm-bindgen's second table, which
# reference types bring; -Ctarget-cpu=mvp turns them off), translated to JavaScript by
# binaryen's wasm2js: pkg/hushwire_nowasm.js (glue + translation; index.js loads it when the
# page forbids WebAssembly) and pkg/nowasm.js (the explicit entry `hushwire/nowasm`).
t1=$SECONDS
mvp_dir=${HUSHWIRE_WASM_MVP_TARGET_DIR:-$root/target/wasm-mvp}
packages=(-p hushwire-wasm)
compile "$mvp_dir" -Ctarget-cpu=mvp
mvp="$mvp_dir/stage"
rm -rf "$mvp"
mkdir -p "$mvp"
wasm-bindgen --target web --no-typescript --out-name hushwire --out-dir "$mvp" \
    "$mvp_dir/wasm32-unknown-unknown/release/hushwire_wasm.wasm"
wasm-opt "$wasm_opt_flag" --strip-debug --strip-producers "$mvp/hushwire_bg.wasm" -o "$mvp/opt.wasm"
wasm2js -O3 "$mvp/opt.wasm" -o "$mvp/wasm2js.mjs"
# wasm2js binds its imports statically (import * from './hushwire_bg.js'); the glue hands them
# over at instantiation instead: keep asmFunc and export a function that calls it.
node -e '
const fs = require("fs");
const [src, out] = process.argv.slice(1);
const js = fs.readFileSync(src, "utf8");
const start = js.indexOf("\n") + 1;
const end = js.indexOf("var retasmFunc = asmFunc(");
if (!js.startsWith("import * as") || end < 0) throw new Error("unexpected wasm2js output layout");
fs.writeFileSync(out, js.slice(start, end) + "export function instantiate(imports) {\n  return asmFunc(imports);\n}\n");
' "$mvp/wasm2js.mjs" "$mvp/hushwire_wasm2js.js"
cp "$here"/js/{nowasm-glue.js,wasm2js-shim.js} "$mvp/"
"$esbuild" "$mvp/nowasm-glue.js" --bundle --format=esm --platform=browser --target=es2022 --minify --keep-names \
    --legal-comments=none --log-level=error --inject:"$mvp/wasm2js-shim.js" \
    --define:WebAssembly.instantiate=wasm2jsInstantiate --define:WebAssembly.Instance=Wasm2jsInstance \
    --outfile="$out/hushwire_nowasm.js"
sed "s#from './hushwire.js'#from './hushwire_nowasm.js'#" "$stage/core.js" >"$stage/core-nowasm.js"
"$esbuild" "$stage/core-nowasm.js" --bundle --format=esm --platform=browser --target=es2022 --minify --keep-names \
    --legal-comments=none --log-level=error --external:./hushwire_nowasm.js --outfile="$out/nowasm.js"
cp "$here/js/index.d.ts" "$out/nowasm.d.ts"
echo "no-wasm build (mvp compile + wasm2js): $((SECONDS - t1)) s"

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
# The attachment entry is outside the budget (only apps that handle files load it).
att_wasm_gz=$(gz "$out/attachment_bg.wasm")
att_js_gz=$(gz "$out/attachment.js")
printf 'attachment entry (separate, outside the budget): attachment_bg.wasm %d bytes raw, %d gzipped; attachment.js %d gzipped\n' \
    "$(stat -c %s "$out/attachment_bg.wasm")" "$att_wasm_gz" "$att_js_gz"
if [ "$total" -gt "$max_gzip" ]; then
    echo "FAIL: the package exceeds the gzipped budget of $max_gzip bytes" >&2
    exit 1
fi
# The no-WebAssembly entry: nowasm.js + hushwire_nowasm.js. Its target is 110 KB gzipped; with
# protocol v2 (ML-KEM-768 and the DH ratchet in one module) it is about 156 KB, so the hard
# budget is 164 KB until the visitor/full split (issue 11) lets it carry the visitor side only.
nowasm_gz=$(($(gz "$out/nowasm.js") + $(gz "$out/hushwire_nowasm.js")))
max_nowasm=${HUSHWIRE_NOWASM_MAX_GZIP:-$((164 * 1024))}
printf 'no-wasm entry (nowasm.js + hushwire_nowasm.js, wasm2js): %d bytes gzipped (budget %d)\n' "$nowasm_gz" "$max_nowasm"
if [ "$nowasm_gz" -gt "$max_nowasm" ]; then
    echo "FAIL: the no-wasm entry exceeds the gzipped budget of $max_nowasm bytes" >&2
    exit 1
fi
if [ "$total" -gt $((64 * 1024)) ]; then
    echo "NOTE: over the 64 KB gzipped visitor target (issue 11: the visitor/full split is not done yet); see bindings/wasm/README.md"
fi
if [ "$nowasm_gz" -gt $((110 * 1024)) ]; then
    echo "NOTE: the no-wasm entry is over its 110 KB gzipped target (issue 15); see bindings/wasm/README.md"
fi
# ---- integrity -------------------------------------------------------------------------------
# integrity.json: the version and the SHA-384 (Subresource Integrity form) of every file a page
# loads, for a self-hosted copy (README.md, "Integrity"). The .wasm's is also inside index.js.
node -e '
const fs = require("fs"), crypto = require("crypto"), path = require("path");
const dir = process.argv[1];
const { version } = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
const files = {};
for (const f of ["index.js", "hushwire_bg.wasm", "tabs.js", "nowasm.js", "hushwire_nowasm.js", "attachment.js", "attachment_bg.wasm"]) {
  files[f] = "sha384-" + crypto.createHash("sha384").update(fs.readFileSync(path.join(dir, f))).digest("base64");
}
fs.writeFileSync(path.join(dir, "integrity.json"), JSON.stringify({ name: "hushwire", version, files }, null, 2) + "\n");
' "$out"
echo "built $out"
