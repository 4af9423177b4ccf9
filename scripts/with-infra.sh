#!/usr/bin/env bash
# Run a command with the local infrastructure of $PAYSTREAM_RUN_DIR up and its env exported.
# Stops the infrastructure afterwards only if this script started it (so `make test` cleans up
# after itself, and `make run` leaves alone an infra someone started with `make infra-up`).
set -euo pipefail
cd "$(dirname "$0")/.."
infra=deploy/local/infra.sh
if "$infra" status --quiet; then started=0; else started=1; fi
cleanup() {
  local rc=$?
  if [ "$started" = 1 ] && [ "${PAYSTREAM_KEEP_INFRA:-0}" != 1 ]; then
    "$infra" down || true
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
"$infra" up
eval "$("$infra" env)"
"$@"
