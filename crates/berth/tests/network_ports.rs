//! Published ports end to end: `-p HOSTPORT:CPORT`, `-p IP:HOSTPORT:CPORT`, `-p CPORT`,
//! `/udp`, ranges, `-P` from EXPOSE, `berth port`, the PORTS column, and a host port already
//! taken. Connections to 127.0.0.1 go through the userland proxy, to the host's other
//! addresses through nftables DNAT; the `/cgi-bin/who` page of the test server tells which
//! (the client address the container sees).

mod common;
mod netcommon;

use std::net::{Ipv4Addr, SocketAddr, TcpListener};

use netcommon::{
    derived_veth, expect_page, free_port, free_port_pair, free_udp_port, host_address, host_links,
    http_status, token, udp_ask, who, Net, NetBerth, UdpEcho,
};

#[test]
fn a_published_port_answers_on_loopback_on_the_hosts_address_and_on_the_gateway() {
    let b = NetBerth::new();
    let net = b.default_net();
    let (host_ip, _) = host_address();
    let port = free_port();
    let page = token("pub");
    let id = b.serve(&["--name", "web", "-p", &format!("{port}:80")], &page);

    expect_page(&format!("http://127.0.0.1:{port}/"), &page);
    expect_page(&format!("http://{host_ip}:{port}/"), &page);
    expect_page(&format!("http://{}:{port}/", net.gateway), &page);

    // The host's own address is DNAT'ed: the container sees the host's address as the
    // client. Loopback goes through the proxy, which connects from the bridge's gateway.
    assert_eq!(who(&format!("http://{host_ip}:{port}")), Some(host_ip));
    assert_eq!(who(&format!("http://127.0.0.1:{port}")), Some(net.gateway));
    let ip = b.addr("web");
    let rule = format!("tcp dport {port} dnat to {ip}:80 comment \"{id}\"");
    assert!(b.nft_text().contains(&rule), "{}", b.nft_text());
    // A SYN from the host itself, once DNAT'ed onto the bridge, offers the bridge's MSS.
    let clamp = format!(
        "ip daddr {} ct status dnat tcp flags syn / syn,rst tcp option maxseg size set rt mtu",
        net.subnet
    );
    assert!(b.nft_text().contains(&clamp), "{}", b.nft_text());
    assert_eq!(b.helper_procs("__proxy", &id).len(), 1);

    assert_eq!(
        b.run_t(&["port", "web"]).ok(),
        format!("80/tcp -> 0.0.0.0:{port}\n")
    );
    assert_eq!(
        b.run_t(&["port", "web", "80"]).ok(),
        format!("0.0.0.0:{port}\n")
    );
    assert_eq!(b.ports_cell("web"), format!("0.0.0.0:{port}->80/tcp"));
    let table = b.run_t(&["ps"]).ok().to_string();
    let header = table.lines().next().unwrap_or_default();
    assert!(header.contains("   PORTS   "), "{table}");
    assert!(
        table.contains(&format!("   0.0.0.0:{port}->80/tcp   ")),
        "{table}"
    );
    assert_eq!(
        b.field("web", "{{json .HostConfig.PortBindings}}"),
        format!(r#"{{"80/tcp":[{{"HostIp":"","HostPort":"{port}"}}]}}"#)
    );
    assert_eq!(
        b.field("web", "{{json .NetworkSettings.Ports}}"),
        format!(r#"{{"80/tcp":[{{"HostIp":"0.0.0.0","HostPort":"{port}"}}]}}"#)
    );

    // Removed with the container: rule, proxy, and the port itself.
    b.run_t(&["rm", "-f", "web"]).ok();
    assert_eq!(http_status(&format!("http://127.0.0.1:{port}/")), 7);
    assert_eq!(http_status(&format!("http://{host_ip}:{port}/")), 7);
    assert!(!b.nft_text().contains(&id), "{}", b.nft_text());
    assert!(b.helper_procs("__proxy", &id).is_empty());
    TcpListener::bind(("0.0.0.0", port)).expect("the port is free again");
}

#[test]
fn a_port_published_on_one_address_answers_only_there() {
    let b = NetBerth::new();
    let (host_ip, _) = host_address();
    let (lo_port, host_port) = (free_port(), free_port());
    let page = token("oneip");
    b.serve(
        &[
            "--name",
            "web",
            "-p",
            &format!("127.0.0.1:{lo_port}:80"),
            "-p",
            &format!("{host_ip}:{host_port}:80"),
        ],
        &page,
    );
    expect_page(&format!("http://127.0.0.1:{lo_port}/"), &page);
    expect_page(&format!("http://{host_ip}:{host_port}/"), &page);
    assert_eq!(who(&format!("http://{host_ip}:{host_port}")), Some(host_ip));
    // 7: connection refused.
    assert_eq!(http_status(&format!("http://{host_ip}:{lo_port}/")), 7);
    assert_eq!(http_status(&format!("http://127.0.0.1:{host_port}/")), 7);

    assert_eq!(
        b.ports_cell("web"),
        format!("127.0.0.1:{lo_port}->80/tcp, {host_ip}:{host_port}->80/tcp")
    );
    assert_eq!(
        b.run_t(&["port", "web", "80/tcp"]).ok(),
        format!("127.0.0.1:{lo_port}\n{host_ip}:{host_port}\n")
    );
}

#[test]
fn a_container_port_alone_is_published_on_a_free_host_port() {
    let b = NetBerth::new();
    let page = token("anyport");
    b.serve(&["--name", "web", "-p", "80"], &page);
    let line = b.run_t(&["port", "web", "80"]).ok().trim().to_string();
    let port: u16 = line
        .strip_prefix("0.0.0.0:")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("port printed {line:?}"));
    assert_ne!(port, 80);
    expect_page(&format!("http://127.0.0.1:{port}/"), &page);
    assert_eq!(b.ports_cell("web"), format!("0.0.0.0:{port}->80/tcp"));
    // Docker keeps what was asked for, an empty host port, in PortBindings.
    assert_eq!(
        b.field("web", "{{json .HostConfig.PortBindings}}"),
        r#"{"80/tcp":[{"HostIp":"","HostPort":""}]}"#
    );
}

#[test]
fn udp_ports_are_published() {
    let b = NetBerth::new();
    let (host_ip, _) = host_address();
    let port = free_udp_port();
    b.detach(&[
        "--name",
        "udp",
        "-p",
        &format!("{port}:5353/udp"),
        "busybox",
        "sleep",
        "100000",
    ]);
    // Debian's busybox nc has no -u: the test's own echo server listens in the container's
    // network namespace.
    let _echo = UdpEcho::start(&b.sandbox("udp"), 5353);
    let to_proxy = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    assert_eq!(
        udp_ask(to_proxy, "via-proxy").as_deref(),
        Some("echo:via-proxy")
    );
    let to_dnat = SocketAddr::from((host_ip, port));
    assert_eq!(
        udp_ask(to_dnat, "via-dnat").as_deref(),
        Some("echo:via-dnat")
    );
    assert_eq!(b.ports_cell("udp"), format!("0.0.0.0:{port}->5353/udp"));
    assert_eq!(
        b.run_t(&["port", "udp"]).ok(),
        format!("5353/udp -> 0.0.0.0:{port}\n")
    );
    // A TCP port of the same number is not published.
    assert!(!b.nft_text().contains(&format!("tcp dport {port} ")));
}

#[test]
fn port_ranges_publish_each_port() {
    let b = NetBerth::new();
    let p = free_port_pair();
    let q = free_port_pair();
    let (page80, page81, page_q) = (token("r80"), token("r81"), token("rq"));
    b.serve_pages(
        &[
            "--name",
            "ranges",
            "-p",
            &format!("{p}-{}:80-81", p + 1),
            "-p",
            &format!("{q}-{}:{q}-{}", q + 1, q + 1),
        ],
        &[(80, &page80), (81, &page81), (q, &page_q), (q + 1, &page_q)],
    );
    expect_page(&format!("http://127.0.0.1:{p}/"), &page80);
    expect_page(&format!("http://127.0.0.1:{}/", p + 1), &page81);
    expect_page(&format!("http://127.0.0.1:{}/", q + 1), &page_q);
    // Ports that map to themselves fold into one range, as Docker shows them.
    assert_eq!(
        b.ports_cell("ranges"),
        format!(
            "0.0.0.0:{q}-{q1}->{q}-{q1}/tcp, 0.0.0.0:{p}->80/tcp, 0.0.0.0:{p1}->81/tcp",
            q1 = q + 1,
            p1 = p + 1
        )
    );

    // A host range for one container port takes the first free port of it.
    let r = free_port_pair();
    let _held = TcpListener::bind(("0.0.0.0", r)).expect("hold the first port");
    let page = token("rfree");
    b.serve(
        &["--name", "pick", "-p", &format!("{r}-{}:80", r + 1)],
        &page,
    );
    assert_eq!(
        b.run_t(&["port", "pick", "80"]).ok(),
        format!("0.0.0.0:{}\n", r + 1)
    );
    expect_page(&format!("http://127.0.0.1:{}/", r + 1), &page);
}

#[test]
fn publish_all_publishes_every_exposed_port() {
    let b = NetBerth::new();
    b.busybox_with("exposing", &["EXPOSE 80 81/udp"]);
    let page = token("all");
    b.serve_image("exposing", &["--name", "all", "-P"], &[(80, &page)]);
    let lines = b.run_t(&["port", "all"]).ok().to_string();
    let host_port = |key: &str| -> u16 {
        lines
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key} -> 0.0.0.0:")))
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("{key} not published: {lines}"))
    };
    let (tcp, udp) = (host_port("80/tcp"), host_port("81/udp"));
    assert_eq!(lines.lines().count(), 2, "{lines}");
    expect_page(&format!("http://127.0.0.1:{tcp}/"), &page);
    assert_eq!(
        b.ports_cell("all"),
        format!("0.0.0.0:{tcp}->80/tcp, 0.0.0.0:{udp}->81/udp")
    );
    assert_eq!(b.field("all", "{{.HostConfig.PublishAllPorts}}"), "true");

    // Without -P the exposed ports are listed, unpublished.
    b.detach(&["--name", "quiet", "exposing", "sleep", "100000"]);
    assert_eq!(b.ports_cell("quiet"), "80/tcp, 81/udp");
    assert_eq!(b.run_t(&["port", "quiet"]).ok(), "");

    // An image made by commit with EXPOSE does the same.
    b.run_t(&["commit", "--change", "EXPOSE 8080", "quiet", "committed"])
        .ok();
    b.detach(&["--name", "fromcommit", "-P", "committed", "sleep", "100000"]);
    let out = b.run_t(&["port", "fromcommit", "8080"]).ok().to_string();
    assert!(out.starts_with("0.0.0.0:"), "{out}");
}

#[test]
fn a_host_port_already_taken_fails_the_run_and_leaves_nothing_behind() {
    let b = NetBerth::new();
    let net = b.default_net();
    let port = free_port();
    let held = TcpListener::bind(("0.0.0.0", port)).expect("hold the port");

    let out = b.run_t(&[
        "run",
        "-d",
        "--name",
        "late",
        "-p",
        &format!("{port}:80"),
        "busybox",
        "sleep",
        "100000",
    ]);
    let err = out.fails(125);
    assert!(
        err.contains(&format!("0.0.0.0:{port}")) && err.contains("already allocated"),
        "{err}"
    );
    // Created, as Docker leaves it; nothing of its network is left on the host.
    assert_eq!(b.status("late"), "created");
    let id = b.field("late", "{{.Id}}");
    assert_eq!(b.run_t(&["ps", "-q"]).ok(), "");
    assert!(b.monitor_of(&id).is_none());
    assert!(b.helper_procs("__proxy", &id).is_empty());
    assert!(!b.nft_text().contains(&id), "{}", b.nft_text());
    assert!(!host_links().contains(&derived_veth(&id, &net.id)));
    assert!(!b.runroot().join("netns").join(&id).exists());
    assert_eq!(b.run_t(&["port", "late"]).ok(), "");

    // Its address went back: the next container gets the network's first one.
    b.detach(&["--name", "next", "busybox", "sleep", "100000"]);
    let first = Ipv4Addr::from(u32::from(net.gateway) + 1);
    assert_eq!(b.addr("next"), first);

    // Once the port is free, the same container starts and serves.
    drop(held);
    b.run_t(&["start", "late"]).ok();
    assert_eq!(b.status("late"), "running");
    assert_eq!(
        b.run_t(&["port", "late"]).ok(),
        format!("80/tcp -> 0.0.0.0:{port}\n")
    );

    // A port another container of the store holds is refused the same way.
    let out = b.run_t(&[
        "run",
        "-d",
        "--name",
        "third",
        "-p",
        &format!("{port}:80"),
        "busybox",
        "sleep",
        "100000",
    ]);
    let err = out.fails(125);
    assert!(
        err.contains(&format!(
            "Bind for 0.0.0.0:{port} failed: port is already allocated"
        )),
        "{err}"
    );
    assert_eq!(b.status("third"), "created");
}

#[test]
fn containers_reach_a_published_port_through_the_hosts_address() {
    let b = NetBerth::new();
    let (host_ip, _) = host_address();
    let port = free_port();
    let page = token("hairpin");
    b.serve(&["--name", "web", "-p", &format!("{port}:80")], &page);
    let web_ip = b.addr("web");
    expect_page(&format!("http://127.0.0.1:{port}/"), &page);
    let fetch = format!("timeout 10 wget -qO- http://{host_ip}:{port}/");

    // A sibling on the same bridge (hairpin NAT) ...
    let out = b.run_t(&["run", "--rm", "busybox", "sh", "-c", &fetch]);
    assert_eq!(out.ok(), format!("{page}\n"));
    // ... and a container on another network, which otherwise cannot reach the bridge.
    b.create_net("elsewhere", &[]);
    let script = format!("{fetch} && (ping -c 1 -W 2 {web_ip} >/dev/null 2>&1 || echo isolated)");
    let out = b.run_t(&[
        "run",
        "--rm",
        "--network",
        "elsewhere",
        "busybox",
        "sh",
        "-c",
        &script,
    ]);
    assert_eq!(out.ok(), format!("{page}\nisolated\n"));
}
