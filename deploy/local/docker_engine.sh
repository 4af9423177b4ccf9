#!/usr/bin/env bash
# Exit 0 only if a Docker ENGINE answers, not merely because the `docker` client is installed
# (this machine has the client and no engine). Prints the engine version on success.
#
#   deploy/local/docker_engine.sh && docker compose up --build
#
# PAYSTREAM_DOCKER_TIMEOUT (seconds, default 5) bounds the probe: an unreachable remote
# DOCKER_HOST must not hang the caller.
set -euo pipefail

if ! command -v docker >/dev/null 2>&1; then
  echo "docker_engine: no docker client on PATH" >&2
  exit 1
fi
version=$(timeout "${PAYSTREAM_DOCKER_TIMEOUT:-5}" docker info --format '{{.ServerVersion}}' 2>/dev/null) || {
  echo "docker_engine: no Docker engine answers (docker info failed or timed out; DOCKER_HOST=${DOCKER_HOST:-default})" >&2
  exit 1
}
if [ -z "$version" ] || [ "$version" = "<no value>" ]; then
  echo "docker_engine: docker info reported no server version" >&2
  exit 1
fi
echo "docker engine $version"
