//! IP address management: which address of a network each container gets. Allocation runs
//! inside the caller's write transaction (SQLite `BEGIN IMMEDIATE`, so one allocator at a
//! time across every berth process), and `UNIQUE (network_id, ip)` backs it up.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use berth_store::rusqlite::{params, Transaction};

use crate::error::{NetError, Result};
use crate::model::Network;

/// Addresses of `network` already given out.
fn used(tx: &Transaction, network: &Network) -> Result<HashSet<Ipv4Addr>> {
    let mut stmt = tx.prepare("SELECT ip FROM net_endpoints WHERE network_id = ?1")?;
    let ips = stmt
        .query_map(params![network.id], |r| r.get::<_, String>(0))?
        .filter_map(|r| r.ok()?.parse().ok())
        .collect();
    Ok(ips)
}

/// Picks an address for a new endpoint on `network`: `requested` if free, else the lowest
/// free one. Reusing a released address is safe because the MAC follows the address, so
/// neighbours' ARP caches stay right.
pub(crate) fn allocate(
    tx: &Transaction,
    network: &Network,
    requested: Option<Ipv4Addr>,
) -> Result<Ipv4Addr> {
    let used = used(tx, network)?;
    if let Some(ip) = requested {
        let reserved = ip == network.gateway
            || ip == network.subnet.network()
            || ip == network.subnet.broadcast();
        if !network.subnet.contains(ip) {
            return Err(NetError::AddressOutsideSubnet {
                ip: ip.to_string(),
                subnet: network.subnet.to_string(),
            });
        }
        if reserved || used.contains(&ip) {
            return Err(NetError::AddressInUse);
        }
        return Ok(ip);
    }
    network
        .subnet
        .hosts()
        .find(|ip| *ip != network.gateway && !used.contains(ip))
        .ok_or_else(|| NetError::AddressesExhausted {
            network: network.name.clone(),
            id: network.id.clone(),
        })
}
