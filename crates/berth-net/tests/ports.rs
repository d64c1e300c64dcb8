//! Published ports: DNAT for the host's addresses, the userland proxy for loopback, refusal of
//! taken ports, and nothing left after teardown.

mod common;

use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::os::fd::AsFd;
use std::time::Duration;

use berth_net::*;
use common::*;

#[test]
#[ignore = "helper process entry, run by the tests themselves"]
fn helper_process() {
    common::helper_process();
}

fn publish(env: &Env, name: &str, net: &Network, specs: &[&str]) -> Ctr {
    let mut req = env.request(
        name,
        NetworkMode::Networks(vec![NetworkAttach::new(&net.name)]),
    );
    for s in specs {
        req.publish.extend(parse_publish(s).unwrap());
    }
    let out = env.nets().setup_container(&req).unwrap();
    Ctr { req, net: out }
}

fn table(env: &Env) -> String {
    sh(&format!(
        "nft list table ip {} 2>/dev/null",
        berth_net::nft::table_name(&env.root())
    ))
}

#[test]
fn published_port_answers_on_host_addresses_then_loopback_through_the_proxy() {
    let env = Env::new();
    let net = env.network("pub", "10.202.1.0/24");
    let port = free_port();
    let web = publish(&env, "web", &net, &[&format!("{port}:80")]);
    env.httpd(&web, "published");
    assert!(web.net.proxy_needed);

    // DNAT alone: the host's own addresses answer, loopback does not yet.
    let host = host_address();
    assert_eq!(
        curl(&format!("http://{host}:{port}/")).as_deref(),
        Some("published")
    );
    assert_eq!(
        curl(&format!("http://{}:{port}/", net.gateway)).as_deref(),
        Some("published")
    );
    assert_eq!(curl(&format!("http://127.0.0.1:{port}/")), None);
    let rules = table(&env);
    assert!(
        rules.contains(&format!(
            "tcp dport {port} dnat to {}:80 comment \"{}\"",
            web.ip(),
            web.req.id
        )),
        "{rules}"
    );

    // With the proxy, loopback too.
    env.helper("proxy", &web.req.id);
    assert_eq!(
        curl(&format!("http://127.0.0.1:{port}/")).as_deref(),
        Some("published")
    );

    // A sibling reaches it through the gateway's published port (hairpin).
    let other = env.container("other", &net, &[]);
    let out = other.run(&[
        "timeout",
        "5",
        "busybox",
        "wget",
        "-q",
        "-O",
        "-",
        &format!("http://{}:{port}/", net.gateway),
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "published");

    // How Docker shows it.
    let ports = env.nets().published_ports(&web.req.id).unwrap();
    assert_eq!(ports_column(&[], &ports), format!("0.0.0.0:{port}->80/tcp"));
    assert_eq!(
        port_lines(&ports),
        vec![format!("80/tcp -> 0.0.0.0:{port}")]
    );

    // Teardown: proxy gone (the port is free), rules gone, nothing answers.
    env.nets().teardown_container(&web.req.id).unwrap();
    env.nets().teardown_container(&other.req.id).unwrap();
    assert!(TcpListener::bind(("0.0.0.0", port)).is_ok());
    assert!(!table(&env).contains("dnat"), "{}", table(&env));
    assert_eq!(curl(&format!("http://{host}:{port}/")), None);
}

#[test]
fn a_taken_port_is_refused_before_anything_is_set_up() {
    let env = Env::new();
    let net = env.network("busy", "10.202.2.0/24");
    let holder = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = holder.local_addr().unwrap().port();

    let mut req = env.request(
        "late",
        NetworkMode::Networks(vec![NetworkAttach::new(&net.name)]),
    );
    req.publish = parse_publish(&format!("{port}:80")).unwrap();
    let err = env.nets().setup_container(&req).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("Bind for 0.0.0.0:{port} failed: port is already allocated")
    );
    // Nothing left: no endpoint, no veth on the bridge, no eth0 inside, no rule.
    assert!(env.nets().endpoints_of(&net).unwrap().is_empty());
    assert_eq!(sh(&format!("ip -o link show master {}", net.bridge)), "");
    let inside = sh(&format!(
        "nsenter --net={} ip -o link show",
        req.netns.display()
    ));
    assert!(!inside.contains("eth0"), "{inside}");
    assert!(!table(&env).contains(&port.to_string()));
    assert!(env.nets().published_ports(&req.id).unwrap().is_empty());
}

#[test]
fn a_port_held_by_another_container_is_refused() {
    let env = Env::new();
    let net = env.network("twice", "10.202.3.0/24");
    let port = free_port();
    let first = publish(&env, "first", &net, &[&format!("{port}:80")]);
    let mut req = env.request(
        "second",
        NetworkMode::Networks(vec![NetworkAttach::new(&net.name)]),
    );
    req.publish = parse_publish(&format!("127.0.0.1:{port}:80")).unwrap();
    let err = env.nets().setup_container(&req).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("Bind for 127.0.0.1:{port} failed: port is already allocated")
    );
    assert_eq!(env.nets().endpoints_of(&net).unwrap().len(), 1);
    assert_eq!(env.nets().published_ports(&first.req.id).unwrap().len(), 1);
}

#[test]
fn random_ranges_and_publish_all() {
    let env = Env::new();
    let net = env.network("rand", "10.202.4.0/24");
    let base = free_port().min(60000);
    let mut req = env.request(
        "r",
        NetworkMode::Networks(vec![NetworkAttach::new(&net.name)]),
    );
    req.publish = [
        "127.0.0.1::80".to_string(),
        format!("{base}-{}:90-91", base + 1),
        "53/udp".to_string(),
    ]
    .iter()
    .flat_map(|s| parse_publish(s).unwrap())
    .collect();
    req.publish_all = true;
    req.exposed = vec!["80/tcp".parse().unwrap(), "443/tcp".parse().unwrap()];
    let out = env.nets().setup_container(&req).unwrap();
    let by = |cport: u16, proto: Proto| {
        out.ports
            .iter()
            .find(|p| p.container_port == cport && p.proto == proto)
            .unwrap_or_else(|| panic!("{cport}/{proto} in {:?}", out.ports))
            .clone()
    };
    let p80 = by(80, Proto::Tcp);
    assert_eq!(p80.host_ip, Ipv4Addr::LOCALHOST);
    assert!(p80.host_port >= 1024);
    assert_eq!(by(90, Proto::Tcp).host_port, base);
    assert_eq!(by(91, Proto::Tcp).host_port, base + 1);
    assert_eq!(by(53, Proto::Udp).host_ip, Ipv4Addr::UNSPECIFIED);
    // -P adds only what -p did not publish.
    assert_eq!(by(443, Proto::Tcp).host_ip, Ipv4Addr::UNSPECIFIED);
    assert_eq!(out.ports.len(), 5);
    let map = network_settings_ports(&req.exposed, &out.ports);
    assert_eq!(map["80/tcp"].as_ref().unwrap()[0].host_ip, "127.0.0.1");
}

/// A UDP echo server inside a namespace, on a thread that moved there for good.
fn udp_echo(netns: &std::path::Path, port: u16) {
    let ns = std::fs::File::open(netns).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        rustix::thread::move_into_link_name_space(
            ns.as_fd(),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )
        .unwrap();
        let sock = UdpSocket::bind(("0.0.0.0", port)).unwrap();
        tx.send(()).unwrap();
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            let _ = sock.send_to(&buf[..n], from);
        }
    });
    rx.recv().unwrap();
}

fn udp_roundtrip(to: (Ipv4Addr, u16)) -> Option<String> {
    let sock = UdpSocket::bind("0.0.0.0:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    sock.send_to(b"ping", to).unwrap();
    let mut buf = [0u8; 64];
    let (n, _) = sock.recv_from(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[test]
fn udp_goes_through_dnat_and_the_proxy() {
    let env = Env::new();
    let net = env.network("udp", "10.202.5.0/24");
    let port = UdpSocket::bind("0.0.0.0:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = publish(&env, "echo", &net, &[&format!("{port}:7/udp")]);
    udp_echo(&c.req.netns, 7);
    assert_eq!(
        udp_roundtrip((host_address(), port)).as_deref(),
        Some("ping")
    );
    env.helper("proxy", &c.req.id);
    assert_eq!(
        udp_roundtrip((Ipv4Addr::LOCALHOST, port)).as_deref(),
        Some("ping")
    );
}
