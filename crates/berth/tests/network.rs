//! The default network and the other network modes, end to end: a container on `bridge` gets
//! an address, a route and its own hosts/hostname/resolv.conf, reaches the host and its
//! neighbours; `--network host|none|container:NAME`, `--dns*` and `--add-host`.

mod common;
mod netcommon;

use netcommon::{expect_page, host_address, HostServer, Net, NetBerth};

#[test]
fn a_container_on_the_default_bridge_gets_an_address_a_route_and_its_own_files() {
    let b = NetBerth::new();
    let net = b.default_net();
    let (gw, prefix) = (net.gateway.to_string(), net.prefix.to_string());
    let id = b.detach(&["--name", "box", "busybox", "sleep", "100000"]);
    let hostname = &id[..12];

    let ip = b.addr("box");
    assert!(
        net.contains(ip) && ip != net.gateway,
        "address {ip} in {net:?}"
    );
    assert_eq!(
        b.field("box", "{{.NetworkSettings.Networks.bridge.IPAddress}}"),
        ip.to_string()
    );
    assert_eq!(b.field("box", "{{.NetworkSettings.Gateway}}"), gw);
    assert_eq!(
        b.field("box", "{{.NetworkSettings.Networks.bridge.Gateway}}"),
        gw
    );
    assert_eq!(b.field("box", "{{.NetworkSettings.IPPrefixLen}}"), prefix);
    assert_eq!(
        b.field("box", "{{.NetworkSettings.Networks.bridge.IPPrefixLen}}"),
        prefix
    );
    assert_eq!(b.field("box", "{{.HostConfig.NetworkMode}}"), "bridge");
    let mac = b.field("box", "{{.NetworkSettings.MacAddress}}");
    assert_eq!(
        b.field("box", "{{.NetworkSettings.Networks.bridge.MacAddress}}"),
        mac
    );
    assert_eq!(
        b.field("box", "{{.NetworkSettings.Networks.bridge.NetworkID}}"),
        net.id
    );

    // What the container itself sees agrees with inspect.
    let out = b.exec_sh(
        "box",
        "cat /sys/class/net/eth0/address; ip -4 -o addr show eth0; ip route",
    );
    let seen = out.ok();
    assert!(
        seen.starts_with(&format!("{mac}\n")),
        "MAC {mac} not on eth0: {seen}"
    );
    assert!(seen.contains(&format!("inet {ip}/{prefix} ")), "{seen}");
    assert!(
        seen.contains(&format!("default via {gw} dev eth0")),
        "no default route: {seen}"
    );

    let hosts = b.exec_sh("box", "cat /etc/hosts").ok().to_string();
    assert!(
        hosts.lines().any(|l| l == "127.0.0.1\tlocalhost"),
        "{hosts}"
    );
    assert!(
        hosts.lines().any(|l| l == format!("{ip}\t{hostname}")),
        "{hosts}"
    );
    assert_eq!(
        b.exec_sh("box", "cat /etc/hostname").ok(),
        format!("{hostname}\n")
    );
    assert_eq!(b.exec_sh("box", "hostname").ok(), format!("{hostname}\n"));
    let resolv = b.exec_sh("box", "cat /etc/resolv.conf").ok().to_string();
    let servers: Vec<&str> = resolv
        .lines()
        .filter_map(|l| l.strip_prefix("nameserver "))
        .collect();
    assert!(!servers.is_empty(), "no nameserver: {resolv}");
    // The host's loopback resolvers cannot be reached from the container's namespace.
    assert!(servers.iter().all(|s| !s.starts_with("127.")), "{resolv}");

    // The files are the container's own: each container has its own address in them.
    b.detach(&["--name", "other", "busybox", "sleep", "100000"]);
    let other_ip = b.addr("other");
    assert_ne!(other_ip, ip);
    let other_hosts = b.exec_sh("other", "cat /etc/hosts").ok().to_string();
    assert!(
        other_hosts.contains(&format!("{other_ip}\t")),
        "{other_hosts}"
    );
    assert!(!other_hosts.contains(&format!("{ip}\t")), "{other_hosts}");

    // --hostname goes into /etc/hosts and /etc/hostname.
    let out = b.run_t(&[
        "run",
        "--rm",
        "--hostname",
        "web.local",
        "busybox",
        "sh",
        "-c",
        "cat /etc/hostname; hostname; grep -c 'web.local' /etc/hosts",
    ]);
    assert_eq!(out.ok(), "web.local\nweb.local\n1\n");
}

#[test]
fn containers_on_the_bridge_reach_the_host_and_each_other() {
    let b = NetBerth::new();
    let gw = b.default_net().gateway;
    let page = netcommon::token("bridgepage");
    b.serve(&["--name", "web"], &page);
    let web_ip = b.addr("web");

    // The host reaches the container's address.
    expect_page(&format!("http://{web_ip}/"), &page);

    // A neighbour on the bridge reaches it, and reaches the host through the gateway.
    let host_page = netcommon::token("hostpage");
    let host = HostServer::start(gw, &host_page);
    let script = format!(
        "timeout 10 wget -qO- http://{web_ip}/ && ping -c 1 -W 5 {gw} >/dev/null && echo pinged \
         && timeout 10 wget -qO- http://{gw}:{}/",
        host.port
    );
    let out = b.run_t(&["run", "--rm", "busybox", "sh", "-c", &script]);
    assert_eq!(out.ok(), format!("{page}\npinged\n{host_page}\n"));
}

#[test]
fn network_host_shares_the_hosts_interfaces() {
    let b = NetBerth::new();
    let (ip, dev) = host_address();
    let out = b.run_t(&[
        "run",
        "--rm",
        "--network",
        "host",
        "busybox",
        "sh",
        "-c",
        "ip -o link; ip -4 -o addr",
    ]);
    let seen = out.ok();
    assert!(
        seen.contains(&format!(": {dev}:")),
        "host interface {dev} not seen: {seen}"
    );
    assert!(
        seen.contains(&format!("inet {ip}/")),
        "host address {ip} not seen: {seen}"
    );
    assert!(
        !seen.lines().any(|l| l.contains("eth0@")),
        "a veth was made: {seen}"
    );

    // Nothing of the bridge is made for it.
    b.detach(&[
        "--name",
        "hostbox",
        "--network",
        "host",
        "busybox",
        "sleep",
        "100000",
    ]);
    assert_eq!(b.field("hostbox", "{{.HostConfig.NetworkMode}}"), "host");
    assert_eq!(b.field("hostbox", "{{.NetworkSettings.IPAddress}}"), "");
    let net = b.run_t(&["network", "inspect", "-f", "{{len .Containers}}", "bridge"]);
    assert_eq!(net.ok().trim(), "0");
}

#[test]
fn network_host_has_the_hosts_hostname() {
    let b = NetBerth::new();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
    let host = host.trim();
    let out = b.run_t(&[
        "run",
        "--rm",
        "--network",
        "host",
        "busybox",
        "sh",
        "-c",
        "hostname; cat /etc/hostname; echo $HOSTNAME",
    ]);
    assert_eq!(out.ok(), format!("{host}\n{host}\n{host}\n"));
    // An explicit --hostname still wins, as in Docker.
    let out = b.run_t(&[
        "run",
        "--rm",
        "--network",
        "host",
        "--hostname",
        "chosen",
        "busybox",
        "hostname",
    ]);
    assert_eq!(out.ok(), "chosen\n");
}

#[test]
fn host_and_none_containers_list_their_network_in_inspect() {
    let b = NetBerth::new();
    b.detach(&[
        "--name",
        "hostbox",
        "--network",
        "host",
        "busybox",
        "sleep",
        "100000",
    ]);
    b.detach(&[
        "--name",
        "nonebox",
        "--network",
        "none",
        "busybox",
        "sleep",
        "100000",
    ]);
    let keys = "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}";
    assert_eq!(b.field("hostbox", keys), "host");
    assert_eq!(b.field("nonebox", keys), "none");
    let ids = b.run_t(&[
        "network",
        "ls",
        "--no-trunc",
        "--format",
        "{{.Name}} {{.ID}}",
    ]);
    for (name, network) in [("hostbox", "host"), ("nonebox", "none")] {
        let entry = format!("(index .NetworkSettings.Networks \"{network}\")");
        assert_eq!(b.field(name, &format!("{{{{{entry}.IPAddress}}}}")), "");
        assert_eq!(b.field(name, &format!("{{{{{entry}.Gateway}}}}")), "");
        let id = b.field(name, &format!("{{{{{entry}.NetworkID}}}}"));
        assert!(
            ids.ok().lines().any(|l| l == format!("{network} {id}")),
            "{name}'s NetworkID {id:?} is not the ID of {network} in: {}",
            ids.ok()
        );
        let endpoint = b.field(name, &format!("{{{{{entry}.EndpointID}}}}"));
        assert!(common::is_hex64(&endpoint), "EndpointID {endpoint:?}");
    }
}

#[test]
fn network_none_has_only_loopback_up() {
    let b = NetBerth::new();
    let id = b.detach(&[
        "--name",
        "lonely",
        "--network",
        "none",
        "busybox",
        "sleep",
        "100000",
    ]);
    let out = b.exec_sh(
        "lonely",
        "ip -o link; echo ---; ip -4 -o addr; echo ---; ip route",
    );
    let seen = out.ok();
    let (links, rest) = seen.split_once("---\n").expect("three parts");
    let (addrs, routes) = rest.split_once("---\n").expect("three parts");
    let links: Vec<&str> = links.lines().collect();
    assert_eq!(links.len(), 1, "{seen}");
    // LOWER_UP follows the kernel's link watch a moment later; UP is berth's doing.
    assert!(
        links[0].starts_with("1: lo: <LOOPBACK,UP"),
        "lo is not up: {seen}"
    );
    assert_eq!(addrs.lines().count(), 1, "{seen}");
    assert!(addrs.contains("inet 127.0.0.1/8"), "{seen}");
    assert_eq!(routes, "", "{seen}");

    // Loopback works.
    let out = b.exec_sh("lonely", "ping -c 1 -W 5 127.0.0.1 >/dev/null && echo ok");
    assert_eq!(out.ok(), "ok\n");

    assert_eq!(b.field("lonely", "{{.HostConfig.NetworkMode}}"), "none");
    assert_eq!(b.field("lonely", "{{.NetworkSettings.IPAddress}}"), "");
    let hosts = b.exec_sh("lonely", "cat /etc/hosts").ok().to_string();
    assert!(hosts.contains("127.0.0.1\tlocalhost"), "{hosts}");
    assert!(
        !hosts.contains(&id[..12]),
        "an address line for a container without one: {hosts}"
    );
}

/// A `--network none` container's first namespace is made ahead by its monitor, which stays
/// in the host's; a restart gets a new one from the runtime. Both have `lo` up.
#[test]
fn network_none_gets_its_own_namespace_on_every_start() {
    let b = NetBerth::new();
    let id = b.detach(&["--network", "none", "busybox", "sleep", "100000"]);
    let netns = |pid: &str| {
        std::fs::read_link(format!("/proc/{pid}/ns/net"))
            .unwrap_or_else(|e| panic!("netns of {pid}: {e}"))
    };
    let host = netns("self");
    let monitor = b.monitor_of(&id).expect("a monitor").to_string();
    assert_eq!(
        netns(&monitor),
        host,
        "the monitor left the host's namespace"
    );
    for start in ["first", "restarted"] {
        let pid = b.field(&id, "{{.State.Pid}}");
        assert_ne!(
            netns(&pid),
            host,
            "{start}: the container is in the host's namespace"
        );
        let links = b.exec_sh(&id, "ip -o link").ok().to_string();
        assert!(links.starts_with("1: lo: <LOOPBACK,UP"), "{start}: {links}");
        assert_eq!(links.lines().count(), 1, "{start}: {links}");
        b.run_t(&["restart", "-t", "0", &id]).ok();
    }
}

#[test]
fn network_container_shares_the_other_containers_stack() {
    let b = NetBerth::new();
    b.create_net("shared", &[]);
    let page = netcommon::token("sharedpage");
    b.serve(&["--name", "owner", "--network", "shared"], &page);
    let owner_ip = b.addr("owner");

    let script = "cat /sys/class/net/eth0/address; ip -4 -o addr show eth0 | awk '{print $4}'; \
                  ip -o link | wc -l";
    let owner_view = b.exec_sh("owner", script).ok().to_string();
    let out = b.run_t(&[
        "run",
        "--rm",
        "--network",
        "container:owner",
        "busybox",
        "sh",
        "-c",
        script,
    ]);
    assert_eq!(out.ok(), owner_view, "not the same interfaces");
    assert!(
        owner_view.contains(&format!("{owner_ip}/24")),
        "{owner_view}"
    );

    // Same stack: the owner's server is on the joiner's loopback.
    let mut got = String::new();
    let ok = common::eventually(netcommon::SERVE_WITHIN, || {
        let out = b.run_t(&[
            "run",
            "--rm",
            "--network",
            "container:owner",
            "busybox",
            "sh",
            "-c",
            "timeout 5 wget -qO- http://127.0.0.1/",
        ]);
        got = out.stdout.clone();
        got.trim() == page
    });
    assert!(
        ok,
        "the owner's server is not on the joiner's loopback: {got:?}"
    );

    // And the owner's /etc/hosts.
    let hosts = b.exec_sh("owner", "cat /etc/hosts").ok().to_string();
    let out = b.run_t(&[
        "run",
        "--rm",
        "--network",
        "container:owner",
        "busybox",
        "cat",
        "/etc/hosts",
    ]);
    assert_eq!(out.ok(), hosts);

    // A stopped container has no stack to share.
    b.run_t(&["stop", "-t", "1", "owner"]).ok();
    let out = b.run_t(&[
        "run",
        "--rm",
        "--network",
        "container:owner",
        "busybox",
        "true",
    ]);
    assert_ne!(out.code, 0, "joined a stopped container: {out:?}");
}

#[test]
fn network_container_has_the_other_containers_hostname() {
    let b = NetBerth::new();
    let owner = b.detach(&[
        "--name",
        "owner",
        "--network",
        "none",
        "busybox",
        "sleep",
        "100000",
    ]);
    let out = b.run_t(&[
        "run",
        "--rm",
        "--network",
        "container:owner",
        "busybox",
        "sh",
        "-c",
        "hostname; cat /etc/hostname",
    ]);
    let short = &owner[..12];
    assert_eq!(out.ok(), format!("{short}\n{short}\n"));
    // A hostname of its own is refused, as Docker refuses it.
    let out = b.run_t(&[
        "run",
        "--rm",
        "--hostname",
        "mine",
        "--network",
        "container:owner",
        "busybox",
        "true",
    ]);
    let err = out.fails(125);
    assert!(
        err.contains("conflicting options: hostname and the network mode"),
        "{err}"
    );
}

#[test]
fn dns_flags_and_add_host_write_resolv_conf_and_hosts() {
    let b = NetBerth::new();
    let out = b.run_t(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--dns",
        "1.2.3.4",
        "--dns",
        "5.6.7.8",
        "--dns-search",
        "example.com",
        "--dns-search",
        "corp.internal",
        "--dns-option",
        "ndots:3",
        "--dns-option",
        "timeout:1",
        "--add-host",
        "db:10.1.2.3",
        "--add-host",
        "cache=10.1.2.4",
        "busybox",
        "sh",
        "-c",
        "cat /etc/resolv.conf; echo ---; cat /etc/hosts",
    ]);
    let seen = out.ok();
    let (resolv, hosts) = seen.split_once("---\n").expect("two files");
    let lines: Vec<&str> = resolv
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "nameserver 1.2.3.4",
            "nameserver 5.6.7.8",
            "options ndots:3 timeout:1",
            "search example.com corp.internal",
        ],
        "{resolv}"
    );
    let first_ns = lines.iter().position(|l| *l == "nameserver 1.2.3.4");
    let second_ns = lines.iter().position(|l| *l == "nameserver 5.6.7.8");
    assert!(first_ns < second_ns, "servers out of order: {resolv}");
    assert!(hosts.lines().any(|l| l == "10.1.2.3\tdb"), "{hosts}");
    assert!(hosts.lines().any(|l| l == "10.1.2.4\tcache"), "{hosts}");

    // The names given resolve through /etc/hosts.
    let out = b.run_t(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--add-host",
        "db:10.1.2.3",
        "busybox",
        "sh",
        "-c",
        "ping -c 1 -W 1 db 2>&1 | head -1",
    ]);
    assert!(out.stdout.starts_with("PING db (10.1.2.3)"), "{out:?}");

    // inspect keeps them as Docker does.
    b.detach(&[
        "--name",
        "dnsbox",
        "--network",
        "none",
        "--dns",
        "1.2.3.4",
        "--dns-search",
        "example.com",
        "--dns-option",
        "ndots:3",
        "--add-host",
        "db:10.1.2.3",
        "busybox",
        "sleep",
        "100000",
    ]);
    assert_eq!(
        b.field("dnsbox", "{{json .HostConfig.Dns}}"),
        r#"["1.2.3.4"]"#
    );
    assert_eq!(
        b.field("dnsbox", "{{json .HostConfig.DnsSearch}}"),
        r#"["example.com"]"#
    );
    assert_eq!(
        b.field("dnsbox", "{{json .HostConfig.DnsOptions}}"),
        r#"["ndots:3"]"#
    );
    assert_eq!(
        b.field("dnsbox", "{{json .HostConfig.ExtraHosts}}"),
        r#"["db:10.1.2.3"]"#
    );

    // A bad --add-host is refused before anything runs.
    let out = b.run_t(&["run", "--rm", "--add-host", "nocolon", "busybox", "true"]);
    assert_eq!(out.code, 125, "{out:?}");
}

#[test]
fn add_host_gateway_is_the_bridge_gateway() {
    let b = NetBerth::new();
    let gw = b.default_net().gateway;
    let out = b.run_t(&[
        "run",
        "--rm",
        "--add-host",
        "gw:host-gateway",
        "busybox",
        "grep",
        "gw",
        "/etc/hosts",
    ]);
    assert_eq!(out.ok(), format!("{gw}\tgw\n"));
    // Outside the bridge too, it is the default bridge's gateway, as in Docker.
    for mode in ["host", "none"] {
        let out = b.run_t(&[
            "run",
            "--rm",
            "--network",
            mode,
            "--add-host",
            "gw:host-gateway",
            "busybox",
            "grep",
            "gw",
            "/etc/hosts",
        ]);
        assert_eq!(out.ok(), format!("{gw}\tgw\n"), "--network {mode}");
    }
    // The host is reachable under that name.
    let page = netcommon::token("gwpage");
    let host = HostServer::start(gw, &page);
    let out = b.run_t(&[
        "run",
        "--rm",
        "--add-host",
        "gw:host-gateway",
        "busybox",
        "sh",
        "-c",
        &format!("timeout 10 wget -qO- http://gw:{}/", host.port),
    ]);
    assert_eq!(out.ok(), format!("{page}\n"));
}
