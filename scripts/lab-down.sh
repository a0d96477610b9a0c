#!/usr/bin/env bash
# Stop and remove the lab's containers and network (images are kept).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! docker compose down --remove-orphans "$@" >"$log" 2>&1; then
  cat "$log" >&2
  echo "$(basename "$0"): error: docker compose down failed" >&2
  exit 1
fi
