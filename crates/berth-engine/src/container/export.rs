//! `export`: a container's filesystem (its image's layers under its own) as one plain tar, as
//! `docker export` writes it. Volumes are not part of it, as in Docker.

use std::io::Write;

use berth_archive::{write_tree, TreeOptions};

use crate::{Engine, EngineError, Result};

impl Engine {
    /// Writes the merged filesystem of a container, running or not, to `out`.
    pub fn export_container(&self, name: &str, out: impl Write) -> Result<()> {
        let c = self.container(name)?;
        self.with_rootfs(&c, |merged| {
            write_tree(merged, out, &TreeOptions::default())
                .map(drop)
                .map_err(|e| EngineError::Other(format!("exporting {}: {e}", c.id)))
        })
    }
}
