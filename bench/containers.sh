#!/usr/bin/env bash
# Container benchmark: `run --rm busybox true` (default bridge network and --network none),
# `run -d` + `stop -t 0` + `rm`, `ps -a` with 500 containers, and the monitor's RSS per running
# container; side by side with raw `runc run` of the same bundle, and with docker/podman when a
# daemon / podman is installed. Needs hyperfine. Run as root:  bench/containers.sh [path/to/berth]
# Env: RUNS=30, PS_CONTAINERS=500, RSS_CONTAINERS=10, INTERLEAVED=$RUNS (rounds)
set -euo pipefail
BERTH=$(readlink -f "${1:-$(dirname "$0")/../target/release/berth}")
RUNS=${RUNS:-30}
PS_CONTAINERS=${PS_CONTAINERS:-500}
RSS_CONTAINERS=${RSS_CONTAINERS:-10}
W=$(mktemp -d /var/tmp/berth-bench.XXXXXX)
export BERTH_ROOT=$W/root BERTH_RUNROOT=$W/run
PODMAN_IMAGE=localhost/berth-bench-busybox
cleanup() {
  "$BERTH" rm -f $("$BERTH" ps -aq) >/dev/null 2>&1 || true
  if command -v podman >/dev/null; then podman rmi -f "$PODMAN_IMAGE" >/dev/null 2>&1 || true; fi
  rm -rf "$W"
}
trap cleanup EXIT
here=$(dirname "$(readlink -f "$0")")
"$here/../scripts/make-base-image.sh" "$BERTH" busybox:latest >/dev/null

echo "# machine: $(nproc) cores, $(awk '/MemTotal/{printf "%d GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r)"

# A bundle for raw runc: the rootfs berth mounts for a created container, a fresh network
# namespace, the same security defaults.
id=$("$BERTH" create --network none busybox true)
"$BERTH" start "$id" >/dev/null; "$BERTH" wait "$id" >/dev/null
cfg="$BERTH_RUNROOT/$id/bundle/config.json"
mkdir -p "$W/bundle" "$W/runc-rootfs"
"$BERTH" export "$id" | tar -C "$W/runc-rootfs" -x
python3 - "$cfg" "$W/bundle/config.json" "$W/runc-rootfs" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["root"]["path"] = sys.argv[3]
c["process"]["args"] = ["true"]
c["process"]["terminal"] = False
c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"] + [{"type": "network"}]
c["linux"]["cgroupsPath"] = "/berth-bench/runc"
c["mounts"] = [m for m in c["mounts"] if not m["destination"].startswith("/etc/")]
json.dump(c, open(sys.argv[2], "w"))
PY

cmds=(
  -n "berth run --rm busybox true" "$BERTH run --rm busybox true"
  -n "berth run --rm --network none busybox true" "$BERTH run --rm --network none busybox true"
  -n "berth run -d + stop -t 0 + rm" "$BERTH rm \$($BERTH stop -t 0 \$($BERTH run -d busybox sleep 100))"
  -n "runc run (same bundle)" "runc --root $W/runc-state run --bundle $W/bundle bench-\$RANDOM"
)
if command -v podman >/dev/null; then
  # The same rootfs as an image of podman's. Podman asks runc for rlimits at least the
  # caller's hard limits, which runc may not raise here (no CAP_SYS_RESOURCE): give it
  # limits below them.
  tar -C "$W/runc-rootfs" -c . | podman import - "$PODMAN_IMAGE" >/dev/null
  P="podman run --rm --ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
  cmds+=(-n "podman run --rm busybox true" "$P $PODMAN_IMAGE true"
         -n "podman run --rm --network none busybox true" "$P --network none $PODMAN_IMAGE true")
fi
if docker info >/dev/null 2>&1; then
  cmds+=(-n "docker run --rm busybox true" "docker run --rm busybox true"
         -n "docker run --rm --network none busybox true" "docker run --rm --network none busybox true"
         -n "docker run -d + stop -t 0 + rm" "docker rm \$(docker stop -t 0 \$(docker run -d busybox sleep 100))")
fi
# The set-up above wrote a few hundred MB (rootfs copies, podman's import): let the disk
# settle, so that the first commands measured do not share it with the write-back.
sync; sleep 3
hyperfine --warmup 5 --runs "$RUNS" --style basic --export-markdown "$W/run.md" "${cmds[@]}"
cat "$W/run.md"

# The same ratio with berth's and Docker's runs interleaved: hyperfine measures berth's 30
# runs in about a second and Docker's in ten, so a spell of a slower (or faster) machine lands
# on one side only. Here each round runs one of each, and the medians are compared.
if docker info >/dev/null 2>&1; then
  python3 - "$BERTH" "${INTERLEAVED:-$RUNS}" <<'PY'
import statistics, subprocess, sys, time
berth, rounds = sys.argv[1], int(sys.argv[2])
pairs = {
    "bridge": ([berth, "run", "--rm", "busybox", "true"], ["docker", "run", "--rm", "busybox", "true"]),
    "none": ([berth, "run", "--rm", "--network", "none", "busybox", "true"],
             ["docker", "run", "--rm", "--network", "none", "busybox", "true"]),
}
def timed(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - t) * 1000
for name, (ours, theirs) in pairs.items():
    for _ in range(3):
        timed(ours), timed(theirs)
    a, b = [], []
    for _ in range(rounds):
        a.append(timed(ours))
        b.append(timed(theirs))
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"interleaved, {name}: berth median {ma:.1f} ms, docker median {mb:.1f} ms, ratio {mb / ma:.1f}x ({rounds} rounds)")
PY
fi

# ps -a with many containers.
for i in $(seq 1 "$PS_CONTAINERS"); do "$BERTH" create busybox true >/dev/null; done
hyperfine --warmup 2 --runs "$RUNS" --style basic --export-markdown "$W/ps.md" \
  -n "berth ps -a ($PS_CONTAINERS containers)" "$BERTH ps -a"
cat "$W/ps.md"
"$BERTH" container prune -f >/dev/null

# Monitor RSS per running container.
for i in $(seq 1 "$RSS_CONTAINERS"); do "$BERTH" run -d --network none busybox sleep 1000 >/dev/null; done
# A running container's monitor, not one still starting: it drops its start-up pages once
# the container has run for 100 ms (the monitor's `settled` hook).
sleep 1
total=0; n=0
for pid in $(pgrep -x berth-monitor); do
  if ls -l "/proc/$pid/fd" 2>/dev/null | grep -q "$BERTH_ROOT"; then
    kb=$(awk '/VmRSS/{print $2}' "/proc/$pid/status"); total=$((total + kb)); n=$((n + 1))
  fi
done
echo "monitor RSS: $n monitors, mean $((total / (n > 0 ? n : 1))) KiB"
