//! berth's nftables tables. Each store has one, `ip berth` (or `ip berth_<hash of the root>`
//! for a store elsewhere than /var/lib/berth, so stores side by side never touch each other's
//! rules): DNAT for published ports, masquerade for containers' way out, and isolation of its
//! bridges. The table is rendered whole from the database and swapped in atomically (one
//! `nft -f` transaction), so it never drifts from what the database says and a container's
//! rules go exactly when its rows do. Each port rule carries its container's ID as a comment.
//! Its `clamp` chain gives a local client's SYN to a published port, once DNAT sends it onto a
//! bridge, the MSS of that route: the socket was set up for loopback (MSS 65483), which keeps
//! its receive window from ever growing.
//!
//! A host-wide table `ip berth_forward` exists only while berth has turned IPv4 forwarding on
//! (see `forwarding`): it lets through nothing but berth's bridges' traffic.

use std::io::Write;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::error::{os, NetError, Result};
use crate::model::PublishedPort;
use crate::ports::Proto;
use crate::subnet::Subnet;

/// The host-wide forwarding guard table.
pub const GUARD_TABLE: &str = "berth_forward";

/// Name of the table of the store at `root`.
pub fn table_name(root: &Path) -> String {
    if root == Path::new("/var/lib/berth") {
        return "berth".into();
    }
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(root.as_os_str().as_encoded_bytes());
    format!("berth_{}", &hex::encode(h)[..8])
}

/// A network with at least one container on it.
#[derive(Clone, Debug, PartialEq)]
pub struct ActiveNetwork {
    pub bridge: String,
    pub subnet: Subnet,
    pub internal: bool,
}

/// Everything the table is made from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ruleset {
    pub networks: Vec<ActiveNetwork>,
    pub ports: Vec<PublishedPort>,
}

impl Ruleset {
    pub fn is_empty(&self) -> bool {
        self.networks.is_empty() && self.ports.is_empty()
    }
}

/// Whether this host has nftables: the `nft` binary, and netfilter in the kernel. Looked up
/// without running `nft` (a fork and exec on every container start is what this avoids);
/// a kernel without nf_tables makes the first `apply` fail with nft's own message.
pub fn available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let binary = std::env::split_paths(&path)
            .chain(["/usr/sbin", "/sbin"].iter().map(std::path::PathBuf::from))
            .any(|d| d.join("nft").is_file());
        binary && std::path::Path::new("/proc/net/netfilter").exists()
    })
}

/// Replaces the table `table` with `rules` (or removes it when there is nothing to say).
/// `last` remembers the script applied last: an unchanged ruleset (a container without
/// published ports joining a network that already has rules) runs no `nft` at all.
pub fn apply(table: &str, rules: &Ruleset, last: &std::path::Path) -> Result<()> {
    let mut script = format!("table ip {table} {{}}\ndelete table ip {table}\n");
    if !rules.is_empty() {
        script.push_str(&render(table, rules));
    }
    if std::fs::read_to_string(last).is_ok_and(|old| old == script) {
        return Ok(());
    }
    // Forget the old picture first: if nft fails half-way, the next change re-applies.
    let _ = std::fs::remove_file(last);
    run_nft(&script)?;
    if let Some(dir) = last.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(last, &script);
    Ok(())
}

/// Removes the table `table` if it exists: the rules of a store that is gone.
pub(crate) fn remove_table(table: &str) -> Result<()> {
    run_nft(&format!("table ip {table} {{}}\ndelete table ip {table}\n"))
}

/// Adds (or removes) the table that limits forwarding to berth's bridges: `berth*` and
/// `br-*` devices, as berth names them.
pub fn apply_forward_guard(on: bool) -> Result<()> {
    let mut script = format!("table ip {GUARD_TABLE} {{}}\ndelete table ip {GUARD_TABLE}\n");
    if on {
        script.push_str(&format!(
            "table ip {GUARD_TABLE} {{\n  chain forward {{\n    \
             type filter hook forward priority filter; policy accept;\n    \
             ct state established,related accept\n"
        ));
        for pattern in ["berth*", "br-*"] {
            script.push_str(&format!(
                "    iifname \"{pattern}\" accept\n    oifname \"{pattern}\" accept\n"
            ));
        }
        script.push_str("    drop\n  }\n}\n");
    }
    run_nft(&script)
}

fn run_nft(script: &str) -> Result<()> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(os("running nft"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .map_err(os("writing to nft"))?;
    }
    let out = child.wait_with_output().map_err(os("running nft"))?;
    if !out.status.success() {
        return Err(NetError::Nft(format!(
            "{}\nin:\n{script}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

fn quoted_set(names: &[&str]) -> String {
    let items: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    format!("{{ {} }}", items.join(", "))
}

/// The table's text.
pub fn render(table: &str, r: &Ruleset) -> String {
    let mut s = format!("table ip {table} {{\n");
    // Published ports: traffic to the host's own addresses, from other hosts (prerouting) or
    // from the host itself (output). Loopback is left to the userland proxy: DNAT of
    // 127.0.0.1 would need route_localnet, which changes the host's routing.
    s.push_str(
        "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n    \
         fib daddr type local jump publish\n  }\n",
    );
    s.push_str(
        "  chain output {\n    type nat hook output priority -100; policy accept;\n    \
         ip daddr != 127.0.0.0/8 fib daddr type local jump publish\n  }\n",
    );
    if !r.networks.is_empty() {
        // A client on the host itself comes to a published port with its socket routed to a
        // local address, so its SYN offers loopback's MSS (65483) although the way, once
        // DNAT'ed, is a 1500-byte bridge: set it to the MSS of the route it now takes. The
        // output hook still names `lo` as the way out, so the rule matches the new
        // destination. Clients from elsewhere bring their own interface's MSS.
        let subnets: Vec<String> = r.networks.iter().map(|n| n.subnet.to_string()).collect();
        s.push_str(&format!(
            "  chain clamp {{\n    type filter hook output priority filter; policy accept;\n    \
             ip daddr {{ {} }} ct status dnat tcp flags & (syn | rst) == syn \
             tcp option maxseg size set rt mtu\n  }}\n",
            subnets.join(", ")
        ));
    }
    s.push_str("  chain publish {\n");
    for p in &r.ports {
        if p.host_ip.is_loopback() {
            continue;
        }
        let daddr = if p.host_ip == Ipv4Addr::UNSPECIFIED {
            String::new()
        } else {
            format!("ip daddr {} ", p.host_ip)
        };
        let l4 = match p.proto {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Sctp => "sctp",
        };
        s.push_str(&format!(
            "    {daddr}{l4} dport {} dnat to {}:{} comment \"{}\"\n",
            p.host_port, p.container_ip, p.container_port, p.container_id
        ));
    }
    s.push_str("  }\n");

    s.push_str(
        "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n",
    );
    for n in &r.networks {
        if !n.internal {
            s.push_str(&format!(
                "    ip saddr {} oifname != \"{}\" masquerade\n",
                n.subnet, n.bridge
            ));
        }
        // Hairpin: a container reaching a sibling through a published port must see the
        // reply come back through the host, not straight from the sibling.
        s.push_str(&format!(
            "    ip saddr {0} ip daddr {0} ct status dnat masquerade\n",
            n.subnet
        ));
    }
    s.push_str("  }\n");

    s.push_str("  chain forward {\n    type filter hook forward priority filter; policy accept;\n");
    let bridges: Vec<&str> = r.networks.iter().map(|n| n.bridge.as_str()).collect();
    for n in &r.networks {
        let others: Vec<&str> = bridges.iter().copied().filter(|b| *b != n.bridge).collect();
        if n.internal {
            s.push_str(&format!(
                "    iifname \"{0}\" oifname != \"{0}\" drop\n    oifname \"{0}\" iifname != \"{0}\" drop\n",
                n.bridge
            ));
        } else if !others.is_empty() {
            // Networks are isolated from each other, as Docker's are, except for connections
            // to a published port (DNAT'ed, both ways): with Docker's default userland
            // proxy a container on another network reaches it through the host's address too.
            s.push_str(&format!(
                "    iifname \"{}\" oifname {} ct status & dnat == 0 drop\n",
                n.bridge,
                quoted_set(&others)
            ));
        }
    }
    s.push_str("  }\n}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_dnat_masquerade_and_isolation() {
        let r = Ruleset {
            networks: vec![
                ActiveNetwork {
                    bridge: "berth0".into(),
                    subnet: "10.88.0.0/16".parse().unwrap(),
                    internal: false,
                },
                ActiveNetwork {
                    bridge: "br-aaa".into(),
                    subnet: "10.89.0.0/24".parse().unwrap(),
                    internal: true,
                },
            ],
            ports: vec![
                PublishedPort {
                    container_id: "c1".into(),
                    host_ip: Ipv4Addr::UNSPECIFIED,
                    host_port: 8080,
                    proto: Proto::Tcp,
                    container_ip: Ipv4Addr::new(10, 88, 0, 2),
                    container_port: 80,
                },
                PublishedPort {
                    container_id: "c2".into(),
                    host_ip: Ipv4Addr::LOCALHOST,
                    host_port: 8081,
                    proto: Proto::Tcp,
                    container_ip: Ipv4Addr::new(10, 88, 0, 3),
                    container_port: 80,
                },
            ],
        };
        let s = render("berth", &r);
        assert!(
            s.contains("    tcp dport 8080 dnat to 10.88.0.2:80 comment \"c1\"\n"),
            "{s}"
        );
        assert!(!s.contains("8081"), "loopback goes to the proxy: {s}");
        assert!(s.contains("ip saddr 10.88.0.0/16 oifname != \"berth0\" masquerade"));
        assert!(
            !s.contains("ip saddr 10.89.0.0/24 oifname"),
            "internal: no way out"
        );
        assert!(s.contains("iifname \"br-aaa\" oifname != \"br-aaa\" drop"));
        assert!(s.contains("iifname \"berth0\" oifname { \"br-aaa\" } ct status & dnat == 0 drop"));
        assert!(s.starts_with("table ip berth {"));
        assert!(
            s.contains(
                "ip daddr { 10.88.0.0/16, 10.89.0.0/24 } ct status dnat \
                 tcp flags & (syn | rst) == syn tcp option maxseg size set rt mtu\n"
            ),
            "{s}"
        );
    }

    #[test]
    fn no_clamp_without_networks() {
        let s = render("berth", &Ruleset::default());
        assert!(!s.contains("maxseg"), "{s}");
    }
}
