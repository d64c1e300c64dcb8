//! Brings the host's firewall and forwarding in line with the database: called after every
//! change of endpoints or published ports. It runs inside a write transaction so that two
//! berth processes never apply stale pictures over each other.

use berth_store::rusqlite::Transaction;
use berth_store::Store;

use crate::error::Result;
use crate::model::PublishedPort;
use crate::nft::{self, ActiveNetwork, Ruleset};
use crate::{db, forwarding};

pub(crate) fn host_rules(store: &Store) -> Result<()> {
    if !nft::available() {
        // Without netfilter there is no masquerade, so forwarding would only route the
        // host's other traffic; published ports go through the userland proxy alone.
        return Ok(());
    }
    let table = nft::table_name(store.root());
    db::write(store, |tx| {
        let rules = ruleset(tx)?;
        let needs_forwarding = rules.networks.iter().any(|n| !n.internal);
        forwarding::sync(&table, store.root(), needs_forwarding)?;
        nft::apply(&table, &rules, &store.runroot().join("nft-applied"))
    })
}

fn ruleset(tx: &Transaction) -> Result<Ruleset> {
    // The default network keeps its rules (and forwarding, limited to berth's bridges by the
    // guard table) from its first container on, as Docker keeps docker0's: a container that
    // publishes nothing then changes no rule and runs no `nft`. A user network has rules
    // while containers are on it.
    let mut stmt = tx.prepare(
        "SELECT n.bridge, n.subnet, n.internal FROM net_networks n \
         WHERE EXISTS (SELECT 1 FROM net_endpoints e WHERE e.network_id = n.id) \
            OR n.name = 'bridge' ORDER BY n.name",
    )?;
    let networks = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, bool>(2)?,
            ))
        })?
        .collect::<std::result::Result<Vec<_>, _>>()?
        .into_iter()
        .filter_map(|(bridge, subnet, internal)| {
            Some(ActiveNetwork {
                bridge,
                subnet: subnet.parse().ok()?,
                internal,
            })
        })
        .collect();
    let mut stmt = tx.prepare(&format!(
        "{} ORDER BY host_port, proto",
        PublishedPort::SELECT
    ))?;
    let ports = stmt
        .query_map([], PublishedPort::from_row)?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(Ruleset { networks, ports })
}
