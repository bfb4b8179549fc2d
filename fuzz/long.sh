#!/usr/bin/env bash
# Longer fuzzing run: every target for SECONDS (default 600 = 10 minutes each).
#   bash fuzz/long.sh [SECONDS]
set -euo pipefail
exec bash "$(dirname "$0")/smoke.sh" "${1:-600}"
