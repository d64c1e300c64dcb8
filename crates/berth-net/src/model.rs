//! The nouns of berth's network model as the database holds them: networks, endpoints (a
//! container's attachment to a network) and published ports.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use berth_store::rusqlite::{self, Row};

use crate::ports::Proto;
use crate::subnet::Subnet;

/// Name of the default network, as Docker calls it.
pub const DEFAULT_NETWORK: &str = "bridge";
/// Linux bridge of the default network.
pub const DEFAULT_BRIDGE: &str = "berth0";
/// Subnet of the default network.
pub const DEFAULT_SUBNET: &str = "10.88.0.0/16";
/// Every interface berth creates gets this MTU, as Docker's default.
pub const MTU: u32 = 1500;

#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    /// 64 hex digits.
    pub id: String,
    pub name: String,
    /// Always `bridge` for now.
    pub driver: String,
    pub subnet: Subnet,
    pub gateway: Ipv4Addr,
    /// No route out of the network: containers reach only each other.
    pub internal: bool,
    /// The Linux bridge: `berth0` or `br-<12 hex of id>`.
    pub bridge: String,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    /// RFC 3339 with nanoseconds.
    pub created: String,
}

impl Network {
    /// The default network has no DNS server and takes no aliases, as in Docker.
    pub fn is_default(&self) -> bool {
        self.name == DEFAULT_NETWORK
    }

    pub(crate) const COLUMNS: &'static str =
        "id, name, driver, subnet, gateway, internal, bridge, labels, options, created";

    pub(crate) fn from_row(r: &Row) -> rusqlite::Result<Network> {
        Ok(Network {
            id: r.get(0)?,
            name: r.get(1)?,
            driver: r.get(2)?,
            subnet: parse_col(r, 3)?,
            gateway: parse_col(r, 4)?,
            internal: r.get(5)?,
            bridge: r.get(6)?,
            labels: json_col(r, 7)?,
            options: json_col(r, 8)?,
            created: r.get(9)?,
        })
    }
}

/// A container's attachment to one network.
#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    pub container_id: String,
    pub container_name: String,
    pub network_id: String,
    pub network_name: String,
    /// 64 hex digits, Docker's EndpointID.
    pub endpoint_id: String,
    pub ip: Ipv4Addr,
    pub prefix_len: u8,
    /// None on internal networks: they have no way out, so no default route.
    pub gateway: Option<Ipv4Addr>,
    /// `02:42:` and the four bytes of the address, as Docker derives it.
    pub mac: String,
    pub aliases: Vec<String>,
    /// Interface name inside the container (`eth0`, `eth1`, ...).
    pub ifname: String,
    /// Host end of the veth pair, attached to the bridge.
    pub veth: String,
    pub bridge: String,
    /// The network namespace the endpoint lives in.
    pub netns: PathBuf,
    /// `--dns` servers of the container, which the network's DNS server forwards to.
    pub dns_servers: Vec<String>,
}

impl Endpoint {
    pub(crate) const SELECT: &'static str = "SELECT e.container_id, e.container_name, \
        e.network_id, n.name, e.endpoint_id, e.ip, n.subnet, n.gateway, n.internal, e.mac, \
        e.aliases, e.ifname, e.veth, n.bridge, e.netns, e.dns_servers \
        FROM net_endpoints e JOIN net_networks n ON n.id = e.network_id";

    pub(crate) fn from_row(r: &Row) -> rusqlite::Result<Endpoint> {
        let subnet: Subnet = parse_col(r, 6)?;
        let internal: bool = r.get(8)?;
        let gateway: Ipv4Addr = parse_col(r, 7)?;
        Ok(Endpoint {
            container_id: r.get(0)?,
            container_name: r.get(1)?,
            network_id: r.get(2)?,
            network_name: r.get(3)?,
            endpoint_id: r.get(4)?,
            ip: parse_col(r, 5)?,
            prefix_len: subnet.prefix(),
            gateway: (!internal).then_some(gateway),
            mac: r.get(9)?,
            aliases: json_col(r, 10)?,
            ifname: r.get(11)?,
            veth: r.get(12)?,
            bridge: r.get(13)?,
            netns: PathBuf::from(r.get::<_, String>(14)?),
            dns_servers: json_col(r, 15)?,
        })
    }
}

/// A host port forwarded to a container port.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PublishedPort {
    pub container_id: String,
    /// `0.0.0.0` for every address of the host.
    pub host_ip: Ipv4Addr,
    pub host_port: u16,
    pub proto: Proto,
    pub container_ip: Ipv4Addr,
    pub container_port: u16,
}

impl PublishedPort {
    pub(crate) const SELECT: &'static str = "SELECT container_id, host_ip, host_port, proto, \
        container_ip, container_port FROM net_ports";

    pub(crate) fn from_row(r: &Row) -> rusqlite::Result<PublishedPort> {
        Ok(PublishedPort {
            container_id: r.get(0)?,
            host_ip: parse_col(r, 1)?,
            host_port: r.get(2)?,
            proto: parse_col(r, 3)?,
            container_ip: parse_col(r, 4)?,
            container_port: r.get(5)?,
        })
    }
}

fn parse_col<T: std::str::FromStr>(r: &Row, i: usize) -> rusqlite::Result<T>
where
    T::Err: std::fmt::Display,
{
    let s: String = r.get(i)?;
    s.parse().map_err(|e: T::Err| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("{s:?}: {e}").into(),
        )
    })
}

fn json_col<T: serde::de::DeserializeOwned>(r: &Row, i: usize) -> rusqlite::Result<T> {
    let s: String = r.get(i)?;
    serde_json::from_str(&s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// The MAC Docker gives an address: locally administered `02:42` and the four bytes of the IP.
pub fn mac_for(ip: Ipv4Addr) -> String {
    let o = ip.octets();
    format!("02:42:{:02x}:{:02x}:{:02x}:{:02x}", o[0], o[1], o[2], o[3])
}

/// A new 64-hex identifier (network and endpoint IDs).
pub(crate) fn random_id() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_follows_the_address() {
        assert_eq!(mac_for(Ipv4Addr::new(10, 88, 0, 2)), "02:42:0a:58:00:02");
    }

    #[test]
    fn ids_are_64_hex() {
        let id = random_id();
        assert_eq!(id.len(), 64);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(id, random_id());
    }
}
