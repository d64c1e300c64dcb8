#!/usr/bin/env bash
# Network benchmark: wrk against a busybox httpd in a berth container, by these paths —
#   direct          the container's address on the bridge (no NAT: the baseline)
#   dnat            the host's non-loopback address and the published port (nftables DNAT)
#   proxy           127.0.0.1 and the published port (berth's userland proxy)
#   docker direct/dnat/proxy   the same with a Docker container and its -p, when `docker info`
#                   works (berth's busybox image is loaded into Docker first)
# each from the host itself and, for direct and dnat, from a client in a network namespace
# of its own behind a veth pair (as a client on another machine would come in: the kernel
# sizes a local client's TCP buffers for loopback's MTU, see bench/README.md). A small page and
# a 1 MiB file; requests/s and throughput, the median of RUNS runs. wrk runs on CPU 0, the
# servers (httpd, its children, the proxies) on CPU 1. busybox httpd closes each connection
# after one response, so every request is a new TCP connection (and a fork in the container).
#   usage: bench/network.sh [path/to/berth]        (as root; needs wrk)
# Env: RUNS=5, DURATION=10, CONNECTIONS=8, PAGES="/ /1m". busybox httpd listens with a backlog
# of 9: with more connections at once, SYNs overflow its accept queue now and then and wait a
# second for their retransmission, which decides a run more than the path does.
#   PROBE=1 adds two rows about the local client's DNAT, each set up just before its
#   measurement and undone just after: "dnat without the MSS rule" (the chain `clamp` of the
#   store's table, which sets the MSS option of a local client's SYN to its route's, is emptied)
#   and "dnat, local route advmss 1448" (the host's local route to its own address gets advmss
#   1448 — this changes the host's routing for the moment of that measurement).
set -euo pipefail
BERTH=$(readlink -f "${1:-$(dirname "$0")/../target/release/berth}")
RUNS=${RUNS:-5}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-8}
PAGES=${PAGES:-/ /1m}
W=$(mktemp -d /var/tmp/berth-bench.XXXXXX)
export BERTH_ROOT=$W/root BERTH_RUNROOT=$W/run
docker_id=
client=berthbench$$
local_route=
table=berth_$(printf '%s' "$BERTH_ROOT" | sha256sum | cut -c1-8)
saved_clamp=
cleanup() {
  set +e  # take down whatever is there; a missing piece must not stop the rest
  probe_undo
  ip netns del "$client" 2>/dev/null
  "$BERTH" rm -f $("$BERTH" ps -aq) >/dev/null 2>&1 || true
  [ -n "$docker_id" ] && docker rm -f "$docker_id" >/dev/null 2>&1
  # The scratch store's default bridge and rules would outlive it (see docs/architecture.md).
  bridge=$("$BERTH" network inspect -f '{{index .Options "com.docker.network.bridge.name"}}' bridge 2>/dev/null || true)
  [ -n "$bridge" ] && ip link del "$bridge" 2>/dev/null
  nft delete table ip "$table" 2>/dev/null
  rm -rf "$W"
}
# The PROBE rows' changes to the host, and their undoing.
probe_do() {
  case $1 in
    noclamp) saved_clamp=$(nft list chain ip "$table" clamp); nft flush chain ip "$table" clamp ;;
    advmss) ip route change $local_route advmss 1448 ;;
  esac
}
probe_undo() {
  if [ -n "$saved_clamp" ]; then
    nft flush chain ip "$table" clamp 2>/dev/null || true
    printf '%s\n' "$saved_clamp" | nft -f -
    saved_clamp=
  fi
  if [ -n "$local_route" ]; then ip route change $local_route; fi
}
trap cleanup EXIT
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
here=$(dirname "$(readlink -f "$0")")
"$here/../scripts/make-base-image.sh" "$BERTH" busybox:latest >/dev/null

host_ip=$(ip -4 -o route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("0.0.0.0", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
# The PROBE rows get published ports of their own: connections from one address to one
# destination leave TIME_WAIT sockets on the host (wrk closes first) for a minute, and the
# ports left for a new one run out when several rows share a destination (see bench/README.md).
probe_ports=
[ "${PROBE:-0}" = 1 ] && probe_ports="$(free_port) $(free_port)"
serve='mkdir -p /w && echo hello > /w/index.html && head -c 1048576 /dev/urandom > /w/1m && exec httpd -f -p 80 -h /w'
"$BERTH" run -d --name web -p "$port:80" $(for p in $probe_ports; do printf -- '-p %s:80 ' "$p"; done) \
  busybox sh -c "$serve" >/dev/null
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
# The host end is named like a berth device: when berth has turned IPv4 forwarding on, its table
# `ip berth_forward` drops forwarded traffic that neither comes from nor goes to a berth device,
# so a client coming in on any other interface could not reach Docker's container (see
# bench/README.md); berth's own paths are accepted by the way out either way.
cli=berthcli$$
ip netns add "$client"
ip link add "$cli" type veth peer name eth0 netns "$client"
ip addr add "$link.1/30" dev "$cli"; ip link set "$cli" up
ip -n "$client" addr add "$link.2/30" dev eth0
ip -n "$client" link set eth0 up; ip -n "$client" link set lo up
ip -n "$client" route add default via "$link.1"

# name, address, where wrk runs ("" the host, else the namespace), PROBE change ("-" none).
# Rows 0 and 3 are the baselines of the host's and the namespace's rows.
targets=(direct "$ip:80" "" - dnat "$host_ip:$port" "" - proxy "127.0.0.1:$port" "" -
         "direct from a namespace" "$ip:80" "$client" - "dnat from a namespace" "$host_ip:$port" "$client" -)
if [ "${PROBE:-0}" = 1 ]; then
  # The host's own route to its address as it is, to put back after each probe.
  local_route=$(ip route show table local type local "$host_ip" | head -1)
  local_route="local ${local_route#local } table local"
  read -r port2 port3 <<<"$probe_ports"
  targets+=("dnat without the MSS rule" "$host_ip:$port2" "" noclamp
            "dnat, local route advmss 1448" "$host_ip:$port3" "" advmss)
fi
if docker info >/dev/null 2>&1; then
  "$BERTH" save busybox:latest | docker load >/dev/null
  dport=$(free_port)
  docker_id=$(docker run -d --cpuset-cpus 1 -p "$dport:80" busybox:latest sh -c "$serve")
  dip=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' "$docker_id")
  for _ in $(seq 50); do curl -sf -o /dev/null "http://$dip/" && break; sleep 0.1; done
  # Docker's userland proxy for 127.0.0.1 runs on the servers' CPU too.
  for p in $(pgrep -f -- "docker-proxy .*-host-port $dport"); do taskset -a -p -c 1 "$p" >/dev/null; done
  targets+=("docker direct" "$dip:80" "" - "docker dnat" "$host_ip:$dport" "" -
            "docker proxy" "127.0.0.1:$dport" "" -
            "docker dnat from a namespace" "$host_ip:$dport" "$client" -)
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
echo "# direct $ip:80, dnat $host_ip:$port, proxy 127.0.0.1:$port; namespace client $link.2${dport:+; docker $dip:80, -p $dport}"
printf '| path | page | requests/s | throughput | vs direct |\n| --- | --- | ---: | ---: | ---: |\n'
for page in $PAGES; do
  # Runs of one path back to back would each catch a different share of whatever else the
  # machine does; taking the paths in turn spreads that over all of them.
  declare -A rs=() ts=()
  for _ in $(seq "$RUNS"); do
    for ((i = 0; i < ${#targets[@]}; i += 4)); do
      [ "${targets[i + 3]}" = - ] || probe_do "${targets[i + 3]}"
      read -r r t < <(measure "http://${targets[i + 1]}$page" "${targets[i + 2]}")
      [ "${targets[i + 3]}" = - ] || probe_undo
      rs[$i]+="$r "; ts[$i]+="$t "
    done
  done
  for ((i = 0; i < ${#targets[@]}; i += 4)); do
    r=$(printf '%s\n' ${rs[$i]} | median); t=$(printf '%s\n' ${ts[$i]} | median)
    # Compared with berth's direct path from the same side (the host or the namespace).
    if [ -z "${targets[i + 2]}" ]; then base=$(printf '%s\n' ${rs[0]} | median)
    else base=$(printf '%s\n' ${rs[12]} | median); fi
    printf '| %s | %s | %.0f | %.1f MiB/s | %+.1f%% |\n' "${targets[i]}" "$page" "$r" \
      "$(awk -v t="$t" 'BEGIN { print t / 1048576 }')" \
      "$(awk -v r="$r" -v b="$base" 'BEGIN { print (r / b - 1) * 100 }')"
    echo "#   ${targets[i]} $page, requests/s of each run: ${rs[$i]}" >&2
  done
  unset rs ts
done
