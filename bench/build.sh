#!/usr/bin/env bash
# Build benchmark: a cold build, a fully cached rebuild and a rebuild after one changed file,
# for the small example (examples/goals) and for a generated context of many files (200 MB by
# default), side by side with `docker build` (classic, DOCKER_BUILDKIT=0, and BuildKit) when a
# Docker daemon answers.
# Needs hyperfine (Debian package). Run as root:  bench/build.sh [path/to/berth]
# Env: FILES=4000 KB=50 (the big context), RUNS=30 (COLD_RUNS=5 for cold builds),
#      PEERS=1 (0 skips docker)
# BuildKit needs a docker CLI that has it built in (Debian's 20.10: PATH=/usr/bin:$PATH) or buildx.
set -euo pipefail
cd "$(dirname "$0")/.."
BERTH=${1:-target/release/berth}
BERTH=$(readlink -f "$BERTH")
FILES=${FILES:-4000}
KB=${KB:-50}
RUNS=${RUNS:-30}
COLD_RUNS=${COLD_RUNS:-5}
PEERS=${PEERS:-1}
W=$(mktemp -d /var/tmp/berth-bench.XXXXXX)
export BERTH_ROOT=$W/root BERTH_RUNROOT=$W/run
cleanup() {
  "$BERTH" rm -f $("$BERTH" ps -aq) >/dev/null 2>&1 || true
  rm -rf "$W"
}
trap cleanup EXIT
command -v hyperfine >/dev/null || { echo "install hyperfine" >&2; exit 1; }

echo "# machine: $(nproc) cores, $(awk '/MemTotal/{printf "%d GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
echo "# berth $("$BERTH" version --format '{{.Client.Version}}'), big context: $FILES files x $KB KB"

./scripts/make-base-image.sh "$BERTH" busybox:latest >/dev/null

# The small example, copied so the benchmark may change its files.
cp -r examples/goals "$W/small"

# The big context: FILES files of random bytes in directories of 100, and a Dockerfile that
# copies them all.
mkdir -p "$W/big"
for i in $(seq 0 $((FILES - 1))); do
  d="$W/big/d$((i / 100))"
  [ -d "$d" ] || mkdir "$d"
  head -c $((KB * 1024)) /dev/urandom >"$d/f$i"
done
printf 'FROM busybox\nWORKDIR /data\nCOPY . /data\nCMD ["du", "-sh", "/data"]\n' >"$W/big/Dockerfile"
echo "# big context: $(du -sh "$W/big" | cut -f1)"

# Cold: no cached step and, for berth, no remembered checksums of the context either.
cold_berth="$BERTH rmi -f bench-small bench-big >/dev/null 2>&1; $BERTH builder prune -a -f >/dev/null; rm -rf $BERTH_ROOT/build/checksums"
# A changed file makes a new layer each run: the one before it is dropped first, so the disk
# holds two copies of the big context at most.
drop_berth="$BERTH image prune -f >/dev/null"
cold=(
  --prepare "$cold_berth" -n "berth cold (small)" "$BERTH build -q -t bench-small $W/small"
  --prepare "$cold_berth" -n "berth cold (big)" "$BERTH build -q -t bench-big $W/big"
)
warm=(
  --prepare "true" -n "berth cached (small)" "$BERTH build -q -t bench-small $W/small"
  --prepare "true" -n "berth cached (big)" "$BERTH build -q -t bench-big $W/big"
  --prepare "date +%s%N >>$W/small/index.html; $drop_berth" -n "berth one file changed (small)" "$BERTH build -q -t bench-small $W/small"
  --prepare "date +%s%N >>$W/big/d0/f0; $drop_berth" -n "berth one file changed (big)" "$BERTH build -q -t bench-big $W/big"
)

if [ "$PEERS" = 1 ] && docker info >/dev/null 2>&1; then
  # Docker gets the same busybox, without Docker Hub.
  "$BERTH" save busybox:latest | docker load >/dev/null
  for kit in 0 1; do
    name=$([ $kit = 0 ] && echo classic || echo buildkit)
    D="env DOCKER_BUILDKIT=$kit docker build -q"
    cold_docker="docker rmi -f bench-small bench-big >/dev/null 2>&1; docker builder prune -a -f >/dev/null; docker image prune -f >/dev/null"
    cold+=(
      --prepare "$cold_docker" -n "docker $name cold (small)" "$D -t bench-small $W/small"
      --prepare "$cold_docker" -n "docker $name cold (big)" "$D -t bench-big $W/big"
    )
    warm+=(
      --prepare "$D -t bench-small $W/small >/dev/null" -n "docker $name cached (small)" "$D -t bench-small $W/small"
      --prepare "$D -t bench-big $W/big >/dev/null" -n "docker $name cached (big)" "$D -t bench-big $W/big"
      --prepare "date +%s%N >>$W/small/index.html; docker image prune -f >/dev/null" -n "docker $name one file changed (small)" "$D -t bench-small $W/small"
      --prepare "date +%s%N >>$W/big/d0/f0; docker image prune -f >/dev/null" -n "docker $name one file changed (big)" "$D -t bench-big $W/big"
    )
  done
else
  echo "# docker: no daemon answers 'docker info'; berth only"
fi

# Cold builds write the whole context twice (layer blob and layer directory): fewer runs.
hyperfine --runs "$COLD_RUNS" --export-markdown "$W/cold.md" --style basic "${cold[@]}" >&2
"$BERTH" build -q -t bench-small "$W/small" >/dev/null
"$BERTH" build -q -t bench-big "$W/big" >/dev/null
hyperfine --warmup 3 --runs "$RUNS" --export-markdown "$W/warm.md" --style basic "${warm[@]}" >&2
cat "$W/cold.md"
tail -n +3 "$W/warm.md"
