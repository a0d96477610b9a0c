#!/usr/bin/env bash
# Installs what `npm run bench` compares against, from Debian's packages, when missing:
# nginx (nginx-light), haproxy, caddy, wrk (the closed-loop load generator: C, so it leaves the CPU to the
# proxies, unlike autocannon) and rsvg-convert (librsvg2-bin, to look at the SVG chart as a PNG).
# The services are NOT started: the bench runs its own nginx/HAProxy/Caddy on loopback ports with
# configs in a temp dir. Needs root (apt-get).
set -euo pipefail

need=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
command -v caddy >/dev/null 2>&1 || need+=(caddy)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v rsvg-convert >/dev/null 2>&1 || need+=(librsvg2-bin)
if [ ${#need[@]} -eq 0 ]; then
  echo "bench-deps: nginx, haproxy, caddy, wrk and rsvg-convert are installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "bench-deps: run as root to install: apt-get install ${need[*]}" >&2
  exit 1
fi
# Keep the packages' init scripts from starting system-wide nginx/haproxy on port 80.
made_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  made_policy=1
fi
cleanup() { if [ "$made_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT
echo "bench-deps: apt-get install ${need[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Where systemd is running, make sure the system services stay off.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  for s in nginx haproxy caddy; do systemctl disable --now "$s" >/dev/null 2>&1 || true; done
fi
echo "bench-deps: done"
