//! berth-net: container networking — the default bridge and user networks, IPAM, veth pairs in
//! network namespaces, published ports (nftables DNAT plus a userland proxy), and a DNS server
//! per user network. berth has no daemon, so every piece of state lives in the store's
//! database (tables `net_*`, created the first time [`Networks::open`] runs on a store) and the
//! two long-lived helpers are processes of their own.
//!
//! # What the engine calls, and when
//!
//! ```no_run
//! use berth_net::*;
//! # fn main() -> Result<()> {
//! # let store = berth_store::Store::open("/var/lib/berth".as_ref(), "/run/berth".as_ref())?;
//! # let id = "0".repeat(64);
//! let nets = Networks::open(&store)?;
//!
//! // `run`/`start`, before the runtime creates the container:
//! nets.reclaim(&|id| { let _ = id; true /* engine: is this container alive? */ })?;
//! let netns = nets.create_netns(&id)?; // give this path to the OCI runtime (bridge, none)
//! let req = ContainerNetRequest {
//!     id: id.clone(),
//!     name: "web".into(),
//!     hostname: id[..12].into(),
//!     mode: NetworkMode::parse("bridge"),
//!     publish: parse_publish("8080:80")?,
//!     publish_all: false,
//!     exposed: vec![],
//!     dns: DnsConfig::default(),
//!     add_hosts: vec![parse_add_host("db:10.0.0.5")?],
//!     netns,
//! };
//! let net = nets.setup_container(&req)?; // on Err nothing is left behind
//! // write net.hosts / net.resolv_conf / net.hostname into the container's files;
//! // for each network in net.dns_to_start: spawn `berth __dns <network id>`
//! //     -> berth_net::dns::serve(&store, &network, ready)
//! // if net.proxy_needed: spawn `berth __proxy <container id>`
//! //     -> berth_net::proxy::serve_container(&store, &id, ready)
//! // wait for both to report ready, then start the container.
//!
//! // container exited, stopped, or removed (and on failure of any step above):
//! nets.teardown_container(&id)?; // proxy, veths, addresses, ports, nft rules, idle DNS
//! nets.remove_netns(&id)?;
//! # Ok(()) }
//! ```
//!
//! `--network host` sets up nothing (files only); `container:NAME` nothing at all (the engine
//! joins the other container's namespace and reuses its files); `none` brings `lo` up.
//! `network create/ls/inspect/rm/prune` map to [`Networks::create`], [`Networks::list`],
//! [`Networks::get`] + [`NetworkInspect::new`], [`Networks::remove`], [`Networks::prune`];
//! `network connect/disconnect` to [`Networks::connect`] and [`Networks::disconnect`]. Inspect
//! of a container uses [`container_networks`] and [`network_settings_ports`]; `ps` and
//! `port` use [`ports_column`] and [`port_lines`] over [`Networks::published_ports`].
//!
//! # Host effects
//!
//! Devices are made through netlink (`rtnetlink`); firewall rules live in one nftables table
//! per store, `ip berth` for /var/lib/berth ([`nft::table_name`]), rewritten whole from the
//! database after each change and removed when no container is left. IPv4 forwarding is
//! switched on only while a container on a non-internal network exists; if berth switched it
//! on, the old value is restored afterwards and a table `ip berth_forward` meanwhile forwards
//! nothing but berth's bridges' traffic. Loopback ports go through the userland proxy, so
//! `route_localnet` is never touched.

mod connect;
mod db;
mod default_bridge;
pub mod dns;
mod error;
mod files;
mod forwarding;
mod helpers;
mod inspect;
mod ipam;
mod link;
mod model;
mod netns;
mod networks;
pub mod nft;
mod ports;
pub mod proxy;
mod publish;
mod setup;
mod subnet;
mod sync;
mod teardown;

use std::path::PathBuf;

pub use connect::EndpointRequest;
pub use error::{NetError, Result};
pub use files::{
    hosts_file, parse_add_host, resolv_conf_default, resolv_conf_user_network, DnsConfig,
    HostEntry, HostIp, ResolvConf,
};
pub use inspect::{container_networks, EndpointSettings, NetworkContainer, NetworkInspect};
pub use model::{
    mac_for, Endpoint, Network, PublishedPort, DEFAULT_BRIDGE, DEFAULT_NETWORK, DEFAULT_SUBNET, MTU,
};
pub use netns::{create_netns, netns_path, new_netns, pin_netns, remove_netns};
pub use networks::{NetworkCreate, Networks};
pub use ports::{
    network_settings_ports, parse_publish, port_lines, ports_column, ContainerPort, PortBinding,
    PortMapping, Proto,
};
pub use setup::{ContainerNet, ContainerNetRequest, NetworkAttach, NetworkMode};
pub use subnet::Subnet;
pub use teardown::delete_links;

impl Networks<'_> {
    /// Creates the network namespace of container `id` under the run root and returns its path;
    /// a leftover of an earlier run of the container (never torn down) is replaced.
    pub fn create_netns(&self, id: &str) -> Result<PathBuf> {
        self.pin_netns(id, None)
    }

    /// [`Networks::create_netns`] with a namespace made ahead ([`new_netns`]), if any.
    pub fn pin_netns(&self, id: &str, made: Option<std::os::fd::OwnedFd>) -> Result<PathBuf> {
        let path = netns_path(self.store.runroot(), id);
        if path.exists() {
            remove_netns(&path)?;
        }
        pin_netns(&path, made)?;
        Ok(path)
    }

    /// Removes the namespace [`Networks::create_netns`] made; absent is fine.
    pub fn remove_netns(&self, id: &str) -> Result<()> {
        remove_netns(&netns_path(self.store.runroot(), id))
    }

    /// Host ports published for a container.
    pub fn published_ports(&self, container_id: &str) -> Result<Vec<PublishedPort>> {
        db::read(self.store, |tx| publish::of_container(tx, container_id))
    }

    /// Every published port of the store (for `ps`).
    pub fn all_published_ports(&self) -> Result<Vec<PublishedPort>> {
        db::read(self.store, |tx| {
            let mut stmt = tx.prepare(PublishedPort::SELECT)?;
            let ports = stmt
                .query_map([], PublishedPort::from_row)?
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(ports)
        })
    }
}
