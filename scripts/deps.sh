#!/usr/bin/env bash
# Installs the Debian packages berth needs to build and to be tested (idempotent).
set -euo pipefail
PKGS=(
  libseccomp-dev pkg-config     # build: the embedded runtime's seccomp support
  busybox-static                # the base image of the example and the tests
  tar iproute2 nftables         # layers, networks
  runc                          # tests also run containers with an OCI runtime binary
  tini                          # `--init`: tini-static is the init berth mounts in
  skopeo docker-registry        # interop peers for archives and registries
  curl ca-certificates procps util-linux perl   # tests: ps for `top`, nsenter, keyctl through perl
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
