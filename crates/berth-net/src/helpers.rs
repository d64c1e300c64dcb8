//! The long-lived helper processes berth-net needs — a DNS server per user network, a port
//! proxy per container — recorded in the database by pid and start time, so any later berth
//! process can stop them without ever signalling a recycled pid.

use std::time::{Duration, Instant};

use berth_store::rusqlite::{params, OptionalExtension, Transaction};
use berth_store::Store;
use rustix::process::{kill_process, Pid, Signal};

use crate::db;
use crate::error::Result;

pub(crate) const DNS: &str = "dns";
pub(crate) const PROXY: &str = "proxy";

/// Start time of a live process, in clock ticks since boot. A zombie leader whose other
/// threads still exit counts as live: they hold its file table, and so its sockets.
pub(crate) fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses; fields resume after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if (fields.first() == Some(&"Z") || fields.first() == Some(&"X")) && !threads_left(pid) {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// Records the calling process as the helper `kind` for `key`.
pub(crate) fn record_self(tx: &Transaction, kind: &str, key: &str) -> Result<()> {
    let pid = std::process::id() as i32;
    let start = start_time(pid).unwrap_or(0);
    tx.execute(
        "INSERT OR REPLACE INTO net_helpers (kind, key, pid, start_time) VALUES (?1, ?2, ?3, ?4)",
        params![kind, key, pid, start as i64],
    )?;
    Ok(())
}

/// Whether a helper `kind` for `key` is recorded, live or not.
pub(crate) fn recorded(tx: &Transaction, kind: &str, key: &str) -> Result<bool> {
    Ok(tx
        .query_row(
            "SELECT 1 FROM net_helpers WHERE kind = ?1 AND key = ?2",
            params![kind, key],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// The pid of the live helper `kind` for `key`, if any.
pub(crate) fn running(tx: &Transaction, kind: &str, key: &str) -> Result<Option<i32>> {
    let row: Option<(i32, i64)> = tx
        .query_row(
            "SELECT pid, start_time FROM net_helpers WHERE kind = ?1 AND key = ?2",
            params![kind, key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(row.and_then(|(pid, start)| (start_time(pid) == Some(start as u64)).then_some(pid)))
}

/// Stops the helper `kind` for `key` (if it runs) and forgets it. Waits a little for it to
/// go, so the ports it held are free when this returns.
pub(crate) fn stop(store: &Store, kind: &str, key: &str) -> Result<()> {
    // Most containers have no proxy, and most networks' DNS servers are not recorded: a read
    // finds that without taking the write lock.
    if !db::read(store, |tx| recorded(tx, kind, key))? {
        return Ok(());
    }
    let pid = db::write(store, |tx| {
        let pid = running(tx, kind, key)?;
        tx.execute(
            "DELETE FROM net_helpers WHERE kind = ?1 AND key = ?2",
            params![kind, key],
        )?;
        Ok(pid)
    })?;
    let Some(pid) = pid else { return Ok(()) };
    let Some(start) = start_time(pid) else {
        return Ok(());
    };
    if let Some(p) = Pid::from_raw(pid) {
        let _ = kill_process(p, Signal::TERM);
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    while start_time(pid) == Some(start) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    if start_time(pid) == Some(start) {
        if let Some(p) = Pid::from_raw(pid) {
            let _ = kill_process(p, Signal::KILL);
        }
    }
    Ok(())
}

/// Whether process `pid` has a thread besides its leader (false once it is reaped).
fn threads_left(pid: i32) -> bool {
    std::fs::read_dir(format!("/proc/{pid}/task")).is_ok_and(|d| d.count() > 1)
}

/// Keys of every recorded helper of `kind`.
pub(crate) fn keys(tx: &Transaction, kind: &str) -> Result<Vec<String>> {
    let mut stmt = tx.prepare("SELECT key FROM net_helpers WHERE kind = ?1")?;
    let keys = stmt
        .query_map(params![kind], |r| r.get(0))?
        .collect::<std::result::Result<Vec<String>, _>>()?;
    Ok(keys)
}
