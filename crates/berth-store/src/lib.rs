//! berth-store: content-addressed blobs, unpacked layers, the metadata database and image
//! references. Every other part of berth stands on it.
//!
//! ```no_run
//! use berth_store::{Store, Reference};
//! let store = Store::open("/var/lib/berth".as_ref(), "/run/berth".as_ref())?;
//! let image = store.resolve_image("busybox")?;
//! println!("{} has {} tags", image.id.short(), image.tags.len());
//! # Ok::<(), berth_store::StoreError>(())
//! ```
//!
//! Rules the store keeps: a blob is visible only once its digest is verified (ingest → verify
//! → commit); a layer directory is renamed into place only when whole; metadata changes are
//! SQLite transactions; files the database does not yet name are created under a [`Lease`],
//! and garbage is collected only under the [`Exclusive`] lock.

mod blob;
mod check;
mod config;
mod container;
mod db;
mod digest;
mod error;
mod fsutil;
mod gc;
mod image;
mod layer;
mod lock;
mod reference;
mod store;

pub use blob::{BlobStore, BlobWriter};
pub use check::Problem;
pub use config::{Healthcheck, History, ImageConfig, RootFs, RunConfig};
pub use container::{Container, State as ContainerState, Status as ContainerStatus};
pub use db::Db;
pub use digest::{chain_id, chain_ids, Digest, DigestReader, DigestWriter};
pub use error::{Result, StoreError};
pub use fsutil::write_atomic;
pub use gc::Collected;
pub use image::Image;
pub use layer::{
    Layer, LayerBlob, LayerExpect, MEDIA_TYPE_TAR, MEDIA_TYPE_TAR_GZIP, MEDIA_TYPE_TAR_ZSTD,
};
pub use reference::{Reference, DEFAULT_DOMAIN, DEFAULT_TAG};
pub use store::{now_rfc3339, Exclusive, Lease, Store};

pub use rusqlite;
