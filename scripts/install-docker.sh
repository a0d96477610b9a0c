#!/usr/bin/env bash
# Make sure a working Docker engine and the `docker compose` v2 plugin are
# available (Debian 12, run as root). Idempotent; quiet on success.
#
#   - dockerd missing        -> apt-get install docker.io
#   - `docker compose` missing -> take the v2 plugin binary from Debian trixie's
#                               docker-compose package, fetched with a private
#                               apt configuration (system sources untouched)
#   - dockerd not running    -> systemctl start docker, or (no systemd)
#                               nohup dockerd, logs in /var/log/dockerd.log
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

PLUGIN_DIR=/usr/local/lib/docker/cli-plugins
COMPOSE_SUITE=trixie
DOCKERD_LOG=/var/log/dockerd.log
export DEBIAN_FRONTEND=noninteractive

compose_ok() {
  # v2 prints e.g. "Docker Compose version v2.26.1" or "... version 2.26.1".
  local out
  out="$(docker compose version 2>/dev/null)" || return 1
  [[ "$out" =~ version\ v?2\. ]]
}

if docker info >/dev/null 2>&1 && compose_ok; then
  exit 0
fi

[ "$(id -u)" -eq 0 ] || zdl_die "Docker is not ready and installing it needs root (run: sudo bash $0)"

log="$(mktemp)"
tmp=""
cleanup() { rm -f "$log"; [ -z "$tmp" ] || rm -rf "$tmp"; }
trap cleanup EXIT
# Run quietly; on failure show what the command printed.
quiet() {
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    zdl_die "command failed: $*"
  fi
}

# --- 1. Engine ---------------------------------------------------------------
if ! command -v dockerd >/dev/null 2>&1; then
  quiet apt-get update -q
  quiet apt-get install -y -q --no-install-recommends docker.io ca-certificates
fi
command -v docker >/dev/null 2>&1 || zdl_die "no docker client on PATH after installing docker.io"

# --- 2. Compose v2 plugin ----------------------------------------------------
if ! compose_ok; then
  mirror="$(zdl_debian_mirror)" || zdl_die "cannot find the Debian mirror in /etc/apt/sources.list(.d)"
  arch="$(dpkg --print-architecture)"
  tmp="$(mktemp -d)"
  mkdir -p "$tmp/etc/parts" "$tmp/etc/prefs" "$tmp/lists/partial" \
    "$tmp/cache/archives/partial" "$tmp/state" "$tmp/pkg" "$tmp/x"
  : >"$tmp/state/status"
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  [ -r "$keyring" ] || keyring=/usr/share/keyrings/debian-archive-$COMPOSE_SUITE-automatic.gpg
  echo "deb [arch=$arch signed-by=$keyring] $mirror $COMPOSE_SUITE main" >"$tmp/etc/sources.list"
  apt_private=(
    -o "Dir::Etc::SourceList=$tmp/etc/sources.list"
    -o "Dir::Etc::SourceParts=$tmp/etc/parts"
    -o "Dir::Etc::Preferences=$tmp/etc/prefs/none"
    -o "Dir::Etc::PreferencesParts=$tmp/etc/prefs"
    -o "Dir::State=$tmp/state"
    -o "Dir::State::Lists=$tmp/lists"
    -o "Dir::State::status=$tmp/state/status"
    -o "Dir::Cache=$tmp/cache"
    -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
    -o "APT::Architecture=$arch" -o "APT::Architectures=$arch"
    -o "Acquire::Languages=none"
  )
  quiet apt-get "${apt_private[@]}" -q update
  (cd "$tmp/pkg" && quiet apt-get "${apt_private[@]}" -q download docker-compose)
  deb="$(find "$tmp/pkg" -name 'docker-compose_*.deb' | head -n1)"
  [ -n "$deb" ] || zdl_die "apt-get download docker-compose ($COMPOSE_SUITE) produced no .deb"
  quiet dpkg-deb -x "$deb" "$tmp/x"
  bin="$(find "$tmp/x" -path '*/cli-plugins/docker-compose' -type f | head -n1)"
  [ -n "$bin" ] || zdl_die "no cli-plugins/docker-compose binary in $(basename "$deb")"
  install -D -m 0755 "$bin" "$PLUGIN_DIR/docker-compose"
  compose_ok || zdl_die "docker compose still not v2 after installing $PLUGIN_DIR/docker-compose"
fi
# Both the client on PATH and Debian's /usr/bin/docker must see the plugin
# (/usr/local/lib/docker/cli-plugins is on the search path of both).
for client in /usr/bin/docker /usr/local/bin/docker; do
  [ -x "$client" ] || continue
  "$client" compose version >/dev/null 2>&1 || zdl_die "$client does not find the compose plugin"
done

# --- 3. Daemon ---------------------------------------------------------------
if ! docker info >/dev/null 2>&1; then
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    quiet systemctl start docker
  elif [ -s /var/run/docker.pid ] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    : # already starting (or wedged): just wait for it below
  else
    # Detached from this shell (own session), so it outlives CI steps.
    setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
  fi
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  if ! docker info >/dev/null 2>&1; then
    tail -n 20 "$DOCKERD_LOG" >&2 2>/dev/null || true
    zdl_die "dockerd did not become ready within 30 s (see $DOCKERD_LOG)"
  fi
fi
