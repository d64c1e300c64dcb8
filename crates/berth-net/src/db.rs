//! berth-net's tables in the store's database, created the first time a [`crate::Networks`]
//! handle opens a store (berth-store's migrations stay the store's own), and the transaction
//! helpers that let network errors roll a transaction back.

use berth_store::rusqlite::Transaction;
use berth_store::{Store, StoreError};

use crate::error::{NetError, Result};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS net_networks (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    driver TEXT NOT NULL,
    subnet TEXT NOT NULL,
    gateway TEXT NOT NULL,
    internal INTEGER NOT NULL,
    bridge TEXT NOT NULL UNIQUE,
    labels TEXT NOT NULL,
    options TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS net_endpoints (
    container_id TEXT NOT NULL,
    network_id TEXT NOT NULL REFERENCES net_networks(id),
    endpoint_id TEXT NOT NULL,
    container_name TEXT NOT NULL,
    ip TEXT NOT NULL,
    mac TEXT NOT NULL,
    aliases TEXT NOT NULL,
    ifname TEXT NOT NULL,
    veth TEXT NOT NULL,
    netns TEXT NOT NULL,
    dns_servers TEXT NOT NULL,
    PRIMARY KEY (container_id, network_id),
    UNIQUE (network_id, ip)
);
CREATE INDEX IF NOT EXISTS net_endpoints_network ON net_endpoints(network_id);
CREATE TABLE IF NOT EXISTS net_ports (
    container_id TEXT NOT NULL,
    host_ip TEXT NOT NULL,
    host_port INTEGER NOT NULL,
    proto TEXT NOT NULL,
    container_ip TEXT NOT NULL,
    container_port INTEGER NOT NULL,
    PRIMARY KEY (host_ip, host_port, proto)
);
CREATE INDEX IF NOT EXISTS net_ports_container ON net_ports(container_id);
CREATE TABLE IF NOT EXISTS net_helpers (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    pid INTEGER NOT NULL,
    start_time INTEGER NOT NULL,
    PRIMARY KEY (kind, key)
);
";

pub(crate) fn create_tables(store: &Store) -> Result<()> {
    // Cheap when the tables exist; IF NOT EXISTS makes concurrent first opens harmless.
    let exists: bool = store.db().read(|tx| {
        Ok(tx.query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'net_helpers'",
            [],
            |r| r.get::<_, i64>(0),
        )? > 0)
    })?;
    if !exists {
        store.db().write(|tx| Ok(tx.execute_batch(SCHEMA)?))?;
    }
    Ok(())
}

/// Runs `f` in a write transaction that commits only if `f` succeeds; a [`NetError`] from `f`
/// rolls it back and comes out unchanged.
pub(crate) fn write<T>(store: &Store, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
    let mut failure = None;
    let out = store.db().write(|tx| {
        f(tx).map_err(|e| {
            failure = Some(e);
            StoreError::Conflict("rolled back".into())
        })
    });
    out.map_err(|e| failure.take().unwrap_or(NetError::Store(e)))
}

/// Runs `f` in a read transaction.
pub(crate) fn read<T>(store: &Store, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
    let mut failure = None;
    let out = store.db().read(|tx| {
        f(tx).map_err(|e| {
            failure = Some(e);
            StoreError::Conflict("read failed".into())
        })
    });
    out.map_err(|e| failure.take().unwrap_or(NetError::Store(e)))
}
