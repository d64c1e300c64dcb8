#!/usr/bin/env bash
# Image-management benchmark: `images` and `image inspect` with 1,000 images in the store, and
# `import` of a 200 MB rootfs, side by side with podman and docker where they are installed.
# Needs hyperfine (Debian package). Run as root:  bench/images.sh [path/to/berth]
# Env: N=1000 (images), BIG_MB=200, RUNS=20, PEERS=1 (0 skips docker/podman)
set -euo pipefail
BERTH=${1:-$(dirname "$0")/../target/release/berth}
BERTH=$(readlink -f "$BERTH")
N=${N:-1000}
BIG_MB=${BIG_MB:-200}
RUNS=${RUNS:-20}
PEERS=${PEERS:-1}
W=$(mktemp -d /var/tmp/berth-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
export BERTH_ROOT=$W/root BERTH_RUNROOT=$W/run
command -v hyperfine >/dev/null || { echo "install hyperfine" >&2; exit 1; }

echo "# machine: $(nproc) cores, $(awk '/MemTotal/{printf "%d GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
echo "# berth $("$BERTH" version --format '{{.Client.Version}}'), N=$N images, ${BIG_MB} MB rootfs"

# N small distinct images: one file each, so every image has its own layer.
mkdir -p "$W/small"
for i in $(seq 1 "$N"); do
  echo "$i" >"$W/small/f"
  tar -C "$W/small" -cf "$W/small.tar" f
  "$BERTH" import "$W/small.tar" "img$i:latest" >/dev/null
done
# A 200 MB rootfs: many files of random data.
mkdir -p "$W/big"
for d in $(seq 1 20); do
  mkdir -p "$W/big/d$d"
  for f in $(seq 1 50); do head -c $((BIG_MB * 1024 * 1024 / 1000)) /dev/urandom >"$W/big/d$d/f$f"; done
done
tar -C "$W/big" -cf "$W/big.tar" .

args=(--warmup 2 --runs "$RUNS" --export-markdown "$W/result.md" --style basic)
cmds=(
  -n "berth images ($N)" "$BERTH images"
  -n "berth image inspect (1 of $N)" "$BERTH image inspect img500"
  -n "berth import ${BIG_MB}MB" "$BERTH import $W/big.tar big:latest"
)
if [ "$PEERS" = 1 ] && command -v podman >/dev/null; then
  P="podman --root $W/podman --runroot $W/podman-run --storage-driver overlay"
  for i in $(seq 1 "$N"); do
    echo "$i" >"$W/small/f"; tar -C "$W/small" -cf "$W/small.tar" f
    $P import "$W/small.tar" "img$i:latest" >/dev/null
  done
  cmds+=(-n "podman images ($N)" "$P images"
         -n "podman image inspect (1 of $N)" "$P image inspect img500"
         -n "podman import ${BIG_MB}MB" "$P import $W/big.tar big:latest")
fi
if [ "$PEERS" = 1 ] && docker info >/dev/null 2>&1; then
  for i in $(seq 1 "$N"); do
    echo "$i" >"$W/small/f"; tar -C "$W/small" -cf "$W/small.tar" f
    docker import "$W/small.tar" "bench-img$i:latest" >/dev/null
  done
  cmds+=(-n "docker images ($N)" "docker images"
         -n "docker image inspect (1 of $N)" "docker image inspect bench-img500"
         -n "docker import ${BIG_MB}MB" "docker import $W/big.tar bench-big:latest")
fi
hyperfine "${args[@]}" "${cmds[@]}"
cat "$W/result.md"
if docker info >/dev/null 2>&1; then
  docker images -q 'bench-*' | sort -u | xargs -r docker rmi -f >/dev/null
fi
