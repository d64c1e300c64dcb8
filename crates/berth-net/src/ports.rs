//! Docker's port syntax: `-p`/`--publish` specs, `EXPOSE` ports, and the ways Docker shows
//! them (`PortBindings` JSON, the PORTS column, `docker port`).

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{NetError, Result};
use crate::model::PublishedPort;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Proto {
    Tcp,
    Udp,
    Sctp,
}

impl Proto {
    pub fn as_str(&self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Sctp => "sctp",
        }
    }
}

impl FromStr for Proto {
    type Err = NetError;
    fn from_str(s: &str) -> Result<Proto> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" | "" => Ok(Proto::Tcp),
            "udp" => Ok(Proto::Udp),
            "sctp" => Ok(Proto::Sctp),
            _ => Err(NetError::InvalidPortSpec(format!("invalid proto: {s}"))),
        }
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A container port with its protocol: `80/tcp`, the key of Docker's port maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContainerPort {
    pub port: u16,
    pub proto: Proto,
}

impl FromStr for ContainerPort {
    type Err = NetError;
    /// `80`, `80/tcp`, `53/udp` (as in `EXPOSE` and image configs' ExposedPorts keys).
    fn from_str(s: &str) -> Result<ContainerPort> {
        let (port, proto) = s.split_once('/').unwrap_or((s, "tcp"));
        Ok(ContainerPort {
            port: parse_port(port)
                .ok_or_else(|| NetError::InvalidPortSpec(format!("invalid containerPort: {s}")))?,
            proto: proto.parse()?,
        })
    }
}

impl fmt::Display for ContainerPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.port, self.proto)
    }
}

/// One container port to publish, from one `-p` spec (a range spec gives several).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortMapping {
    pub container: ContainerPort,
    /// None: every IPv4 address of the host (Docker shows `""` in PortBindings).
    pub host_ip: Option<Ipv4Addr>,
    /// None: any free port. A range: the first free port in it.
    pub host_ports: Option<(u16, u16)>,
}

impl PortMapping {
    /// The binding as the user asked for it: HostConfig.PortBindings' value.
    pub fn requested_binding(&self) -> PortBinding {
        PortBinding {
            host_ip: self.host_ip.map(|ip| ip.to_string()).unwrap_or_default(),
            host_port: match self.host_ports {
                None => String::new(),
                Some((a, b)) if a == b => a.to_string(),
                Some((a, b)) => format!("{a}-{b}"),
            },
        }
    }
}

/// Docker's `{"HostIp": "0.0.0.0", "HostPort": "8080"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortBinding {
    #[serde(rename = "HostIp")]
    pub host_ip: String,
    #[serde(rename = "HostPort")]
    pub host_port: String,
}

/// Parses one `-p` value: `[IP:][HOSTPORT:]CPORT[/PROTO]`, `IP::CPORT`, ranges on either side.
pub fn parse_publish(spec: &str) -> Result<Vec<PortMapping>> {
    let invalid = |what: &str, v: &str| NetError::InvalidPortSpec(format!("invalid {what}: {v}"));
    let (rest, proto) = match spec.rsplit_once('/') {
        Some((r, p)) => (r, p.parse::<Proto>()?),
        None => (spec, Proto::Tcp),
    };
    // The IP may be IPv6 in brackets, with colons inside; split from the right.
    let (ip, host, cport) = match rest.rsplit_once(':') {
        None => ("", "", rest),
        Some((left, cport)) => match left.rsplit_once(':') {
            None => ("", left, cport),
            Some((ip, host)) => (ip, host, cport),
        },
    };
    if cport.is_empty() {
        return Err(NetError::InvalidPortSpec(format!(
            "no port specified: {spec}<empty>"
        )));
    }
    let host_ip = if ip.is_empty() {
        None
    } else {
        let bare = ip.trim_start_matches('[').trim_end_matches(']');
        match bare.parse::<IpAddr>() {
            Ok(IpAddr::V4(v4)) => Some(v4),
            Ok(IpAddr::V6(_)) => {
                return Err(NetError::InvalidPortSpec(format!(
                    "IPv6 host addresses are not supported yet: {ip}"
                )))
            }
            Err(_) => return Err(invalid("IP address", ip)),
        }
    };
    let (c_first, c_last) = parse_range(cport).ok_or_else(|| invalid("containerPort", cport))?;
    let host_range = if host.is_empty() {
        None
    } else {
        Some(parse_range(host).ok_or_else(|| invalid("hostPort", host))?)
    };
    let count = c_last - c_first + 1;
    if let Some((h_first, h_last)) = host_range {
        let h_count = h_last - h_first + 1;
        // `8000-8010:80` picks one host port of the range; otherwise the sizes must match.
        if h_count != count && count != 1 {
            return Err(NetError::InvalidPortSpec(format!(
                "invalid ranges specified for container and host Ports: {cport} and {host}"
            )));
        }
    }
    Ok((0..count)
        .map(|i| PortMapping {
            container: ContainerPort {
                port: c_first + i,
                proto,
            },
            host_ip,
            host_ports: match host_range {
                Some((hf, hl)) if count == 1 => Some((hf, hl)),
                Some((hf, _)) => Some((hf + i, hf + i)),
                None => None,
            },
        })
        .collect())
}

fn parse_port(s: &str) -> Option<u16> {
    s.parse::<u16>().ok().filter(|p| *p != 0)
}

fn parse_range(s: &str) -> Option<(u16, u16)> {
    match s.split_once('-') {
        None => parse_port(s).map(|p| (p, p)),
        Some((a, b)) => {
            let (a, b) = (parse_port(a)?, parse_port(b)?);
            (a <= b).then_some((a, b))
        }
    }
}

/// NetworkSettings.Ports: every exposed or published container port, with its bindings
/// (`null` for a port that is exposed but not published).
pub fn network_settings_ports(
    exposed: &[ContainerPort],
    published: &[PublishedPort],
) -> BTreeMap<String, Option<Vec<PortBinding>>> {
    let mut out: BTreeMap<String, Option<Vec<PortBinding>>> = BTreeMap::new();
    for c in exposed {
        out.entry(c.to_string()).or_insert(None);
    }
    for p in published {
        let key = ContainerPort {
            port: p.container_port,
            proto: p.proto,
        };
        out.entry(key.to_string())
            .or_insert(None)
            .get_or_insert_with(Vec::new)
            .push(PortBinding {
                host_ip: p.host_ip.to_string(),
                host_port: p.host_port.to_string(),
            });
    }
    out
}

/// `docker port` lines: `80/tcp -> 0.0.0.0:8080`, by container port.
pub fn port_lines(published: &[PublishedPort]) -> Vec<String> {
    let mut ps: Vec<&PublishedPort> = published.iter().collect();
    ps.sort_by_key(|p| (p.container_port, p.proto, p.host_ip, p.host_port));
    ps.iter()
        .map(|p| {
            format!(
                "{}/{} -> {}:{}",
                p.container_port, p.proto, p.host_ip, p.host_port
            )
        })
        .collect()
}

/// The PORTS column of `docker ps`: `0.0.0.0:8080->80/tcp`, consecutive ports folded into
/// ranges, exposed-only ports as `80/tcp`.
pub fn ports_column(exposed: &[ContainerPort], published: &[PublishedPort]) -> String {
    // (private, ip, public, proto); ip "" for an exposed-only port.
    let mut rows: Vec<(u16, String, u16, Proto)> = published
        .iter()
        .map(|p| {
            (
                p.container_port,
                p.host_ip.to_string(),
                p.host_port,
                p.proto,
            )
        })
        .collect();
    for c in exposed {
        if !published
            .iter()
            .any(|p| p.container_port == c.port && p.proto == c.proto)
        {
            rows.push((c.port, String::new(), 0, c.proto));
        }
    }
    rows.sort();
    rows.dedup();

    // Groups of ports that map to themselves (or are unpublished), keyed by ip and proto,
    // in first-seen order; ports mapped elsewhere are listed one by one after them.
    let mut groups: Vec<(String, Proto, u16, u16)> = Vec::new();
    let mut mappings: Vec<String> = Vec::new();
    let mut done: Vec<String> = Vec::new();
    for (private, ip, public, proto) in rows {
        if !ip.is_empty() && public != private {
            mappings.push(format!("{ip}:{public}->{private}/{proto}"));
            continue;
        }
        match groups
            .iter_mut()
            .find(|(gip, gproto, _, _)| *gip == ip && *gproto == proto)
        {
            None => groups.push((ip, proto, private, private)),
            Some(g) if private == g.3 + 1 => g.3 = private,
            Some(g) => {
                done.push(form_group(&g.0, g.1, g.2, g.3));
                *g = (ip, proto, private, private);
            }
        }
    }
    done.extend(groups.iter().map(|g| form_group(&g.0, g.1, g.2, g.3)));
    done.extend(mappings);
    done.join(", ")
}

fn form_group(ip: &str, proto: Proto, first: u16, last: u16) -> String {
    let range = if first == last {
        first.to_string()
    } else {
        format!("{first}-{last}")
    };
    if ip.is_empty() {
        format!("{range}/{proto}")
    } else {
        format!("{ip}:{range}->{range}/{proto}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(spec: &str) -> PortMapping {
        let mut v = parse_publish(spec).unwrap();
        assert_eq!(v.len(), 1, "{spec}");
        v.remove(0)
    }

    #[test]
    fn publish_forms() {
        let m = one("8080:80");
        assert_eq!(m.container.to_string(), "80/tcp");
        assert_eq!(m.host_ports, Some((8080, 8080)));
        assert_eq!(m.host_ip, None);

        let m = one("127.0.0.1:8080:80/udp");
        assert_eq!(m.container.to_string(), "80/udp");
        assert_eq!(m.host_ip, Some(Ipv4Addr::LOCALHOST));

        let m = one("127.0.0.1::80");
        assert_eq!(m.host_ports, None);
        assert_eq!(m.host_ip, Some(Ipv4Addr::LOCALHOST));

        let m = one("80");
        assert_eq!(m.host_ports, None);
        assert_eq!(
            m.requested_binding(),
            PortBinding {
                host_ip: String::new(),
                host_port: String::new()
            }
        );
    }

    #[test]
    fn publish_ranges() {
        let v = parse_publish("8000-8001:80-81").unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(
            (v[0].container.port, v[0].host_ports),
            (80, Some((8000, 8000)))
        );
        assert_eq!(
            (v[1].container.port, v[1].host_ports),
            (81, Some((8001, 8001)))
        );

        let m = one("8000-8010:80");
        assert_eq!(m.host_ports, Some((8000, 8010)));
        assert_eq!(m.requested_binding().host_port, "8000-8010");

        let v = parse_publish("80-82").unwrap();
        assert_eq!(v.len(), 3);
        assert!(v.iter().all(|m| m.host_ports.is_none()));
    }

    #[test]
    fn publish_errors_name_the_bad_part() {
        let e = |s| parse_publish(s).unwrap_err().to_string();
        assert_eq!(e("8080:abc"), "invalid containerPort: abc");
        assert_eq!(e("x:80"), "invalid hostPort: x");
        assert_eq!(e("1.2.3:8080:80"), "invalid IP address: 1.2.3");
        assert_eq!(e("80/icmp"), "invalid proto: icmp");
        assert_eq!(
            e("8000-8002:80-81"),
            "invalid ranges specified for container and host Ports: 80-81 and 8000-8002"
        );
        assert_eq!(e("0:80"), "invalid hostPort: 0");
    }

    fn published(hip: [u8; 4], hport: u16, cport: u16, proto: Proto) -> PublishedPort {
        PublishedPort {
            container_id: "c".into(),
            host_ip: Ipv4Addr::from(hip),
            host_port: hport,
            proto,
            container_ip: Ipv4Addr::new(10, 88, 0, 2),
            container_port: cport,
        }
    }

    #[test]
    fn ports_column_as_docker_shows_it() {
        let p = [published([0, 0, 0, 0], 8080, 80, Proto::Tcp)];
        assert_eq!(ports_column(&[], &p), "0.0.0.0:8080->80/tcp");

        let p = [
            published([0, 0, 0, 0], 8000, 8000, Proto::Tcp),
            published([0, 0, 0, 0], 8001, 8001, Proto::Tcp),
        ];
        assert_eq!(ports_column(&[], &p), "0.0.0.0:8000-8001->8000-8001/tcp");

        let exposed = ["443/tcp".parse().unwrap(), "80/tcp".parse().unwrap()];
        let p = [published([127, 0, 0, 1], 8080, 80, Proto::Tcp)];
        assert_eq!(
            ports_column(&exposed, &p),
            "443/tcp, 127.0.0.1:8080->80/tcp"
        );
    }

    #[test]
    fn inspect_ports_map() {
        let exposed = ["443/tcp".parse().unwrap()];
        let p = [published([0, 0, 0, 0], 8080, 80, Proto::Tcp)];
        let json = serde_json::to_string(&network_settings_ports(&exposed, &p)).unwrap();
        assert_eq!(
            json,
            r#"{"443/tcp":null,"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"}]}"#
        );
        assert_eq!(port_lines(&p), vec!["80/tcp -> 0.0.0.0:8080"]);
    }
}
