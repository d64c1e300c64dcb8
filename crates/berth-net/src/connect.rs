//! `network connect` and `network disconnect` of a container that already has its namespace.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use berth_store::rusqlite::params;

use crate::error::{NetError, Result};
use crate::model::Endpoint;
use crate::networks::Networks;
use crate::setup::{insert_endpoint, wire, NewEndpoint};
use crate::{db, helpers, link, sync};

/// `network connect [--alias A] [--ip IP] NETWORK CONTAINER`.
#[derive(Clone, Debug)]
pub struct EndpointRequest {
    pub container_id: String,
    pub container_name: String,
    pub network: String,
    pub aliases: Vec<String>,
    pub ipv4: Option<Ipv4Addr>,
    /// The container's network namespace.
    pub netns: PathBuf,
    /// The container's `--dns` servers.
    pub dns_servers: Vec<String>,
}

impl Networks<'_> {
    /// Attaches a container to one more network (as `ethN`, the first free N). The engine then
    /// starts the DNS servers [`Networks::dns_servers_needed`] lists and rewrites /etc/hosts.
    pub fn connect(&self, req: &EndpointRequest) -> Result<Endpoint> {
        let net = self.get(&req.network)?;
        if net.is_default() && !req.aliases.is_empty() {
            return Err(NetError::AliasOnDefaultNetwork);
        }
        let ifname = link::free_ifname(&req.netns)?;
        let ep = db::write(self.store, |tx| {
            insert_endpoint(
                tx,
                &NewEndpoint {
                    container_id: &req.container_id,
                    container_name: &req.container_name,
                    network: &net,
                    aliases: &req.aliases,
                    ipv4: req.ipv4,
                    ifname: ifname.clone(),
                    netns: &req.netns,
                    dns_servers: &req.dns_servers,
                },
            )
        })?;
        let wired = wire(&ep, &net).and_then(|()| sync::host_rules(self.store));
        if let Err(e) = wired {
            let _ = self.drop_endpoint(&ep);
            return Err(e);
        }
        Ok(ep)
    }

    /// Detaches a container from a network: its veth, address and any port published to it.
    pub fn disconnect(&self, container_id: &str, network: &str) -> Result<()> {
        let net = self.get(network)?;
        let ep = self
            .endpoints_of_container(container_id)?
            .into_iter()
            .find(|e| e.network_id == net.id)
            .ok_or_else(|| NetError::NotConnected {
                container: container_id.to_string(),
                network: net.name.clone(),
            })?;
        self.drop_endpoint(&ep)
    }

    fn drop_endpoint(&self, ep: &Endpoint) -> Result<()> {
        link::delete_link(&ep.veth)?;
        let left = db::write(self.store, |tx| {
            tx.execute(
                "DELETE FROM net_endpoints WHERE container_id = ?1 AND network_id = ?2",
                params![ep.container_id, ep.network_id],
            )?;
            tx.execute(
                "DELETE FROM net_ports WHERE container_id = ?1 AND container_ip = ?2",
                params![ep.container_id, ep.ip.to_string()],
            )?;
            let left: i64 = tx.query_row(
                "SELECT count(*) FROM net_endpoints WHERE network_id = ?1",
                params![ep.network_id],
                |r| r.get(0),
            )?;
            Ok(left)
        })?;
        sync::host_rules(self.store)?;
        if left == 0 {
            helpers::stop(self.store, helpers::DNS, &ep.network_id)?;
        }
        Ok(())
    }

    /// A container was renamed: its DNS name follows.
    pub fn rename_container(&self, container_id: &str, new_name: &str) -> Result<()> {
        db::write(self.store, |tx| {
            tx.execute(
                "UPDATE net_endpoints SET container_name = ?2 WHERE container_id = ?1",
                params![container_id, new_name],
            )?;
            Ok(())
        })
    }
}
