#!/usr/bin/env bash
# Makes the `busybox` base image from Debian's busybox-static: a rootfs with busybox and its
# applets, imported with `berth import`. Docker Hub is not needed.
#   usage: scripts/make-base-image.sh [BERTH] [NAME]
set -euo pipefail
BERTH=${1:-berth}
NAME=${2:-busybox:latest}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
r=$work/rootfs
mkdir -p "$r"/{bin,etc,tmp,proc,sys,dev,root,home,var,usr/bin}
chmod 1777 "$r/tmp"
cp /bin/busybox "$r/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -s busybox "$r/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$r/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
tar --numeric-owner --owner=0 --group=0 -C "$r" -c . | "$BERTH" import -c 'CMD ["sh"]' - "$NAME"
