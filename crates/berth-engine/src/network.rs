//! `network` use cases over berth-net, and the entry points of its helper processes.

use std::io::Write;
use std::os::fd::OwnedFd;

use berth_net::{NetworkCreate, NetworkInspect, NetworkMode};

use crate::container::Stored;
use crate::{Engine, EngineError, Result};

/// A row of `network ls`.
#[derive(Clone, Debug)]
pub struct NetworkSummary {
    pub id: String,
    pub name: String,
    pub driver: String,
    pub internal: bool,
    pub labels: std::collections::BTreeMap<String, String>,
    pub created: String,
    /// `bridge`, `host`, `none`: Docker's predefined networks.
    pub builtin: bool,
}

/// The ID of `host` or `none`: fixed per store, as they have no record of their own.
pub(crate) fn builtin_network_id(root: &std::path::Path, name: &str) -> String {
    berth_store::Digest::of(format!("{}:{name}", root.display()).as_bytes())
        .hex()
        .to_string()
}

/// `host` and `none` are networks in Docker's listing.
fn pseudo(name: &str, root: &std::path::Path) -> NetworkSummary {
    NetworkSummary {
        id: builtin_network_id(root, name),
        name: name.into(),
        driver: name.into(),
        internal: false,
        labels: Default::default(),
        created: String::new(),
        builtin: true,
    }
}

fn net_err(e: berth_net::NetError) -> EngineError {
    match e {
        berth_net::NetError::NetworkNotFound(_) => EngineError::NotFound(e.to_string()),
        berth_net::NetError::NetworkExists(_)
        | berth_net::NetError::NetworkInUse { .. }
        | berth_net::NetError::Predefined(_)
        | berth_net::NetError::AlreadyConnected { .. } => EngineError::Conflict(e.to_string()),
        other => EngineError::Other(other.to_string()),
    }
}

impl Engine {
    pub fn create_network(&self, req: &NetworkCreate) -> Result<berth_net::Network> {
        if matches!(req.name.as_str(), "host" | "none") {
            return Err(EngineError::Conflict(format!(
                "network with name {} already exists",
                req.name
            )));
        }
        self.networks()?.create(req).map_err(net_err)
    }

    pub fn list_networks(&self) -> Result<Vec<NetworkSummary>> {
        let mut out: Vec<NetworkSummary> = self
            .networks()?
            .list()
            .map_err(net_err)?
            .into_iter()
            .map(|n| NetworkSummary {
                builtin: n.is_default(),
                id: n.id,
                name: n.name,
                driver: n.driver,
                internal: n.internal,
                labels: n.labels,
                created: n.created,
            })
            .collect();
        out.push(pseudo("host", self.root()));
        out.push(pseudo("none", self.root()));
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    pub fn inspect_network(&self, name: &str) -> Result<NetworkInspect> {
        let nets = self.networks()?;
        let n = nets.get(name).map_err(net_err)?;
        let endpoints = nets.endpoints_of(&n).map_err(net_err)?;
        Ok(NetworkInspect::new(&n, &endpoints))
    }

    pub fn remove_network(&self, name: &str) -> Result<()> {
        if matches!(name, "host" | "none") {
            return Err(EngineError::Conflict(format!(
                "{name} is a pre-defined network and cannot be removed"
            )));
        }
        self.networks()?.remove(name).map_err(net_err)?;
        Ok(())
    }

    /// `network prune`: user networks no container (running or not) is configured for.
    pub fn prune_networks(&self) -> Result<Vec<String>> {
        let mut wanted = std::collections::HashSet::new();
        for c in self.store().containers()? {
            if let NetworkMode::Networks(nets) =
                crate::container::network_mode(&Stored::parse(&c.config).host_config.network_mode)
            {
                wanted.extend(nets.into_iter().map(|a| a.network));
            }
        }
        let removed = self
            .networks()?
            .prune(&|n| wanted.contains(&n.name) || wanted.contains(&n.id))
            .map_err(net_err)?;
        Ok(removed.into_iter().map(|n| n.name).collect())
    }

    /// `network connect`: a running container gets a new interface at once; a stopped one
    /// is attached when it starts.
    pub fn connect_network(
        &self,
        network: &str,
        container: &str,
        aliases: Vec<String>,
        ip: Option<&str>,
    ) -> Result<()> {
        let c = self.container(container)?;
        let nets = self.networks()?;
        let net = nets.get(network).map_err(net_err)?;
        let mut stored = Stored::parse(&c.config);
        let mode = &mut stored.host_config.network_mode;
        let mut names: Vec<String> = match crate::container::network_mode(mode) {
            NetworkMode::Networks(n) => n.into_iter().map(|a| a.network).collect(),
            _ => return Err(EngineError::Conflict(
                "container cannot be disconnected from host network or connected to host network"
                    .into(),
            )),
        };
        if names.contains(&net.name) {
            return Err(EngineError::Conflict(format!(
                "endpoint with name {} already exists in network {}",
                c.name, net.name
            )));
        }
        if c.state.status.is_live() {
            let ipv4 = ip
                .map(|s| {
                    s.parse().map_err(|_| {
                        EngineError::InvalidArgument(format!("invalid IPv4 address: {s}"))
                    })
                })
                .transpose()?;
            nets.connect(&berth_net::EndpointRequest {
                container_id: c.id.clone(),
                container_name: c.name.clone(),
                network: net.name.clone(),
                aliases: aliases.clone(),
                ipv4,
                netns: berth_net::netns_path(self.runroot(), &c.id),
                dns_servers: stored.host_config.dns.clone(),
            })
            .map_err(net_err)?;
        }
        names.push(net.name.clone());
        // Several networks are kept as Docker's extra endpoints would be: in order.
        *mode = names.join(",");
        stored.aliases.extend(aliases);
        self.store()
            .set_container_config(&c.id, &stored.to_json())?;
        Ok(())
    }

    pub fn disconnect_network(&self, network: &str, container: &str) -> Result<()> {
        let c = self.container(container)?;
        let nets = self.networks()?;
        let net = nets.get(network).map_err(net_err)?;
        let mut stored = Stored::parse(&c.config);
        let names: Vec<String> =
            match crate::container::network_mode(&stored.host_config.network_mode) {
                NetworkMode::Networks(n) => n
                    .into_iter()
                    .map(|a| a.network)
                    .filter(|n| *n != net.name && *n != net.id)
                    .collect(),
                _ => Vec::new(),
            };
        if c.state.status.is_live() {
            nets.disconnect(&c.id, &net.name).map_err(net_err)?;
        }
        stored.host_config.network_mode = if names.is_empty() {
            "none".into()
        } else {
            names.join(",")
        };
        self.store()
            .set_container_config(&c.id, &stored.to_json())?;
        Ok(())
    }

    /// The DNS server of a user network (`berth __dns NET`), until the network is gone.
    pub fn serve_dns(&self, network: &str, ready: OwnedFd) -> Result<()> {
        let mut ready = Some(std::fs::File::from(ready));
        berth_net::dns::serve(self.store(), network, || {
            if let Some(mut f) = ready.take() {
                let _ = f.write_all(b"1");
            }
        })
        .map_err(net_err)
    }

    /// The userland proxy of a container's published ports (`berth __proxy ID`).
    pub fn serve_proxy(&self, id: &str, ready: OwnedFd) -> Result<()> {
        let mut ready = Some(std::fs::File::from(ready));
        berth_net::proxy::serve_container(self.store(), id, || {
            if let Some(mut f) = ready.take() {
                let _ = f.write_all(b"1");
            }
        })
        .map_err(net_err)?;
        Ok(())
    }
}
