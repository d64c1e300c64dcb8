#!/usr/bin/env bash
# Network benchmark: wrk against a busybox httpd in a berth container, by these paths —
#   direct          the container's address on the bridge (no NAT: the baseline)
#   dnat            the host's non-loopback address and the published port (nftables DNAT)
#   proxy           127.0.0.1 and the published port (berth's userland proxy)
#   docker dnat/proxy   the same with Docker's -p, when `docker info` works
# each from the host itself and, for direct and dnat, from a client in a network namespace
# of its own behind a veth pair (as a client on another machine would come in: the kernel
# sizes a local client's TCP buffers for loopback's MTU, see bench/README.md). A small page and
# a 1 MiB file; requests/s and throughput, the median of RUNS runs. wrk runs on CPU 0, the
# server (httpd, its children, the proxy) on CPU 1. busybox httpd closes each connection
# after one response, so every request is a new TCP connection (and a fork in the container).
#   usage: bench/network.sh [path/to/berth]        (as root; needs wrk)
# Env: RUNS=5, DURATION=10, CONNECTIONS=16, PAGES="/ /1m"
set -euo pipefail
BERTH=$(readlink -f "${1:-$(dirname "$0")/../target/release/berth}")
RUNS=${RUNS:-5}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-16}
PAGES=${PAGES:-/ /1m}
W=$(mktemp -d /var/tmp/berth-bench.XXXXXX)
export BERTH_ROOT=$W/root BERTH_RUNROOT=$W/run
docker_id=
client=berthbench$$
cleanup() {
  set +e  # take down whatever is there; a missing piece must not stop the rest
  ip netns del "$client" 2>/dev/null
  "$BERTH" rm -f $("$BERTH" ps -aq) >/dev/null 2>&1 || true
  [ -n "$docker_id" ] && docker rm -f "$docker_id" >/dev/null 2>&1
  # The scratch store's default bridge and rules would outlive it (see docs/architecture.md).
  bridge=$("$BERTH" network inspect -f '{{index .Options "com.docker.network.bridge.name"}}' bridge 2>/dev/null || true)
  table=$(printf '%s' "$BERTH_ROOT" | sha256sum | cut -c1-8)
  [ -n "$bridge" ] && ip link del "$bridge" 2>/dev/null
  nft delete table ip "berth_$table" 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
here=$(dirname "$(readlink -f "$0")")
"$here/../scripts/make-base-image.sh" "$BERTH" busybox:latest >/dev/null

host_ip=$(ip -4 -o route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("0.0.0.0", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
serve='mkdir -p /w && echo hello > /w/index.html && head -c 1048576 /dev/urandom > /w/1m && exec httpd -f -p 80 -h /w'
"$BERTH" run -d --name web -p "$port:80" busybox sh -c "$serve" >/dev/null
ip=$("$BERTH" inspect -f '{{.NetworkSettings.IPAddress}}' web)
pid=$("$BERTH" inspect -f '{{.State.Pid}}' web)
proxy=$(pgrep -f -- "--root $BERTH_ROOT .*__proxy" | head -1)
taskset -a -p -c 1 "$pid" >/dev/null
[ -n "$proxy" ] && taskset -a -p -c 1 "$proxy" >/dev/null
for _ in $(seq 50); do curl -sf -o /dev/null "http://$ip/" && break; sleep 0.1; done

# The client namespace: a /30 of 10.254.0.0/16 the host does not route yet.
for c in $(seq 0 255); do
  link=10.254.$c; ip -4 route | grep -q "^$link\." || break
done
ip netns add "$client"
ip link add "bb$$" type veth peer name eth0 netns "$client"
ip addr add "$link.1/30" dev "bb$$"; ip link set "bb$$" up
ip -n "$client" addr add "$link.2/30" dev eth0
ip -n "$client" link set eth0 up; ip -n "$client" link set lo up
ip -n "$client" route add default via "$link.1"

# name, address, where wrk runs ("" the host, else the namespace).
targets=(direct "$ip:80" "" dnat "$host_ip:$port" "" proxy "127.0.0.1:$port" ""
         "direct from a namespace" "$ip:80" "$client" "dnat from a namespace" "$host_ip:$port" "$client")
if docker info >/dev/null 2>&1; then
  dport=$(free_port)
  docker_id=$(docker run -d --cpuset-cpus 1 -p "$dport:80" busybox sh -c "$serve")
  sleep 1
  targets+=("docker dnat" "$host_ip:$dport" "" "docker proxy" "127.0.0.1:$dport" ""
            "docker dnat from a namespace" "$host_ip:$dport" "$client")
fi

# One wrk run from namespace $2 (the host's when empty): "requests/s bytes/s".
measure() {
  ${2:+ip netns exec "$2"} taskset -c 0 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" "$1" | awk '
    function bytes(v) { n = v + 0; u = v; gsub(/[0-9.]/, "", u);
      return n * (u == "KB" ? 1024 : u == "MB" ? 1048576 : u == "GB" ? 1073741824 : 1) }
    /^Requests\/sec:/ { r = $2 } /^Transfer\/sec:/ { t = bytes($2) }
    /Non-2xx|Socket errors/ { errors = errors " " $0 }
    END { if (errors != "") print "wrk:" errors > "/dev/stderr"; print r, t }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "# $(nproc) cores, kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# wrk -t1 -c$CONNECTIONS -d${DURATION}s; median of $RUNS runs, the paths taken in turn in each run"
echo "# direct $ip:80, dnat $host_ip:$port, proxy 127.0.0.1:$port; namespace client $link.2"
printf '| path | page | requests/s | throughput | vs direct |\n| --- | --- | ---: | ---: | ---: |\n'
for page in $PAGES; do
  # Runs of one path back to back would each catch a different share of whatever else the
  # machine does; taking the paths in turn spreads that over all of them.
  declare -A rs=() ts=()
  for _ in $(seq "$RUNS"); do
    for ((i = 0; i < ${#targets[@]}; i += 3)); do
      read -r r t < <(measure "http://${targets[i + 1]}$page" "${targets[i + 2]}")
      rs[$i]+="$r "; ts[$i]+="$t "
    done
  done
  for ((i = 0; i < ${#targets[@]}; i += 3)); do
    r=$(printf '%s\n' ${rs[$i]} | median); t=$(printf '%s\n' ${ts[$i]} | median)
    # Compared with the direct path from the same side (the host or the namespace).
    if [ -z "${targets[i + 2]}" ]; then base=$(printf '%s\n' ${rs[0]} | median)
    else base=$(printf '%s\n' ${rs[9]} | median); fi
    printf '| %s | %s | %.0f | %.1f MiB/s | %+.1f%% |\n' "${targets[i]}" "$page" "$r" \
      "$(awk -v t="$t" 'BEGIN { print t / 1048576 }')" \
      "$(awk -v r="$r" -v b="$base" 'BEGIN { print (r / b - 1) * 100 }')"
    echo "#   ${targets[i]} $page, requests/s of each run: ${rs[$i]}" >&2
  done
  unset rs ts
done
