//! The store: one root directory (`--root`) and one run directory (`--runroot`) with the
//! blobs, layers and database inside. Any number of berth processes may open it at once.

use std::fs;
use std::path::{Path, PathBuf};

use crate::blob::BlobStore;
use crate::db::Db;
use crate::error::{IoContext, Result};
use crate::lock::StoreLock;

pub struct Store {
    root: PathBuf,
    runroot: PathBuf,
    db: Db,
    blobs: BlobStore,
}

/// Proof that the caller holds the store lock shared, required by every operation that
/// creates files before the database names them. Garbage collection waits while any lease
/// is held, so such files are never taken for garbage.
pub struct Lease {
    _lock: StoreLock,
}

/// The store lock held exclusively: no lease is held by anyone.
pub struct Exclusive {
    _lock: StoreLock,
}

impl Store {
    /// Opens (creating if needed) the store at `root`, with runtime state under `runroot`.
    pub fn open(root: &Path, runroot: &Path) -> Result<Store> {
        for d in [
            root,
            runroot,
            &root.join("layers"),
            &root.join("containers"),
            &root.join("volumes"),
        ] {
            fs::create_dir_all(d).ctx("creating", d)?;
        }
        let blobs = BlobStore::open(root)?;
        let db = Db::open(&root.join("berth.db"))?;
        Ok(Store {
            root: root.to_path_buf(),
            runroot: runroot.to_path_buf(),
            db,
            blobs,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn runroot(&self) -> &Path {
        &self.runroot
    }
    pub fn db(&self) -> &Db {
        &self.db
    }
    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    /// Takes the store lock shared for the life of the returned lease.
    pub fn lease(&self) -> Result<Lease> {
        Ok(Lease {
            _lock: StoreLock::acquire(&self.root, false)?,
        })
    }

    /// Takes the store lock exclusively, waiting for every lease to end.
    pub fn exclusive(&self) -> Result<Exclusive> {
        Ok(Exclusive {
            _lock: StoreLock::acquire(&self.root, true)?,
        })
    }
}

/// Now, as Docker writes times: RFC 3339 with nanoseconds, UTC.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}
