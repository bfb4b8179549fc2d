#!/usr/bin/env bash
# Installs the tools the tests and builds need, beyond rustup's stable + nightly toolchains.
#
#   bash scripts/install-deps.sh [COMPONENT...]      COMPONENT: wasm kotlin python browser fuzz all
#                                                      (default: all)
#
# Idempotent and non-interactive: every step checks first and skips what is already there, so a
# second run takes a second or two. `apt-get update` runs at most once per run, and only when an
# apt package is actually missing. Node tools go into target/tools/node (project-local); source
# scripts/env.sh afterwards to put them on PATH. Recipes: shared/TOOLCHAIN.md. Never downloads a
# browser (no `playwright install`): the browser is Debian's chromium.
#
#   wasm     wasm32 std (rustup target if installed, else Debian's rustc-web + rust-web-src +
#            cargo-web + lld-19 for the -Zbuild-std fallback), wasm-bindgen-cli at exactly the
#            version of wasm-bindgen in Cargo.lock, npm binaryen (wasm-opt)
#   kotlin   npm kotlin-compiler (kotlinc, unpacked into target/tools), Debian libjna-java, a JDK
#   python   pytest, kyber-py (pure-Python ML-KEM for docs/vectors/verify_v2.py)
#   browser  Debian chromium and firefox-esr, npm playwright-core and puppeteer-core
#   fuzz     cargo-fuzz (run it with `cargo +nightly fuzz ...`)
#   rust     cargo-hack (feature matrix), and the core crate's MSRV toolchain: Debian's rustc-web
#            and cargo-web at exactly MSRV_RUST, downloaded with `apt-get download` and unpacked
#            into target/tools/rust-MSRV (not installed system-wide: the wasm build needs the
#            newer rustc-web). Run it with scripts/check-msrv.sh.
#
# Output: one line per component; the commands' own output goes to target/tools/install.log and its
# tail is printed if a step fails.
set -euo pipefail

# ---- pinned versions ------------------------------------------------------------------------
BINARYEN_VERSION=132.0.0          # npm binaryen: wasm-opt (Debian's binaryen is too old)
KOTLIN_VERSION=2.4.20             # npm kotlin-compiler (shared/TOOLCHAIN.md)
PLAYWRIGHT_CORE_VERSION=1.65.1    # npm playwright-core (needs node >= 20)
PUPPETEER_CORE_VERSION=25.16.0    # npm puppeteer-core: drives Debian's firefox-esr over WebDriver BiDi
PYTEST_VERSION=9.2.0              # PyPI pytest (needs python >= 3.10)
KYBER_PY_VERSION=1.2.0            # PyPI kyber-py: pure-Python ML-KEM (FIPS 203) for verify_v2.py
CARGO_FUZZ_VERSION=0.13.2         # crates.io cargo-fuzz
CARGO_HACK_VERSION=0.6.44         # crates.io cargo-hack
# The core crate's rust-version, and the Debian package version of that toolchain (bookworm).
MSRV_RUST=1.85
MSRV_DEB_VERSION=1.85.0+dfsg3-1~deb12u3
WASM_FALLBACK_APT=(rustc-web rust-web-src cargo-web lld-19)
# wasm-bindgen-cli: read from Cargo.lock (must equal the wasm-bindgen library version exactly).

SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$SCRIPT_DIR/.." && pwd)
LOCKFILE="$SCRIPT_DIR/../Cargo.lock"
TOOLS="$REPO/target/tools"
NODE_PREFIX="$TOOLS/node"                 # npm install --prefix here
NODE_MODULES="$NODE_PREFIX/node_modules"  # = $HUSHWIRE_TOOLS in scripts/env.sh
KOTLIN_HOME="$TOOLS/kotlin-compiler-$KOTLIN_VERSION"
LOG="$TOOLS/install.log"

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
}

COMPONENTS=()
for arg in "${@:-all}"; do
    case "$arg" in
        all) COMPONENTS+=(wasm kotlin python browser fuzz rust) ;;
        wasm|kotlin|python|browser|fuzz|rust) COMPONENTS+=("$arg") ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install-deps.sh: unknown component '$arg'" >&2; usage >&2; exit 2 ;;
    esac
done

export DEBIAN_FRONTEND=noninteractive
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
case ":$PATH:" in *":$CARGO_HOME/bin:"*) ;; *) export PATH="$CARGO_HOME/bin:$PATH" ;; esac

mkdir -p "$TOOLS"
# Serialise concurrent runs (several test scripts may call this at once).
exec 9>"$TOOLS/.install.lock"
flock 9
# Keep the log small: start afresh once it passes 4 MB.
if [ -f "$LOG" ] && [ "$(stat -c %s "$LOG")" -gt 4000000 ]; then : >"$LOG"; fi
echo "==== $(date -u '+%F %T') install-deps.sh ${COMPONENTS[*]}" >>"$LOG"

# ---- helpers --------------------------------------------------------------------------------
# Runs a command with its output appended to the log; on failure shows the log's tail and exits.
logged() {
    echo "+ $*" >>"$LOG"
    if ! "$@" >>"$LOG" 2>&1 </dev/null; then
        echo "install-deps.sh: FAILED: $*  (last lines of $LOG:)" >&2
        tail -n 40 "$LOG" >&2
        exit 1
    fi
}

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=(sudo -n); fi
fi

apt_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

APT_UPDATED=0
# apt_ensure PKG...: installs the missing ones (noted in DID); returns 0 if it installed any.
apt_ensure() {
    local missing=() p
    for p in "$@"; do apt_installed "$p" || missing+=("$p"); done
    [ ${#missing[@]} -gt 0 ] || return 1
    if [ "$APT_UPDATED" -eq 0 ]; then
        logged "${SUDO[@]}" apt-get update
        APT_UPDATED=1
    fi
    # With recommends, as in TOOLCHAIN.md (chromium's bring fonts-liberation).
    logged "${SUDO[@]}" apt-get install -y "${missing[@]}"
    DID+=("${missing[@]}")
    return 0
}

npm_version_of() { # installed version of an npm package in target/tools/node, or empty
    local pj="$NODE_MODULES/$1/package.json"
    [ -f "$pj" ] && sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$pj" | head -n 1 || true
}

NPM_FLAGS=(--no-audit --no-fund --no-update-notifier --loglevel=error --save-exact)
# npm_ensure NAME VERSION: returns 0 if it installed, 1 if already there.
npm_ensure() {
    [ "$(npm_version_of "$1")" = "$2" ] && return 1
    command -v npm >/dev/null 2>&1 || { echo "install-deps.sh: npm not found (need Node >= 20)" >&2; exit 1; }
    mkdir -p "$NODE_PREFIX"
    # Saved into target/tools/node/package.json, so a later install keeps the other packages.
    logged npm install --prefix "$NODE_PREFIX" "${NPM_FLAGS[@]}" "$1@$2"
    return 0
}

# cargo_install CRATE VERSION CHECK: `cargo install --locked --force` (--force: CHECK already found
# the binary missing or at another version). If the crate's own lockfile names a dependency version
# the registry does not serve (seen: wasm-bindgen-cli 0.2.130 locks webpki-roots 1.0.11, which
# this machine's crates.io mirror lacks), retries without --locked. The build dir is kept under
# target/tools until the install succeeds, so a retry does not recompile everything. CHECK is a
# command that succeeds once the right version is installed (also by someone else meanwhile).
cargo_install() {
    local crate=$1 version=$2 check=$3 tdir="$TOOLS/cargo-install-$1"
    echo "+ cargo install --locked --force $crate --version =$version" >>"$LOG"
    if ! CARGO_TARGET_DIR="$tdir" cargo install --locked --force "$crate" --version "=$version" >>"$LOG" 2>&1 </dev/null; then
        if ! "$check"; then
            echo "install-deps.sh: note: 'cargo install --locked $crate' failed; retrying without --locked" >&2
            logged env CARGO_TARGET_DIR="$tdir" cargo install --force "$crate" --version "=$version"
        fi
    fi
    "$check" || { echo "install-deps.sh: $crate $version installed but the check '$check' still fails" >&2; exit 1; }
    rm -rf "$tdir"
}

# A component appends what it installed to DID; report NAME T0 [DETAIL] prints its one line.
DID=()
report() {
    local name=$1 t0=$2 detail=${3:+ [$3]}
    if [ ${#DID[@]} -eq 0 ]; then
        echo "$name: already present$detail"
    else
        echo "$name: installed ${DID[*]} in $((SECONDS - t0)) s$detail"
    fi
    DID=()
}

# ---- components -----------------------------------------------------------------------------
lock_wasm_bindgen_version() {
    [ -f "$LOCKFILE" ] || return 0
    awk '$0 == "name = \"wasm-bindgen\"" { getline; if ($1 == "version") { gsub(/"/, "", $3); print $3; exit } }' "$LOCKFILE"
}

WANT_WASM_BINDGEN=
wasm_bindgen_ok() {
    [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)" = "$WANT_WASM_BINDGEN" ]
}

do_wasm() {
    local t0=$SECONDS notes=()
    if command -v rustup >/dev/null 2>&1 && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
        notes+=("std: rustup target")
    else
        apt_ensure "${WASM_FALLBACK_APT[@]}" || true
        notes+=("std: Debian rustc-web fallback (TOOLCHAIN.md)")
    fi

    local want have
    want=$(lock_wasm_bindgen_version)
    if [ -z "$want" ]; then
        notes+=("wasm-bindgen-cli skipped: no wasm-bindgen in Cargo.lock yet")
    else
        WANT_WASM_BINDGEN=$want
        if ! wasm_bindgen_ok; then
            cargo_install wasm-bindgen-cli "$want" wasm_bindgen_ok
            DID+=("wasm-bindgen-cli $want")
        fi
        notes+=("wasm-bindgen $want")
    fi

    npm_ensure binaryen "$BINARYEN_VERSION" && DID+=("binaryen $BINARYEN_VERSION")
    notes+=("wasm-opt: $NODE_MODULES/.bin/wasm-opt")
    report wasm "$t0" "$(printf '%s; ' "${notes[@]}" | sed 's/; $//')"
}

do_kotlin() {
    local t0=$SECONDS
    command -v java >/dev/null 2>&1 || apt_ensure openjdk-17-jdk-headless || true
    apt_ensure libjna-java || true
    if [ ! -x "$KOTLIN_HOME/bin/kotlinc" ] || [ ! -f "$KOTLIN_HOME/lib/kotlin-stdlib.jar" ]; then
        command -v npm >/dev/null 2>&1 || { echo "install-deps.sh: npm not found" >&2; exit 1; }
        local tmp
        tmp=$(mktemp -d)
        logged npm pack --silent --pack-destination "$tmp" "kotlin-compiler@$KOTLIN_VERSION"
        tar xzf "$tmp/kotlin-compiler-$KOTLIN_VERSION.tgz" -C "$tmp"   # -> $tmp/package
        chmod +x "$tmp"/package/bin/*
        rm -rf "$KOTLIN_HOME"
        mv "$tmp/package" "$KOTLIN_HOME"
        rm -rf "$tmp"
        DID+=("kotlin-compiler $KOTLIN_VERSION")
    fi
    report kotlin "$t0" "kotlinc: $KOTLIN_HOME/bin/kotlinc"
}

do_python() {
    local t0=$SECONDS
    if ! python3 -c 'import pytest' >/dev/null 2>&1; then
        echo "+ python3 -m pip install pytest==$PYTEST_VERSION" >>"$LOG"
        if ! python3 -m pip install --quiet "pytest==$PYTEST_VERSION" >>"$LOG" 2>&1 </dev/null; then
            # Debian's own python3 refuses pip installs (PEP 668) unless told otherwise.
            logged python3 -m pip install --quiet --break-system-packages "pytest==$PYTEST_VERSION"
        fi
        DID+=("pytest $PYTEST_VERSION")
    fi
    if ! python3 -c 'import kyber_py' >/dev/null 2>&1; then
        echo "+ python3 -m pip install kyber-py==$KYBER_PY_VERSION" >>"$LOG"
        if ! python3 -m pip install --quiet "kyber-py==$KYBER_PY_VERSION" >>"$LOG" 2>&1 </dev/null; then
            logged python3 -m pip install --quiet --break-system-packages "kyber-py==$KYBER_PY_VERSION"
        fi
        DID+=("kyber-py $KYBER_PY_VERSION")
    fi
    report python "$t0" "$(python3 -c 'import pytest; print("pytest", pytest.__version__)' 2>&1)"
}

do_browser() {
    local t0=$SECONDS
    apt_ensure chromium firefox-esr || true
    npm_ensure playwright-core "$PLAYWRIGHT_CORE_VERSION" && DID+=("playwright-core $PLAYWRIGHT_CORE_VERSION")
    # puppeteer-core (unlike puppeteer) never downloads a browser; the skip flag says so twice.
    PUPPETEER_SKIP_DOWNLOAD=1 npm_ensure puppeteer-core "$PUPPETEER_CORE_VERSION" &&
        DID+=("puppeteer-core $PUPPETEER_CORE_VERSION")
    report browser "$t0" "executablePath /usr/bin/chromium and /usr/bin/firefox-esr; never 'playwright install'"
}

cargo_fuzz_ok() { cargo fuzz --version >/dev/null 2>&1; }

do_fuzz() {
    local t0=$SECONDS
    if ! cargo_fuzz_ok; then
        cargo_install cargo-fuzz "$CARGO_FUZZ_VERSION" cargo_fuzz_ok
        DID+=("cargo-fuzz $CARGO_FUZZ_VERSION")
    fi
    report fuzz "$t0" "run: cargo +nightly fuzz"
}

cargo_hack_ok() { cargo hack --version 2>/dev/null | grep -q " $CARGO_HACK_VERSION"; }

MSRV_HOME="$TOOLS/rust-$MSRV_RUST"
msrv_ok() {
    LD_LIBRARY_PATH="$MSRV_HOME/usr/lib/x86_64-linux-gnu" "$MSRV_HOME/usr/bin/rustc" --version 2>/dev/null \
        | grep -q "^rustc $MSRV_RUST\." &&
        LD_LIBRARY_PATH="$MSRV_HOME/usr/lib/x86_64-linux-gnu" "$MSRV_HOME/usr/bin/cargo" --version >/dev/null 2>&1
}

do_rust() {
    local t0=$SECONDS
    if ! cargo_hack_ok; then
        cargo_install cargo-hack "$CARGO_HACK_VERSION" cargo_hack_ok
        DID+=("cargo-hack $CARGO_HACK_VERSION")
    fi
    # cargo-web's shared libraries (the rest of its dependencies are already on the machine).
    apt_ensure libpcre3 libhttp-parser2.9 libssh2-1 libcurl4 libsqlite3-0 || true
    if ! msrv_ok; then
        local tmp p
        tmp=$(mktemp -d)
        chmod 755 "$tmp" # apt's download user must be able to write there
        if [ "$APT_UPDATED" -eq 0 ] && ! apt-cache show "rustc-web=$MSRV_DEB_VERSION" >/dev/null 2>&1; then
            logged "${SUDO[@]}" apt-get update
            APT_UPDATED=1
        fi
        for p in rustc-web cargo-web libstd-rust-web-dev "libstd-rust-web-$MSRV_RUST"; do
            (cd "$tmp" && logged apt-get download "$p=$MSRV_DEB_VERSION")
        done
        rm -rf "$MSRV_HOME"
        mkdir -p "$MSRV_HOME"
        for p in "$tmp"/*.deb; do logged dpkg -x "$p" "$MSRV_HOME"; done
        rm -rf "$tmp"
        msrv_ok || { echo "install-deps.sh: the Rust $MSRV_RUST toolchain in $MSRV_HOME does not run" >&2; exit 1; }
        DID+=("rust $MSRV_RUST (Debian rustc-web $MSRV_DEB_VERSION, unpacked)")
    fi
    report rust "$t0" "cargo hack; MSRV toolchain: $MSRV_HOME/usr/bin/{rustc,cargo}"
}

# ---- run ------------------------------------------------------------------------------------
declare -A DONE=()
for c in "${COMPONENTS[@]}"; do
    [ -n "${DONE[$c]:-}" ] && continue
    DONE[$c]=1
    "do_$c"
done
echo "tools: . scripts/env.sh  (PATH += $NODE_MODULES/.bin:$KOTLIN_HOME/bin; HUSHWIRE_TOOLS=$NODE_MODULES)"
