//! Setting up a container's networking before it starts: addresses, host ports, veth pairs,
//! firewall rules, and the text of its hosts and resolv.conf files.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use berth_store::rusqlite::{params, Transaction};
use sha2::{Digest, Sha256};

use crate::error::{NetError, Result};
use crate::files::{self, DnsConfig, HostEntry, ResolvConf};
use crate::model::{mac_for, random_id, Endpoint, Network, PublishedPort, DEFAULT_NETWORK};
use crate::networks::{endpoints_where, Networks};
use crate::ports::{ContainerPort, PortMapping};
use crate::{db, helpers, ipam, link, publish, sync};

/// `--network` of a container.
#[derive(Clone, Debug, PartialEq)]
pub enum NetworkMode {
    /// Attached to these networks, the first one giving the default route.
    Networks(Vec<NetworkAttach>),
    /// Its own namespace with only `lo`.
    None,
    /// The host's namespace: nothing to set up.
    Host,
    /// Another container's namespace (`container:NAME`): the engine joins it.
    Container(String),
}

impl NetworkMode {
    /// Docker's HostConfig.NetworkMode: `bridge`/`default`/`""`, `none`, `host`,
    /// `container:NAME`, or a network name.
    pub fn parse(value: &str) -> NetworkMode {
        match value {
            "" | "default" | DEFAULT_NETWORK => {
                NetworkMode::Networks(vec![NetworkAttach::new(DEFAULT_NETWORK)])
            }
            "none" => NetworkMode::None,
            "host" => NetworkMode::Host,
            _ => match value.strip_prefix("container:") {
                Some(c) => NetworkMode::Container(c.to_string()),
                None => NetworkMode::Networks(vec![NetworkAttach::new(value)]),
            },
        }
    }
}

/// One network a container joins, with `--network-alias` and `--ip`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct NetworkAttach {
    pub network: String,
    pub aliases: Vec<String>,
    pub ipv4: Option<Ipv4Addr>,
}

impl NetworkAttach {
    pub fn new(network: &str) -> NetworkAttach {
        NetworkAttach {
            network: network.to_string(),
            ..Default::default()
        }
    }
}

/// Everything berth-net needs to know about a container about to start.
#[derive(Clone, Debug)]
pub struct ContainerNetRequest {
    /// 64-hex container ID.
    pub id: String,
    /// Container name (without Docker's leading `/`): its DNS name on user networks.
    pub name: String,
    pub hostname: String,
    pub mode: NetworkMode,
    /// `-p` values, parsed with [`crate::parse_publish`].
    pub publish: Vec<PortMapping>,
    /// `-P`: publish every port of `exposed` on a free host port.
    pub publish_all: bool,
    pub exposed: Vec<ContainerPort>,
    pub dns: DnsConfig,
    pub add_hosts: Vec<HostEntry>,
    /// The container's network namespace: a [`crate::create_netns`] path or `/proc/PID/ns/net`;
    /// empty for [`NetworkMode::None`] when the runtime makes the namespace.
    pub netns: PathBuf,
}

/// What the engine gets back: the container's network state and files.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContainerNet {
    pub endpoints: Vec<Endpoint>,
    pub ports: Vec<PublishedPort>,
    /// /etc/hosts, /etc/resolv.conf and /etc/hostname; None for `container:` mode, which
    /// shares the other container's files.
    pub hosts: Option<String>,
    pub resolv_conf: Option<String>,
    pub hostname: Option<String>,
    /// Ports are published: start `berth __proxy ID` (see [`crate::proxy`]).
    pub proxy_needed: bool,
    /// User networks of this container whose DNS server is not running: start
    /// `berth __dns NETWORK-ID` for each (see [`crate::dns`]).
    pub dns_to_start: Vec<Network>,
}

/// Host end of the veth of `container` on `network`: `veth` + 11 hex, the longest name Linux
/// allows, derived so that a crashed setup's leftovers can be found again.
pub(crate) fn veth_name(container_id: &str, network_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(container_id.as_bytes());
    h.update(b"/");
    h.update(network_id.as_bytes());
    format!("veth{}", &hex::encode(h.finalize())[..11])
}

/// A new endpoint row.
pub(crate) struct NewEndpoint<'a> {
    pub container_id: &'a str,
    pub container_name: &'a str,
    pub network: &'a Network,
    pub aliases: &'a [String],
    pub ipv4: Option<Ipv4Addr>,
    pub ifname: String,
    pub netns: &'a std::path::Path,
    pub dns_servers: &'a [String],
}

pub(crate) fn insert_endpoint(tx: &Transaction, e: &NewEndpoint) -> Result<Endpoint> {
    let exists: i64 = tx.query_row(
        "SELECT count(*) FROM net_endpoints WHERE container_id = ?1 AND network_id = ?2",
        params![e.container_id, e.network.id],
        |r| r.get(0),
    )?;
    if exists > 0 {
        return Err(NetError::AlreadyConnected {
            container: e.container_name.to_string(),
            network: e.network.name.clone(),
        });
    }
    let ip = ipam::allocate(tx, e.network, e.ipv4)?;
    tx.execute(
        "INSERT INTO net_endpoints (container_id, network_id, endpoint_id, container_name, ip, \
         mac, aliases, ifname, veth, netns, dns_servers) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            e.container_id,
            e.network.id,
            random_id(),
            e.container_name,
            ip.to_string(),
            mac_for(ip),
            serde_json::to_string(e.aliases)?,
            e.ifname,
            veth_name(e.container_id, &e.network.id),
            e.netns.to_string_lossy(),
            serde_json::to_string(e.dns_servers)?,
        ],
    )?;
    endpoints_where(tx, "e.container_id = ?1", e.container_id)?
        .into_iter()
        .find(|x| x.network_id == e.network.id)
        .ok_or_else(|| NetError::NotConnected {
            container: e.container_name.to_string(),
            network: e.network.name.clone(),
        })
}

/// Creates the veth pair of an endpoint, after making sure its bridge is up.
pub(crate) fn wire(ep: &Endpoint, net: &Network) -> Result<()> {
    link::add_veth_to_bridge(
        &link::VethPlan {
            bridge: &net.bridge,
            veth: &ep.veth,
            netns: &ep.netns,
            ifname: &ep.ifname,
            mac: &ep.mac,
            ip: ep.ip,
            prefix: ep.prefix_len,
            gateway: ep.gateway,
        },
        net.gateway,
        net.subnet.prefix(),
    )
}

impl Networks<'_> {
    /// Sets up a container's networking, all or nothing: on any failure (a host port taken,
    /// no address left, a netlink error) everything done so far is undone.
    pub fn setup_container(&self, req: &ContainerNetRequest) -> Result<ContainerNet> {
        let hostname = Some(format!("{}\n", req.hostname));
        // `--add-host NAME:host-gateway` outside bridge networks is the default bridge's
        // gateway, as in Docker (on a bridge network, the container's own gateway).
        let default_gateway = || self.default_network().map(|n| n.gateway);
        match &req.mode {
            NetworkMode::Container(_) => Ok(ContainerNet::default()),
            NetworkMode::Host => Ok(ContainerNet {
                hosts: Some(files::host_mode_hosts_file(
                    &std::fs::read_to_string("/etc/hosts").unwrap_or_default(),
                    &req.add_hosts,
                    default_gateway()?,
                )),
                resolv_conf: Some(std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default()),
                hostname,
                ..Default::default()
            }),
            NetworkMode::None => {
                // No path: the runtime makes the namespace with the container (and its `lo`).
                if !req.netns.as_os_str().is_empty() {
                    link::loopback_up(&req.netns)?;
                }
                Ok(ContainerNet {
                    hosts: Some(files::hosts_file(
                        None,
                        &req.hostname,
                        &req.add_hosts,
                        default_gateway()?,
                    )),
                    resolv_conf: Some(files::resolv_conf_default(&ResolvConf::host(), &req.dns)),
                    hostname,
                    ..Default::default()
                })
            }
            NetworkMode::Networks(attach) => {
                let default = [NetworkAttach::new(DEFAULT_NETWORK)];
                let attach = if attach.is_empty() {
                    &default[..]
                } else {
                    attach
                };
                // Leftovers of an earlier run whose teardown never happened.
                self.teardown_container(&req.id)?;
                let out = self.setup_networks(req, attach);
                if out.is_err() {
                    let _ = self.teardown_container(&req.id);
                }
                out
            }
        }
    }

    fn setup_networks(
        &self,
        req: &ContainerNetRequest,
        attach: &[NetworkAttach],
    ) -> Result<ContainerNet> {
        let mut nets = Vec::new();
        for a in attach {
            let n = self.get(&a.network)?;
            if n.is_default() && !a.aliases.is_empty() {
                return Err(NetError::AliasOnDefaultNetwork);
            }
            nets.push(n);
        }
        let mut mappings = req.publish.clone();
        if req.publish_all {
            for c in &req.exposed {
                if !mappings.iter().any(|m| m.container == *c) {
                    mappings.push(PortMapping {
                        container: *c,
                        host_ip: None,
                        host_ports: None,
                    });
                }
            }
        }
        let (endpoints, ports) = db::write(self.store, |tx| {
            let mut eps = Vec::new();
            for (i, (n, a)) in nets.iter().zip(attach).enumerate() {
                eps.push(insert_endpoint(
                    tx,
                    &NewEndpoint {
                        container_id: &req.id,
                        container_name: &req.name,
                        network: n,
                        aliases: &a.aliases,
                        ipv4: a.ipv4,
                        ifname: format!("eth{i}"),
                        netns: &req.netns,
                        dns_servers: &req.dns.servers,
                    },
                )?);
            }
            // Ports go to the first network with a way out; Docker ignores them on internal ones.
            let ports = match eps.iter().find(|e| e.gateway.is_some()) {
                Some(target) => publish::allocate(tx, &req.id, target.ip, &mappings)?,
                None => Vec::new(),
            };
            Ok((eps, ports))
        })?;
        for (ep, net) in endpoints.iter().zip(&nets) {
            wire(ep, net)?;
        }
        sync::host_rules(self.store)?;

        let first = &endpoints[0];
        let host_gateway = first.gateway.unwrap_or(nets[0].gateway);
        let host = ResolvConf::host();
        let resolv = match nets.iter().find(|n| !n.is_default()) {
            Some(user) => files::resolv_conf_user_network(&host, user.gateway, &req.dns),
            None => files::resolv_conf_default(&host, &req.dns),
        };
        let dns_to_start = self
            .dns_servers_needed()?
            .into_iter()
            .filter(|n| nets.iter().any(|m| m.id == n.id))
            .collect();
        Ok(ContainerNet {
            hosts: Some(files::hosts_file(
                Some(first.ip),
                &req.hostname,
                &req.add_hosts,
                host_gateway,
            )),
            resolv_conf: Some(resolv),
            hostname: Some(format!("{}\n", req.hostname)),
            proxy_needed: !ports.is_empty(),
            endpoints,
            ports,
            dns_to_start,
        })
    }

    /// User networks with containers but no running DNS server. The engine starts
    /// `berth __dns NETWORK-ID` for each after a setup or connect.
    pub fn dns_servers_needed(&self) -> Result<Vec<Network>> {
        db::read(self.store, |tx| {
            let nets = crate::networks::all(tx)?;
            let mut out = Vec::new();
            for n in nets {
                if n.is_default() {
                    continue;
                }
                let used: i64 = tx.query_row(
                    "SELECT count(*) FROM net_endpoints WHERE network_id = ?1",
                    params![n.id],
                    |r| r.get(0),
                )?;
                if used > 0 && helpers::running(tx, helpers::DNS, &n.id)?.is_none() {
                    out.push(n);
                }
            }
            Ok(out)
        })
    }
}
