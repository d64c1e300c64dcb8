//! berth-engine: the use cases of berth (import, images, rmi, save, load, run, build ...).
//! The CLI and the API server are thin faces over this crate: they parse input, call an
//! [`Engine`] method, and format what it returns. No use case is written twice.

pub mod build;
pub mod container;
mod error;
pub mod image;
pub mod network;
pub mod system;
pub mod volume;

use std::path::{Path, PathBuf};

pub use berth_net as net;
pub use berth_runtime as runtime;
pub use berth_store as store;
pub use error::{EngineError, Result};

use berth_store::Store;

/// Where the engine keeps its state.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    pub root: PathBuf,
    pub runroot: PathBuf,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            root: PathBuf::from("/var/lib/berth"),
            runroot: PathBuf::from("/run/berth"),
        }
    }
}

/// One open store and the operations on it.
pub struct Engine {
    store: Store,
    options: EngineOptions,
}

impl Engine {
    pub fn open(options: EngineOptions) -> Result<Engine> {
        let store = Store::open(&options.root, &options.runroot)?;
        Ok(Engine { store, options })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn root(&self) -> &Path {
        &self.options.root
    }

    pub fn runroot(&self) -> &Path {
        &self.options.runroot
    }
}
