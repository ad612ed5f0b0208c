#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (Playwright cannot download browsers here).
# Installs it (and a font) when missing and we are root; otherwise says what to install and fails.
set -euo pipefail
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Chromium for the browser tests (apt-get install chromium fonts-dejavu-core)…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
  exit 0
fi
echo "The browser tests need Chromium at $CHROMIUM: run 'sudo apt-get install -y chromium fonts-dejavu-core' (or set CHROMIUM=/path/to/chromium)." >&2
exit 1
