//! The DNS server of a user network: container names and aliases resolve, unknown single
//! labels are NXDOMAIN, and the server goes with the network's last container.

mod common;

use std::net::{Ipv4Addr, UdpSocket};
use std::os::fd::AsFd;
use std::path::Path;
use std::time::Duration;

use berth_net::*;
use common::*;
use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};

#[test]
#[ignore = "helper process entry, run by the tests themselves"]
fn helper_process() {
    common::helper_process();
}

/// Asks `server` for `name`/`qtype` over UDP: the response code and A addresses.
fn ask(server: Ipv4Addr, name: &str, qtype: RecordType) -> (ResponseCode, Vec<Ipv4Addr>) {
    let sock = UdpSocket::bind("0.0.0.0:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut q = Message::query();
    q.metadata.recursion_desired = true;
    q.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
    sock.send_to(&q.to_vec().unwrap(), (server, 53)).unwrap();
    let mut buf = [0u8; 4096];
    let (n, _) = sock.recv_from(&mut buf).unwrap();
    let resp = Message::from_vec(&buf[..n]).unwrap();
    assert_eq!(resp.metadata.id, q.metadata.id);
    let ips = resp
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect();
    (resp.metadata.response_code, ips)
}

/// [`ask`] over TCP (length-prefixed messages), for an A record.
fn ask_tcp(server: Ipv4Addr, name: &str) -> (ResponseCode, Vec<Ipv4Addr>) {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect((server, 53)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut q = Message::query();
    q.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
    let bytes = q.to_vec().unwrap();
    conn.write_all(&(bytes.len() as u16).to_be_bytes()).unwrap();
    conn.write_all(&bytes).unwrap();
    let mut len = [0u8; 2];
    conn.read_exact(&mut len).unwrap();
    let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
    conn.read_exact(&mut buf).unwrap();
    let resp = Message::from_vec(&buf).unwrap();
    let ips = resp
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect();
    (resp.metadata.response_code, ips)
}

/// [`ask`] from inside a namespace, so the server sees the container as the client.
fn ask_from(netns: &Path, server: Ipv4Addr, name: &str) -> (ResponseCode, Vec<Ipv4Addr>) {
    let ns = std::fs::File::open(netns).unwrap();
    let name = name.to_string();
    std::thread::spawn(move || {
        rustix::thread::move_into_link_name_space(
            ns.as_fd(),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )
        .unwrap();
        ask(server, &name, RecordType::A)
    })
    .join()
    .unwrap()
}

#[test]
fn names_and_aliases_resolve_on_a_user_network() {
    let env = Env::new();
    let net = env.network("dns", "10.203.1.0/24");
    let web = env.container("web", &net, &["frontend"]);
    let db = env.container("db", &net, &[]);
    assert_eq!(web.net.dns_to_start, vec![net.clone()]);
    env.helper("dns", &net.name);
    assert!(env.nets().dns_servers_needed().unwrap().is_empty());

    let gw = net.gateway;
    assert_eq!(
        ask(gw, "web", RecordType::A),
        (ResponseCode::NoError, vec![web.ip()])
    );
    assert_eq!(
        ask(gw, "frontend", RecordType::A),
        (ResponseCode::NoError, vec![web.ip()])
    );
    assert_eq!(
        ask(gw, "WEB.", RecordType::A),
        (ResponseCode::NoError, vec![web.ip()])
    );
    assert_eq!(
        ask(gw, &web.req.id[..12], RecordType::A),
        (ResponseCode::NoError, vec![web.ip()])
    );
    assert_eq!(
        ask(gw, &format!("db.{}", net.name), RecordType::A),
        (ResponseCode::NoError, vec![db.ip()])
    );
    // A known name has no IPv6 address, and says so without asking the world.
    assert_eq!(
        ask(gw, "web", RecordType::AAAA),
        (ResponseCode::NoError, vec![])
    );
    assert_eq!(
        ask(gw, "nosuch", RecordType::A),
        (ResponseCode::NXDomain, vec![])
    );

    // Over TCP too.
    assert_eq!(
        ask_tcp(gw, "frontend"),
        (ResponseCode::NoError, vec![web.ip()])
    );

    // From inside a container, with busybox's resolver.
    let out = db.run(&[
        "timeout",
        "10",
        "busybox",
        "nslookup",
        "frontend",
        &gw.to_string(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("Address: {}", web.ip())), "{text}");

    // A container that left is no longer a name.
    env.nets().teardown_container(&web.req.id).unwrap();
    assert_eq!(
        ask(gw, "web", RecordType::A),
        (ResponseCode::NXDomain, vec![])
    );
}

#[test]
fn unreachable_upstreams_give_servfail() {
    let env = Env::new();
    let net = env.network("fwd", "10.203.2.0/24");
    let mut req = env.request(
        "asker",
        NetworkMode::Networks(vec![NetworkAttach::new(&net.name)]),
    );
    // A --dns server nobody answers for: 10.203.2.254 is in the subnet, unused.
    req.dns.servers = vec!["10.203.2.254".into()];
    let c = env.nets().setup_container(&req).unwrap();
    assert!(c
        .resolv_conf
        .as_deref()
        .unwrap()
        .contains("nameserver 10.203.2.1"));
    env.helper("dns", &net.name);
    // busybox nslookup waits out a SERVFAIL as a timeout, so ask directly.
    assert_eq!(
        ask_from(&req.netns, net.gateway, "example.com"),
        (ResponseCode::ServFail, vec![])
    );
}

#[test]
fn the_server_stops_with_the_last_container() {
    let env = Env::new();
    let net = env.network("stop", "10.203.3.0/24");
    let a = env.container("a", &net, &[]);
    env.helper("dns", &net.name);
    assert_eq!(
        ask(net.gateway, "a", RecordType::A).0,
        ResponseCode::NoError
    );
    env.nets().teardown_container(&a.req.id).unwrap();
    // Nobody listens on the gateway's port 53 any more.
    let sock = UdpSocket::bind((net.gateway, 53));
    assert!(sock.is_ok(), "{sock:?}");
}
