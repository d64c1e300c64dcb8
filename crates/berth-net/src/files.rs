//! A container's /etc/hosts, /etc/resolv.conf and /etc/hostname, as Docker writes them. Only
//! the text: the engine writes the files into the container's directory.

use std::net::{IpAddr, Ipv4Addr};

use crate::error::{NetError, Result};

/// An `--add-host NAME:IP` entry. The IP `host-gateway` means the gateway of the container's
/// first network, as in Docker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostEntry {
    pub name: String,
    pub ip: HostIp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostIp {
    Ip(IpAddr),
    HostGateway,
}

/// Parses `--add-host` values: `name:ip` or `name=ip` (IPv6 may follow the first colon).
pub fn parse_add_host(value: &str) -> Result<HostEntry> {
    let bad = |reason: &str| NetError::InvalidArgument {
        flag: "--add-host",
        value: value.to_string(),
        reason: reason.to_string(),
    };
    let (name, ip) = value
        .split_once('=')
        .or_else(|| value.split_once(':'))
        .ok_or_else(|| bad("invalid argument"))?;
    if name.is_empty() {
        return Err(bad("invalid argument"));
    }
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    let ip = if ip == "host-gateway" {
        HostIp::HostGateway
    } else {
        HostIp::Ip(
            ip.parse()
                .map_err(|_| bad(&format!("invalid IP address in add-host: {ip:?}")))?,
        )
    };
    Ok(HostEntry {
        name: name.to_string(),
        ip,
    })
}

const LOCALHOST_LINES: &str = "127.0.0.1\tlocalhost\n\
::1\tlocalhost ip6-localhost ip6-loopback\n\
fe00::0\tip6-localnet\n\
ff00::0\tip6-mcastprefix\n\
ff02::1\tip6-allnodes\n\
ff02::2\tip6-allrouters\n";

/// /etc/hosts of a container with its own network namespace: Docker's localhost lines, the
/// `--add-host` entries, then the container's address with its hostname (none for
/// `--network none`).
pub fn hosts_file(
    own: Option<Ipv4Addr>,
    hostname: &str,
    extra: &[HostEntry],
    host_gateway: Ipv4Addr,
) -> String {
    let mut s = String::from(LOCALHOST_LINES);
    push_extra(&mut s, extra, host_gateway);
    if let Some(ip) = own {
        s.push_str(&format!("{ip}\t{hostname}\n"));
    }
    s
}

/// /etc/hosts for `--network host`: the host's own file, then the `--add-host` entries.
pub fn host_mode_hosts_file(
    host_hosts: &str,
    extra: &[HostEntry],
    host_gateway: Ipv4Addr,
) -> String {
    let mut s = host_hosts.to_string();
    if !s.is_empty() && !s.ends_with('\n') {
        s.push('\n');
    }
    push_extra(&mut s, extra, host_gateway);
    s
}

fn push_extra(s: &mut String, extra: &[HostEntry], host_gateway: Ipv4Addr) {
    for e in extra {
        let ip = match e.ip {
            HostIp::Ip(ip) => ip,
            HostIp::HostGateway => IpAddr::V4(host_gateway),
        };
        s.push_str(&format!("{ip}\t{}\n", e.name));
    }
}

/// What the user asked for with `--dns`, `--dns-search` and `--dns-option`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DnsConfig {
    pub servers: Vec<String>,
    pub search: Vec<String>,
    pub options: Vec<String>,
}

/// The parts of a resolv.conf that matter here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResolvConf {
    pub nameservers: Vec<String>,
    pub search: Vec<String>,
    pub options: Vec<String>,
}

impl ResolvConf {
    pub fn parse(text: &str) -> ResolvConf {
        let mut rc = ResolvConf::default();
        for line in text.lines() {
            let mut words = line.split_whitespace();
            match words.next() {
                Some("nameserver") => rc.nameservers.extend(words.next().map(str::to_string)),
                // The last search/domain line wins, as in the resolver.
                Some("search") | Some("domain") => rc.search = words.map(str::to_string).collect(),
                Some("options") => rc.options.extend(words.map(str::to_string)),
                _ => {}
            }
        }
        rc
    }

    /// The host's resolver configuration.
    pub fn host() -> ResolvConf {
        ResolvConf::parse(&std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default())
    }

    fn render(&self) -> String {
        let mut s = String::new();
        if !self.search.is_empty() {
            s.push_str(&format!("search {}\n", self.search.join(" ")));
        }
        for ns in &self.nameservers {
            s.push_str(&format!("nameserver {ns}\n"));
        }
        if !self.options.is_empty() {
            s.push_str(&format!("options {}\n", self.options.join(" ")));
        }
        s
    }
}

fn is_loopback(ns: &str) -> bool {
    ns.parse::<IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

/// resolv.conf for a container on the default network (or `none`): the host's, without
/// loopback nameservers (unreachable from the container's namespace), falling back to Google's
/// public servers as Docker does when none are left; `--dns*` replace their parts.
pub fn resolv_conf_default(host: &ResolvConf, user: &DnsConfig) -> String {
    let mut rc = host.clone();
    rc.nameservers
        .retain(|ns| !is_loopback(ns) && !ns.contains(':'));
    if rc.nameservers.is_empty() {
        rc.nameservers = vec!["8.8.8.8".into(), "8.8.4.4".into()];
    }
    apply_user(&mut rc, user);
    rc.render()
}

/// resolv.conf for a container on a user network: the network's DNS server (on the gateway
/// address), which answers container names and forwards the rest to the container's `--dns`
/// servers or the host's. Search domains and options come from the host unless given.
pub fn resolv_conf_user_network(
    host: &ResolvConf,
    dns_server: Ipv4Addr,
    user: &DnsConfig,
) -> String {
    let mut rc = ResolvConf {
        nameservers: vec![dns_server.to_string()],
        search: host.search.clone(),
        options: host.options.clone(),
    };
    let mut user = user.clone();
    // The servers are the DNS server's upstreams, not the container's.
    user.servers.clear();
    apply_user(&mut rc, &user);
    rc.render()
}

fn apply_user(rc: &mut ResolvConf, user: &DnsConfig) {
    if !user.servers.is_empty() {
        rc.nameservers = user.servers.clone();
    }
    if !user.search.is_empty() {
        // `--dns-search .` means no search domains.
        rc.search = user.search.iter().filter(|s| *s != ".").cloned().collect();
    }
    if !user.options.is_empty() {
        rc.options = user.options.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_as_docker_writes_them() {
        let extra = [
            parse_add_host("db:10.0.0.5").unwrap(),
            parse_add_host("gw:host-gateway").unwrap(),
        ];
        let s = hosts_file(
            Some(Ipv4Addr::new(10, 88, 0, 2)),
            "abc123",
            &extra,
            Ipv4Addr::new(10, 88, 0, 1),
        );
        assert_eq!(
            s,
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n\
             ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n\
             10.0.0.5\tdb\n10.88.0.1\tgw\n10.88.0.2\tabc123\n"
        );
        let none = hosts_file(None, "abc123", &[], Ipv4Addr::new(10, 88, 0, 1));
        assert!(!none.contains("abc123"));
    }

    #[test]
    fn add_host_forms() {
        assert_eq!(
            parse_add_host("h=::1").unwrap().ip,
            HostIp::Ip("::1".parse().unwrap())
        );
        assert_eq!(
            parse_add_host("h:::1").unwrap().ip,
            HostIp::Ip("::1".parse().unwrap())
        );
        assert!(parse_add_host("nohost").is_err());
        assert!(parse_add_host("h:1.2.3").is_err());
    }

    #[test]
    fn default_resolv_drops_loopback_and_falls_back() {
        let host = ResolvConf::parse("nameserver 127.0.0.53\noptions edns0\nsearch example.com\n");
        assert_eq!(
            resolv_conf_default(&host, &DnsConfig::default()),
            "search example.com\nnameserver 8.8.8.8\nnameserver 8.8.4.4\noptions edns0\n"
        );
        let host = ResolvConf::parse("nameserver 10.255.255.53\n");
        assert_eq!(
            resolv_conf_default(&host, &DnsConfig::default()),
            "nameserver 10.255.255.53\n"
        );
        let user = DnsConfig {
            servers: vec!["1.1.1.1".into()],
            search: vec!["corp".into()],
            options: vec!["ndots:2".into()],
        };
        assert_eq!(
            resolv_conf_default(&host, &user),
            "search corp\nnameserver 1.1.1.1\noptions ndots:2\n"
        );
    }

    #[test]
    fn user_network_resolv_points_at_the_dns_server() {
        let host = ResolvConf::parse("nameserver 10.255.255.53\nsearch lan\n");
        let user = DnsConfig {
            servers: vec!["1.1.1.1".into()],
            ..Default::default()
        };
        assert_eq!(
            resolv_conf_user_network(&host, Ipv4Addr::new(10, 89, 0, 1), &user),
            "search lan\nnameserver 10.89.0.1\n"
        );
    }
}
