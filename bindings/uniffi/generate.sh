#!/usr/bin/env bash
# Regenerate the Kotlin, Swift and Python sources of the UniFFI bindings.
#
#   bindings/uniffi/generate.sh                      # into bindings/uniffi/generated/
#   bindings/uniffi/generate.sh OUT_DIR              # into OUT_DIR/{kotlin,swift,python}
#   bindings/uniffi/generate.sh --release OUT_DIR    # from the release library (test.sh)
#   bindings/uniffi/generate.sh --features testing OUT_DIR
#                                                    # test-only build (test.sh; never commit)
#
# The committed sources come from the default feature set, the one that ships: no `testing`.
# The profile does not change them (the metadata is the same for dev and release builds), so
# the default is the dev profile, several times faster here (the workspace's release profile
# uses LTO with one codegen unit); test.sh uses --release because it checks that library too.
# Prints the path of the library it built on its last line.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
profile=debug
cargo_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --release) profile=release; cargo_args+=(--release); shift ;;
    --features) cargo_args+=(--features "$2"); shift 2 ;;
    -*) echo "generate.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
out="${1:-$here/generated}"
cd "$root"

# The bindgen CLI (feature `cli`) only reads the library's metadata, so its own profile and
# features do not matter: always the dev build. Built first, because building it also builds
# this package's cdylib (with `cli`), which the next line then replaces.
cargo build -q -p hushwire-ffi --bin uniffi-bindgen --features cli
cargo build -q -p hushwire-ffi --lib "${cargo_args[@]}"
target_dir="$(cargo metadata -q --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
case "$(uname -s)" in
  Darwin) lib="$target_dir/$profile/libhushwire_ffi.dylib" ;;
  *) lib="$target_dir/$profile/libhushwire_ffi.so" ;;
esac
[ -f "$lib" ] || { echo "generate.sh: $lib was not built" >&2; exit 1; }

for lang in kotlin swift python; do
  rm -rf "${out:?}/$lang"
  mkdir -p "$out/$lang"
  # --no-format: ktlint / swift-format output would depend on which tools happen to be
  # installed, and the committed sources must be reproducible everywhere.
  "$target_dir/debug/uniffi-bindgen" generate --no-format \
    --library "$lib" --language "$lang" --out-dir "$out/$lang" >/dev/null
done
echo "$lib"
