#!/usr/bin/env bash
# npm run lab:swarm: the lab as a Docker Swarm stack (swarm/stack.yml): the balancer (1 replica)
# and the demo service (2 replicas) on an overlay network; every task registers itself with the
# balancer. Traffic on :8080, admin API on :8090 (token: a Docker secret).
#
# Env: ZDL_STACK (stack name, default zdl), LB_PORT / LB_ADMIN_PORT (published ports, default
# 8080 / 8090; 0 = Swarm picks free ones), NODE_IMAGE (base image; default: the local stand-in
# zdl/node:20-local, built if missing), ZDL_SWARM_NO_BUILD=1 (images exist already).
#
# Swarm: `docker swarm init --advertise-addr 127.0.0.1` when this engine is in no swarm yet; the
# script then remembers that it created it (.lab/swarm/created-swarm), so that lab:swarm:down
# leaves only a swarm that this script created.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"
cd "$here/.."

stack="${ZDL_STACK:-zdl}"
[[ "$stack" =~ ^[a-z0-9][a-z0-9_-]{0,39}$ ]] || zdl_die "ZDL_STACK: \"$stack\" is not a valid stack name (lower-case letters, digits, - and _)"
export LB_PORT="${LB_PORT:-8080}" LB_ADMIN_PORT="${LB_ADMIN_PORT:-8090}"
LOCAL_IMAGE=zdl/node:20-local
NODE_IMAGE="${NODE_IMAGE:-$LOCAL_IMAGE}"
export LB_IMAGE="${LB_IMAGE:-zdl/swarm-lb:latest}" CLIENT_IMAGE="${CLIENT_IMAGE:-zdl/swarm-client}"

command -v docker >/dev/null 2>&1 || bash scripts/install-docker.sh
state_root=.lab/swarm
state="$state_root/$stack"
(umask 077 && mkdir -p "$state")
chmod 0700 "$state_root" "$state"

# --- the swarm ------------------------------------------------------------------------------
node_state="$(docker info --format '{{.Swarm.LocalNodeState}}')"
if [ "$node_state" = inactive ]; then
  echo "This engine is in no swarm: docker swarm init --advertise-addr 127.0.0.1"
  docker swarm init --advertise-addr 127.0.0.1 >/dev/null
  date -u +%FT%TZ >"$state_root/created-swarm"
elif [ "$(docker info --format '{{.Swarm.ControlAvailable}}')" != true ]; then
  zdl_die "this engine is in a swarm ($node_state) but not a manager: run this on a manager node"
fi

# The version to run: what the stack's service runs now if it exists (running lab:swarm again after
# a deploy must not roll the service back), else v1.
if [ -z "${CLIENT_VERSION:-}" ]; then
  CLIENT_VERSION="$(docker service inspect --format '{{range .Spec.TaskTemplate.ContainerSpec.Env}}{{println .}}{{end}}' "${stack}_client" 2>/dev/null | sed -n 's/^APP_VERSION=//p' | head -n1 || true)"
fi
export CLIENT_VERSION="${CLIENT_VERSION:-v1}"

# --- secrets: generated once per stack, kept in .lab/swarm/<stack>/ (0600) --------------------
new_token() { (umask 077 && head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$1"); }
[ -s "$state/admin-token" ] || new_token "$state/admin-token"
[ -s "$state/registration-token" ] || new_token "$state/registration-token"
export ADMIN_TOKEN_FILE="$PWD/$state/admin-token" REGISTRATION_TOKEN_FILE="$PWD/$state/registration-token"
export LB_CONFIG_FILE="$PWD/config/lb.swarm.yaml"

# --- images: `docker stack deploy` does not build --------------------------------------------
if [ "${ZDL_SWARM_NO_BUILD:-}" != 1 ]; then
  [ "$NODE_IMAGE" != "$LOCAL_IMAGE" ] || bash scripts/build-base-image.sh "$LOCAL_IMAGE"
  echo "Building $LB_IMAGE and $CLIENT_IMAGE:$CLIENT_VERSION (NODE_IMAGE=$NODE_IMAGE)..."
  log="$(mktemp)"
  trap 'rm -f "$log"' EXIT
  docker build -q -f Dockerfile.lb --build-arg NODE_IMAGE="$NODE_IMAGE" -t "$LB_IMAGE" . >"$log" 2>&1 || { tail -n 30 "$log" >&2; zdl_die "building $LB_IMAGE failed"; }
  docker build -q -f Dockerfile.client --build-arg NODE_IMAGE="$NODE_IMAGE" -t "$CLIENT_IMAGE:$CLIENT_VERSION" . >"$log" 2>&1 || { tail -n 30 "$log" >&2; zdl_die "building $CLIENT_IMAGE failed"; }
fi

echo "docker stack deploy $stack (balancer 1 replica, client 2 replicas)"
# --resolve-image never: the images are local; a multi-node swarm needs them in a registry.
out="$(docker stack deploy --resolve-image never -c swarm/stack.yml "$stack" 2>&1)" || { echo "$out" >&2; zdl_die "docker stack deploy failed"; }

# Host-mode ports (0 = Swarm picks): read from the balancer's container on this node.
published() { # target port -> host port
  local c
  c="$(docker ps -q --filter "label=com.docker.swarm.service.name=${stack}_lb" | head -n1)"
  [ -n "$c" ] || return 0
  docker port "$c" "$1/tcp" 2>/dev/null | sed -n 's/^0\.0\.0\.0://p' | head -n1
}
port="" admin_port=""
for _ in $(seq 1 300); do
  port="$(published 8080)" admin_port="$(published 8090)"
  [ -n "$port" ] && [ -n "$admin_port" ] && break
  sleep 0.5
done
[ -n "$port" ] || { docker stack ps --no-trunc "$stack" >&2 || true; zdl_die "the balancer's task did not start on this node within 150 s (docker service ps ${stack}_lb)"; }
printf '%s\n%s\n' "$port" "$admin_port" >"$state/ports"
token="$(cat "$state/admin-token")"
echo "Waiting for both tasks of ${stack}_client to be registered and healthy in the balancer..."
ok=""
for _ in $(seq 1 240); do
  if curl -s --max-time 1 -H "Authorization: Bearer $token" "http://127.0.0.1:$admin_port/upstreams" 2>/dev/null |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{const b=JSON.parse(s);const u=Array.isArray(b)?b:b.upstreams;process.exit(u.filter(x=>x.state==="healthy").length>=2?0:1)}catch{process.exit(1)}})'; then
    ok=1
    break
  fi
  sleep 0.5
done
[ -n "$ok" ] || { docker stack ps --no-trunc "$stack" >&2 || true; zdl_die "the balancer did not report 2 healthy instances within 120 s (docker service logs ${stack}_lb)"; }
echo "Lab is up (stack $stack): http://127.0.0.1:$port  (admin API: http://127.0.0.1:$admin_port, token in $state/admin-token)"
echo "Swarm publishes on every interface of the node: the admin API always requires the token."
echo "Dashboard: http://127.0.0.1:$admin_port/dashboard?token=$token"
for i in 1 2 3 4; do
  echo "  GET /api #$i -> $(curl -s --max-time 5 "http://127.0.0.1:$port/api" || echo 'no response')"
done
echo "Deploy: npm run deploy -- --runtime swarm --strategy rolling --version v2     Stop: npm run lab:swarm:down"
