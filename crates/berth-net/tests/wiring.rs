//! Veth pairs, addresses and routes: containers on a network reach each other and the host.

mod common;

use berth_net::*;
use common::*;

#[test]
#[ignore = "helper process entry, run by the tests themselves"]
fn helper_process() {
    common::helper_process();
}

#[test]
fn containers_on_a_network_reach_each_other_and_the_host() {
    let env = Env::new();
    let net = env.network("wire", "10.201.1.0/24");
    let a = env.container("a", &net, &[]);
    let b = env.container("b", &net, &[]);
    assert_eq!(a.ip().to_string(), "10.201.1.2");
    assert_eq!(b.ip().to_string(), "10.201.1.3");
    env.httpd(&a, "hello from a");
    env.httpd(&b, "hello from b");

    // b -> a over the bridge
    let out = b.run(&[
        "busybox",
        "wget",
        "-q",
        "-O",
        "-",
        &format!("http://{}/", a.ip()),
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from a");
    // a -> the host (the gateway address is the host's)
    let out = a.run(&[
        "busybox",
        "ping",
        "-c",
        "1",
        "-W",
        "5",
        &net.gateway.to_string(),
    ]);
    assert!(out.status.success(), "{out:?}");
    // the host -> b
    assert_eq!(
        curl(&format!("http://{}/", b.ip())).as_deref(),
        Some("hello from b")
    );

    // Inside: eth0 with the address, MAC and MTU, lo up, default route via the gateway.
    let addr =
        String::from_utf8_lossy(&a.run(&["ip", "-o", "addr", "show", "eth0"]).stdout).into_owned();
    assert!(addr.contains("inet 10.201.1.2/24"), "{addr}");
    let link = String::from_utf8_lossy(&a.run(&["ip", "link", "show"]).stdout).into_owned();
    assert!(link.contains("eth0@"), "{link}");
    assert!(link.contains("mtu 1500"), "{link}");
    assert!(link.contains("link/ether 02:42:0a:c9:01:02"), "{link}");
    assert!(link.contains("lo: <LOOPBACK,UP"), "{link}");
    let route = String::from_utf8_lossy(&a.run(&["ip", "route"]).stdout).into_owned();
    assert!(route.contains("default via 10.201.1.1 dev eth0"), "{route}");

    // On the host: the veth is on the bridge.
    let ports = sh(&format!("ip -o link show master {}", net.bridge));
    assert!(ports.contains(&a.net.endpoints[0].veth), "{ports}");
    assert!(ports.contains(&b.net.endpoints[0].veth), "{ports}");

    // Files: hosts with the container's own line, resolv.conf pointing at the DNS server.
    let hosts = a.net.hosts.as_deref().unwrap();
    assert!(hosts.starts_with("127.0.0.1\tlocalhost\n"), "{hosts}");
    assert!(
        hosts.ends_with(&format!("10.201.1.2\t{}\n", &a.req.id[..12])),
        "{hosts}"
    );
    assert!(a
        .net
        .resolv_conf
        .as_deref()
        .unwrap()
        .contains("nameserver 10.201.1.1\n"));
}

#[test]
fn teardown_removes_the_veth_and_frees_the_address() {
    let env = Env::new();
    let net = env.network("tear", "10.201.2.0/24");
    let a = env.container("a", &net, &[]);
    let veth = a.net.endpoints[0].veth.clone();
    assert!(sh("ip -o link show").contains(&veth));

    env.nets().teardown_container(&a.req.id).unwrap();
    assert!(!sh("ip -o link show").contains(&veth));
    let inside = String::from_utf8_lossy(&a.run(&["ip", "-o", "link", "show"]).stdout).into_owned();
    assert!(!inside.contains("eth0"), "{inside}");
    assert!(env.nets().endpoints_of(&net).unwrap().is_empty());
    // The address is given out again.
    let b = env.container("b", &net, &[]);
    assert_eq!(b.ip(), a.ip());
}

#[test]
fn network_none_has_only_loopback_up() {
    let env = Env::new();
    let req = env.request("lonely", NetworkMode::parse("none"));
    let out = env.nets().setup_container(&req).unwrap();
    assert!(out.endpoints.is_empty());
    let links = sh(&format!(
        "nsenter --net={} ip -o link show",
        req.netns.display()
    ));
    assert_eq!(links.lines().count(), 1, "{links}");
    assert!(links.contains("lo: <LOOPBACK,UP"), "{links}");
    let hosts = out.hosts.unwrap();
    assert!(!hosts.contains(&req.hostname), "{hosts}");
}

#[test]
fn host_and_container_modes_set_up_nothing() {
    let env = Env::new();
    let req = env.request("h", NetworkMode::parse("host"));
    let out = env.nets().setup_container(&req).unwrap();
    assert!(out.endpoints.is_empty());
    assert_eq!(
        out.resolv_conf.unwrap(),
        std::fs::read_to_string("/etc/resolv.conf").unwrap()
    );
    assert!(out
        .hosts
        .unwrap()
        .starts_with(&std::fs::read_to_string("/etc/hosts").unwrap()));
    let req2 = env.request("c", NetworkMode::parse("container:other"));
    let out = env.nets().setup_container(&req2).unwrap();
    assert_eq!(out, ContainerNet::default());
    // Neither namespace was touched: only `lo`, still down.
    for r in [&req, &req2] {
        let links = sh(&format!(
            "nsenter --net={} ip -o link show",
            r.netns.display()
        ));
        assert_eq!(links.lines().count(), 1, "{links}");
        assert!(links.contains("lo: <LOOPBACK>"), "{links}");
        assert!(env.nets().endpoints_of_container(&r.id).unwrap().is_empty());
    }
}

#[test]
fn connect_adds_eth1_and_disconnect_removes_it() {
    let env = Env::new();
    let n1 = env.network("c1", "10.201.3.0/24");
    let n2 = env.network("c2", "10.201.4.0/24");
    let a = env.container("a", &n1, &[]);
    let nets = env.nets();
    let ep = nets
        .connect(&EndpointRequest {
            container_id: a.req.id.clone(),
            container_name: "a".into(),
            network: n2.name.clone(),
            aliases: vec!["second".into()],
            ipv4: Some("10.201.4.77".parse().unwrap()),
            netns: a.req.netns.clone(),
            dns_servers: vec![],
        })
        .unwrap();
    assert_eq!(ep.ifname, "eth1");
    assert_eq!(ep.ip.to_string(), "10.201.4.77");
    let addr =
        String::from_utf8_lossy(&a.run(&["ip", "-o", "addr", "show", "eth1"]).stdout).into_owned();
    assert!(addr.contains("inet 10.201.4.77/24"), "{addr}");
    // The first network keeps the default route.
    let route = String::from_utf8_lossy(&a.run(&["ip", "route"]).stdout).into_owned();
    assert!(route.contains("default via 10.201.3.1 dev eth0"), "{route}");

    let again = nets.connect(&EndpointRequest {
        container_id: a.req.id.clone(),
        container_name: "a".into(),
        network: n2.name.clone(),
        aliases: vec![],
        ipv4: None,
        netns: a.req.netns.clone(),
        dns_servers: vec![],
    });
    assert_eq!(
        again.unwrap_err().to_string(),
        format!("endpoint with name a already exists in network {}", n2.name)
    );

    nets.disconnect(&a.req.id, &n2.name).unwrap();
    let links = String::from_utf8_lossy(&a.run(&["ip", "-o", "link", "show"]).stdout).into_owned();
    assert!(!links.contains("eth1"), "{links}");
    assert_eq!(nets.endpoints_of_container(&a.req.id).unwrap().len(), 1);
}

#[test]
fn internal_network_has_no_default_route() {
    let env = Env::new();
    let net = env
        .nets()
        .create(&NetworkCreate {
            name: format!("int-{}", &random_id()[..8]),
            subnet: Some("10.201.5.0/24".into()),
            internal: true,
            ..Default::default()
        })
        .unwrap();
    let a = env.container("a", &net, &[]);
    let route = String::from_utf8_lossy(&a.run(&["ip", "route"]).stdout).into_owned();
    assert!(!route.contains("default"), "{route}");
    assert!(route.contains("10.201.5.0/24 dev eth0"), "{route}");
}
