//! Test harness: a temporary store per test, "containers" that are network namespaces with a
//! busybox process in them, helper processes (proxy, DNS server) run by re-executing the test
//! binary, and cleanup that runs even when a test fails.
#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use berth_net::*;
use berth_store::Store;

pub struct Env {
    pub dir: tempfile::TempDir,
    pub store: Store,
    children: std::sync::Mutex<Vec<Child>>,
}

pub fn random_id() -> String {
    let mut s = String::new();
    for _ in 0..4 {
        s.push_str(&format!("{:016x}", rand_u64()));
    }
    s
}

fn rand_u64() -> u64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.finish()
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("root"), &dir.path().join("run")).unwrap();
        Env {
            dir,
            store,
            children: Default::default(),
        }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }
    pub fn runroot(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    pub fn nets(&self) -> Networks<'_> {
        Networks::open(&self.store).unwrap()
    }

    /// A user network with a unique name on `subnet`.
    pub fn network(&self, prefix: &str, subnet: &str) -> Network {
        let name = format!("{prefix}-{}", &random_id()[..8]);
        self.nets()
            .create(&NetworkCreate {
                name,
                subnet: Some(subnet.into()),
                ..Default::default()
            })
            .unwrap()
    }

    pub fn request(&self, name: &str, mode: NetworkMode) -> ContainerNetRequest {
        let id = random_id();
        let netns = self.nets().create_netns(&id).unwrap();
        ContainerNetRequest {
            hostname: id[..12].to_string(),
            id,
            name: name.to_string(),
            mode,
            publish: vec![],
            publish_all: false,
            exposed: vec![],
            dns: DnsConfig::default(),
            add_hosts: vec![],
            netns,
        }
    }

    /// Sets up a container `name` on `network` (with `aliases`).
    pub fn container(&self, name: &str, network: &Network, aliases: &[&str]) -> Ctr {
        let req = self.request(
            name,
            NetworkMode::Networks(vec![NetworkAttach {
                network: network.name.clone(),
                aliases: aliases.iter().map(|s| s.to_string()).collect(),
                ipv4: None,
            }]),
        );
        let net = self.nets().setup_container(&req).unwrap();
        Ctr { req, net }
    }

    /// Keeps `child` to be killed when the test ends.
    pub fn keep(&self, child: Child) {
        self.children.lock().unwrap().push(child);
    }

    /// Runs busybox httpd on port 80 in a namespace, serving `body` as /index.html.
    pub fn httpd(&self, c: &Ctr, body: &str) {
        let www = self.dir.path().join(format!("www-{}", &c.req.id[..8]));
        std::fs::create_dir_all(&www).unwrap();
        std::fs::write(www.join("index.html"), body).unwrap();
        let child = in_netns(&c.req.netns, "busybox")
            .args(["httpd", "-f", "-p", "80", "-h"])
            .arg(&www)
            .spawn()
            .unwrap();
        self.keep(child);
        let ip = c.ip();
        wait_for(|| {
            // busybox wget's own -T crashes (busybox-static 1.35); coreutils' timeout instead.
            in_netns(&c.req.netns, "timeout")
                .args(["2", "busybox", "wget", "-q", "-O", "/dev/null"])
                .arg(format!("http://{ip}/"))
                .status()
                .map(|s| s.success())
                .unwrap_or(false)
        });
    }

    /// Starts a helper (`proxy CONTAINER-ID` or `dns NETWORK`) by re-executing this test
    /// binary, and waits until it reports ready.
    pub fn helper(&self, kind: &str, arg: &str) {
        let ready = self
            .dir
            .path()
            .join(format!("ready-{kind}-{}", &random_id()[..8]));
        let child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "helper_process",
                "--include-ignored",
                "--nocapture",
            ])
            .env("BERTH_NET_HELPER", kind)
            .env("BERTH_NET_HELPER_ARG", arg)
            .env("BERTH_NET_ROOT", self.root())
            .env("BERTH_NET_RUNROOT", self.runroot())
            .env("BERTH_NET_READY", &ready)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        self.keep(child);
        wait_for(|| ready.exists());
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let nets = Networks::open(&self.store).unwrap();
        // Tear down every container and network this store knows, then the namespaces.
        let _ = nets.reclaim(&|_| false);
        for n in nets.list().unwrap_or_default() {
            if n.is_default() {
                // A test store's default network has a bridge and an nftables table of its
                // own (a real store keeps them for the next container); they go with the store.
                let _ = Command::new("ip")
                    .args(["link", "del", &n.bridge])
                    .stderr(Stdio::null())
                    .status();
                continue;
            }
            let _ = nets.remove(&n.id);
        }
        let _ = Command::new("nft")
            .args(["delete", "table", "ip", &nft::table_name(&self.root())])
            .stderr(Stdio::null())
            .status();
        for mut c in self.children.lock().unwrap().drain(..) {
            let _ = c.kill();
            let _ = c.wait();
        }
        let nsdir = self.runroot().join("netns");
        if let Ok(entries) = std::fs::read_dir(&nsdir) {
            for e in entries.flatten() {
                let _ = remove_netns(&e.path());
            }
        }
        let _ = Command::new("umount").arg("-l").arg(&nsdir).status();
    }
}

/// A test container: its request and what setup returned.
pub struct Ctr {
    pub req: ContainerNetRequest,
    pub net: ContainerNet,
}

impl Ctr {
    pub fn ip(&self) -> Ipv4Addr {
        self.net.endpoints[0].ip
    }
    pub fn run(&self, args: &[&str]) -> Output {
        in_netns(&self.req.netns, args[0])
            .args(&args[1..])
            .output()
            .unwrap()
    }
}

pub fn in_netns(netns: &Path, program: &str) -> Command {
    let mut c = Command::new("nsenter");
    c.arg(format!("--net={}", netns.display())).arg(program);
    c
}

pub fn sh(cmd: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(cmd).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits (up to a generous bound) for `cond`; panics if it never holds.
pub fn wait_for(mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "condition never held");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `curl` of a URL from the host: the body, or None.
pub fn curl(url: &str) -> Option<String> {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "5", url])
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The host's first global IPv4 address outside berth's bridges (192.0.2.2 here).
pub fn host_address() -> Ipv4Addr {
    let out = sh("ip -4 -o addr show scope global");
    out.lines()
        .filter(|l| !l.contains("br-") && !l.contains("berth"))
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.get(3)?.split('/').next()?.parse().ok()
        })
        .expect("a global IPv4 address on the host")
}

/// A TCP port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("0.0.0.0:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Entry point of helper processes; a no-op in a normal test run.
pub fn helper_process() {
    let Ok(kind) = std::env::var("BERTH_NET_HELPER") else {
        return;
    };
    let arg = std::env::var("BERTH_NET_HELPER_ARG").unwrap();
    let root = PathBuf::from(std::env::var("BERTH_NET_ROOT").unwrap());
    let runroot = PathBuf::from(std::env::var("BERTH_NET_RUNROOT").unwrap());
    let ready = PathBuf::from(std::env::var("BERTH_NET_READY").unwrap());
    let store = Store::open(&root, &runroot).unwrap();
    let signal = || std::fs::write(&ready, b"").unwrap();
    match kind.as_str() {
        "proxy" => {
            let r = berth_net::proxy::serve_container(&store, &arg, signal);
            panic!("proxy ended: {r:?}");
        }
        "dns" => {
            let r = berth_net::dns::serve(&store, &arg, signal);
            eprintln!("dns ended: {r:?}");
            std::process::exit(0);
        }
        other => panic!("unknown helper {other}"),
    }
}
