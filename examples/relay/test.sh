#!/usr/bin/env bash
# Tests of the relay, the agent CLI and the web chat demo:
#   1. Rust integration tests, without and with the test-only `tamper` feature, and a check
#      that the release relay binary has no tamper mode: the relay binary against a tokio-tungstenite client on a free
#      loopback port (garbage/oversized frames, wrong tokens, foreign conversations, rate
#      limits, ack-after-commit under SIGKILL, SIGTERM shutdown, restarts keep history, ordered
#      exactly-once delivery (M2/M3 sequence, a property test), idempotent resends, SIGKILL
#      mid-load with resends; query plans), and the agent CLI chatting with a Rust visitor
#      through the relay (including a resend after SIGKILL).
#   2. Browser end-to-end over HTTPS (the relay's gen-cert pair, trusted by its key): headless
#      Debian Chromium via playwright-core drives visitor.html
#      and agent.html against the relay (reload, relay restart, no plaintext at rest or in
#      logs or frames, a tampering relay shows warnings, M2/M3 and kill -9 with lost acks staged
#      through routeWebSocket; attachments both ways, inline image, drag-and-drop, ciphertext-only
#      blob storage, a tampered blob shown as ATTACHMENT_CORRUPTED). Screenshots: target/e2e-screenshots/.
# Installs what it needs through scripts/install-deps.sh (browser; the npm package build
# installs the wasm tools). Exits non-zero on any failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

t0=$SECONDS
log=$(mktemp)
trap 'rm -f "$log"' EXIT
run_tests() {
    if ! cargo test --locked "$@" >"$log" 2>&1; then
        cat "$log"
        echo "FAIL: cargo test $*" >&2
        exit 1
    fi
    grep -E '^(test |test result:|     Running)' "$log"
}
# Without the `tamper` feature (as released: `--tamper` must be refused), then with it (the
# tamper-mode tests). The browser e2e needs tamper mode: it gets its own copy of that binary,
# whatever later builds put in target/debug.
run_tests -p hushwire-relay
cargo build --quiet --locked -p hushwire-relay --features tamper -p hushwire-agent-cli
tamper_relay="$root/target/e2e/hushwire-relay-tamper"
mkdir -p "$(dirname "$tamper_relay")"
cp "$root/target/debug/hushwire-relay" "$tamper_relay"
run_tests -p hushwire-relay --features tamper
run_tests -p hushwire-agent-cli
echo "relay + agent CLI Rust tests: $((SECONDS - t0)) s"

# The release relay must not contain the test-only tamper mode: the flag is refused and the
# code behind it (its log line and mode names) is not in the binary.
t2=$SECONDS
cargo build --quiet --locked --release -p hushwire-relay
release="$root/target/release/hushwire-relay"
# clap's usage error is exit 2; a relay that started would be stopped by timeout (124).
rc=0
timeout 10 "$release" --db "$(mktemp -u)" --bind 127.0.0.1:0 --tamper flip-byte >/dev/null 2>&1 || rc=$?
if [ "$rc" -ne 2 ]; then
    echo "FAIL: the release relay did not refuse --tamper (exit $rc)" >&2
    exit 1
fi
if grep -a -q -e 'TEST MODE: tampering' -e 'flip-byte' "$release"; then
    echo "FAIL: the release relay binary contains the tamper mode" >&2
    exit 1
fi
echo "release relay has no tamper mode: 1 passed, 0 failed ($((SECONDS - t2)) s)"

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
HUSHWIRE_RELAY_BIN="$tamper_relay" node examples/web-chat/e2e.cjs
echo "browser e2e: $((SECONDS - t1)) s"
