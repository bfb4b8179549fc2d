#!/usr/bin/env bash
# Test the UniFFI bindings: Rust unit tests, staleness of the committed generated sources,
# Kotlin on the JVM, Python with pytest, and Kotlin <-> Python interoperability.
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
phase "cargo test -p hushwire-ffi"
if ! cargo test -q -p hushwire-ffi --lib >"$tools/uniffi-cargo-test.log" 2>&1; then
  cat "$tools/uniffi-cargo-test.log"
  echo "uniffi: Rust unit tests failed" >&2
  exit 1
fi
grep -E "^test result" "$tools/uniffi-cargo-test.log"

# --- build + staleness check ---------------------------------------------------------------
phase "build the cdylib (dev profile) and regenerate the bindings"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
lib="$("$here/generate.sh" "$work/gen" | tail -n 1)"
if ! diff -ru "$here/generated" "$work/gen" >"$work/stale.diff"; then
  head -n 40 "$work/stale.diff"
  echo "uniffi: the committed bindings in bindings/uniffi/generated are STALE (Kotlin/Swift/Python differ from what this build generates)." >&2
  echo "uniffi: run bindings/uniffi/generate.sh and commit the result." >&2
  exit 1
fi
echo "generated Kotlin, Swift and Python sources are up to date (Swift is not compiled here)"
libdir="$(dirname "$lib")"

# --- Kotlin --------------------------------------------------------------------------------
# kotlinc is slow (about a minute): the jar is cached by the hash of its inputs.
phase "kotlinc"
kt_gen="$work/gen/kotlin/uniffi/hushwire_ffi/hushwire_ffi.kt"
kt_test="$here/tests/kotlin/HushwireTest.kt"
key="$(cat "$kt_gen" "$kt_test" <(kotlinc -version 2>&1) | sha256sum | cut -c1-16)"
jar="$target_dir/uniffi-test/kotlin-tests-$key.jar"
if [ ! -f "$jar" ]; then
  mkdir -p "$target_dir/uniffi-test"
  rm -f "$target_dir"/uniffi-test/kotlin-tests-*.jar
  kotlinc -nowarn -cp "$jna_jar" "$kt_gen" "$kt_test" -d "$jar.tmp.jar" 2>&1 | grep -v '^OpenJDK.*warning' || true
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
cp "$lib" "$work/gen/python/"
py_status=0
PYTHONDONTWRITEBYTECODE=1 HUSHWIRE_PY_DIR="$work/gen/python" HUSHWIRE_ROOT="$root" \
HUSHWIRE_KOTLIN_CMD="$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "${kotlin_cmd[@]}")" \
  python3 -m pytest -q -p no:cacheprovider "$here/tests/python" || py_status=$?

phase "done"
echo "uniffi: Kotlin exit $kt_status, Python exit $py_status, $((SECONDS - t_start)) s in total"
[ "$kt_status" -eq 0 ] && [ "$py_status" -eq 0 ]
