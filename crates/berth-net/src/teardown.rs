//! Undoing a container's networking: its proxy, veth pairs, addresses, published ports and
//! firewall rules, and the DNS server of a network it was the last container on.

use std::collections::BTreeSet;

use berth_store::rusqlite::params;

use crate::error::Result;
use crate::networks::Networks;
use crate::{db, helpers, link, sync};

impl Networks<'_> {
    /// Removes everything berth-net set up for container `id`. Idempotent, and it keeps going
    /// past failures (reporting the first), so a half-set-up container is cleaned up too.
    pub fn teardown_container(&self, id: &str) -> Result<()> {
        self.teardown(id, true).1
    }

    /// [`Networks::teardown_container`] except the veth pairs, whose host ends it returns (also
    /// when a step failed) for [`delete_links`]. Deleting a link waits for an RCU barrier
    /// (about 10 ms here), which a caller may rather not make its user wait for; unpin the
    /// container's namespace first, so that the pairs normally go with it.
    pub fn teardown_container_but_links(&self, id: &str) -> (Vec<String>, Result<()>) {
        self.teardown(id, false)
    }

    fn teardown(&self, id: &str, delete_links_now: bool) -> (Vec<String>, Result<()>) {
        let endpoints = match self.endpoints_of_container(id) {
            Ok(endpoints) => endpoints,
            Err(e) => return (Vec::new(), Err(e)),
        };
        // Every bridge start first clears leftovers of its container's earlier run, which
        // usually has none: reading that costs no write transaction (and no wait for another
        // berth process's write lock).
        if endpoints.is_empty() {
            match self.has_ports_or_proxy(id) {
                Ok(false) => return (Vec::new(), Ok(())),
                Ok(true) => {}
                Err(e) => return (Vec::new(), Err(e)),
            }
        }
        let links = if delete_links_now {
            Vec::new()
        } else {
            endpoints.iter().map(|e| e.veth.clone()).collect()
        };
        (
            links,
            self.teardown_endpoints(id, &endpoints, delete_links_now),
        )
    }

    fn has_ports_or_proxy(&self, id: &str) -> Result<bool> {
        db::read(self.store, |tx| {
            let ports: i64 = tx.query_row(
                "SELECT count(*) FROM net_ports WHERE container_id = ?1",
                params![id],
                |r| r.get(0),
            )?;
            Ok(ports > 0 || helpers::recorded(tx, helpers::PROXY, id)?)
        })
    }

    fn teardown_endpoints(
        &self,
        id: &str,
        endpoints: &[crate::model::Endpoint],
        delete_links_now: bool,
    ) -> Result<()> {
        let mut first_err = None;
        let mut note = |r: Result<()>| {
            if let Err(e) = r {
                first_err.get_or_insert(e);
            }
        };
        note(helpers::stop(self.store, helpers::PROXY, id));
        if delete_links_now {
            for ep in endpoints {
                // Deleting the host end takes the peer in the container's namespace with it.
                note(link::delete_link(&ep.veth).map(|_| ()));
            }
        }
        let removed = db::write(self.store, |tx| {
            let eps = tx.execute(
                "DELETE FROM net_endpoints WHERE container_id = ?1",
                params![id],
            )?;
            let ports = tx.execute("DELETE FROM net_ports WHERE container_id = ?1", params![id])?;
            Ok(eps + ports)
        })?;
        if removed > 0 {
            note(sync::host_rules(self.store));
        }
        let networks: BTreeSet<&str> = endpoints.iter().map(|e| e.network_id.as_str()).collect();
        for net in networks {
            let left: i64 = db::read(self.store, |tx| {
                Ok(tx.query_row(
                    "SELECT count(*) FROM net_endpoints WHERE network_id = ?1",
                    params![net],
                    |r| r.get(0),
                )?)
            })?;
            if left == 0 {
                note(helpers::stop(self.store, helpers::DNS, net));
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Tears down every container that has network state here but is not `live` (the engine
    /// knows: e.g. a container whose monitor died). Returns the IDs reclaimed.
    pub fn reclaim(&self, live: &dyn Fn(&str) -> bool) -> Result<Vec<String>> {
        let ids: BTreeSet<String> = db::read(self.store, |tx| {
            let mut ids = BTreeSet::new();
            for sql in [
                "SELECT DISTINCT container_id FROM net_endpoints",
                "SELECT DISTINCT container_id FROM net_ports",
            ] {
                let mut stmt = tx.prepare(sql)?;
                let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
                for r in rows {
                    ids.insert(r?);
                }
            }
            ids.extend(helpers::keys(tx, helpers::PROXY)?);
            Ok(ids)
        })?;
        let mut reclaimed = Vec::new();
        for id in ids.into_iter().filter(|id| !live(id)) {
            self.teardown_container(&id)?;
            reclaimed.push(id);
        }
        Ok(reclaimed)
    }
}

/// Deletes host network devices by name (what [`Networks::teardown_container_but_links`]
/// left); a device already gone is fine.
pub fn delete_links(names: &[String]) -> Result<()> {
    let mut first_err = None;
    for name in names {
        if let Err(e) = link::delete_link(name) {
            first_err.get_or_insert(e);
        }
    }
    first_err.map_or(Ok(()), Err)
}
