#!/usr/bin/env bash
# What the web app's side needs from Debian, installed once, idempotently (apt, like PostgreSQL in
# infra.sh):
#   fonts    the PDF fonts of invoicing: fonts-wqy-microhei (Latin, Cyrillic, Greek and CJK in one
#            font) and fonts-dejavu-core (bold labels)           -> `make run`, `make test`
#   pdftools pdftoppm, to picture an invoice PDF                   -> `make screenshots`
#   browser  Debian's Chromium and ChromeDriver for the browser tests (a test tool's own browser
#            download cannot work here; see tests/browser)          -> `make test`
# Usage: deploy/local/desktop.sh fonts [browser]
set -euo pipefail

log() { printf '[desktop] %s\n' "$*" >&2; }
die() { printf '[desktop] ERROR: %s\n' "$*" >&2; exit 1; }

need=()
for what in "$@"; do
  case "$what" in
    fonts)
      [ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
      [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ] || need+=(fonts-dejavu-core)
      ;;
    browser)
      [ -x /usr/bin/chromium ] || need+=(chromium)
      [ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
      ;;
    pdftools)
      [ -x /usr/bin/pdftoppm ] || need+=(poppler-utils)
      ;;
    *) die "unknown: $what (fonts | browser)" ;;
  esac
done
[ "${#need[@]}" = 0 ] && exit 0
[ "$(id -u)" = 0 ] || die "missing ${need[*]}; install them (apt-get install -y ${need[*]}) or run as root"
log "apt-get install -y ${need[*]}"
# Two installs at once (two worktrees) wait for apt's lock instead of failing.
apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${need[@]}" >&2
