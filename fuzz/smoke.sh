#!/usr/bin/env bash
# Builds every fuzz target once and runs each for SECONDS (default 20), starting from the
# committed seeds (fuzz/seeds/<target>/, copied into fuzz/corpus/<target>/). Prints, per
# target, the executions and time libFuzzer reports; exits non-zero on a crash (the input is
# left in fuzz/artifacts/<target>/ and the stack is printed).
#
#   bash fuzz/smoke.sh [SECONDS]     # CI: 9 targets x 20 s + build, about 4-5 minutes on 2 cores
#   bash fuzz/long.sh  [SECONDS]     # the same, 600 s per target by default
#
# Needs rustup's nightly toolchain (libFuzzer instrumentation) and cargo-fuzz, which it
# installs through scripts/install-deps.sh (or `cargo install cargo-fuzz --locked`).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
secs=${1:-20}
t_start=$SECONDS

if [ -f "$root/scripts/install-deps.sh" ]; then
    bash "$root/scripts/install-deps.sh" fuzz </dev/null
fi
if [ -f "$root/scripts/env.sh" ]; then
    # shellcheck disable=SC1091
    . "$root/scripts/env.sh"
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked </dev/null
fi
if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz/smoke.sh: the nightly toolchain is missing (rustup toolchain install nightly)" >&2
    exit 1
fi

cd "$here"
mapfile -t targets < <(cargo +nightly fuzz list)
t_build=$SECONDS
# Release build with debug assertions and overflow checks, AddressSanitizer (cargo-fuzz's defaults).
build_log=$(mktemp)
if ! cargo +nightly fuzz build >"$build_log" 2>&1 </dev/null; then
    grep -vE '^\s+(Compiling|Downloaded|Downloading)' "$build_log" >&2 || true
    rm -f "$build_log"
    echo "fuzz/smoke.sh: build failed" >&2
    exit 1
fi
grep -E '^(warning|error)|Finished' "$build_log" || true
rm -f "$build_log"
build_secs=$((SECONDS - t_build))

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
failed=()
summary=()
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    cp -n "seeds/$t/"* "corpus/$t/" 2>/dev/null || true
    log="$logs/$t.log"
    status=ok
    if ! cargo +nightly fuzz run "$t" "corpus/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$log" 2>&1 </dev/null; then
        status=CRASH
        failed+=("$t")
        echo "==== $t: CRASH; libFuzzer output (tail) ===="
        tail -n 60 "$log"
        grep -E 'Test unit written to|artifact_prefix' "$log" || true
    fi
    runs=$(sed -n 's/^stat::number_of_executed_runs:[[:space:]]*//p' "$log" | tail -n1)
    done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -n1 || true)
    if [ -z "$runs" ] && [ -n "$done_line" ]; then
        runs=$(echo "$done_line" | awk '{print $2}')
    fi
    took=$(echo "$done_line" | sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p')
    took=${took:-$secs}
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n1 | awk '{print $2}')
    units=$(find "corpus/$t" -type f | wc -l)
    rate=$(( ${runs:-0} / (took > 0 ? took : 1) ))
    summary+=("$(printf '%-22s %12s %6s s %9s/s %6s %7s   %s' "$t" "${runs:-?}" "$took" "$rate" "${cov:-?}" "$units" "$status")")
done

echo
echo "fuzz smoke: ${#targets[@]} targets, ${secs} s each, build ${build_secs} s, total $((SECONDS - t_start)) s"
printf '%-22s %12s %8s %11s %6s %7s   %s\n' target executions time rate cov corpus result
for line in "${summary[@]}"; do
    echo "$line"
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz smoke: FAILED (crash in: ${failed[*]}); inputs in fuzz/artifacts/<target>/" >&2
    exit 1
fi
echo "fuzz smoke: passed, no crash"
