#!/usr/bin/env bash
# Makes sure Debian's chromium is installed: the dashboard's tests drive it headless (playwright-core
# only drives the installed binary; nothing is downloaded). Runs before `npm test` and in .ci/run.
# Idempotent: does nothing when /usr/bin/chromium (or $CHROMIUM_PATH) exists.
set -euo pipefail
bin="${CHROMIUM_PATH:-/usr/bin/chromium}"
[ -x "$bin" ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-chromium: $bin is missing; the dashboard's browser tests need it:" >&2
  echo "  sudo apt-get install -y chromium   (or set CHROMIUM_PATH to a Chromium binary)" >&2
  exit 1
fi
echo "install-chromium: apt-get install chromium (once; for the dashboard's browser tests)"
apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
[ -x "$bin" ] || { echo "install-chromium: chromium did not install" >&2; exit 1; }
