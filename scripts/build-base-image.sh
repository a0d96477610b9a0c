#!/usr/bin/env bash
# Build a local stand-in for node:20-bookworm-slim without any Docker registry:
# a debootstrap'ed Debian 12 (minbase) root filesystem plus this machine's
# Node.js, npm and CA bundle, imported with `docker import`.
#
#   usage: build-base-image.sh [TAG]        (default: zdl/node:20-local)
#
# Idempotent: does nothing if TAG already exists. The stripped Debian rootfs
# (without Node) is cached in $ZDL_CACHE_DIR (default /var/cache/zdl), so a
# rebuild takes seconds; delete that directory to refresh Debian packages.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

TAG="${1:-zdl/node:20-local}"
SUITE=bookworm
CACHE_DIR="${ZDL_CACHE_DIR:-/var/cache/zdl}"
NODE_BIN=/usr/bin/node
NPM_DIR=/usr/lib/node_modules/npm
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
export DEBIAN_FRONTEND=noninteractive

command -v docker >/dev/null 2>&1 || zdl_die "docker not found (run scripts/install-docker.sh first)"
docker info >/dev/null 2>&1 || zdl_die "Docker daemon not reachable (run scripts/install-docker.sh first)"
if docker image inspect "$TAG" >/dev/null 2>&1; then
  exit 0
fi
[ "$(id -u)" -eq 0 ] || zdl_die "building the base image needs root (debootstrap/chroot)"
for f in "$NODE_BIN" "$NPM_DIR/bin/npm-cli.js" "$CA_BUNDLE"; do
  [ -e "$f" ] || zdl_die "missing $f on this machine"
done
node_version="$("$NODE_BIN" --version)"
case "$node_version" in
  v20.*) ;;
  *) zdl_die "host Node.js is $node_version, expected v20.x for $TAG" ;;
esac
npm_version="$("$NODE_BIN" "$NPM_DIR/bin/npm-cli.js" --version)"
arch="$(dpkg --print-architecture)"

log="$(mktemp)"
work=""
cleanup() {
  set +e
  rm -f "$log"
  if [ -n "$work" ] && [ -d "$work" ]; then
    # debootstrap mounts proc/sys inside the target; never recurse into them.
    awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r |
      while read -r m; do umount -l "$m"; done
    rm -rf --one-file-system "$work"
  fi
}
trap cleanup EXIT
quiet() {
  if ! "$@" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    zdl_die "command failed: $*"
  fi
}

mkdir -p "$CACHE_DIR"
exec 9>"$CACHE_DIR/.lock"
flock 9
# Another run may have built it while we waited for the lock.
docker image inspect "$TAG" >/dev/null 2>&1 && exit 0

work="$(mktemp -d /var/tmp/zdl-base.XXXXXX)"
rootfs="$work/rootfs"
cached="$CACHE_DIR/debian-$SUITE-minbase-$arch.tar"

if [ ! -s "$cached" ]; then
  if ! command -v debootstrap >/dev/null 2>&1; then
    quiet apt-get update -q
    quiet apt-get install -y -q --no-install-recommends debootstrap
  fi
  mirror="$(zdl_debian_mirror)" || zdl_die "cannot find the Debian mirror in /etc/apt/sources.list(.d)"
  mkdir -p "$CACHE_DIR/debs"
  quiet debootstrap --variant=minbase --arch="$arch" --cache-dir="$CACHE_DIR/debs" \
    "$SUITE" "$rootfs" "$mirror"

  # Same user as the official node image.
  quiet chroot "$rootfs" groupadd --gid 1000 node
  quiet chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home --home-dir /home/node node

  # Slim it like the -slim images: no docs, man pages, locales, apt state.
  mkdir -p "$rootfs/etc/dpkg/dpkg.cfg.d"
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/01-zdl-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$rootfs"/usr/share/{man,info,locale,lintian}/* \
    "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* \
    "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/lib/dpkg/*-old \
    "$rootfs"/var/log/* "$rootfs"/tmp/* "$rootfs"/root/.cache
  rm -f "$rootfs/etc/hostname" "$rootfs/etc/resolv.conf" # docker provides them
  quiet tar -C "$rootfs" --numeric-owner -cf "$cached.tmp" .
  mv "$cached.tmp" "$cached"
else
  mkdir -p "$rootfs"
  quiet tar -C "$rootfs" --numeric-owner -xpf "$cached"
fi

# Node.js and npm from this machine (same layout as the host: /usr/bin, /usr/lib).
install -m 0755 "$NODE_BIN" "$rootfs/usr/bin/node"
mkdir -p "$rootfs/usr/lib/node_modules" "$rootfs/usr/etc" "$rootfs/etc/ssl/certs"
cp -a "$NPM_DIR" "$rootfs/usr/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/bin/npx"
# CA bundle: needed for TLS to the npm registry from inside containers here.
install -m 0644 "$CA_BUNDLE" "$rootfs/etc/ssl/certs/ca-certificates.crt"
# npm's global config ($prefix/etc/npmrc).
cat >"$rootfs/usr/etc/npmrc" <<'EOF'
cafile=/etc/ssl/certs/ca-certificates.crt
update-notifier=false
fund=false
audit=false
EOF

quiet sh -c "tar -C '$rootfs' --numeric-owner -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV NODE_VERSION=${node_version#v}' \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change 'LABEL org.opencontainers.image.description=\"Debian $SUITE minbase + Node.js $node_version + npm $npm_version (local build)\"' \
  --change 'CMD [\"node\"]' \
  - '$TAG'"

# Smoke test: the image runs node.
got="$(docker run --rm --network none "$TAG" node -e 'process.stdout.write(process.version)' 2>&1)" ||
  zdl_die "image $TAG was built but cannot run node: $got"
[ "$got" = "$node_version" ] || zdl_die "image $TAG runs node $got, expected $node_version"
