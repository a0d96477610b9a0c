#!/usr/bin/env bash
# npm run lab: start the balancer and two demo instances with docker compose,
# then show round-robin in action.
#
# Base image: $NODE_IMAGE if set (shell, else .env); otherwise the local
# stand-in zdl/node:20-local, built here if missing (no registry needed).
# .env (read by docker compose and by the deployer) gets NODE_IMAGE if it is
# missing; existing values in .env are never changed. The admin token is not
# written here: the balancer generates it at its first start into
# .lab/compose/<project>/admin-token, as with a plain `docker compose up`
# (an LB_ADMIN_TOKEN already in .env still wins).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"
cd "$here/.."

LOCAL_IMAGE=zdl/node:20-local
ENV_FILE=.env

env_get() { # KEY -> value in .env (empty if absent)
  [ -f "$ENV_FILE" ] || return 0
  sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$ENV_FILE" | tail -n1 | sed -e "s/^[\"']//" -e "s/[\"']\$//"
}
env_default() { # KEY VALUE: append KEY=VALUE to .env unless KEY is there
  if ! grep -Eq "^[[:space:]]*$1[[:space:]]*=" "$ENV_FILE" 2>/dev/null; then
    if [ -s "$ENV_FILE" ] && [ -n "$(tail -c1 "$ENV_FILE")" ]; then echo >>"$ENV_FILE"; fi
    echo "$1=$2" >>"$ENV_FILE"
  fi
}

bash scripts/install-docker.sh

NODE_IMAGE="${NODE_IMAGE:-$(env_get NODE_IMAGE)}"
NODE_IMAGE="${NODE_IMAGE:-$LOCAL_IMAGE}"
export NODE_IMAGE
if [ "$NODE_IMAGE" = "$LOCAL_IMAGE" ]; then
  bash scripts/build-base-image.sh "$LOCAL_IMAGE"
fi
if ! command -v curl >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || zdl_die "curl is required"
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q curl; } >/dev/null 2>&1 ||
    zdl_die "could not install curl (apt-get install curl)"
fi

[ -e "$ENV_FILE" ] || (umask 077 && : >"$ENV_FILE")
env_default NODE_IMAGE "$NODE_IMAGE"
project="${COMPOSE_PROJECT_NAME:-$(env_get COMPOSE_PROJECT_NAME)}"
project="${project:-zdl}"
if [ -n "$(env_get LB_ADMIN_TOKEN)" ]; then token_at=".env (LB_ADMIN_TOKEN)"; else token_at=".lab/compose/$project/admin-token"; fi

echo "Building images and starting lb, client-1, client-2 (NODE_IMAGE=$NODE_IMAGE)..."
log="$(mktemp)"
body="$(mktemp)"
trap 'rm -f "$log" "$body"' EXIT
if ! docker compose up --build -d --wait >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  docker compose ps -a >&2 || true
  zdl_die "docker compose up failed (see above; 'docker compose logs' for details)"
fi

# Docker calls the balancer healthy as soon as it runs; wait until it has both instances in rotation.
for _ in $(seq 1 50); do
  curl -s --max-time 1 http://127.0.0.1:8080/__lb/health 2>/dev/null | grep -q '"inRotation":2' && break
  sleep 0.2
done
echo "Lab is up: http://127.0.0.1:8080  (admin API: http://127.0.0.1:8090, token in $token_at)"
token="$(env_get LB_ADMIN_TOKEN)"
if [ -z "$token" ]; then
  for _ in $(seq 1 50); do [ -s ".lab/compose/$project/admin-token" ] && break; sleep 0.1; done
  token="$(cat ".lab/compose/$project/admin-token" 2>/dev/null || true)"
fi
[ -z "$token" ] || echo "Dashboard: http://127.0.0.1:8090/dashboard?token=$token  (logs you in with the admin token)"
for i in 1 2 3 4 5 6; do
  if ! code="$(curl -s --max-time 5 -o "$body" -w '%{http_code}' http://127.0.0.1:8080/api)"; then
    echo "  GET /api #$i -> no response"
    continue
  fi
  who="$(sed -n 's/.*"instance":"\([^"]*\)".*/\1/p' "$body")"
  ver="$(sed -n 's/.*"version":"\([^"]*\)".*/\1/p' "$body")"
  echo "  GET /api #$i -> HTTP $code from ${who:-?}${ver:+ ($ver)}"
done
echo "Stop it with: docker compose down   (or: npm run lab:down)"
