//! Networks themselves: create, inspect, rm, prune, the default bridge, and a host with
//! nothing of berth left afterwards.

mod common;

use berth_net::*;
use common::*;

#[test]
#[ignore = "helper process entry, run by the tests themselves"]
fn helper_process() {
    common::helper_process();
}

#[test]
fn create_inspect_remove_and_prune() {
    let env = Env::new();
    let nets = env.nets();
    let name = format!("life-{}", &random_id()[..8]);
    let net = nets
        .create(&NetworkCreate {
            name: name.clone(),
            subnet: Some("10.205.1.0/24".into()),
            gateway: Some("10.205.1.254".into()),
            labels: [("team".to_string(), "a".to_string())].into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(net.id.len(), 64);
    assert_eq!(net.bridge, format!("br-{}", &net.id[..12]));
    let addr = sh(&format!("ip -4 -o addr show dev {}", net.bridge));
    assert!(addr.contains("inet 10.205.1.254/24"), "{addr}");
    assert!(sh(&format!("ip -o link show {}", net.bridge)).contains(",UP"));

    let e = |r: Result<Network>| r.unwrap_err().to_string();
    let again = NetworkCreate {
        name: name.clone(),
        ..Default::default()
    };
    assert_eq!(
        e(nets.create(&again)),
        format!("network with name {name} already exists")
    );
    let overlap = NetworkCreate {
        name: format!("{name}-2"),
        subnet: Some("10.205.0.0/16".into()),
        ..Default::default()
    };
    assert_eq!(
        e(nets.create(&overlap)),
        "Pool overlaps with other one on this address space"
    );

    let c = env.container("member", &net, &["m"]);
    let inspect = NetworkInspect::new(&net, &nets.endpoints_of(&net).unwrap());
    let json = serde_json::to_value(&inspect).unwrap();
    assert_eq!(json["Name"], name.as_str());
    assert_eq!(json["Id"], net.id.as_str());
    assert_eq!(json["Scope"], "local");
    assert_eq!(json["Driver"], "bridge");
    assert_eq!(json["EnableIPv6"], false);
    assert_eq!(json["IPAM"]["Driver"], "default");
    assert_eq!(json["IPAM"]["Config"][0]["Subnet"], "10.205.1.0/24");
    assert_eq!(json["IPAM"]["Config"][0]["Gateway"], "10.205.1.254");
    assert_eq!(json["Internal"], false);
    assert_eq!(json["Labels"]["team"], "a");
    let member = &json["Containers"][c.req.id.as_str()];
    assert_eq!(member["Name"], "member");
    assert_eq!(member["IPv4Address"], "10.205.1.1/24");
    assert_eq!(member["MacAddress"], "02:42:0a:cd:01:01");
    assert_eq!(member["EndpointID"].as_str().unwrap().len(), 64);

    let settings = container_networks(&nets.endpoints_of_container(&c.req.id).unwrap());
    let s = serde_json::to_value(&settings[&name]).unwrap();
    assert_eq!(s["IPAddress"], "10.205.1.1");
    assert_eq!(s["Gateway"], "10.205.1.254");
    assert_eq!(s["IPPrefixLen"], 24);
    assert_eq!(s["MacAddress"], "02:42:0a:cd:01:01");
    assert_eq!(s["NetworkID"], net.id.as_str());
    assert_eq!(s["Aliases"], serde_json::json!(["m"]));

    assert_eq!(
        e(nets.remove(&name)),
        format!(
            "error while removing network: network {name} id {} has active endpoints",
            net.id
        )
    );
    nets.teardown_container(&c.req.id).unwrap();

    // An unused network with an automatic subnet: prune takes both unless kept.
    let auto = nets
        .create(&NetworkCreate {
            name: format!("{name}-auto"),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(auto.subnet.prefix(), 24);
    assert!(!auto.subnet.overlaps(&net.subnet));
    let host: Subnet = "192.0.2.0/24".parse().unwrap();
    assert!(!auto.subnet.overlaps(&host));
    assert_eq!(auto.gateway, auto.subnet.first_host());

    let pruned = nets.prune(&|n| n.id == auto.id).unwrap();
    assert_eq!(
        pruned.iter().map(|n| &n.name).collect::<Vec<_>>(),
        vec![&name]
    );
    assert!(sh(&format!("ip -o link show {} 2>&1", net.bridge)).contains("does not exist"));
    nets.remove(&auto.id[..12]).unwrap();
    assert!(nets.list().unwrap().iter().all(|n| n.is_default()));
    assert_eq!(e(nets.get(&name)), format!("network {name} not found"));
}

#[test]
fn after_teardown_and_prune_nothing_of_berth_is_left() {
    let env = Env::new();
    let table = berth_net::nft::table_name(&env.root());
    let n1 = env.network("left", "10.205.2.0/24");
    let n2 = env.network("left", "10.205.3.0/24");
    let mut req = env.request(
        "a",
        NetworkMode::Networks(vec![
            NetworkAttach::new(&n1.name),
            NetworkAttach::new(&n2.name),
        ]),
    );
    req.publish = parse_publish(&format!("{}:80", free_port())).unwrap();
    let a = env.nets().setup_container(&req).unwrap();
    let b = env.container("b", &n2, &[]);
    env.helper("proxy", &req.id);
    env.helper("dns", &n2.name);
    let veths: Vec<String> = a
        .endpoints
        .iter()
        .chain(&b.net.endpoints)
        .map(|e| e.veth.clone())
        .collect();
    assert!(sh(&format!("nft list table ip {table}")).contains("dnat"));

    env.nets().teardown_container(&req.id).unwrap();
    env.nets().teardown_container(&b.req.id).unwrap();
    let pruned = env.nets().prune(&|_| false).unwrap();
    assert_eq!(pruned.len(), 2);

    let links = sh("ip -o link show");
    let addrs = sh("ip -o addr show");
    for name in veths.iter().chain([&n1.bridge, &n2.bridge]) {
        assert!(!links.contains(name.as_str()), "{name} left: {links}");
    }
    assert!(
        !addrs.contains("10.205.2.") && !addrs.contains("10.205.3."),
        "{addrs}"
    );
    let tables = sh("nft list tables");
    assert!(!tables.contains(&format!("ip {table}\n")), "{tables}");
    // The helpers are gone: the DNS address and the published port are free.
    assert!(env.nets().dns_servers_needed().unwrap().is_empty());
    for p in &a.ports {
        assert!(std::net::TcpListener::bind(("0.0.0.0", p.host_port)).is_ok());
    }
}

/// The only test that touches the real default bridge `berth0`; a lock keeps test binaries
/// from doing so at once, and it removes the bridge only if it made it.
#[test]
fn a_test_stores_default_network_has_a_bridge_and_subnet_of_its_own() {
    // /var/lib/berth's default network is berth0 on 10.88.0.0/16 (unit-tested in
    // default_bridge.rs); any other store gets its own bridge and a /24 of 10.210.0.0/16, so
    // stores side by side never hand out one address twice on one bridge.
    let env = Env::new();
    let nets = env.nets();
    let attach = NetworkAttach::new("bridge");
    let req = env.request("dflt", NetworkMode::Networks(vec![attach.clone()]));
    let out = nets.setup_container(&req);
    let mut bridge = String::new();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let out = out.as_ref().unwrap();
        let def = nets.get("bridge").unwrap();
        bridge = def.bridge.clone();
        assert!(
            def.bridge.starts_with("berth") && def.bridge.len() == 15,
            "{}",
            def.bridge
        );
        assert!(
            def.subnet.to_string().starts_with("10.210."),
            "{}",
            def.subnet
        );
        assert!(def.subnet.to_string().ends_with(".0/24"), "{}", def.subnet);
        let gw = def.gateway.to_string();
        assert!(sh(&format!("ip -4 -o addr show dev {}", def.bridge))
            .contains(&format!("inet {gw}/24")));
        assert!(
            def.subnet.contains(out.endpoints[0].ip),
            "{}",
            out.endpoints[0].ip
        );
        // Another store gets another subnet and bridge.
        let other = Env::new();
        let other_nets = other.nets();
        let other_def = other_nets
            .list()
            .unwrap()
            .into_iter()
            .find(|n| n.name == "bridge")
            .unwrap();
        assert_ne!(other_def.subnet, def.subnet);
        assert_ne!(other_def.bridge, def.bridge);
        // No DNS server and no aliases on the default network, as in Docker.
        assert!(out.dns_to_start.is_empty());
        assert!(!out.resolv_conf.as_deref().unwrap().contains("10.88.0.1"));
        let mut aliased = attach.clone();
        aliased.ipv4 = None;
        aliased.aliases = vec!["x".into()];
        let r2 = env.request("alias", NetworkMode::Networks(vec![aliased]));
        assert_eq!(
            nets.setup_container(&r2).unwrap_err().to_string(),
            "network-scoped alias is supported only for containers in user defined networks"
        );
        assert_eq!(
            nets.remove("bridge").unwrap_err().to_string(),
            "bridge is a pre-defined network and cannot be removed"
        );
    }));
    let _ = nets.teardown_container(&req.id);
    if !bridge.is_empty() {
        let _ = std::process::Command::new("ip")
            .args(["link", "del", &bridge])
            .status();
    }
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
}
