#!/usr/bin/env bash
# One command for the web demo: builds the npm package (bindings/wasm/build.sh), the relay and
# the agent CLI, creates a demo organisation and agent under target/demo if missing, and starts
# the relay on 127.0.0.1 (PORT, default 8080; PORT=0 picks a free one). Ctrl-C stops it.
#
#   bash examples/run-demo.sh            # then open the printed URLs
#   PORT=9000 bash examples/run-demo.sh
#
# Works on a fresh Debian 12 machine with rustup: build.sh installs its own tools through
# scripts/install-deps.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
port=${PORT:-8080}
demo="$root/target/demo"

if [ ! -f bindings/wasm/pkg/index.js ] || [ "${HUSHWIRE_REBUILD:-}" = 1 ]; then
    echo "==> building the npm package (bindings/wasm/build.sh)"
    bash bindings/wasm/build.sh
fi
echo "==> building the relay and the agent CLI"
cargo build --quiet --locked -p hushwire-relay -p hushwire-agent-cli
bin="$root/target/debug"

if [ ! -f "$demo/org/org.key" ]; then
    echo "==> creating the demo organisation"
    "$bin/hushwire-agent" init-org --dir "$demo/org" >/dev/null
fi
if [ ! -f "$demo/agent/identity.sealed" ]; then
    echo "==> certifying the demo agent"
    "$bin/hushwire-agent" certify-agent --org-dir "$demo/org" --agent-id alice@shop.example \
        --device-id web-console --days 30 --out "$demo/agent" >/dev/null
fi
# Served under /demo: the org's public key (which the widget pins) and, DEMO ONLY, the agent
# console's identity file with its storage key.
mkdir -p "$demo/public"
cp "$demo/org/org.json" "$demo/public/org.json"
install -m 600 "$demo/agent/agent-console.json" "$demo/public/agent-console.json"

HUSHWIRE_AGENT_TOKENS="alice@shop.example:$(cat "$demo/agent/relay-token")"
export HUSHWIRE_AGENT_TOKENS
fifo=$(mktemp -u)
mkfifo "$fifo"
"$bin/hushwire-relay" --bind "127.0.0.1:$port" --db "$demo/relay.sqlite3" \
    --static examples/web-chat --mount "/pkg=bindings/wasm/pkg" --mount "/demo=$demo/public" >"$fifo" &
relay=$!
trap 'kill -TERM $relay 2>/dev/null; wait $relay; rm -f "$fifo"' INT TERM EXIT
read -r banner <"$fifo"
rm -f "$fifo"
url=${banner##* }
cat <<MSG

  hushwire demo is running ($banner)
    visitor widget:  $url/visitor.html
    agent console:   $url/agent.html
    terminal agent:  $bin/hushwire-agent chat --relay $url --identity $demo/agent
                     (use either the console or the terminal: both are the same agent)
  Relay database: $demo/relay.sqlite3. Ctrl-C stops the relay.

MSG
wait $relay
