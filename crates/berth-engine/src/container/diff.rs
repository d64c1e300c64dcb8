//! `diff`: what a container changed in its own layer (the overlay upperdir) over its image,
//! as `docker diff` lists it: `A`, `C` and `D` lines, each directory before its content.

use std::path::{Path, PathBuf};

pub use berth_archive::{Change, ChangeKind};

use crate::{Engine, EngineError, Result};

impl Engine {
    /// The changes of a container's layer, in Docker's order.
    pub fn container_changes(&self, name: &str) -> Result<Vec<Change>> {
        let c = self.container(name)?;
        let rootfs = self.rootfs(&c)?;
        let lowers: Vec<&Path> = rootfs.lowers.iter().map(PathBuf::as_path).collect();
        berth_archive::changes(&rootfs.upper, &lowers)
            .map_err(|e| EngineError::Other(format!("listing the changes of {}: {e}", c.id)))
    }
}
