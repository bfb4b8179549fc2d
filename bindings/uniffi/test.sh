#!/usr/bin/env bash
# Test the UniFFI bindings: Rust unit tests, staleness of the committed generated sources,
# that the release library and the committed sources hold no test-only code, Kotlin on the
# JVM, Python with pytest, and Kotlin <-> Python interoperability.
# Swift is generated and checked for staleness only: no Swift compiler runs on Linux CI here.
#
#   bindings/uniffi/test.sh
#
# Installs what it lacks (kotlinc 2.4.20 from npm, JNA from apt, pytest from PyPI); prints the
# runners' summary lines and exits non-zero on any failure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
t_start=$SECONDS
phase() { echo "== uniffi: $1 (at $((SECONDS - t_start)) s)"; }

# --- dependencies --------------------------------------------------------------------------
phase "dependencies"
if [ -x "$root/scripts/install-deps.sh" ]; then
  "$root/scripts/install-deps.sh" kotlin python
fi
if [ -f "$root/scripts/env.sh" ]; then
  # shellcheck disable=SC1091
  . "$root/scripts/env.sh"
fi
mkdir -p "$root/target"
target_dir="$(cargo metadata -q --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
tools="$target_dir/tools"
mkdir -p "$tools"
KOTLIN_VERSION=2.4.20

if ! command -v kotlinc >/dev/null 2>&1; then
  kdir="$tools/uniffi-kotlinc-$KOTLIN_VERSION"
  if [ ! -x "$kdir/package/bin/kotlinc" ]; then
    echo "installing kotlinc $KOTLIN_VERSION (npm package kotlin-compiler) into $kdir"
    mkdir -p "$kdir"
    (cd "$kdir" && npm pack --silent "kotlin-compiler@$KOTLIN_VERSION" >/dev/null && tar xzf "kotlin-compiler-$KOTLIN_VERSION.tgz" && rm -f ./*.tgz)
  fi
  PATH="$kdir/package/bin:$PATH"
fi
kotlin_home="$(cd "$(dirname "$(readlink -f "$(command -v kotlinc)")")/.." && pwd)"
kotlin_stdlib="${KOTLIN_STDLIB:-$kotlin_home/lib/kotlin-stdlib.jar}"
[ -f "$kotlin_stdlib" ] || kotlin_stdlib="$kotlin_home/lib/kotlin-stdlib.jar"
[ -f "$kotlin_stdlib" ] || { echo "uniffi: kotlin-stdlib.jar not found under $kotlin_home" >&2; exit 1; }

jna_jar="${JNA_JAR:-/usr/share/java/jna.jar}"
if [ ! -f "$jna_jar" ]; then
  echo "installing JNA (apt package libjna-java)"
  apt-get install -y -qq libjna-java >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq libjna-java >/dev/null; }
fi
command -v java >/dev/null || { echo "uniffi: java (JDK 17) is required: apt-get install openjdk-17-jdk-headless" >&2; exit 1; }

if ! python3 -c "import pytest" 2>/dev/null; then
  echo "installing pytest"
  python3 -m pip install -q pytest 2>/dev/null || python3 -m pip install -q --user --break-system-packages pytest
fi

# --- Rust unit tests -----------------------------------------------------------------------
phase "cargo test -p hushwire-ffi --features testing"
if ! cargo test -q -p hushwire-ffi --lib --features testing >"$tools/uniffi-cargo-test.log" 2>&1; then
  cat "$tools/uniffi-cargo-test.log"
  echo "uniffi: Rust unit tests failed" >&2
  exit 1
fi
grep -E "^test result" "$tools/uniffi-cargo-test.log"

# --- release build: staleness and no test-only code ----------------------------------------
# The release library is what package-android.sh / package-ios.sh / a wheel ship, and the
# committed sources are generated from the same (default) feature set.
phase "build the release cdylib and regenerate the bindings from it"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
release_lib="$("$here/generate.sh" --release "$work/gen" | tail -n 1)"
if ! diff -ru "$here/generated" "$work/gen" >"$work/stale.diff"; then
  head -n 40 "$work/stale.diff"
  echo "uniffi: the committed bindings in bindings/uniffi/generated are STALE (Kotlin/Swift/Python differ from what this build generates)." >&2
  echo "uniffi: run bindings/uniffi/generate.sh and commit the result." >&2
  exit 1
fi
echo "generated Kotlin, Swift and Python sources are up to date (Swift is not compiled here)"

# Names of test-only code (core `testing` feature, fuzzing helpers, vector regeneration).
test_only='regenerate_?vectors|test_?vectors|vector_?file|seal_state_for_fuzzing|fuzzing|testing'
# Prints what in a library (its defined symbols and embedded strings) matches $test_only.
test_only_in_lib() {
  local dynamic=-D
  case "$1" in *.a) dynamic= ;; esac
  { nm $dynamic --defined-only "$1" 2>/dev/null | awk '{print $NF}'; strings -n 6 "$1"; } |
    grep -Eio "[A-Za-z0-9_]*($test_only)[A-Za-z0-9_]*" | sort -u
}

phase "the release libraries and the committed bindings hold no test-only code"
# The cdylib (Android, desktop JVM, Python) and the static library (the iOS xcframework).
release_static="${release_lib%.*}.a"
for shipped in "$release_lib" "$release_static"; do
  [ -f "$shipped" ] || { echo "uniffi: $shipped was not built" >&2; exit 1; }
  found="$(test_only_in_lib "$shipped" || true)"
  if [ -n "$found" ]; then
    echo "$found" | head -n 20
    echo "uniffi: the release library $shipped contains test-only code (above)" >&2
    exit 1
  fi
done
if grep -rEil "$test_only" "$here/generated"; then
  echo "uniffi: the committed bindings (files above) mention test-only code" >&2
  exit 1
fi
echo "release cdylib: $(nm -D --defined-only "$release_lib" | grep -c ' uniffi_') uniffi symbols, none test-only; static library and generated/: none"

# --- test build (feature `testing`) ---------------------------------------------------------
# The Kotlin and Python suites also compare regenerateVectors() with docs/vectors; they run on
# a test-only build whose bindings are generated into a temp dir, never committed.
phase "build the test cdylib (dev profile, feature testing) and its bindings"
lib="$("$here/generate.sh" --features testing "$work/gen-testing" | tail -n 1)"
# The check above must be able to fail: the test library does contain the test-only export.
if ! test_only_in_lib "$lib" | grep -qi 'regenerate_vectors'; then
  echo "uniffi: the test-only check found nothing in the test library $lib; the check is broken" >&2
  exit 1
fi
libdir="$(dirname "$lib")"

# --- Kotlin --------------------------------------------------------------------------------
# kotlinc is slow (about a minute): the jar is cached by the hash of its inputs.
phase "kotlinc"
kt_gen="$work/gen-testing/kotlin/uniffi/hushwire_ffi/hushwire_ffi.kt"
kt_test="$here/tests/kotlin/HushwireTest.kt"
kt_adapters="$here/adapters/kotlin/AttachmentStreams.kt"
key="$(cat "$kt_gen" "$kt_adapters" "$kt_test" <(kotlinc -version 2>&1) | sha256sum | cut -c1-16)"
jar="$target_dir/uniffi-test/kotlin-tests-$key.jar"
if [ ! -f "$jar" ]; then
  mkdir -p "$target_dir/uniffi-test"
  rm -f "$target_dir"/uniffi-test/kotlin-tests-*.jar
  kotlinc -nowarn -cp "$jna_jar" "$kt_gen" "$kt_adapters" "$kt_test" -d "$jar.tmp.jar" 2>&1 | grep -v '^OpenJDK.*warning' || true
  [ -f "$jar.tmp.jar" ] || { echo "uniffi: kotlinc failed" >&2; exit 1; }
  mv "$jar.tmp.jar" "$jar"
else
  echo "using cached $jar"
fi
kotlin_cmd=(java -Djna.library.path="$libdir" -cp "$jar:$jna_jar:$kotlin_stdlib" HushwireTestKt)

phase "Kotlin tests (JVM)"
kt_status=0
"${kotlin_cmd[@]}" test "$root" || kt_status=$?

# --- Python --------------------------------------------------------------------------------
phase "Python tests (pytest)"
cp "$lib" "$work/gen-testing/python/"
py_status=0
cp "$here/adapters/python/hushwire_attachment.py" "$work/gen-testing/python/"
PYTHONDONTWRITEBYTECODE=1 HUSHWIRE_PY_DIR="$work/gen-testing/python" HUSHWIRE_ROOT="$root" \
HUSHWIRE_KOTLIN_CMD="$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "${kotlin_cmd[@]}")" \
  python3 -m pytest -q -p no:cacheprovider "$here/tests/python" || py_status=$?

phase "done"
echo "uniffi: Kotlin exit $kt_status, Python exit $py_status, $((SECONDS - t_start)) s in total"
[ "$kt_status" -eq 0 ] && [ "$py_status" -eq 0 ]
