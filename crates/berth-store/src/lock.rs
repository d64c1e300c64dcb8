//! The store lock. Work that creates files not yet named by the database (extracting a layer,
//! writing a container's directories) holds it shared; garbage collection and repair, which
//! delete what the database does not name, hold it exclusive. So in-flight work is never
//! mistaken for garbage — containerd's leases, in the simplest form that works across processes.

use std::fs::{File, OpenOptions};
use std::path::Path;

use rustix::fs::{flock, FlockOperation};

use crate::error::{IoContext, Result};

/// Held until dropped (closing the file releases the flock).
pub struct StoreLock {
    _file: File,
}

impl StoreLock {
    pub(crate) fn acquire(root: &Path, exclusive: bool) -> Result<StoreLock> {
        let path = root.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .ctx("opening", &path)?;
        let op = if exclusive {
            FlockOperation::LockExclusive
        } else {
            FlockOperation::LockShared
        };
        flock(&file, op)
            .map_err(std::io::Error::from)
            .ctx("locking", &path)?;
        Ok(StoreLock { _file: file })
    }
}
