//! User networks end to end: `network create|ls|inspect|rm|prune|connect|disconnect`, names
//! and `--network-alias` resolved by the network's DNS server, isolation between networks,
//! and `--internal` networks without a way out.

mod common;
mod netcommon;

use std::net::Ipv4Addr;

use netcommon::{
    expect_page, free_port, host_address, host_links, token, HostServer, Net, NetBerth,
};

/// The address `name` resolves to inside a new container on `network` (from ping's first
/// line, `PING db (10.231.3.2): 56 data bytes`), or None when it does not resolve.
fn resolve(b: &NetBerth, network: &str, name: &str) -> Option<Ipv4Addr> {
    let out = b.run_t(&[
        "run",
        "--rm",
        "--network",
        network,
        "busybox",
        "sh",
        "-c",
        &format!("timeout 10 ping -c 1 -W 1 {name} 2>&1 | head -1"),
    ]);
    resolved(&out.stdout, name)
}

fn resolved(ping_line: &str, name: &str) -> Option<Ipv4Addr> {
    ping_line
        .strip_prefix(&format!("PING {name} ("))?
        .split(')')
        .next()?
        .parse()
        .ok()
}

#[test]
fn network_create_ls_inspect_and_rm() {
    let b = NetBerth::new();
    let n = b.lease();
    let (subnet, gateway) = (format!("10.231.{n}.0/24"), format!("10.231.{n}.254"));
    let id = b
        .run_t(&[
            "network",
            "create",
            "--subnet",
            &subnet,
            "--gateway",
            &gateway,
            "--label",
            "team=a",
            "appnet",
        ])
        .ok()
        .trim()
        .to_string();
    assert!(common::is_hex64(&id), "{id}");

    let table = b.run_t(&["network", "ls"]).ok().to_string();
    let rows: Vec<Vec<&str>> = table.lines().map(common::cells).collect();
    assert_eq!(
        rows[0],
        ["NETWORK ID", "NAME", "DRIVER", "SCOPE"],
        "{table}"
    );
    assert!(
        rows.contains(&vec![&id[..12], "appnet", "bridge", "local"]),
        "{table}"
    );
    let names: Vec<&str> = rows[1..].iter().map(|r| r[1]).collect();
    assert_eq!(names, ["appnet", "bridge", "host", "none"], "{table}");
    let custom = b.run_t(&["network", "ls", "-q", "--filter", "type=custom"]);
    assert_eq!(custom.ok(), format!("{}\n", &id[..12]));
    let labelled = b.run_t(&[
        "network",
        "ls",
        "--filter",
        "label=team=a",
        "--format",
        "{{.Name}} {{.Driver}} {{.Internal}}",
    ]);
    assert_eq!(labelled.ok(), "appnet bridge false\n");

    // The bridge is on the host with the gateway's address.
    let bridge = format!("br-{}", &id[..12]);
    let addr = netcommon::host_addresses();
    assert!(
        addr.lines()
            .any(|l| l.contains(&format!(" {bridge} "))
                && l.contains(&format!("inet {gateway}/24 "))),
        "{addr}"
    );

    // A container on it, with a published port.
    let page = token("appnet");
    let port = free_port();
    let cid = b.serve(
        &[
            "--name",
            "member",
            "--network",
            "appnet",
            "-p",
            &format!("{port}:80"),
        ],
        &page,
    );
    let ip = b.addr_on("member", "appnet");
    assert_eq!(
        ip,
        Ipv4Addr::new(10, 231, n, 1),
        "the first address that is not the gateway"
    );
    assert_eq!(
        b.field("member", "{{.NetworkSettings.Networks.appnet.Gateway}}"),
        gateway
    );
    assert_eq!(
        b.field("member", "{{.NetworkSettings.Networks.appnet.NetworkID}}"),
        id
    );
    assert_eq!(b.field("member", "{{.HostConfig.NetworkMode}}"), "appnet");
    let (host_ip, _) = host_address();
    expect_page(&format!("http://{host_ip}:{port}/"), &page);
    expect_page(&format!("http://127.0.0.1:{port}/"), &page);
    let resolv = b.exec_sh("member", "cat /etc/resolv.conf").ok().to_string();
    assert!(
        resolv.contains(&format!("nameserver {gateway}\n")),
        "{resolv}"
    );

    let out = b.run_t(&["network", "inspect", "appnet"]);
    let v: serde_json::Value = serde_json::from_str(out.ok()).expect("JSON");
    let net = &v[0];
    assert_eq!(net["Name"], "appnet");
    assert_eq!(net["Id"], id.as_str());
    assert_eq!(net["Driver"], "bridge");
    assert_eq!(net["Scope"], "local");
    assert_eq!(net["EnableIPv6"], false);
    assert_eq!(net["Internal"], false);
    assert_eq!(net["Attachable"], false);
    assert_eq!(net["IPAM"]["Driver"], "default");
    assert_eq!(
        net["IPAM"]["Config"],
        serde_json::json!([{"Subnet": subnet, "Gateway": gateway}])
    );
    assert_eq!(net["Labels"], serde_json::json!({"team": "a"}));
    assert!(
        net["Created"].as_str().is_some_and(|c| c.contains('T')),
        "{net}"
    );
    let member = &net["Containers"][&cid];
    assert_eq!(member["Name"], "member", "{net}");
    assert_eq!(member["IPv4Address"], format!("{ip}/24"));
    assert_eq!(
        member["MacAddress"],
        b.field("member", "{{.NetworkSettings.Networks.appnet.MacAddress}}")
    );
    assert!(
        member["EndpointID"].as_str().is_some_and(common::is_hex64),
        "{net}"
    );
    let by_id = b.run_t(&["network", "inspect", "-f", "{{.Name}}", &id[..12]]);
    assert_eq!(by_id.ok(), "appnet\n");

    // Refusals, in Docker's words.
    let out = b.run_t(&["network", "rm", "appnet"]);
    let err = out.fails(1);
    assert!(
        err.contains(&format!(
            "error while removing network: network appnet id {id} has active endpoints"
        )),
        "{err}"
    );
    let again = b.run_t(&["network", "create", "--subnet", "10.231.255.0/24", "appnet"]);
    assert!(
        again
            .fails(1)
            .contains("network with name appnet already exists"),
        "{again:?}"
    );
    let overlap = b.run_t(&["network", "create", "--subnet", &subnet, "other"]);
    assert!(
        overlap
            .fails(1)
            .contains("Pool overlaps with other one on this address space"),
        "{overlap:?}"
    );
    let builtin = b.run_t(&["network", "rm", "bridge"]);
    assert!(
        builtin
            .fails(1)
            .contains("bridge is a pre-defined network and cannot be removed"),
        "{builtin:?}"
    );

    // Without its container it goes, bridge and all.
    b.run_t(&["rm", "-f", "member"]).ok();
    assert_eq!(b.run_t(&["network", "rm", "appnet"]).ok(), "appnet\n");
    assert!(!host_links().contains(&bridge));
    let gone = b.run_t(&["network", "inspect", "appnet"]);
    assert!(
        gone.fails(1).contains("network appnet not found"),
        "{gone:?}"
    );
    let out = b.run_t(&["run", "--rm", "--network", "appnet", "busybox", "true"]);
    assert!(
        out.fails(125).contains("network appnet not found"),
        "{out:?}"
    );
}

#[test]
fn network_create_without_a_subnet_picks_one_the_host_does_not_route() {
    let b = NetBerth::new();
    let before = netcommon::host_routes();
    b.run_t(&["network", "create", "auto"]).ok();
    let subnet = b
        .run_t(&[
            "network",
            "inspect",
            "-f",
            "{{(index .IPAM.Config 0).Subnet}}",
            "auto",
        ])
        .ok()
        .trim()
        .to_string();
    assert!(subnet.ends_with("/24"), "{subnet}");
    assert!(
        !before.contains(&subnet),
        "{subnet} was routed already: {before:?}"
    );
    assert!(netcommon::host_routes().contains(&subnet));
    let gateway = b
        .run_t(&[
            "network",
            "inspect",
            "-f",
            "{{(index .IPAM.Config 0).Gateway}}",
            "auto",
        ])
        .ok()
        .trim()
        .to_string();
    assert!(gateway.ends_with(".1") && subnet.starts_with(gateway.trim_end_matches('1')));
}

#[test]
fn stores_creating_networks_at_once_get_distinct_subnets() {
    let stores: Vec<NetBerth> = (0..3).map(|_| NetBerth::new()).collect();
    let mut creates: Vec<_> = stores
        .iter()
        .flat_map(|b| ["one", "two"].map(|name| b.spawn(&["network", "create", name])))
        .collect();
    for c in &mut creates {
        c.finish().ok();
    }
    let mut subnets = std::collections::BTreeSet::new();
    for b in &stores {
        let out = b.run_t(&[
            "network",
            "inspect",
            "-f",
            "{{(index .IPAM.Config 0).Subnet}}",
            "one",
            "two",
        ]);
        subnets.extend(out.ok().lines().map(str::to_string));
    }
    assert_eq!(subnets.len(), 6, "{subnets:?}");
}

#[test]
fn prune_removes_the_networks_no_container_uses() {
    let b = NetBerth::new();
    let used = b.create_net("used", &[]);
    let unused = b.create_net("unused", &[]);
    b.detach(&[
        "--name",
        "member",
        "--network",
        "used",
        "busybox",
        "sleep",
        "100000",
    ]);

    assert_eq!(
        b.run_t(&["network", "prune", "-f"]).ok(),
        "Deleted Networks:\nunused\n"
    );
    let names = b.run_t(&["network", "ls", "--format", "{{.Name}}"]);
    assert_eq!(names.ok(), "bridge\nhost\nnone\nused\n");
    let links = host_links();
    assert!(!links.contains(&unused.bridge()));
    assert!(links.contains(&used.bridge()));
    // Nothing left to prune: nothing printed.
    assert_eq!(b.run_t(&["network", "prune", "-f"]).ok(), "");
}

#[test]
fn containers_resolve_each_other_by_name_and_alias_on_a_user_network() {
    let b = NetBerth::new();
    b.create_net("appnet", &[]);
    b.detach(&[
        "--name",
        "db",
        "--network",
        "appnet",
        "--network-alias",
        "database",
        "--network-alias",
        "store",
        "busybox",
        "sleep",
        "100000",
    ]);
    let db = b.addr_on("db", "appnet");
    for name in ["db", "database", "store"] {
        assert_eq!(resolve(&b, "appnet", name), Some(db), "{name}");
    }
    // nslookup asks the network's DNS server (the gateway) directly.
    let gw = b.field("db", "{{.NetworkSettings.Networks.appnet.Gateway}}");
    let out = b.run_t(&[
        "run",
        "--rm",
        "--network",
        "appnet",
        "busybox",
        "nslookup",
        "database",
    ]);
    let text = out.ok();
    assert!(text.contains(&format!("Server:\t\t{gw}\n")), "{text}");
    assert!(
        text.contains(&format!("Name:\tdatabase\nAddress: {db}\n")),
        "{text}"
    );
    assert_eq!(
        b.field("db", "{{json .NetworkSettings.Networks.appnet.Aliases}}"),
        r#"["database","store"]"#
    );

    // The resolving container can reach what it resolved.
    let page = token("byname");
    b.serve(&["--name", "web", "--network", "appnet"], &page);
    let out = b.exec_sh("db", "timeout 10 wget -qO- http://web/");
    assert_eq!(out.ok(), format!("{page}\n"));

    // A name that is not a container's does not resolve; a removed container's neither.
    assert_eq!(resolve(&b, "appnet", "nosuchbox"), None);
    b.run_t(&["rm", "-f", "db"]).ok();
    assert_eq!(resolve(&b, "appnet", "db"), None);
    assert_eq!(resolve(&b, "appnet", "database"), None);

    // The default bridge has no names (Docker's rule).
    b.detach(&["--name", "plain", "busybox", "sleep", "100000"]);
    assert_eq!(resolve(&b, "bridge", "plain"), None);
}

#[test]
fn an_alias_on_the_default_bridge_is_refused() {
    let b = NetBerth::new();
    for network in ["bridge", "host", "none"] {
        let out = b.run_t(&[
            "run",
            "--rm",
            "--network",
            network,
            "--network-alias",
            "x",
            "busybox",
            "true",
        ]);
        let err = out.fails(125);
        assert!(
            err.contains(
                "network-scoped alias is supported only for containers in user defined networks"
            ),
            "--network {network}: {err}"
        );
    }
    // Nothing was created.
    assert_eq!(b.run_t(&["ps", "-aq"]).ok(), "");
}

#[test]
fn connect_and_disconnect_a_container() {
    let b = NetBerth::new();
    b.create_net("front", &[]);
    let back = b.create_net("back", &[]);
    b.detach(&[
        "--name",
        "app",
        "--network",
        "front",
        "busybox",
        "sleep",
        "100000",
    ]);
    let page = token("back");
    b.serve(&["--name", "db", "--network", "back"], &page);
    let db_ip = b.addr_on("db", "back");

    // Networks are isolated: app cannot reach db, nor resolve it.
    let out = b.exec_sh(
        "app",
        &format!("ping -c 1 -W 2 {db_ip} >/dev/null 2>&1 || echo unreachable"),
    );
    assert_eq!(out.ok(), "unreachable\n");

    b.run_t(&[
        "network",
        "connect",
        "--alias",
        "application",
        "back",
        "app",
    ])
    .ok();
    let app_ip = b.addr_on("app", "back");
    assert!(back.ip(2) <= app_ip && app_ip < back.ip(255), "{app_ip}");
    let addrs = b.exec_sh("app", "ip -4 -o addr show eth1").ok().to_string();
    assert!(addrs.contains(&format!("inet {app_ip}/24 ")), "{addrs}");
    let out = b.exec_sh("app", "timeout 10 wget -qO- http://db/");
    assert_eq!(out.ok(), format!("{page}\n"));
    assert_eq!(resolve(&b, "back", "application"), Some(app_ip));
    let keys = "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}";
    assert_eq!(b.field("app", keys), "back front");
    let members = b.run_t(&[
        "network",
        "inspect",
        "-f",
        "{{range .Containers}}{{.Name}} {{end}}",
        "back",
    ]);
    let mut names: Vec<String> = members
        .ok()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    names.sort();
    assert_eq!(names, ["app", "db"]);
    let twice = b.run_t(&["network", "connect", "back", "app"]);
    assert!(
        twice.fails(1).contains("already exists in network back"),
        "{twice:?}"
    );

    b.run_t(&["network", "disconnect", "back", "app"]).ok();
    let links = b
        .exec_sh("app", "ip -o link | cut -d: -f2 | tr -d ' '")
        .ok()
        .to_string();
    assert!(!links.contains("eth1"), "{links}");
    assert_eq!(b.field("app", keys), "front");
    let members = b.run_t(&[
        "network",
        "inspect",
        "-f",
        "{{range .Containers}}{{.Name}} {{end}}",
        "back",
    ]);
    assert_eq!(members.ok().trim(), "db");
    let out = b.exec_sh(
        "app",
        &format!("ping -c 1 -W 2 {db_ip} >/dev/null 2>&1 || echo unreachable"),
    );
    assert_eq!(out.ok(), "unreachable\n");

    // A stopped container is attached when it starts.
    b.run_t(&[
        "create",
        "--name",
        "later",
        "--network",
        "front",
        "busybox",
        "sleep",
        "100000",
    ])
    .ok();
    b.run_t(&["network", "connect", "back", "later"]).ok();
    b.run_t(&["start", "later"]).ok();
    let out = b.exec_sh("later", "timeout 10 wget -qO- http://db/");
    assert_eq!(out.ok(), format!("{page}\n"));
    assert_eq!(b.field("later", keys), "back front");
}

#[test]
fn an_internal_network_has_no_way_out() {
    let b = NetBerth::new();
    let (host_ip, _) = host_address();
    let outside = HostServer::start(host_ip, "outside");
    b.create_net("inner", &["--internal"]);
    b.create_net("outer", &[]);

    // From an ordinary network the host's address answers ...
    let fetch = format!("timeout 10 wget -qO- http://{host_ip}:{}/", outside.port);
    let out = b.run_t(&[
        "run",
        "--rm",
        "--network",
        "outer",
        "busybox",
        "sh",
        "-c",
        &fetch,
    ]);
    assert_eq!(out.ok(), "outside\n");

    // ... from an internal one there is no route to it.
    let page = token("inner");
    b.serve(&["--name", "peer", "--network", "inner"], &page);
    let script = format!(
        "ip route | grep -c default; ping -c 1 -W 2 {host_ip} >/dev/null 2>&1 || echo unreachable; \
         timeout 5 nc {host_ip} {} </dev/null >/dev/null 2>&1 || echo refused; \
         timeout 10 wget -qO- http://peer/",
        outside.port
    );
    let out = b.run_t(&[
        "run",
        "--rm",
        "--network",
        "inner",
        "busybox",
        "sh",
        "-c",
        &script,
    ]);
    assert_eq!(
        out.stdout,
        format!("0\nunreachable\nrefused\n{page}\n"),
        "{out:?}"
    );
    assert_eq!(
        b.run_t(&["network", "inspect", "-f", "{{.Internal}}", "inner"])
            .ok(),
        "true\n"
    );
    assert_eq!(
        b.field("peer", "{{.NetworkSettings.Networks.inner.Gateway}}"),
        ""
    );
}
