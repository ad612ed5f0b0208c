#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (Playwright cannot download browsers here).
# Installs it (and a font) when missing and we are root; otherwise says what to install and fails.
# CHROMIUM names the browser to use (default /usr/bin/chromium); tests/test_browser_deps.py runs this
# script with a stand-in PATH (id, apt-get) to check each branch.
set -euo pipefail
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
WHAT="run 'sudo apt-get install -y chromium fonts-dejavu-core' (or set CHROMIUM=/path/to/chromium)"
[ -x "$CHROMIUM" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Chromium for the browser tests (apt-get install chromium fonts-dejavu-core)…"
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; }; then
    echo "The browser tests need Chromium, and installing it with apt-get failed (see above): $WHAT." >&2
    exit 1
  fi
  # apt-get may succeed without putting a browser at $CHROMIUM (another distribution, another path)
  [ -x "$CHROMIUM" ] && exit 0
  echo "apt-get installed chromium, but there is no Chromium at $CHROMIUM: set CHROMIUM=/path/to/chromium." >&2
  exit 1
fi
echo "The browser tests need Chromium at $CHROMIUM: $WHAT." >&2
exit 1
