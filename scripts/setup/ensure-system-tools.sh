#!/usr/bin/env bash
# Tools the tests take from Debian, never downloaded by the tests themselves:
#   chromium  the dashboard's browser tests drive it through playwright-core;
#   promtool  (package prometheus) checks the monitoring pack's alerting rules.
# Installs what is missing when this machine can (root with apt-get); otherwise says what to do.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's ${missing[*]} for the tests (once)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The prometheus package starts a server; the tests need only promtool.
  if command -v systemctl >/dev/null 2>&1; then systemctl disable --now prometheus >/dev/null 2>&1 || true; fi
  exit 0
fi
echo "the tests need Debian's ${missing[*]}: apt-get install ${missing[*]}" >&2
exit 1
