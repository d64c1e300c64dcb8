//! The host's routing and firewall for everything that is not berth's stay as they were while
//! containers run on every kind of network, and after they and their networks are removed.
//!
//! A snapshot of the host holds its links (name, kind, MTU, bridge), IPv4 and IPv6 routes of
//! every table, policy rules, the nftables ruleset, `iptables-save`/`ip6tables-save` when they
//! are installed, and each interface's `route_localnet`. What belongs to a berth store is left
//! out of the comparison — devices named `berth*` and `br-<12 hex>`, the `veth*` peers on them,
//! routes on those devices, and nftables tables named `berth` and `berth_*` — for every store
//! on the host, because other tests create and remove their bridges and tables at the same time.
//!
//! `net.ipv4.ip_forward` is not compared: while a container on a non-internal network exists
//! berth turns it on if it was off (and puts the old value back afterwards), as Docker turns it
//! on; meanwhile the table `ip berth_forward` lets nothing but berth's bridges' traffic be
//! forwarded.
//!
//! Another container engine may work on a developer's machine at the same time; its objects are
//! left out only when it is there: Docker's when `docker info` answers (chains `DOCKER*`,
//! `docker0` and the veths on it, rules naming its subnets), Podman's when `podman` is installed
//! (table `netavark`, chains `NETAVARK*`, `podman*` bridges, rules naming its subnets).

mod common;
mod netcommon;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use netcommon::{expect_page, free_port, host_address, Net, NetBerth};

/// A host view: per section, one line per item. Lines are compared as multisets, so an item
/// added or removed shows as one line however the tools order their output.
#[derive(Debug, Default)]
struct HostView {
    sections: BTreeMap<&'static str, Vec<String>>,
}

/// What the comparison leaves out: berth's devices (known by name, or by the bridge a veth is
/// on) and, when present, another engine's devices, chains and subnets.
#[derive(Debug, Default)]
struct Ignored {
    /// Devices of berth or of another engine, found in the link listings of the snapshot.
    devices: BTreeSet<String>,
    /// Name prefixes of another engine's chains, tables and bridges (`DOCKER`, `docker0`).
    foreign_words: Vec<&'static str>,
    /// Subnets of another engine's networks: its per-port rules name container addresses.
    foreign_subnets: Vec<(Ipv4Addr, u8)>,
    /// Bridges of another engine, whose veths are left out too.
    foreign_bridges: Vec<&'static str>,
    /// Another engine is here: a veth on no bridge may be one it is setting up or tearing
    /// down (Docker's `veth` + 7 hex before it joins `docker0`), so such veths are left out.
    loose_veths: bool,
}

/// A link as `ip -j -d link` shows it.
struct Link {
    name: String,
    kind: String,
    master: Option<String>,
    line: String,
}

fn tool(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[track_caller]
fn must(cmd: &str, args: &[&str]) -> String {
    tool(cmd, args).unwrap_or_else(|| panic!("`{cmd} {}` failed", args.join(" ")))
}

fn parse_links(json: &str) -> Vec<Link> {
    let v: serde_json::Value = serde_json::from_str(json).expect("ip -j link prints JSON");
    v.as_array()
        .expect("a list of links")
        .iter()
        .map(|l| {
            let name = l["ifname"].as_str().unwrap_or_default().to_string();
            let master = l["master"].as_str().map(str::to_string);
            let kind = l["linkinfo"]["info_kind"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let line = format!(
                "{name} kind={kind} mtu={} master={}",
                l["mtu"],
                master.as_deref().unwrap_or("-")
            );
            Link {
                name,
                kind,
                master,
                line,
            }
        })
        .collect()
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A bridge berth makes: a store's default bridge (`berth0`, `berth` + 10 hex) or a user
/// network's (`br-` + 12 hex of its ID; Docker's user networks are named the same way).
fn is_berth_bridge(name: &str) -> bool {
    name.starts_with("berth")
        || name
            .strip_prefix("br-")
            .is_some_and(|h| h.len() == 12 && is_hex(h))
}

impl Ignored {
    fn add_links(&mut self, links: &[Link]) {
        for l in links {
            let on = |bridge: &dyn Fn(&str) -> bool| l.master.as_deref().is_some_and(bridge);
            let berth = is_berth_bridge(&l.name)
                || (l.name.starts_with("veth") && on(&is_berth_bridge))
                // berth's host-side veth: `veth` + 11 hex of container and network.
                || l.name.strip_prefix("veth").is_some_and(|h| h.len() == 11 && is_hex(h));
            let foreign = self.foreign_bridges.iter().any(|b| l.name.starts_with(b))
                || on(&|m| self.foreign_bridges.iter().any(|b| m.starts_with(b)))
                || (self.loose_veths && l.kind == "veth" && l.master.is_none());
            if berth || foreign {
                self.devices.insert(l.name.clone());
            }
        }
    }

    fn names_foreign(&self, line: &str) -> bool {
        self.foreign_words.iter().any(|w| line.contains(w))
            || addresses(line).any(|ip| {
                self.foreign_subnets
                    .iter()
                    .any(|&(base, prefix)| in_subnet(ip, base, prefix))
            })
    }
}

fn in_subnet(ip: Ipv4Addr, base: Ipv4Addr, prefix: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
    u32::from(ip) & mask == u32::from(base) & mask
}

/// The IPv4 addresses a rule names (`172.17.0.2/32`, `172.17.0.2:80`, `{ 10.0.0.1, ... }`).
fn addresses(line: &str) -> impl Iterator<Item = Ipv4Addr> + '_ {
    line.split(|c: char| c.is_whitespace() || c == ',' || c == '{' || c == '}')
        .filter_map(|w| w.split(['/', ':']).next())
        .filter_map(|w| w.parse().ok())
}

/// Routes (`ip -j route show table all`) not on an ignored device. `expires` is dropped: the
/// lifetime of a route from a router advertisement counts down on its own.
fn routes(json: &str, ignored: &Ignored) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(json).expect("ip -j route prints JSON");
    let mut out = Vec::new();
    for r in v.as_array().expect("a list of routes") {
        let dev = r["dev"].as_str().unwrap_or("");
        if ignored.devices.contains(dev) {
            continue;
        }
        let mut r = r.clone();
        if let Some(o) = r.as_object_mut() {
            o.remove("expires");
        }
        out.push(r.to_string());
    }
    out
}

/// Items of `nft -s list ruleset`: `table ip nat / chain POSTROUTING: RULE`, one per rule, set
/// element line or chain (so an empty chain counts too), leaving out berth's tables.
fn nft_items(text: &str, ignored: &Ignored) -> Vec<String> {
    let (mut table, mut block) = (String::new(), String::new());
    let mut out = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if let Some(head) = t.strip_prefix("table ") {
            table = head.trim_end_matches('{').trim().to_string();
            continue;
        }
        let name = table.rsplit(' ').next().unwrap_or("");
        let berths = name == "berth" || name.starts_with("berth_");
        let foreign = ignored.names_foreign(name);
        if berths || foreign || t == "}" {
            continue;
        }
        // Blocks of a table (chain, set, map, flowtable) are one tab in, their lines two.
        if !line.starts_with("\t\t") {
            block = t.trim_end_matches('{').trim().to_string();
            let block_name = block.rsplit(' ').next().unwrap_or("");
            if !ignored.names_foreign(block_name) {
                out.push(format!("table {table} / {block}"));
            }
            continue;
        }
        let block_name = block.rsplit(' ').next().unwrap_or("");
        if ignored.names_foreign(block_name) || ignored.names_foreign(t) {
            continue;
        }
        out.push(format!("table {table} / {block}: {t}"));
    }
    out
}

/// Items of `iptables-save`: chain declarations and rules, with counters and comments gone.
fn iptables_items(text: &str, ignored: &Ignored) -> Vec<String> {
    let mut table = "";
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(t) = line.strip_prefix('*') {
            table = t;
            continue;
        }
        if line.starts_with('#') || line == "COMMIT" || line.is_empty() {
            continue;
        }
        let item = match line.strip_prefix(':') {
            // `:CHAIN POLICY [packets:bytes]`
            Some(decl) => {
                let mut w = decl.split_whitespace();
                format!(":{} {}", w.next().unwrap_or(""), w.next().unwrap_or(""))
            }
            None => line.to_string(),
        };
        if ignored.names_foreign(&item) {
            continue;
        }
        out.push(format!("*{table} {item}"));
    }
    out
}

/// Docker's and Podman's objects, when that engine is here.
fn foreign_engines() -> Ignored {
    let mut ig = Ignored::default();
    if tool("docker", &["info", "--format", "{{.ServerVersion}}"]).is_some() {
        ig.foreign_words.extend(["DOCKER", "docker0"]);
        ig.foreign_bridges.push("docker0");
        ig.loose_veths = true;
        let ids = tool(
            "docker",
            &["network", "ls", "-q", "--filter", "driver=bridge"],
        );
        for id in ids.unwrap_or_default().lines() {
            let subnets = tool(
                "docker",
                &[
                    "network",
                    "inspect",
                    "-f",
                    "{{range .IPAM.Config}}{{.Subnet}} {{end}}",
                    id,
                ],
            );
            ig.foreign_subnets.extend(
                subnets
                    .unwrap_or_default()
                    .split_whitespace()
                    .filter_map(cidr),
            );
        }
    }
    if tool("podman", &["--version"]).is_some() {
        ig.foreign_words.extend(["NETAVARK", "netavark", "podman"]);
        ig.foreign_bridges.push("podman");
        ig.loose_veths = true;
        let subnets = tool(
            "podman",
            &[
                "network",
                "ls",
                "--format",
                "{{range .Subnets}}{{.Subnet}} {{end}}",
            ],
        );
        ig.foreign_subnets.extend(
            subnets
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(cidr),
        );
    }
    ig
}

fn cidr(s: &str) -> Option<(Ipv4Addr, u8)> {
    let (ip, prefix) = s.split_once('/')?;
    Some((ip.parse().ok()?, prefix.parse().ok()?))
}

/// The host as it is now. Links are listed before and after the rest, so a device that came
/// or went meanwhile is still known to be berth's.
fn snapshot(engines: &Ignored) -> HostView {
    let links_before = parse_links(&must("ip", &["-j", "-d", "link", "show"]));
    let route4 = must("ip", &["-j", "-4", "route", "show", "table", "all"]);
    let route6 = must("ip", &["-j", "-6", "route", "show", "table", "all"]);
    let rule4 = must("ip", &["-j", "-4", "rule", "show"]);
    let rule6 = must("ip", &["-j", "-6", "rule", "show"]);
    let nft = must("nft", &["-s", "list", "ruleset"]);
    let ipt4 = tool("iptables-save", &[]);
    let ipt6 = tool("ip6tables-save", &[]);
    let links_after = parse_links(&must("ip", &["-j", "-d", "link", "show"]));

    let mut ignored = Ignored {
        foreign_words: engines.foreign_words.clone(),
        foreign_subnets: engines.foreign_subnets.clone(),
        foreign_bridges: engines.foreign_bridges.clone(),
        loose_veths: engines.loose_veths,
        ..Ignored::default()
    };
    ignored.add_links(&links_before);
    ignored.add_links(&links_after);

    let mut view = HostView::default();
    let mut links: Vec<String> = links_before
        .iter()
        .chain(&links_after)
        .filter(|l| !ignored.devices.contains(&l.name))
        .map(|l| l.line.clone())
        .collect();
    links.sort();
    links.dedup();
    let localnet = links_after
        .iter()
        .map(|l| l.name.as_str())
        .chain(["all", "default"])
        .filter(|n| !ignored.devices.contains(*n))
        .filter_map(|n| {
            let v = std::fs::read_to_string(format!("/proc/sys/net/ipv4/conf/{n}/route_localnet"));
            v.ok().map(|v| format!("{n} route_localnet={}", v.trim()))
        })
        .collect();
    view.sections.insert("links", links);
    view.sections.insert("sysctl", localnet);
    let mut routes_all = routes(&route4, &ignored);
    routes_all.extend(routes(&route6, &ignored));
    view.sections.insert("routes", routes_all);
    let mut rules: Vec<String> = rules_lines(&rule4);
    rules.extend(rules_lines(&rule6));
    view.sections.insert("rules", rules);
    view.sections.insert("nft", nft_items(&nft, &ignored));
    if let Some(t) = ipt4 {
        view.sections
            .insert("iptables", iptables_items(&t, &ignored));
    }
    if let Some(t) = ipt6 {
        view.sections
            .insert("ip6tables", iptables_items(&t, &ignored));
    }
    view
}

fn rules_lines(json: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(json).expect("ip -j rule prints JSON");
    v.as_array()
        .expect("a list of rules")
        .iter()
        .map(|r| r.to_string())
        .collect()
}

/// What differs between two views: `-` lines only `was` has, `+` lines only `now` has.
fn diff(was: &HostView, now: &HostView) -> String {
    let mut out = String::new();
    let names: BTreeSet<&&str> = was.sections.keys().chain(now.sections.keys()).collect();
    for name in names {
        let count = |v: &HostView| {
            let mut m: BTreeMap<String, i64> = BTreeMap::new();
            for l in v.sections.get(*name).into_iter().flatten() {
                *m.entry(l.clone()).or_default() += 1;
            }
            m
        };
        let (a, b) = (count(was), count(now));
        for (line, n) in &a {
            for _ in 0..(n - b.get(line).copied().unwrap_or(0)).max(0) {
                out.push_str(&format!("{name}: - {line}\n"));
            }
        }
        for (line, n) in &b {
            for _ in 0..(n - a.get(line).copied().unwrap_or(0)).max(0) {
                out.push_str(&format!("{name}: + {line}\n"));
            }
        }
    }
    out
}

/// Lines of the view that name any of `words`.
fn naming<'a>(view: &'a HostView, words: &'a [String]) -> Vec<&'a String> {
    view.sections
        .values()
        .flatten()
        .filter(|l| words.iter().any(|w| l.contains(w.as_str())))
        .collect()
}

#[test]
fn the_hosts_routing_and_firewall_stay_as_they_were() {
    let engines = foreign_engines();
    let before = snapshot(&engines);
    // The tools ran and were read: a host always has routes and links of its own.
    for section in ["links", "routes", "rules"] {
        assert!(
            !before.sections[section].is_empty(),
            "no {section} seen: {before:?}"
        );
    }

    let b = NetBerth::new();
    let net = b.default_net();
    let user = b.create_net("hostcheck", &[]);
    let (host_ip, _) = host_address();
    let (web_port, app_port) = (free_port(), free_port());
    b.serve(&["--name", "web", "-p", &format!("{web_port}:80")], "web");
    b.serve(
        &[
            "--name",
            "app",
            "--network",
            "hostcheck",
            "-p",
            &format!("{app_port}:80"),
        ],
        "app",
    );
    b.detach(&[
        "--name",
        "hostbox",
        "--network",
        "host",
        "busybox",
        "sleep",
        "100000",
    ]);
    b.detach(&[
        "--name",
        "nonebox",
        "--network",
        "none",
        "busybox",
        "sleep",
        "100000",
    ]);
    // Both kinds of published path are in place: DNAT (the host's address) and the proxy.
    expect_page(&format!("http://{host_ip}:{web_port}/"), "web");
    expect_page(&format!("http://127.0.0.1:{web_port}/"), "web");
    expect_page(&format!("http://{host_ip}:{app_port}/"), "app");
    let web_ip = b.addr("web");
    assert!(
        b.nft_text().contains(&format!("dnat to {web_ip}:80")),
        "the store's table does not publish web: {}",
        b.nft_text()
    );

    let during = snapshot(&engines);
    let changed = diff(&before, &during);
    assert!(
        changed.is_empty(),
        "while containers run, the host's routing or firewall changed outside berth's own \
         devices and tables:\n{changed}"
    );
    // Nothing outside berth's own tables and devices mentions berth's bridges or subnets.
    let app_ip = b.addr_on("app", "hostcheck");
    let words = [
        "berth".to_string(),
        net.bridge.clone(),
        user.bridge(),
        web_ip.to_string(),
        app_ip.to_string(),
        net.subnet.clone(),
        user.subnet.clone(),
    ];
    let found = naming(&during, &words);
    assert!(
        found.is_empty(),
        "berth added to the host's own tables or routes: {found:#?}"
    );

    b.run_t(&["rm", "-f", "web", "app", "hostbox", "nonebox"])
        .ok();
    b.run_t(&["network", "rm", "hostcheck"]).ok();
    let after = snapshot(&engines);
    let changed = diff(&before, &after);
    assert!(
        changed.is_empty(),
        "after rm -f and network rm, the host's routing or firewall differs outside berth's \
         own devices and tables:\n{changed}"
    );
}

/// The comparison sees what it must: the filter takes berth's objects of any store out and
/// nothing else.
#[test]
fn the_comparison_reports_changes_to_the_hosts_own_objects() {
    let ignored = {
        let mut ig = Ignored::default();
        ig.add_links(&parse_links(
            r#"[{"ifname":"eth0","mtu":1500},
                {"ifname":"berth0","mtu":1500,"linkinfo":{"info_kind":"bridge"}},
                {"ifname":"br-0123456789ab","mtu":1500},
                {"ifname":"vethx1","mtu":1500,"master":"br-0123456789ab"},
                {"ifname":"veth7","mtu":1500,"master":"lxcbr0"}]"#,
        ));
        ig
    };
    assert_eq!(
        ignored.devices.iter().collect::<Vec<_>>(),
        ["berth0", "br-0123456789ab", "vethx1"]
    );
    let view = |routes_json: &str, nft: &str, ipt: &str| {
        let mut v = HostView::default();
        v.sections.insert("routes", routes(routes_json, &ignored));
        v.sections.insert("nft", nft_items(nft, &ignored));
        v.sections.insert("iptables", iptables_items(ipt, &ignored));
        v
    };
    let nft = "table ip filter {\n\tchain INPUT {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n\
               table ip berth_0011aabb {\n\tchain publish {\n\t}\n}\n";
    let ipt = "# Generated\n*nat\n:PREROUTING ACCEPT [3:180]\nCOMMIT\n";
    let routes = r#"[{"dst":"default","dev":"eth0"}]"#;
    let was = view(routes, nft, ipt);
    assert_eq!(diff(&was, &view(routes, nft, ipt)), "");

    // Berth's objects come and go unseen...
    let berths = view(
        r#"[{"dst":"default","dev":"eth0"},{"dst":"10.210.3.0/24","dev":"berth0"},
            {"dst":"fe80::/64","dev":"vethx1"}]"#,
        &format!("{nft}table ip berth_99 {{\n\tchain publish {{\n\t\ttcp dport 80 dnat to 10.210.3.2:80\n\t}}\n}}\n"),
        "*nat\n:PREROUTING ACCEPT [9:540]\nCOMMIT\n",
    );
    assert_eq!(diff(&was, &berths), "");

    // ...anything else is reported, line by line.
    let host = view(
        r#"[{"dst":"default","dev":"eth0"},{"dst":"10.210.3.0/24","dev":"eth0"}]"#,
        "table ip filter {\n\tchain INPUT {\n\t\ttype filter hook input priority filter; policy accept;\n\t\tiifname \"berth0\" accept\n\t}\n}\n",
        "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp --dport 80 -j DNAT --to-destination 10.210.3.2:80\nCOMMIT\n",
    );
    assert_eq!(
        diff(&was, &host),
        "iptables: + *nat -A PREROUTING -p tcp --dport 80 -j DNAT --to-destination 10.210.3.2:80\n\
         nft: + table ip filter / chain INPUT: iifname \"berth0\" accept\n\
         routes: + {\"dst\":\"10.210.3.0/24\",\"dev\":\"eth0\"}\n"
    );

    // Docker's per-port rules are left out only when Docker is here.
    let docker_rules = "*nat\n:PREROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\n\
        -A DOCKER ! -i docker0 -p tcp -m tcp --dport 18089 -j DNAT --to-destination 172.17.0.2:80\n\
        -A POSTROUTING -s 172.17.0.2/32 -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE\n\
        COMMIT\n";
    let with_docker = Ignored {
        foreign_words: vec!["DOCKER", "docker0"],
        foreign_subnets: vec![(Ipv4Addr::new(172, 17, 0, 0), 16)],
        ..Ignored::default()
    };
    assert_eq!(
        iptables_items(docker_rules, &with_docker),
        ["*nat :PREROUTING ACCEPT"]
    );
    assert_eq!(iptables_items(docker_rules, &ignored).len(), 4);
}
