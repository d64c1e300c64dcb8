//! The `Networks` handle and the verbs on networks themselves: create, list, inspect, remove,
//! prune. Containers' verbs (setup, teardown, connect) live in their own files.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use berth_store::rusqlite::{params, OptionalExtension, Transaction};
use berth_store::{now_rfc3339, Store};

use crate::error::{NetError, Result};
use crate::model::{random_id, Endpoint, Network, DEFAULT_NETWORK, DEFAULT_SUBNET};
use crate::subnet::{self, Subnet};
use crate::{db, helpers, link, sync};

/// berth-net on one store. Cheap to open; every call is its own transaction.
pub struct Networks<'s> {
    pub(crate) store: &'s Store,
}

/// `network create` options.
#[derive(Clone, Debug, Default)]
pub struct NetworkCreate {
    pub name: String,
    /// `bridge` when None; no other driver exists yet.
    pub driver: Option<String>,
    pub subnet: Option<String>,
    pub gateway: Option<String>,
    pub internal: bool,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
}

impl<'s> Networks<'s> {
    /// Opens berth-net on `store`, creating its tables the first time.
    pub fn open(store: &'s Store) -> Result<Networks<'s>> {
        db::create_tables(store)?;
        Ok(Networks { store })
    }

    pub fn store(&self) -> &'s Store {
        self.store
    }

    /// `network create`: records the network and brings its bridge up.
    pub fn create(&self, req: &NetworkCreate) -> Result<Network> {
        validate_name(&req.name)?;
        if let Some(d) = req.driver.as_deref() {
            if d != "bridge" {
                return Err(NetError::InvalidArgument {
                    flag: "--driver",
                    value: d.to_string(),
                    reason: "only the bridge driver is supported".into(),
                });
            }
        }
        let _picking = match req.subnet {
            None => Some(subnet::pick_lock()?),
            Some(_) => None,
        };
        let net = db::write(self.store, |tx| {
            if req.name == DEFAULT_NETWORK || find(tx, &req.name)?.is_some() {
                return Err(NetError::NetworkExists(req.name.clone()));
            }
            let existing = all(tx)?;
            let subnet = match &req.subnet {
                Some(s) => {
                    let s: Subnet = s.parse()?;
                    if existing.iter().any(|n| n.subnet.overlaps(&s)) {
                        return Err(NetError::PoolOverlap);
                    }
                    s
                }
                None => pick_subnet(&existing)?,
            };
            let gateway = match &req.gateway {
                Some(g) => {
                    let ip: Ipv4Addr = g.parse().map_err(|_| NetError::InvalidArgument {
                        flag: "--gateway",
                        value: g.clone(),
                        reason: "invalid IP address".into(),
                    })?;
                    if !subnet.contains(ip) || ip == subnet.network() || ip == subnet.broadcast() {
                        return Err(NetError::GatewayOutsideSubnet {
                            gateway: g.clone(),
                            subnet: subnet.to_string(),
                        });
                    }
                    ip
                }
                None => subnet.first_host(),
            };
            let id = random_id();
            let net = Network {
                bridge: format!("br-{}", &id[..12]),
                id,
                name: req.name.clone(),
                driver: "bridge".into(),
                subnet,
                gateway,
                internal: req.internal,
                labels: req.labels.clone(),
                options: req.options.clone(),
                created: now_rfc3339(),
            };
            insert(tx, &net)?;
            Ok(net)
        })?;
        if let Err(e) = link::ensure_bridge(&net.bridge, net.gateway, net.subnet.prefix()) {
            let _ = link::delete_link(&net.bridge);
            let _ = db::write(self.store, |tx| {
                tx.execute("DELETE FROM net_networks WHERE id = ?1", params![net.id])?;
                Ok(())
            });
            return Err(e);
        }
        Ok(net)
    }

    /// The default network `bridge`, recorded on first use. Its bridge device is brought up
    /// when a container first attaches.
    pub fn default_network(&self) -> Result<Network> {
        if let Some(n) = db::read(self.store, |tx| find(tx, DEFAULT_NETWORK))? {
            return Ok(n);
        }
        db::write(self.store, |tx| {
            if let Some(n) = find(tx, DEFAULT_NETWORK)? {
                return Ok(n);
            }
            let (bridge, subnet) = crate::default_bridge::for_store(self.store.root())?;
            let net = Network {
                id: random_id(),
                name: DEFAULT_NETWORK.into(),
                driver: "bridge".into(),
                subnet,
                gateway: subnet.first_host(),
                internal: false,
                bridge: bridge.clone(),
                labels: BTreeMap::new(),
                options: BTreeMap::from([
                    (
                        "com.docker.network.bridge.default_bridge".into(),
                        "true".into(),
                    ),
                    ("com.docker.network.bridge.name".into(), bridge),
                    (
                        "com.docker.network.driver.mtu".into(),
                        crate::model::MTU.to_string(),
                    ),
                ]),
                created: now_rfc3339(),
            };
            insert(tx, &net)?;
            Ok(net)
        })
    }

    /// Every network by name, the default one included (recorded now if it was not yet).
    pub fn list(&self) -> Result<Vec<Network>> {
        self.default_network()?;
        db::read(self.store, all)
    }

    /// A network by full ID, name, or unique ID prefix (Docker's order).
    pub fn get(&self, name_or_id: &str) -> Result<Network> {
        if name_or_id == DEFAULT_NETWORK {
            return self.default_network();
        }
        db::read(self.store, |tx| find(tx, name_or_id))?
            .ok_or_else(|| NetError::NetworkNotFound(name_or_id.to_string()))
    }

    /// Endpoints on a network (its containers).
    pub fn endpoints_of(&self, network: &Network) -> Result<Vec<Endpoint>> {
        db::read(self.store, |tx| {
            endpoints_where(tx, "e.network_id = ?1", &network.id)
        })
    }

    /// Endpoints of a container, in the order they were attached.
    pub fn endpoints_of_container(&self, container_id: &str) -> Result<Vec<Endpoint>> {
        db::read(self.store, |tx| {
            endpoints_where(tx, "e.container_id = ?1", container_id)
        })
    }

    /// `network rm`: refuses the default network and networks with containers.
    pub fn remove(&self, name_or_id: &str) -> Result<Network> {
        if matches!(name_or_id, DEFAULT_NETWORK | "host" | "none") {
            return Err(NetError::Predefined(name_or_id.to_string()));
        }
        let net = db::write(self.store, |tx| {
            let net = find(tx, name_or_id)?
                .ok_or_else(|| NetError::NetworkNotFound(name_or_id.to_string()))?;
            if net.is_default() {
                return Err(NetError::Predefined(net.name));
            }
            let in_use: i64 = tx.query_row(
                "SELECT count(*) FROM net_endpoints WHERE network_id = ?1",
                params![net.id],
                |r| r.get(0),
            )?;
            if in_use > 0 {
                return Err(NetError::NetworkInUse {
                    name: net.name,
                    id: net.id,
                });
            }
            tx.execute("DELETE FROM net_networks WHERE id = ?1", params![net.id])?;
            Ok(net)
        })?;
        helpers::stop(self.store, helpers::DNS, &net.id)?;
        link::delete_link(&net.bridge)?;
        sync::host_rules(self.store)?;
        Ok(net)
    }

    /// `network prune`: removes user networks without containers for which `keep` is false
    /// (the engine's `--filter`), returning them.
    pub fn prune(&self, keep: &dyn Fn(&Network) -> bool) -> Result<Vec<Network>> {
        let candidates = db::read(self.store, |tx| {
            let mut stmt = tx.prepare(&format!(
                "SELECT {} FROM net_networks n WHERE n.name != ?1 AND NOT EXISTS \
                 (SELECT 1 FROM net_endpoints e WHERE e.network_id = n.id) ORDER BY n.name",
                Network::COLUMNS
            ))?;
            let nets = stmt
                .query_map(params![DEFAULT_NETWORK], Network::from_row)?
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(nets)
        })?;
        let mut removed = Vec::new();
        for n in candidates.into_iter().filter(|n| !keep(n)) {
            match self.remove(&n.id) {
                Ok(net) => removed.push(net),
                // A container joined meanwhile, or another prune got there first.
                Err(NetError::NetworkInUse { .. }) | Err(NetError::NetworkNotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(removed)
    }
}

fn validate_name(name: &str) -> Result<()> {
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !ok {
        return Err(NetError::InvalidArgument {
            flag: "name",
            value: name.to_string(),
            reason: "invalid network name: must match [a-zA-Z0-9][a-zA-Z0-9_.-]*".into(),
        });
    }
    if matches!(name, "host" | "none") {
        return Err(NetError::NetworkExists(name.to_string()));
    }
    Ok(())
}

/// First candidate subnet overlapping no network of the store and no route of the host.
fn pick_subnet(existing: &[Network]) -> Result<Subnet> {
    let routes = subnet::host_routes();
    let default: Subnet = DEFAULT_SUBNET.parse()?;
    subnet::candidates()
        .find(|c| {
            !c.overlaps(&default)
                && !existing.iter().any(|n| n.subnet.overlaps(c))
                && !routes.iter().any(|r| r.overlaps(c))
        })
        .ok_or(NetError::NoFreeSubnet)
}

fn insert(tx: &Transaction, n: &Network) -> Result<()> {
    tx.execute(
        "INSERT INTO net_networks (id, name, driver, subnet, gateway, internal, bridge, labels, \
         options, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            n.id,
            n.name,
            n.driver,
            n.subnet.to_string(),
            n.gateway.to_string(),
            n.internal,
            n.bridge,
            serde_json::to_string(&n.labels)?,
            serde_json::to_string(&n.options)?,
            n.created,
        ],
    )?;
    Ok(())
}

pub(crate) fn all(tx: &Transaction) -> Result<Vec<Network>> {
    let mut stmt = tx.prepare(&format!(
        "SELECT {} FROM net_networks ORDER BY name",
        Network::COLUMNS
    ))?;
    let nets = stmt
        .query_map([], Network::from_row)?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(nets)
}

/// By full ID, then name, then unique ID prefix.
pub(crate) fn find(tx: &Transaction, key: &str) -> Result<Option<Network>> {
    let one = |sql: &str| -> Result<Option<Network>> {
        Ok(tx
            .query_row(
                &format!("SELECT {} FROM net_networks WHERE {sql}", Network::COLUMNS),
                params![key],
                Network::from_row,
            )
            .optional()?)
    };
    if let Some(n) = one("id = ?1")? {
        return Ok(Some(n));
    }
    if let Some(n) = one("name = ?1")? {
        return Ok(Some(n));
    }
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let mut stmt = tx.prepare(&format!(
        "SELECT {} FROM net_networks WHERE substr(id, 1, length(?1)) = ?1",
        Network::COLUMNS
    ))?;
    let mut hits = stmt
        .query_map(params![key], Network::from_row)?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    if hits.len() > 1 {
        return Err(NetError::InvalidArgument {
            flag: "network",
            value: key.to_string(),
            reason: format!("network {key} is ambiguous ({} matches found)", hits.len()),
        });
    }
    Ok(hits.pop())
}

pub(crate) fn endpoints_where(tx: &Transaction, cond: &str, value: &str) -> Result<Vec<Endpoint>> {
    let mut stmt = tx.prepare(&format!(
        "{} WHERE {cond} ORDER BY e.rowid",
        Endpoint::SELECT
    ))?;
    let eps = stmt
        .query_map(params![value], Endpoint::from_row)?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(eps)
}
