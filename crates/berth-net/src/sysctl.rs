//! Host sysctls berth may have to change. IPv4 forwarding is turned on only while a container
//! needs a way out or a published port must reach it from another host, the old value is kept
//! in the database, and it is put back when no such container is left.

use std::fs;

use berth_store::rusqlite::{params, OptionalExtension, Transaction};

use crate::error::{IoContext, Result};

const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";
const SAVED_KEY: &str = "ip_forward";

fn read(path: &str) -> Result<String> {
    Ok(fs::read_to_string(path)
        .ctx("reading", path)?
        .trim()
        .to_string())
}

fn write(path: &str, value: &str) -> Result<()> {
    fs::write(path, value).ctx("writing", path)
}

/// Makes forwarding match `needed`; returns whether berth is the one who turned it on (and
/// so must keep forwarding limited to its bridges). Runs inside the caller's transaction,
/// which serializes it with every other berth process.
pub(crate) fn sync_forwarding(tx: &Transaction, needed: bool) -> Result<bool> {
    let saved: Option<String> = tx
        .query_row(
            "SELECT value FROM net_host_state WHERE key = ?1",
            params![SAVED_KEY],
            |r| r.get(0),
        )
        .optional()?;
    match (needed, saved) {
        (true, Some(_)) => {
            // Someone may have turned it off behind our back; a container still needs it.
            if read(IP_FORWARD)? != "1" {
                write(IP_FORWARD, "1")?;
            }
            Ok(true)
        }
        (true, None) => {
            let current = read(IP_FORWARD)?;
            if current == "1" {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO net_host_state (key, value) VALUES (?1, ?2)",
                params![SAVED_KEY, current],
            )?;
            write(IP_FORWARD, "1")?;
            Ok(true)
        }
        (false, Some(old)) => {
            write(IP_FORWARD, &old)?;
            tx.execute(
                "DELETE FROM net_host_state WHERE key = ?1",
                params![SAVED_KEY],
            )?;
            Ok(false)
        }
        (false, None) => Ok(false),
    }
}
