//! Address allocation under concurrency, exhaustion, and reclaiming dead containers' addresses.

mod common;

use std::collections::BTreeSet;

use berth_net::*;
use berth_store::Store;
use common::*;

#[test]
#[ignore = "helper process entry, run by the tests themselves"]
fn helper_process() {
    common::helper_process();
}

#[test]
fn fifty_concurrent_setups_get_fifty_distinct_addresses() {
    let env = Env::new();
    let net = env.network("many", "10.204.0.0/24");
    let (root, runroot) = (env.root(), env.runroot());
    let threads: Vec<_> = (0..50)
        .map(|i| {
            let (root, runroot, network) = (root.clone(), runroot.clone(), net.name.clone());
            std::thread::spawn(move || {
                // Each like a separate `berth run -d`: its own store handle and connection.
                let store = Store::open(&root, &runroot).unwrap();
                let nets = Networks::open(&store).unwrap();
                let id = random_id();
                let netns = nets.create_netns(&id).unwrap();
                let req = ContainerNetRequest {
                    hostname: id[..12].into(),
                    id: id.clone(),
                    name: format!("c{i}"),
                    mode: NetworkMode::Networks(vec![NetworkAttach::new(&network)]),
                    publish: vec![],
                    publish_all: false,
                    exposed: vec![],
                    dns: DnsConfig::default(),
                    add_hosts: vec![],
                    netns: netns.clone(),
                };
                let out = nets.setup_container(&req).unwrap();
                (netns, out.endpoints[0].ip)
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let ips: BTreeSet<_> = results.iter().map(|(_, ip)| *ip).collect();
    assert_eq!(ips.len(), 50, "{results:?}");
    assert!(!ips.contains(&net.gateway));
    // The address the database holds is the one the namespace has.
    for (netns, ip) in &results {
        let addr = sh(&format!(
            "nsenter --net={} ip -4 -o addr show eth0",
            netns.display()
        ));
        assert!(addr.contains(&format!("inet {ip}/24")), "{addr}");
    }
    assert_eq!(
        sh(&format!("ip -o link show master {}", net.bridge))
            .lines()
            .count(),
        50
    );
}

#[test]
fn an_exhausted_network_refuses_and_leaves_nothing() {
    let env = Env::new();
    let net = env.network("small", "10.204.1.0/29");
    // .1 is the gateway, .7 broadcast: five addresses.
    for i in 0..5 {
        env.container(&format!("c{i}"), &net, &[]);
    }
    let req = env.request(
        "sixth",
        NetworkMode::Networks(vec![NetworkAttach::new(&net.name)]),
    );
    let err = env.nets().setup_container(&req).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "no available IPv4 addresses on this network's address pools: {} ({})",
            net.name, net.id
        )
    );
    assert_eq!(env.nets().endpoints_of(&net).unwrap().len(), 5);
    let inside = sh(&format!(
        "nsenter --net={} ip -o link show",
        req.netns.display()
    ));
    assert!(!inside.contains("eth0"), "{inside}");
}

#[test]
fn a_requested_address_is_honoured_once() {
    let env = Env::new();
    let net = env.network("fixed", "10.204.2.0/24");
    let mut attach = NetworkAttach::new(&net.name);
    attach.ipv4 = Some("10.204.2.50".parse().unwrap());
    let req = env.request("a", NetworkMode::Networks(vec![attach.clone()]));
    let out = env.nets().setup_container(&req).unwrap();
    assert_eq!(out.endpoints[0].ip.to_string(), "10.204.2.50");
    assert_eq!(out.endpoints[0].mac, "02:42:0a:cc:02:32");
    let req = env.request("b", NetworkMode::Networks(vec![attach]));
    let err = env.nets().setup_container(&req).unwrap_err();
    assert_eq!(err.to_string(), "Address already in use");
}

#[test]
fn reclaim_frees_what_dead_containers_held() {
    let env = Env::new();
    let net = env.network("reclaim", "10.204.3.0/24");
    let alive = env.container("alive", &net, &[]);
    let mut req = env.request(
        "dead",
        NetworkMode::Networks(vec![NetworkAttach::new(&net.name)]),
    );
    let port = free_port();
    req.publish = parse_publish(&format!("{port}:80")).unwrap();
    let dead = env.nets().setup_container(&req).unwrap();
    let dead_veth = dead.endpoints[0].veth.clone();

    let alive_id = alive.req.id.clone();
    let reclaimed = env.nets().reclaim(&|id| id == alive_id).unwrap();
    assert_eq!(reclaimed, vec![req.id.clone()]);
    assert!(!sh("ip -o link show").contains(&dead_veth));
    assert!(env.nets().published_ports(&req.id).unwrap().is_empty());
    assert_eq!(env.nets().endpoints_of(&net).unwrap().len(), 1);
    // The freed address goes to the next container.
    let next = env.container("next", &net, &[]);
    assert_eq!(next.ip(), dead.endpoints[0].ip);
}
