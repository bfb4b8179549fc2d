#!/usr/bin/env bash
# Relay throughput benchmark (issue #19): closed-loop throughput at 50/200/1000
# conversations, p99 delivery latency at 1000 conversations x 2 frames/s, resident memory and
# time to open the conversations, each against a bare WebSocket echo server driven by the
# same client in the same run (benches/throughput.rs). Load on 127.0.0.1 only; each phase is
# bounded in time, a run takes a minute or two. A benchmark, not a test. Replaces the
# throughput section of examples/relay/BENCH.md.
#
#   bash examples/relay/bench-throughput.sh                  # this checkout's relay
#   BEFORE_REV=main bash examples/relay/bench-throughput.sh  # and the relay of another revision
#   SIZES=50,200 SECONDS_PER_PHASE=2 bash examples/relay/bench-throughput.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
sizes=${SIZES:-50,200,1000}
secs=${SECONDS_PER_PHASE:-4}
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
cargo build --quiet --locked --release -p hushwire-relay
cargo bench --quiet --locked -p hushwire-relay --bench throughput --no-run
run() { # label relay-binary [agents per organisation]
    echo "### $1"
    echo
    cargo bench --quiet --locked -p hushwire-relay --bench throughput -- --relay "$2" --sizes "$sizes" --seconds "$secs" ${3:+--org-size "$3"}
    echo
}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
{
    echo "<!-- throughput: written by examples/relay/bench-throughput.sh -->"
    echo "## Throughput, latency, memory, setup (issue #19)"
    echo
    echo "\`bash examples/relay/bench-throughput.sh\`. Each conversation is a visitor and an agent"
    echo "connection (one agent per conversation); 563-byte post frames; every frame acked after"
    echo "its commit (WAL, synchronous=FULL). Closed loop: each conversation keeps one frame in"
    echo "flight (the next is posted once the agent has the previous one), ${secs} s. Latency: post"
    echo "to delivery at the agent, each conversation posting 2 frames/s for ${secs} s. RSS: the relay"
    echo "process with all conversations open and idle (per conversation = two connections,"
    echo "beyond the empty relay). Open: all agents logged in, then every visitor creates and"
    echo "posts a hello at once, until every agent has accepted and synced its conversation"
    echo "(echo: as many connections each echoing one frame). Echo: a bare tokio-tungstenite"
    echo "echo server in the benchmark's process, driven by the same client."
    echo
    echo "Machine: $(nproc) cores, $(uname -sm), shared with other builds and tests while measured"
    echo "(load average $(cut -d' ' -f1-3 /proc/loadavg)): the client, the relay and the echo server share"
    echo "the same 2 cores, so absolute numbers are noisy and the echo server is client-bound; compare"
    echo "the ratios within one run. $(date -u +%Y-%m-%d)."
    echo
    if [ -n "${BEFORE_REV:-}" ]; then
        src=$(mktemp -d)
        git archive "$BEFORE_REV" | tar -x -C "$src"
        (cd "$src" && CARGO_TARGET_DIR="$target_dir/before" cargo build --quiet --locked --release -p hushwire-relay)
        rm -rf "$src"
        run "before: relay of $BEFORE_REV ($(git rev-parse --short "$BEFORE_REV"))" "$target_dir/before/release/hushwire-relay"
    fi
    rev="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- examples/relay/src examples/relay/Cargo.toml || echo ', with uncommitted changes')"
    run "after: this relay ($rev), single-tenant (every agent in one organisation)" "$target_dir/release/hushwire-relay"
    run "after: this relay ($rev), multi-tenant: organisations of ${ORG_SIZE:-10} agents" "$target_dir/release/hushwire-relay" "${ORG_SIZE:-10}"
} | tee "$out"
python3 - "$here/BENCH.md" "$out" <<'PY'
import sys
path, new = sys.argv[1], open(sys.argv[2]).read()
text = open(path).read()
marker = "<!-- throughput: written by examples/relay/bench-throughput.sh -->"
head = text.split(marker)[0].rstrip("\n")
open(path, "w").write(head + "\n\n" + new)
PY
