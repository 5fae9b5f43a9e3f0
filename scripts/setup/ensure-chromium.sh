#!/usr/bin/env bash
# The dashboard's browser tests drive Debian's chromium through playwright-core (no browser is downloaded).
# Installs it when it is missing and this machine can (root with apt-get); otherwise says what to do.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser tests (once)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "the browser tests need /usr/bin/chromium: install Debian's chromium (apt-get install chromium)" >&2
exit 1
