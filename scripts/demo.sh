#!/usr/bin/env bash
# Runs the demo: the reference relay and the web chat on 127.0.0.1 (examples/run-demo.sh),
# printing the URLs to open. `--in-memory` runs the smallest demo instead: a visitor and an
# agent in one process, talking through an in-memory relay that prints only ciphertext.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--in-memory" ]; then
    exec cargo run --quiet --locked -p hushwire-example-in-memory
fi
exec bash examples/run-demo.sh "$@"
