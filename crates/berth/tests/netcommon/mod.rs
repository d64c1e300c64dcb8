//! Helpers of the network tests: a store that also takes its user networks with it, subnets
//! leased for the length of a test, free host ports, an HTTP client with a deadline, a UDP echo
//! server inside a container's namespace, and the host-side view of a container (its veth, its
//! firewall rules, its proxy process).
//!
//! Every test store has a default network of its own (berth-net gives a store other than
//! /var/lib/berth its own bridge and /24), so tests read its subnet and gateway from
//! `network inspect bridge` ([`NetBerth::default_net`]) and run in parallel. User networks get
//! /24s of 10.231.0.0/16 leased per test ([`NetBerth::lease`]): a file lock per /24 keeps two
//! tests of this run apart, and a /24 the host already routes (a leftover, or another run's
//! network) is skipped.

#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::ops::Deref;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::common::{eventually, processes, test_tmp, Berth, Process};

/// How long a server in a new container may take to answer.
pub const SERVE_WITHIN: Duration = Duration::from_secs(30);

/// A test store that, when dropped, removes its containers and then its user networks (whose
/// bridges would otherwise outlive the store on the host), and only then gives back the
/// subnets it leased.
pub struct NetBerth {
    pub b: Berth,
    leases: RefCell<Vec<Lease>>,
}

/// The default network of a store, as `network inspect bridge` shows it.
#[derive(Clone, Debug)]
pub struct DefaultNet {
    pub id: String,
    /// The Linux bridge (`com.docker.network.bridge.name`).
    pub bridge: String,
    /// `10.210.N.0/24`.
    pub subnet: String,
    pub prefix: u8,
    pub gateway: Ipv4Addr,
}

impl DefaultNet {
    /// Whether `ip` is one of the network's addresses.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        let base: Ipv4Addr = self
            .subnet
            .split('/')
            .next()
            .and_then(|b| b.parse().ok())
            .expect("subnet base");
        let mask = u32::MAX << (32 - u32::from(self.prefix));
        u32::from(ip) & mask == u32::from(base) & mask
    }
}

/// A user network made by [`NetBerth::create_net`].
#[derive(Clone, Debug)]
pub struct UserNet {
    pub id: String,
    pub name: String,
    /// `10.231.N.0/24`.
    pub subnet: String,
    /// `10.231.N.1`.
    pub gateway: Ipv4Addr,
    /// `10.231.N`, to build addresses of the subnet.
    pub third: u8,
}

impl UserNet {
    /// The address `.host` of the network's /24.
    pub fn ip(&self, host: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 231, self.third, host)
    }

    /// `br-` and the first 12 digits of the ID: the network's bridge on the host.
    pub fn bridge(&self) -> String {
        format!("br-{}", &self.id[..12])
    }
}

/// A /24 of 10.231.0.0/16 held by one test until its store is gone: the lock is the lease.
struct Lease(File);

impl NetBerth {
    pub fn new() -> NetBerth {
        let b = Berth::new();
        b.busybox("busybox");
        NetBerth {
            b,
            leases: RefCell::new(Vec::new()),
        }
    }

    /// A /24 no other test of this run holds and the host does not route, leased until this
    /// store is dropped; its third octet.
    pub fn lease(&self) -> u8 {
        let routed = host_routes();
        // Start where this process's ID points, so parallel tests rarely try the same ones.
        let start = std::process::id() as usize;
        for i in 0..256 {
            let third = ((start + i) % 256) as u8;
            if routed.contains(&format!("10.231.{third}.0/24")) {
                continue;
            }
            let path = test_tmp().join(format!("net-subnet-{third}.lock"));
            let f = File::create(&path).expect("lease lock file");
            let locked = rustix::fs::flock(
                f.as_fd(),
                rustix::fs::FlockOperation::NonBlockingLockExclusive,
            );
            if locked.is_ok() {
                self.leases.borrow_mut().push(Lease(f));
                return third;
            }
        }
        panic!("no free /24 in 10.231.0.0/16");
    }

    /// `network create --subnet <a leased /24> ARGS... NAME`.
    #[track_caller]
    pub fn create_net(&self, name: &str, args: &[&str]) -> UserNet {
        let third = self.lease();
        let subnet = format!("10.231.{third}.0/24");
        let mut all = vec!["network", "create", "--subnet", &subnet];
        all.extend(args);
        all.push(name);
        let id = self.run_t(&all).ok().trim().to_string();
        assert!(
            crate::common::is_hex64(&id),
            "network create printed {id:?}"
        );
        UserNet {
            id,
            name: name.to_string(),
            subnet,
            gateway: Ipv4Addr::new(10, 231, third, 1),
            third,
        }
    }

    /// The store's default network.
    #[track_caller]
    pub fn default_net(&self) -> DefaultNet {
        let out = self.run_t(&["network", "inspect", "bridge"]);
        let v: serde_json::Value = serde_json::from_str(out.ok()).expect("inspect prints JSON");
        let n = &v[0];
        let config = &n["IPAM"]["Config"][0];
        let subnet = config["Subnet"].as_str().expect("a subnet").to_string();
        let prefix = subnet
            .split_once('/')
            .and_then(|(_, p)| p.parse().ok())
            .expect("a prefix length");
        DefaultNet {
            id: n["Id"].as_str().expect("an ID").to_string(),
            bridge: n["Options"]["com.docker.network.bridge.name"]
                .as_str()
                .expect("a bridge name")
                .to_string(),
            subnet,
            prefix,
            gateway: config["Gateway"]
                .as_str()
                .and_then(|g| g.parse().ok())
                .expect("a gateway"),
        }
    }
}

impl Deref for NetBerth {
    type Target = Berth;
    fn deref(&self) -> &Berth {
        &self.b
    }
}

impl Drop for NetBerth {
    fn drop(&mut self) {
        self.b.cleanup();
        if let Some(out) = self
            .b
            .spawn(&[
                "network",
                "ls",
                "-q",
                "--no-trunc",
                "--filter",
                "type=custom",
            ])
            .wait_within(Duration::from_secs(20))
        {
            let ids: Vec<String> = out.stdout.lines().map(str::to_string).collect();
            if !ids.is_empty() {
                let mut args = vec!["network", "rm"];
                args.extend(ids.iter().map(String::as_str));
                let _ = self.b.spawn(&args).wait_within(Duration::from_secs(20));
            }
            // A network whose removal failed still has its bridge: take it from the host.
            for id in ids {
                let _ = Command::new("ip")
                    .args(["link", "delete", &format!("br-{}", &id[..12])])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
        }
    }
}

/// The destinations of the host's IPv4 routes, as `ip route` prints them (`10.231.3.0/24`).
pub fn host_routes() -> BTreeSet<String> {
    let out = Command::new("ip")
        .args(["-4", "route", "show", "table", "main"])
        .output()
        .expect("run ip route");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// What the network tests ask of a store.
pub trait Net {
    /// A detached busybox httpd on port 80 of a new container, serving `token` at `/`.
    fn serve(&self, args: &[&str], token: &str) -> String;
    /// A detached container serving each `(port, token)` page.
    fn serve_pages(&self, args: &[&str], pages: &[(u16, &str)]) -> String;
    /// [`Net::serve_pages`] from `image`. Each server also answers `/cgi-bin/who` with the
    /// client's address as the container sees it (see [`who`]).
    fn serve_image(&self, image: &str, args: &[&str], pages: &[(u16, &str)]) -> String;
    /// `inspect -f '{{.NetworkSettings.IPAddress}}'` parsed.
    fn addr(&self, container: &str) -> Ipv4Addr;
    /// The address of `container` on `network`.
    fn addr_on(&self, container: &str, network: &str) -> Ipv4Addr;
    /// `exec CONTAINER sh -c SCRIPT`: its result.
    fn exec_sh(&self, container: &str, script: &str) -> crate::common::Run;
    /// The host end of the container's `ifname` (`eth0`): the host interface whose index is
    /// the peer index the container sees.
    fn host_veth(&self, container: &str, ifname: &str) -> String;
    /// The text of this store's nftables table (empty when it has none).
    fn nft_text(&self) -> String;
    /// This store's helper processes (`__proxy`, `__dns`) whose argument is `target`.
    fn helper_procs(&self, kind: &str, target: &str) -> Vec<Process>;
    /// Every helper process of this store, of any kind.
    fn helper_procs_all(&self) -> Vec<Process>;
    /// The container's network namespace as berth pins it (its `SandboxKey`).
    fn sandbox(&self, container: &str) -> PathBuf;
    /// The PORTS cell of `ps -a` for the container named `name`.
    fn ports_cell(&self, name: &str) -> String;
}

impl Net for Berth {
    #[track_caller]
    fn serve(&self, args: &[&str], token: &str) -> String {
        self.serve_pages(args, &[(80, token)])
    }

    #[track_caller]
    fn serve_pages(&self, args: &[&str], pages: &[(u16, &str)]) -> String {
        self.serve_image("busybox", args, pages)
    }

    #[track_caller]
    fn serve_image(&self, image: &str, args: &[&str], pages: &[(u16, &str)]) -> String {
        let mut script = String::new();
        for (port, token) in pages {
            script.push_str(&format!(
                "mkdir -p /www{port}/cgi-bin && echo {token} > /www{port}/index.html && \
                 printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho $REMOTE_ADDR\\n' \
                 > /www{port}/cgi-bin/who && chmod +x /www{port}/cgi-bin/who && \
                 httpd -p {port} -h /www{port} && "
            ));
        }
        script.push_str("exec sleep 100000");
        let mut all: Vec<&str> = args.to_vec();
        all.extend([image, "sh", "-c", &script]);
        self.detach(&all)
    }

    #[track_caller]
    fn addr(&self, container: &str) -> Ipv4Addr {
        let s = self.field(container, "{{.NetworkSettings.IPAddress}}");
        s.parse()
            .unwrap_or_else(|_| panic!("{container} has no address: {s:?}"))
    }

    #[track_caller]
    fn addr_on(&self, container: &str, network: &str) -> Ipv4Addr {
        let s = self.field(
            container,
            &format!("{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}"),
        );
        s.parse()
            .unwrap_or_else(|_| panic!("{container} has no address on {network}: {s:?}"))
    }

    #[track_caller]
    fn exec_sh(&self, container: &str, script: &str) -> crate::common::Run {
        self.run_t(&["exec", container, "sh", "-c", script])
    }

    #[track_caller]
    fn host_veth(&self, container: &str, ifname: &str) -> String {
        let out = self.exec_sh(container, &format!("cat /sys/class/net/{ifname}/iflink"));
        let index: u32 = out
            .ok()
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("iflink of {ifname}: {out:?}"));
        link_with_index(index)
            .unwrap_or_else(|| panic!("no host interface has index {index} (peer of {ifname})"))
    }

    fn nft_text(&self) -> String {
        let out = Command::new("nft")
            .args(["list", "table", "ip", &self.nft_table()])
            .stdin(Stdio::null())
            .output()
            .expect("run nft");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn helper_procs(&self, kind: &str, target: &str) -> Vec<Process> {
        let root = self.root().to_string_lossy().into_owned();
        processes()
            .into_iter()
            .filter(|p| {
                p.state != 'Z'
                    && p.args.iter().any(|a| a == kind)
                    && p.args.contains(&root)
                    && p.args.iter().any(|a| a == target)
            })
            .collect()
    }

    fn helper_procs_all(&self) -> Vec<Process> {
        let root = self.root().to_string_lossy().into_owned();
        processes()
            .into_iter()
            .filter(|p| {
                p.state != 'Z'
                    && p.args.iter().any(|a| a == "__proxy" || a == "__dns")
                    && p.args.contains(&root)
            })
            .collect()
    }

    #[track_caller]
    fn sandbox(&self, container: &str) -> PathBuf {
        PathBuf::from(self.field(container, "{{.NetworkSettings.SandboxKey}}"))
    }

    #[track_caller]
    fn ports_cell(&self, name: &str) -> String {
        let out = self.run_t(&["ps", "-a", "--format", "{{.Names}}|{{.Ports}}"]);
        out.ok()
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}|")))
            .unwrap_or_else(|| panic!("{name} is not in ps -a: {out:?}"))
            .to_string()
    }
}

/// The name of the host interface with index `index`.
pub fn link_with_index(index: u32) -> Option<String> {
    for e in fs::read_dir("/sys/class/net").ok()?.flatten() {
        let i = fs::read_to_string(e.path().join("ifindex")).unwrap_or_default();
        if i.trim().parse() == Ok(index) {
            return Some(e.file_name().to_string_lossy().into_owned());
        }
    }
    None
}

/// Names of the host's interfaces.
pub fn host_links() -> BTreeSet<String> {
    fs::read_dir("/sys/class/net")
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// `ip -4 -o addr` of the host.
pub fn host_addresses() -> String {
    let out = Command::new("ip")
        .args(["-4", "-o", "addr"])
        .output()
        .expect("run ip");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The host's own address on the interface of its default route (its "other" address, as
/// opposed to loopback and the bridges), with that interface's name.
pub fn host_address() -> (Ipv4Addr, String) {
    let out = Command::new("ip")
        .args(["-4", "-o", "route", "show", "default"])
        .output()
        .expect("run ip route");
    let route = String::from_utf8_lossy(&out.stdout);
    let dev = route
        .split_whitespace()
        .skip_while(|w| *w != "dev")
        .nth(1)
        .expect("this host has a default route")
        .to_string();
    let out = Command::new("ip")
        .args(["-4", "-o", "addr", "show", "dev", &dev])
        .output()
        .expect("run ip addr");
    let text = String::from_utf8_lossy(&out.stdout);
    let ip = text
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)
        .and_then(|a| a.split('/').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no IPv4 address on {dev}: {text}"));
    (ip, dev)
}

/// A TCP port nobody listens on now (the kernel's choice of an ephemeral one).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("0.0.0.0:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

/// A free UDP port.
pub fn free_udp_port() -> u16 {
    let s = UdpSocket::bind("0.0.0.0:0").expect("bind a free port");
    s.local_addr().expect("local addr").port()
}

/// Two consecutive free TCP ports; the first is returned.
pub fn free_port_pair() -> u16 {
    for _ in 0..100 {
        let p = free_port();
        if p < u16::MAX && TcpListener::bind(("0.0.0.0", p + 1)).is_ok() {
            return p;
        }
    }
    panic!("no two consecutive free ports");
}

/// `GET url` with curl (five seconds at most): the body, or None when it failed.
pub fn http_get(url: &str) -> Option<String> {
    let out = Command::new("curl")
        .args(["-s", "-f", "--noproxy", "*", "--max-time", "5", url])
        .stdin(Stdio::null())
        .output()
        .expect("run curl (install curl)");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// curl's exit code for `GET url` (0 ok, 7 refused, 28 timed out).
pub fn http_status(url: &str) -> i32 {
    Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "--noproxy",
            "*",
            "--max-time",
            "3",
            url,
        ])
        .stdin(Stdio::null())
        .status()
        .expect("run curl")
        .code()
        .unwrap_or(-1)
}

/// The client's address as the server at `base` (`http://IP:PORT`, made by [`Net::serve_image`])
/// saw it: the host's own address for a connection DNAT'ed from it, the bridge's gateway for
/// one the userland proxy made. None when the request failed.
pub fn who(base: &str) -> Option<Ipv4Addr> {
    let body = http_get(&format!("{base}/cgi-bin/who"))?;
    // httpd listens on IPv6 and shows IPv4 clients mapped: `[::ffff:10.210.3.1]`.
    let bare = body
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_start_matches("::ffff:");
    bare.parse().ok()
}

/// Waits until `GET url` answers `token` (the server may still be starting); fails the
/// test after [`SERVE_WITHIN`] with what it got last.
#[track_caller]
pub fn expect_page(url: &str, token: &str) {
    let mut last = None;
    let ok = eventually(SERVE_WITHIN, || {
        last = http_get(url);
        last.as_deref().map(str::trim) == Some(token)
    });
    assert!(ok, "GET {url}: wanted {token:?}, got {last:?}");
}

/// A one-shot HTTP server on the host at `ip`: answers each request with `token`. Stops when
/// dropped.
pub struct HostServer {
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HostServer {
    pub fn start(ip: Ipv4Addr, token: &str) -> HostServer {
        let l = TcpListener::bind((ip, 0)).expect("bind a host server");
        l.set_nonblocking(true).expect("nonblocking");
        let port = l.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let body = format!(
            "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{token}\n",
            token.len() + 1
        );
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((mut c, _)) => {
                        let _ = c.set_nonblocking(false);
                        let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
                        let mut buf = [0u8; 1024];
                        let _ = c.read(&mut buf);
                        let _ = c.write_all(body.as_bytes());
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        HostServer {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for HostServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A UDP echo server bound to `0.0.0.0:port` inside the network namespace at `netns` (a
/// container's): the busybox image has no UDP server, so the test brings its own, in the
/// container's namespace. Stops when dropped.
pub struct UdpEcho {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl UdpEcho {
    pub fn start(netns: &Path, port: u16) -> UdpEcho {
        let ns = File::open(netns).expect("open the container's network namespace");
        // A thread of its own enters the namespace; the socket stays there after it ends.
        let sock = std::thread::spawn(move || {
            rustix::thread::move_into_link_name_space(
                ns.as_fd(),
                Some(rustix::thread::LinkNameSpaceType::Network),
            )
            .expect("setns into the container's network namespace");
            UdpSocket::bind(("0.0.0.0", port)).expect("bind in the container's namespace")
        })
        .join()
        .expect("setns thread");
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while !s.load(Ordering::Relaxed) {
                if let Ok((n, from)) = sock.recv_from(&mut buf) {
                    let mut reply = b"echo:".to_vec();
                    reply.extend_from_slice(&buf[..n]);
                    let _ = sock.send_to(&reply, from);
                }
            }
        });
        UdpEcho {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for UdpEcho {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Sends `msg` to `to` over UDP until an answer comes (a datagram may be lost while the
/// path is being set up), for up to [`SERVE_WITHIN`]: the answer, or None.
pub fn udp_ask(to: SocketAddr, msg: &str) -> Option<String> {
    let s = UdpSocket::bind("0.0.0.0:0").expect("bind a client socket");
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let mut answer = None;
    eventually(SERVE_WITHIN, || {
        if s.send_to(msg.as_bytes(), to).is_err() {
            return false;
        }
        let mut buf = [0u8; 2048];
        match s.recv_from(&mut buf) {
            Ok((n, _)) => {
                answer = Some(String::from_utf8_lossy(&buf[..n]).into_owned());
                true
            }
            Err(_) => false,
        }
    });
    answer
}

/// Whether a TCP connection to `addr` is accepted within two seconds.
pub fn connects(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok()
}

/// A token unique to this test run, for pages and names.
pub fn token(prefix: &str) -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}{}x{nanos}", std::process::id())
}

/// The host-side veth berth-net derives for `container` on `network` (full IDs): how a
/// container that never started can be shown to have left no device behind.
pub fn derived_veth(container: &str, network: &str) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(container.as_bytes());
    h.update(b"/");
    h.update(network.as_bytes());
    format!("veth{}", &hex::encode(h.finalize())[..11])
}
