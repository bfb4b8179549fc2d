#!/usr/bin/env bash
# Runs the comparative benchmarks (hushwire next to snow, vodozemac and the AES-256-GCM floor,
# all in this one run) and the memory measurement, then prints ONE markdown table with ratios
# and the machine, and writes it to benches/REPORT.md.
#
#   bash benches/report.sh            # ~3 minutes once built (short criterion measurements)
#   MEASURE=5 bash benches/report.sh  # longer measurement per benchmark (seconds)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"
t0=$SECONDS
measure=${MEASURE:-2}
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')

# Fresh results only: the table is built from this run's estimates.
rm -rf "$target_dir/criterion/handshake" "$target_dir/criterion/message" \
    "$target_dir/criterion/history" "$target_dir/criterion/import"

t_build=$SECONDS
cargo bench -p hushwire-benches --no-run 2>&1 | grep -E '^(error|warning)' -A5 || true
build_secs=$((SECONDS - t_build))
t_run=$SECONDS
cargo bench -p hushwire-benches --bench handshake --bench messages --bench history -- \
    --warm-up-time 1 --measurement-time "$measure" 2>&1 | grep -E '^[a-z_]+/|time:' || true
memory_tsv=$(mktemp)
trap 'rm -f "$memory_tsv"' EXIT
cargo bench -p hushwire-benches --bench memory -- --tsv >"$memory_tsv"

run_secs=$((SECONDS - t_run))

# Optional: the WebAssembly build next to JS libraries (benches/js, owned by the wasm side).
js_out=""
if [ -f "$here/js/bench.mjs" ] && [ -d "$root/bindings/wasm/pkg" ] && command -v node >/dev/null; then
    if [ -f "$here/js/package.json" ] && [ ! -d "$here/js/node_modules" ]; then
        (cd "$here/js" && timeout 180 npm install --no-audit --no-fund --silent </dev/null >/dev/null 2>&1) || true
    fi
    if ! js_out=$(cd "$here/js" && timeout 120 node bench.mjs 2>&1 </dev/null); then
        js_out="(skipped: benches/js/bench.mjs failed: $(echo "$js_out" | grep -m1 -E 'Error|error' || true))"
    fi
fi

# The attachment section is measured by hand (its 1 GiB memory run is too heavy for every
# report): keep it from the previous REPORT.md.
attachments=""
if [ -f "$here/REPORT.md" ]; then
    attachments=$(sed -n '/^## Attachments/,$p' "$here/REPORT.md")
fi
python3 "$here/report.py" "$target_dir/criterion" "$memory_tsv" "build ${build_secs} s, benchmarks ${run_secs} s, total $((SECONDS - t0)) s" "$js_out" | tee "$here/REPORT.md"
if [ -n "$attachments" ]; then
    printf '\n%s\n' "$attachments" >>"$here/REPORT.md"
fi
