#!/usr/bin/env bash
# Runs the demo: a visitor and an agent complete a handshake and chat through an in-memory
# relay that prints only the ciphertext it carries. Once the web demo exists
# (examples/run-demo.sh) this starts the relay server and web chat instead.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f examples/run-demo.sh ] && [ "${1:-}" != "--in-memory" ]; then
    exec bash examples/run-demo.sh "$@"
fi
exec cargo run --quiet --locked -p hushwire-example-in-memory
