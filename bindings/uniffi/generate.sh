#!/usr/bin/env bash
# Regenerate the Kotlin, Swift and Python sources of the UniFFI bindings.
#
#   bindings/uniffi/generate.sh            # into bindings/uniffi/generated/{kotlin,swift,python}
#   bindings/uniffi/generate.sh OUT_DIR    # into OUT_DIR/{kotlin,swift,python} (used by test.sh)
#
# Builds the cdylib with the dev profile: the generated sources come from the metadata in the
# library, which is the same for dev and release builds, and a dev build is several times
# faster here (the workspace's release profile uses LTO with one codegen unit).
# Prints the path of the library it built on its last line.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$here/generated}"
cd "$root"

cargo build -q -p hushwire-ffi --lib --bin uniffi-bindgen
target_dir="$(cargo metadata -q --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
case "$(uname -s)" in
  Darwin) lib="$target_dir/debug/libhushwire_ffi.dylib" ;;
  *) lib="$target_dir/debug/libhushwire_ffi.so" ;;
esac
[ -f "$lib" ] || { echo "generate.sh: $lib was not built" >&2; exit 1; }

for lang in kotlin swift python; do
  rm -rf "${out:?}/$lang"
  mkdir -p "$out/$lang"
  # --no-format: ktlint / swift-format output would depend on which tools happen to be
  # installed, and the committed sources must be reproducible everywhere.
  cargo run -q -p hushwire-ffi --bin uniffi-bindgen -- generate --no-format \
    --library "$lib" --language "$lang" --out-dir "$out/$lang" >/dev/null
done
echo "$lib"
