#!/usr/bin/env bash
# Tools `make test` checks the deployment with, built from the Go module proxy at pinned
# versions into .run/tools/bin under versioned names, once (idempotent; a build lock serializes
# concurrent runs sharing .run/tools, like infra.sh's stripe-mock):
#
#   deploy/local/tools.sh install   helm and promtool, if missing
#   deploy/local/tools.sh env       export PAYSTREAM_HELM=... PAYSTREAM_PROMTOOL=...
#
# helm lints and renders deploy/helm/paystream; promtool checks and unit-tests the alert rules.
# The rendered manifests are validated against the Kubernetes schemas by kubernetes-validate,
# a Python package of the workspace that ships them.
set -euo pipefail

HELM_VERSION=v3.21.4        # Go module helm.sh/helm/v3
PROMETHEUS_VERSION=v0.316.0 # Go module github.com/prometheus/prometheus (Prometheus 3.x)

REPO=$(cd "$(dirname "$0")/../.." && pwd)
TOOLS="$REPO/.run/tools"
HELM_BIN="$TOOLS/bin/helm-$HELM_VERSION"
PROMTOOL_BIN="$TOOLS/bin/promtool-$PROMETHEUS_VERSION"

log() { echo "[tools] $*" >&2; }
die() { echo "[tools] error: $*" >&2; exit 1; }

go_install() { # module@version binary-name destination
  local pkg=$1 name=$2 dest=$3
  [ -x "$dest" ] && return 0
  command -v go >/dev/null || die "building $name needs Go on PATH"
  log "$name: go install $pkg (once; several minutes the first time)"
  local gobin="$TOOLS/bin/.gobin-$name-$$"
  mkdir -p "$gobin"
  GOBIN="$gobin" GOFLAGS=-buildvcs=false go install "$pkg" >&2 || die "go install $pkg failed"
  mv "$gobin/$name" "$dest"
  rmdir "$gobin"
}

install() {
  mkdir -p "$TOOLS/bin"
  exec 9>"$TOOLS/.install.lock"
  flock 9
  go_install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" helm "$HELM_BIN"
  go_install "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION" promtool "$PROMTOOL_BIN"
  exec 9>&-
}

case "${1:-}" in
  install) install ;;
  env)
    printf 'export PAYSTREAM_HELM=%q\n' "$HELM_BIN"
    printf 'export PAYSTREAM_PROMTOOL=%q\n' "$PROMTOOL_BIN"
    ;;
  *) die "usage: $0 install|env" ;;
esac
