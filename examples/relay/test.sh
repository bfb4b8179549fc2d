#!/usr/bin/env bash
# Tests of the relay, the agent CLI and the web chat demo:
#   1. Rust integration tests: the relay binary against a tokio-tungstenite client on a free
#      loopback port (garbage/oversized frames, wrong tokens, foreign conversations, rate
#      limits, ack-after-commit under SIGKILL, SIGTERM shutdown, restarts keep history), and
#      the agent CLI chatting with a Rust visitor through the relay.
#   2. Browser end-to-end: headless Debian Chromium via playwright-core drives visitor.html
#      and agent.html against the relay (reload, relay restart, no plaintext at rest or in
#      logs or frames, a tampering relay shows warnings). Screenshots: target/e2e-screenshots/.
# Installs what it needs through scripts/install-deps.sh (browser; the npm package build
# installs the wasm tools). Exits non-zero on any failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

t0=$SECONDS
cargo build --quiet --locked -p hushwire-relay -p hushwire-agent-cli
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! cargo test --locked -p hushwire-relay -p hushwire-agent-cli >"$log" 2>&1; then
    cat "$log"
    echo "FAIL: relay / agent CLI tests" >&2
    exit 1
fi
grep -E '^(test |test result:|     Running)' "$log"
echo "relay + agent CLI Rust tests: $((SECONDS - t0)) s"

t1=$SECONDS
if [ -f scripts/install-deps.sh ]; then
    bash scripts/install-deps.sh browser
fi
if [ -f scripts/env.sh ]; then
    # shellcheck source=/dev/null
    . scripts/env.sh
fi
if [ ! -f bindings/wasm/pkg/index.js ] || [ "${HUSHWIRE_REBUILD_PKG:-}" = 1 ]; then
    bash bindings/wasm/build.sh
fi
node examples/web-chat/e2e.cjs
echo "browser e2e: $((SECONDS - t1)) s"
