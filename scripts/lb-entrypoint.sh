#!/bin/sh
# Entrypoint of the balancer image. It starts as root for one reason: the folder that holds the
# generated admin token (LB_ADMIN_TOKEN_FILE) is bind-mounted from the project (.lab/compose/<project>),
# and Docker creates a missing bind-mount source as root, so an unprivileged process could not write
# it. This script gives that folder to the user the balancer will run as, then drops root for good
# (setpriv execs the balancer; it is never root).
#
# Which user: the owner of the project checkout (./config is mounted from it at /app/config), so the
# person who cloned the project can read the 0600 token file on the host and the deployer finds it
# without sudo. A checkout owned by root (or no mount) runs as the image's "node" user instead: never
# as root. Already started as non-root (docker run --user ...): nothing to do.
set -eu
[ "$(id -u)" = 0 ] || exec "$@"

uid="$(stat -c %u /app/config 2>/dev/null || echo 0)"
gid="$(stat -c %g /app/config 2>/dev/null || echo 0)"
if [ "$uid" = 0 ]; then
  uid="$(id -u node)"
  gid="$(id -g node)"
fi

if [ -n "${LB_ADMIN_TOKEN_FILE:-}" ]; then
  dir="$(dirname "$LB_ADMIN_TOKEN_FILE")"
  mkdir -p "$dir"
  chown "$uid:$gid" "$dir"
  chmod 0700 "$dir"
  # Its parents inside the mounted state folder (/app/.lab = the project's .lab): those Docker or
  # mkdir just created as root go to the same user, so the user can still create .lab/local (the
  # local lab) and delete what is theirs. Folders someone else owns are left alone.
  parent="$(dirname "$dir")"
  while :; do
    case "$parent" in /app/.lab | /app/.lab/*) ;; *) break ;; esac
    [ "$(stat -c %u "$parent")" != 0 ] || chown "$uid:$gid" "$parent"
    parent="$(dirname "$parent")"
  done
  # A token file written by an earlier run as another user (not a link: never follow one as root).
  if [ -f "$LB_ADMIN_TOKEN_FILE" ] && [ ! -L "$LB_ADMIN_TOKEN_FILE" ]; then
    chown "$uid:$gid" "$LB_ADMIN_TOKEN_FILE"
  fi
fi

exec setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$@"
