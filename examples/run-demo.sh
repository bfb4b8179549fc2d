#!/usr/bin/env bash
# One command for the web demo: builds the npm package (bindings/wasm/build.sh), the relay and
# the agent CLI, creates a demo organisation and terminal agent under target/demo if missing,
# and starts the relay on 127.0.0.1 (PORT, default 8080; PORT=0 picks a free one). Ctrl-C
# stops it.
#
#   bash examples/run-demo.sh            # then open the printed URLs
#   PORT=9000 bash examples/run-demo.sh
#
# The relay serves public data only: the pages, the npm package, and /demo/org.json (the
# organisation's public key). The web agent console enrols itself: it generates its device
# key in the browser and shows the public key; paste that key here (this terminal is the
# organisation admin) and this script certifies it with `hushwire-agent certify` and prints
# the certificate to paste back into the console. Nothing is certified unless you paste it:
# a key reported by the relay is never trusted. The console's relay token is in the fragment
# of the printed login URL (never sent to any server).
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

mkdir -p "$demo"
chmod 700 "$demo"
if [ ! -f "$demo/org/org.key" ]; then
    echo "==> creating the demo organisation"
    "$bin/hushwire-agent" init-org --dir "$demo/org" >/dev/null
fi
if [ ! -f "$demo/agent/identity.sealed" ]; then
    echo "==> certifying the demo terminal agent"
    "$bin/hushwire-agent" certify-agent --org-dir "$demo/org" --agent-id alice@shop.example \
        --device-id terminal --out "$demo/agent" >/dev/null
fi
if [ ! -f "$demo/console-token" ]; then
    # The web console's relay login (0600); shown only in the login URL printed below.
    (umask 077 && head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$demo/console-token")
fi
console_token=$(cat "$demo/console-token")
# Served under /demo: public data only (earlier versions of this demo also put the agent's
# identity and storage key here: remove any such leftovers).
rm -rf "$demo/public"
mkdir -p "$demo/public"
cp "$demo/org/org.json" "$demo/public/org.json"

HUSHWIRE_AGENT_TOKENS="alice@shop.example:$(cat "$demo/agent/relay-token"),alice-web-console:$console_token"
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
certify=("$bin/hushwire-agent" certify --org-dir "$demo/org" --agent-id alice@shop.example --device-id web-console)
cat <<MSG

  hushwire demo is running ($banner)
    visitor widget:  $url/visitor.html
    agent console:   $url/agent.html#token=$console_token
                     (the login URL: keep it to yourself, the fragment is the relay token)
    certify the key the console shows (as the organisation admin):
                     ${certify[*]} --public-key KEY
    terminal agent:  $bin/hushwire-agent chat --relay $url --identity $demo/agent
  Relay database: $demo/relay.sqlite3. Ctrl-C stops the relay.

MSG
if [ -t 0 ]; then
    # Drive the certify step from this terminal: the person reads the key off the console.
    while printf 'Paste the public key the agent console shows to certify it (Ctrl-C stops the demo):\n> ' &&
        read -r key; do
        [ -n "$key" ] || continue
        if cert=$("${certify[@]}" --public-key "$key"); then
            printf '\nCertificate (paste it into the console):\n\n%s\n\n' "$cert"
        fi
    done
fi
wait $relay
