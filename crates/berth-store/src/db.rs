//! The metadata database: one SQLite file in WAL mode, shared by every berth process on the
//! store. Writers take `BEGIN IMMEDIATE` so concurrent commands queue on the busy timeout
//! instead of failing with "database is locked".

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::error::Result;

/// Schema steps; `user_version` records how many have been applied. Append only.
const MIGRATIONS: &[&str] = &[
    // 1: images, layers, tags
    "CREATE TABLE layers (
        chain_id TEXT PRIMARY KEY,
        diff_id TEXT NOT NULL,
        parent TEXT REFERENCES layers(chain_id),
        size INTEGER NOT NULL,
        blob_digest TEXT,
        blob_media_type TEXT,
        blob_size INTEGER,
        created TEXT NOT NULL
    );
    CREATE INDEX layers_parent ON layers(parent);
    CREATE TABLE images (
        id TEXT PRIMARY KEY,
        top_layer TEXT REFERENCES layers(chain_id),
        parent TEXT,
        created TEXT NOT NULL,
        size INTEGER NOT NULL,
        last_tag_time TEXT,
        added TEXT NOT NULL,
        manifest_digest TEXT
    );
    CREATE INDEX images_top_layer ON images(top_layer);
    CREATE TABLE tags (
        name TEXT PRIMARY KEY,
        image_id TEXT NOT NULL REFERENCES images(id)
    );
    CREATE INDEX tags_image ON tags(image_id);
    CREATE TABLE repo_digests (
        name TEXT PRIMARY KEY,
        image_id TEXT NOT NULL REFERENCES images(id)
    );
    CREATE INDEX repo_digests_image ON repo_digests(image_id);",
    // 2: containers and volumes
    "CREATE TABLE containers (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        image_id TEXT NOT NULL,
        image TEXT NOT NULL,
        top_layer TEXT REFERENCES layers(chain_id),
        created TEXT NOT NULL,
        config TEXT NOT NULL,
        status TEXT NOT NULL,
        pid INTEGER NOT NULL DEFAULT 0,
        monitor_pid INTEGER NOT NULL DEFAULT 0,
        monitor_start INTEGER NOT NULL DEFAULT 0,
        exit_code INTEGER NOT NULL DEFAULT 0,
        error TEXT NOT NULL DEFAULT '',
        oom_killed INTEGER NOT NULL DEFAULT 0,
        started_at TEXT NOT NULL DEFAULT '',
        finished_at TEXT NOT NULL DEFAULT '',
        restart_count INTEGER NOT NULL DEFAULT 0,
        manually_stopped INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX containers_image ON containers(image_id);
    CREATE TABLE volumes (
        name TEXT PRIMARY KEY,
        driver TEXT NOT NULL,
        created TEXT NOT NULL,
        labels TEXT NOT NULL,
        options TEXT NOT NULL,
        anonymous INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE container_volumes (
        container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
        volume TEXT NOT NULL REFERENCES volumes(name),
        PRIMARY KEY (container_id, volume)
    );
    CREATE INDEX container_volumes_volume ON container_volumes(volume);",
];

/// A WAL longer than this is checkpointed by [`Db::trim_wal`].
const WAL_TRIM_BYTES: u64 = 256 * 1024;

/// How long a berth process waits for another one's lock before it fails.
const BUSY_GIVE_UP: Duration = Duration::from_secs(120);
/// The first and the longest pause between two tries for a lock another process holds.
const BUSY_FIRST_PAUSE: Duration = Duration::from_micros(50);
const BUSY_LONGEST_PAUSE: Duration = Duration::from_millis(2);

/// SQLite's busy handler: pauses before try number `tries + 1`, or gives up (`false`).
///
/// SQLite's own busy timeout pauses 1, 2, 5, 10, 15 ... ms between tries, so a lock that another
/// berth process holds for a fraction of a millisecond (a commit; a monitor's WAL trim after its
/// container ended, as the next `run` starts) cost the waiter 1-3 ms, in every container start
/// that met one (measured: 3 of 20 bridge runs in a row lost 3.3 ms in one empty transaction).
/// These pauses start at 50 µs and double up to 2 ms.
fn busy_wait(tries: i32) -> bool {
    match busy_pause(tries) {
        Some(pause) => {
            std::thread::sleep(pause);
            true
        }
        None => false,
    }
}

/// The pause before try `tries + 1` (see [`busy_wait`]); `None` once [`BUSY_GIVE_UP`] has
/// passed in pauses.
fn busy_pause(tries: i32) -> Option<Duration> {
    let tries = u32::try_from(tries).unwrap_or(0);
    // 50 µs doubled 5 times is 1.6 ms; then the longest pause each time.
    let doubling = 6;
    if tries < doubling {
        return Some((BUSY_FIRST_PAUSE * 2u32.pow(tries)).min(BUSY_LONGEST_PAUSE));
    }
    let long_ones = (BUSY_GIVE_UP.as_micros() / BUSY_LONGEST_PAUSE.as_micros()) as u32;
    (tries - doubling < long_ones).then_some(BUSY_LONGEST_PAUSE)
}

pub struct Db {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl Db {
    pub(crate) fn open(path: &Path) -> Result<Db> {
        let conn = Connection::open(path)?;
        // Many berth processes share the file; waiting is right, failing is not.
        conn.busy_handler(Some(busy_wait))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // WAL + NORMAL survives a killed process; blobs are fsynced before rows name them.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Every berth command is a short process: a checkpoint (with its fsyncs) each time
        // the last connection closes would cost more than the command itself. SQLite still
        // checkpoints on its own when the WAL grows past its limit, and a WAL left behind is
        // replayed by the next open.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )?;
        let db = Db {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
        };
        db.migrate()?;
        Ok(db)
    }

    /// Checkpoints and empties a WAL that grew past [`WAL_TRIM_BYTES`]; for callers whose
    /// user already has the answer (a monitor after its container's end).
    ///
    /// Why: a berth command is a short process, usually the only connection when it opens
    /// the database, and SQLite then rebuilds the WAL index by reading and checksumming
    /// every frame the WAL holds: 2.2 ms per command for the 4 MB the automatic checkpoint
    /// lets it reach (measured). Only an emptied WAL spares the next opener that read; a
    /// passive checkpoint leaves the frames valid.
    pub fn trim_wal(&self) {
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        let long = std::fs::metadata(&wal).is_ok_and(|m| m.len() > WAL_TRIM_BYTES);
        if long {
            let conn = self.lock();
            let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        }
    }

    fn migrate(&self) -> Result<()> {
        let current: usize =
            self.read(|tx| Ok(tx.pragma_query_value(None, "user_version", |r| r.get(0))?))?;
        if current >= MIGRATIONS.len() {
            return Ok(());
        }
        self.write(|tx| {
            // Re-read inside the write lock: another process may have migrated meanwhile.
            let v: usize = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
            for m in &MIGRATIONS[v.min(MIGRATIONS.len())..] {
                tx.execute_batch(m)?;
            }
            tx.pragma_update(None, "user_version", MIGRATIONS.len())?;
            Ok(())
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves the connection usable: SQLite rolls back the
        // open transaction when it is dropped.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` in a read transaction (a consistent snapshot).
    pub fn read<T>(&self, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let out = f(&tx)?;
        tx.finish()?;
        Ok(out)
    }

    /// Runs `f` in a write transaction; it commits only if `f` succeeds.
    pub fn write<T>(&self, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database in `dir` with one empty table `t`.
    fn with_table(dir: &Path) -> Db {
        let db = Db::open(&dir.join("t.db")).unwrap();
        db.write(|tx| Ok(tx.execute_batch("CREATE TABLE t (v TEXT)")?))
            .unwrap();
        db
    }

    fn wal_len(dir: &Path) -> u64 {
        std::fs::metadata(dir.join("t.db-wal")).map_or(0, |m| m.len())
    }

    #[test]
    fn busy_pauses_start_short_and_give_up_after_two_minutes() {
        assert_eq!(busy_pause(0), Some(Duration::from_micros(50)));
        assert_eq!(busy_pause(3), Some(Duration::from_micros(400)));
        assert_eq!(busy_pause(6), Some(Duration::from_millis(2)));
        let mut waited = Duration::ZERO;
        let mut tries = 0;
        while let Some(pause) = busy_pause(tries) {
            waited += pause;
            tries += 1;
        }
        assert!(
            waited >= Duration::from_secs(120) && waited < Duration::from_secs(121),
            "{waited:?}"
        );
    }

    #[test]
    fn a_writer_waits_for_another_connections_lock() {
        let dir = tempfile::tempdir().unwrap();
        let db = with_table(dir.path());
        let other = Db::open(&dir.path().join("t.db")).unwrap();
        let held = std::sync::Arc::new(std::sync::Barrier::new(2));
        let waiter = {
            let held = held.clone();
            std::thread::spawn(move || {
                held.wait();
                let t = std::time::Instant::now();
                other
                    .write(|tx| Ok(tx.execute("INSERT INTO t VALUES ('b')", [])?))
                    .unwrap();
                t.elapsed()
            })
        };
        db.write(|tx| {
            tx.execute("INSERT INTO t VALUES ('a')", [])?;
            held.wait();
            std::thread::sleep(Duration::from_millis(30));
            Ok(())
        })
        .unwrap();
        let waited = waiter.join().unwrap();
        assert!(waited >= Duration::from_millis(20), "{waited:?}");
        let rows: i64 = db
            .read(|tx| Ok(tx.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(rows, 2);
    }

    #[test]
    fn trim_wal_empties_a_long_wal_and_keeps_every_row() {
        let dir = tempfile::tempdir().unwrap();
        let db = with_table(dir.path());
        let row = "x".repeat(4000);
        for _ in 0..100 {
            db.write(|tx| Ok(tx.execute("INSERT INTO t VALUES (?1)", [&row])?))
                .unwrap();
        }
        assert!(wal_len(dir.path()) > WAL_TRIM_BYTES);
        db.trim_wal();
        assert_eq!(wal_len(dir.path()), 0);
        let count: i64 = db
            .read(|tx| Ok(tx.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(count, 100);
        drop(db);
        let reopened = Db::open(&dir.path().join("t.db")).unwrap();
        let count: i64 = reopened
            .read(|tx| Ok(tx.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(count, 100);
    }

    #[test]
    fn trim_wal_leaves_a_short_wal_alone() {
        let dir = tempfile::tempdir().unwrap();
        let db = with_table(dir.path());
        let before = wal_len(dir.path());
        assert!(before > 0 && before < WAL_TRIM_BYTES);
        db.trim_wal();
        assert_eq!(wal_len(dir.path()), before);
    }
}
