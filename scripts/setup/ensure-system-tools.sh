#!/usr/bin/env bash
# Tools the tests take from Debian, never downloaded by the tests themselves:
#   chromium  the dashboard's browser tests drive it through playwright-core;
#   promtool  (package prometheus) checks the monitoring pack's alerting rules;
#   amtool    (package prometheus-alertmanager) checks the example Alertmanager configuration and its routes.
# Installs what is missing when this machine can (root with apt-get); otherwise says what to do.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's ${missing[*]} for the tests (once)" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
    echo "could not install ${missing[*]} (offline, or no such package here): apt-get install ${missing[*]}" >&2
    exit 1
  fi
  # The packages start servers; the tests need only promtool and amtool.
  if command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now prometheus prometheus-alertmanager >/dev/null 2>&1 || true
  fi
  exit 0
fi
echo "the tests need Debian's ${missing[*]}: apt-get install ${missing[*]}" >&2
exit 1
