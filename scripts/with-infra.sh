#!/usr/bin/env bash
# Run a command with the local infrastructure of $PAYSTREAM_RUN_DIR up and its env exported.
# Stops the infrastructure afterwards only if this script started it (so `make test` cleans up
# after itself, and `make run` leaves alone an infra someone started with `make infra-up`).
set -euo pipefail
cd "$(dirname "$0")/.."
infra=deploy/local/infra.sh
# `make test` sets PAYSTREAM_TEST_CONTAINERS=auto: where a Docker engine answers (asked over its
# API, not guessed from the `docker` client), Kafka, PostgreSQL and stripe-mock run in containers
# started by testcontainers for the length of the command; the local infrastructure otherwise.
if [ "${PAYSTREAM_TEST_CONTAINERS:-}" = auto ] && .venv/bin/python -m paystream.devtools.containers engine 2>/dev/null; then
  exec .venv/bin/python -m paystream.devtools.containers run -- "$@"
fi
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
