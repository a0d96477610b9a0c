#!/usr/bin/env bash
# npm run lab:swarm:down: remove the stack (ZDL_STACK, default zdl) and wait until its tasks and
# network are gone. The swarm itself is left only if lab:swarm created it (.lab/swarm/created-swarm)
# and no other stack runs on it: a swarm someone else made is never left.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"
cd "$here/.."
stack="${ZDL_STACK:-zdl}"
[ "$(docker info --format '{{.Swarm.LocalNodeState}}')" = active ] || { echo "no swarm here: nothing to remove"; exit 0; }
docker stack rm "$stack" >/dev/null 2>&1 || true
# Services created beside the stack by blue/green and canary deploys carry the stack's label too.
docker service ls -q --filter "label=com.docker.stack.namespace=$stack" | xargs -r docker service rm >/dev/null 2>&1 || true
for _ in $(seq 1 120); do
  [ -z "$(docker service ls -q --filter "label=com.docker.stack.namespace=$stack")" ] &&
    [ -z "$(docker ps -aq --filter "label=com.docker.stack.namespace=$stack")" ] &&
    [ -z "$(docker network ls -q --filter "label=com.docker.stack.namespace=$stack")" ] && break
  sleep 0.5
done
docker secret ls -q --filter "label=com.docker.stack.namespace=$stack" | xargs -r docker secret rm >/dev/null 2>&1 || true
echo "stack $stack removed"
if [ -f .lab/swarm/created-swarm ] && [ -z "$(docker stack ls --format '{{.Name}}' 2>/dev/null)" ] && [ "${ZDL_SWARM_KEEP:-}" != 1 ]; then
  docker swarm leave --force >/dev/null
  rm -f .lab/swarm/created-swarm
  echo "left the swarm that npm run lab:swarm had created"
fi
