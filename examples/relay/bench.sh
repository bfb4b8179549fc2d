#!/usr/bin/env bash
# Relay login benchmark (issue #18): login latency of one agent and a herd of 50 agents
# reconnecting at once right after a restart, against 10^4, 10^5 and 10^6 stored frames
# (1 000 assigned conversations over 50 agents, 50 waiting). A benchmark, not a test: the
# numbers depend on the machine. Writes examples/relay/BENCH.md.
#
#   bash examples/relay/bench.sh                  # this checkout's relay
#   BEFORE_REV=main bash examples/relay/bench.sh  # and the relay of another revision,
#                                                 # built from `git archive` and measured the same way
#   FRAMES=10000,100000 LOGINS=10 bash examples/relay/bench.sh   # a shorter run
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
frames=${FRAMES:-10000,100000,1000000}
logins=${LOGINS:-20}
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
cargo build --quiet --locked --release -p hushwire-relay
cargo bench --quiet --locked -p hushwire-relay --bench login --no-run
run() { # label relay-binary
    echo "### $1"
    echo
    cargo bench --quiet --locked -p hushwire-relay --bench login -- --relay "$2" --frames "$frames" --logins "$logins"
    echo
}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
{
    echo "# Relay login benchmark"
    echo
    echo "\`bash examples/relay/bench.sh\` (issue #18). Goal: one login well under 50 ms with 10^6"
    echo "frames stored; 50 agents reconnecting at once after a restart all served in under 1 s."
    echo "Each login is timed from connect until its last \`assigned\`/\`waiting\` frame; $logins"
    echo "sequential logins per size (after one warm-up), then the relay is restarted on the same"
    echo "database and 50 agents log in concurrently while one visitor posts 10 messages one"
    echo "after another (time to each ack: posts share the store with logins). \"relay start\""
    echo "includes opening the database"
    echo "(and, for a newer relay on this version-0 database, migrating it)."
    echo
    echo "Machine: $(nproc) cores, $(uname -sm), $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | xargs || echo unknown CPU); $(date -u +%Y-%m-%d)."
    echo
    if [ -n "${BEFORE_REV:-}" ]; then
        src=$(mktemp -d)
        git archive "$BEFORE_REV" | tar -x -C "$src"
        (cd "$src" && CARGO_TARGET_DIR="$target_dir/before" cargo build --quiet --locked --release -p hushwire-relay)
        rm -rf "$src"
        run "before: relay of $BEFORE_REV ($(git rev-parse --short "$BEFORE_REV"))" "$target_dir/before/release/hushwire-relay"
    fi
    run "after: this relay ($(git rev-parse --short HEAD)$(git diff --quiet HEAD -- examples/relay/src examples/relay/Cargo.toml || echo ', with uncommitted changes'))" "$target_dir/release/hushwire-relay"
    cat <<'NOTES'
Reading the numbers: in relays without TCP_NODELAY (before), every login pays about 40 ms
of Nagle's algorithm meeting the client's delayed ACK, whatever is stored. Beyond that their
login cost grows with the stored frames: the waiting-list query scanned the frames table,
under the one store mutex every post also takes, so a herd is served one login after
another and a post waits behind it (the "max" post column). After: TCP_NODELAY, every login
query on an index (plans checked by `store::tests::every_query_plan_uses_an_index`), reads on
their own connections beside the writer. "relay start" of the after rows includes the
one-time in-place migration of this version-0 database (prev links, per-sender and hello
columns), which a relay upgraded in production pays once.
NOTES
} | tee "$out"
# Keep the throughput section (examples/relay/bench-throughput.sh) after the login numbers.
python3 - "$here/BENCH.md" "$out" <<'PY'
import sys
path, new = sys.argv[1], open(sys.argv[2]).read()
marker = "<!-- throughput: written by examples/relay/bench-throughput.sh -->"
try:
    old = open(path).read()
except FileNotFoundError:
    old = ""
tail = marker + old.split(marker, 1)[1] if marker in old else ""
open(path, "w").write(new.rstrip("\n") + ("\n\n" + tail if tail else "\n"))
PY
