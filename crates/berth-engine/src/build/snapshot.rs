//! Mounts of a step's image for `COPY`/`ADD`: a writable overlay with a fresh upper (whose
//! content becomes the step's layer), or a read-only view of another stage's image to copy
//! from. Both live in the build's scratch space and are unmounted when dropped.

use std::fs;
use std::path::{Path, PathBuf};

use berth_archive::write_diff;
use berth_store::{Digest, Layer, Lease};
use rustix::mount::{unmount, UnmountFlags};

use super::error::{io, BuildError};
use super::source::Scratch;
use crate::container::rootfs::overlay;
use crate::Engine;

/// An overlay of an image's layers mounted in the scratch space.
pub(crate) struct Snapshot {
    pub upper: PathBuf,
    pub merged: PathBuf,
    mounted: bool,
}

impl Snapshot {
    /// A writable mount of the image whose top layer is `top` (`None`: nothing, `scratch`).
    pub(crate) fn writable(
        engine: &Engine,
        scratch: &Scratch,
        top: Option<&Digest>,
    ) -> Result<Snapshot, BuildError> {
        let dir = scratch.fresh("snapshot")?;
        let (upper, work, merged, empty) = (
            dir.join("upper"),
            dir.join("work"),
            dir.join("merged"),
            dir.join("empty"),
        );
        for d in [&upper, &work, &merged, &empty] {
            fs::create_dir(d).map_err(io(format!("creating {}", d.display())))?;
        }
        let mut lowers = lowers_of(engine, top)?;
        // overlayfs needs a lower layer even over nothing.
        lowers.push(empty);
        overlay(&lowers, Some((&upper, &work)), &merged, false)
            .map_err(io("mounting the step's filesystem"))?;
        Ok(Snapshot {
            upper,
            merged,
            mounted: true,
        })
    }

    /// A read-only mount of an image, to copy from.
    pub(crate) fn read_only(
        engine: &Engine,
        scratch: &Scratch,
        top: Option<&Digest>,
    ) -> Result<Snapshot, BuildError> {
        let dir = scratch.fresh("view")?;
        let (merged, empty, empty2) = (dir.join("merged"), dir.join("empty"), dir.join("empty2"));
        for d in [&merged, &empty, &empty2] {
            fs::create_dir(d).map_err(io(format!("creating {}", d.display())))?;
        }
        let mut lowers = lowers_of(engine, top)?;
        // A read-only overlay needs two lowers at least.
        lowers.push(empty);
        if lowers.len() < 2 {
            lowers.push(empty2);
        }
        overlay(&lowers, None, &merged, false).map_err(io("mounting an image to copy from"))?;
        Ok(Snapshot {
            upper: PathBuf::new(),
            merged,
            mounted: true,
        })
    }

    /// A writable overlay over a host directory (a `rw` bind mount: writes are thrown away).
    pub(crate) fn over_dir(scratch: &Scratch, dir: &Path) -> Result<Snapshot, BuildError> {
        let base = scratch.fresh("bind")?;
        let (upper, work, merged) = (base.join("upper"), base.join("work"), base.join("merged"));
        for d in [&upper, &work, &merged] {
            fs::create_dir(d).map_err(io(format!("creating {}", d.display())))?;
        }
        overlay(&[dir.to_path_buf()], Some((&upper, &work)), &merged, false)
            .map_err(io("mounting a writable bind mount"))?;
        Ok(Snapshot {
            upper,
            merged,
            mounted: true,
        })
    }

    pub(crate) fn unmount(&mut self) -> Result<(), BuildError> {
        if self.mounted {
            self.mounted = false;
            unmount(&self.merged, UnmountFlags::DETACH)
                .map_err(|e| io("unmounting the step's filesystem")(e.into()))?;
        }
        Ok(())
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        let _ = self.unmount();
    }
}

/// The lowerdirs of an image, top first.
pub(crate) fn lowers_of(engine: &Engine, top: Option<&Digest>) -> Result<Vec<PathBuf>, BuildError> {
    Ok(engine
        .store()
        .layer_stack(top)?
        .iter()
        .rev()
        .map(|l| engine.store().layer_diff(&l.chain_id))
        .collect())
}

/// The layer holding what a step wrote into `upper` (over the layer `parent`), or `None`
/// when it wrote nothing. Nothing may use `upper` any more (its overlay is unmounted): the
/// directory itself becomes the layer's, and only its tar is written, as the layer's blob.
pub(crate) fn layer_from_upper(
    engine: &Engine,
    lease: &Lease,
    parent: Option<&Digest>,
    upper: &Path,
) -> Result<Option<Layer>, BuildError> {
    if is_empty(upper)? {
        return Ok(None);
    }
    let store = engine.store();
    let stored = |e: berth_store::StoreError| {
        BuildError::new(format!("storing the step's layer: {}", with_causes(&e)))
    };
    let mut blob = store.blobs().writer().map_err(stored)?;
    let stats = write_diff(upper, &mut blob)
        .map_err(|e| BuildError::new(format!("reading the step's changes: {}", with_causes(&e))))?;
    store
        .adopt_layer_dir(lease, parent, blob, upper, stats.size)
        .map(Some)
        .map_err(stored)
}

fn is_empty(dir: &Path) -> Result<bool, BuildError> {
    Ok(fs::read_dir(dir)
        .map_err(io(format!("reading {}", dir.display())))?
        .next()
        .is_none())
}

/// An error and the errors under it, `outer: inner: ...`, each said once.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let said = c.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = c.source();
    }
    text
}
