//! Which OCI runtime runs a container: the embedded one (youki's libcontainer) unless
//! `--runtime runc|crun|PATH` chose a binary.

use std::path::PathBuf;

use berth_runtime::{Embedded, OciBinary, Runtime};
use berth_store::Container;

use super::config::Stored;
use crate::Engine;

impl Engine {
    /// The runtime's state directory under the run root, one per runtime kind.
    pub(crate) fn runtime_state_dir(&self, name: &str) -> PathBuf {
        self.runroot().join("runtime").join(if name.is_empty() {
            "berth"
        } else {
            name.rsplit('/').next().unwrap_or(name)
        })
    }

    pub(crate) fn runtime_named(&self, name: &str) -> Box<dyn Runtime> {
        match name {
            "" | "berth" | "embedded" => Box::new(Embedded::new(self.runtime_state_dir(""))),
            other => Box::new(OciBinary::new(
                binary_path(other),
                self.runtime_state_dir(other),
            )),
        }
    }

    pub(crate) fn runtime_for(&self, c: &Container) -> Box<dyn Runtime> {
        let stored = Stored::parse(&c.config);
        self.runtime_named(&stored.host_config.runtime)
    }
}

/// `runc` → the first `runc` on PATH (or /usr/sbin/runc); a path is taken as it is.
pub(crate) fn binary_path(name: &str) -> PathBuf {
    if name.contains('/') {
        return PathBuf::from(name);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(
            ["/usr/sbin", "/usr/bin", "/sbin", "/usr/local/sbin"]
                .iter()
                .map(PathBuf::from),
        )
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}
