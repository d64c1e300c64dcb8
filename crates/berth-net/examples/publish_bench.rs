//! Measures a published port: requests/s and throughput to a busybox httpd in a namespace,
//! directly, through nftables DNAT (the host's address) and through the userland proxy
//! (127.0.0.1), with wrk. Run as root: `cargo run --release --example publish_bench`.

use std::process::{Child, Command};
use std::time::Duration;

use berth_net::*;
use berth_store::Store;

fn wrk(url: &str) -> String {
    let out = Command::new("wrk")
        .args(["-t2", "-c32", "-d5s", url])
        .output()
        .expect("wrk");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let pick = |key: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(key))
            .map(|l| l.split_whitespace().last().unwrap_or("?").to_string())
            .unwrap_or_else(|| "?".into())
    };
    format!(
        "{:>10} req/s {:>10}/s",
        pick("Requests/sec:"),
        pick("Transfer/sec:")
    )
}

fn main() -> Result<()> {
    let dir = tempfile::tempdir().map_err(|e| NetError::Os {
        context: "tempdir".into(),
        source: e,
    })?;
    let store = Store::open(&dir.path().join("root"), &dir.path().join("run"))?;
    let nets = Networks::open(&store)?;
    let net = nets.create(&NetworkCreate {
        name: "bench".into(),
        subnet: Some("10.210.0.0/24".into()),
        ..Default::default()
    })?;
    let id = "b".repeat(64);
    let netns = nets.create_netns(&id)?;
    let port = 18080;
    let out = nets.setup_container(&ContainerNetRequest {
        id: id.clone(),
        name: "web".into(),
        hostname: "web".into(),
        mode: NetworkMode::parse("bench"),
        publish: parse_publish(&format!("{port}:80"))?,
        publish_all: false,
        exposed: vec![],
        dns: DnsConfig::default(),
        add_hosts: vec![],
        netns: netns.clone(),
    })?;
    let www = dir.path().join("www");
    std::fs::create_dir_all(&www).ok();
    std::fs::write(www.join("index.html"), "hello\n").ok();
    std::fs::write(www.join("big"), vec![b'x'; 1 << 20]).ok();
    let mut httpd: Child = Command::new("nsenter")
        .arg(format!("--net={}", netns.display()))
        .args(["busybox", "httpd", "-f", "-p", "80", "-h"])
        .arg(&www)
        // Connection children outlive a killed parent for a moment; keep our stdout free.
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("httpd");
    let ports = out.ports.clone();
    std::thread::spawn(move || proxy::serve(&ports, || {}));
    std::thread::sleep(Duration::from_millis(500));

    let ip = out.endpoints[0].ip;
    let addrs = Command::new("ip")
        .args(["-4", "-o", "addr", "show", "scope", "global"])
        .output()
        .expect("ip");
    let addrs = String::from_utf8_lossy(&addrs.stdout).into_owned();
    let host = addrs
        .lines()
        .filter(|l| !l.contains("br-") && !l.contains("berth"))
        .find_map(|l| {
            l.split_whitespace()
                .nth(3)?
                .split('/')
                .next()
                .map(str::to_string)
        })
        .expect("a global IPv4 address of the host");
    // Rounds interleave the three paths so that load from elsewhere hits them alike.
    for (what, path) in [("small", "/index.html"), ("1 MiB", "/big")] {
        println!("{what}:");
        for round in 1..=3 {
            println!("  round {round}");
            println!("    direct   {}", wrk(&format!("http://{ip}{path}")));
            println!(
                "    DNAT     {}",
                wrk(&format!("http://{host}:{port}{path}"))
            );
            println!(
                "    proxy    {}",
                wrk(&format!("http://127.0.0.1:{port}{path}"))
            );
        }
    }

    let _ = httpd.kill();
    let _ = httpd.wait();
    nets.teardown_container(&id)?;
    nets.remove_netns(&id)?;
    nets.remove(&net.id)?;
    let _ = Command::new("umount")
        .arg("-l")
        .arg(dir.path().join("run/netns"))
        .status();
    Ok(())
}
