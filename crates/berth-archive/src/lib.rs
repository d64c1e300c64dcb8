//! berth-archive: the layer tar formats — unpacking a layer safely into a directory (never
//! writing outside it), overlay whiteouts, and writing a directory or a container diff as a tar.
//!
//! berth keeps each image layer unpacked once, at `layers/<chain-id>/diff`, and stacks those
//! directories as overlayfs lowerdirs; a container's writable layer is the overlay upperdir.
//! This crate converts between OCI layer tars and such directories:
//!
//! - [`decompress`] recognises gzip, zstd or a plain tar by its first bytes;
//!   [`decompress_in_background`] does the same on a helper thread, overlapping decoding with
//!   unpacking;
//! - [`unpack_layer`] writes a layer tar into a directory in lowerdir form: OCI whiteouts become
//!   overlay whiteouts, and no entry can write outside the directory (see below);
//! - [`write_diff`] turns an upperdir back into an OCI layer tar; [`write_tree`] writes a plain
//!   tar of a tree (`export`, `cp`); [`changes`] lists an upperdir's changes as `docker diff`;
//! - [`sync_dir`] flushes an unpacked tree to disk once (no per-file fsync).
//!
//! # Safety against hostile tars
//!
//! Layer tars come from untrusted images. Member names are cleaned as Docker cleans them (a
//! leading `/` is dropped, `./a` and `a//b` are `a` and `a/b`); a name whose `..` climbs above the
//! root, a hardlink whose target does or goes through a symlink, a relative symlink whose target
//! climbs above the root, and any entry below a symlink are refused with
//! [`ArchiveError::Escape`]. Every entry is created relative to an open descriptor of its
//! directory, reached one component at a time without following symlinks.
//!
//! # Example
//!
//! ```
//! use berth_archive::{decompress, unpack_layer, write_diff, UnpackOptions};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let mut builder = tar::Builder::new(Vec::new());
//! # let mut header = tar::Header::new_ustar();
//! # header.set_size(6);
//! # header.set_mode(0o644);
//! # builder.append_data(&mut header, "etc/motd", &b"hello\n"[..])?;
//! # let blob = builder.into_inner()?;
//! let work = tempfile::tempdir()?;
//! let diff = work.path().join("diff");
//! std::fs::create_dir(&diff)?;
//!
//! // `blob` is a layer as pulled: gzip, zstd or plain.
//! let stats = unpack_layer(decompress(&blob[..])?, &diff, &UnpackOptions::default())?;
//! assert_eq!(stats.size, 6);
//! assert_eq!(std::fs::read_to_string(diff.join("etc/motd"))?, "hello\n");
//! berth_archive::sync_dir(&diff)?;
//!
//! // And back: the directory as a layer tar.
//! let mut tar = Vec::new();
//! write_diff(&diff, &mut tar)?;
//! # Ok(())
//! # }
//! ```

mod background;
mod changes;
mod compression;
mod diff;
mod dirfd;
mod error;
mod header;
mod name;
mod parents;
mod tree;
mod unpack;
mod walk;
mod whiteout;
mod writer;

use std::path::Path;

pub use background::{decompress_in_background, BackgroundDecoder};
pub use changes::{changes, Change, ChangeKind};
pub use compression::{decompress, decompress_detected, Compression};
pub use diff::write_diff;
pub use error::{ArchiveError, EscapeReason, Result};
pub use tree::{write_tree, TreeOptions};
pub use unpack::{unpack_layer, UnpackOptions, UnpackStats};
pub use writer::DiffStats;

/// Flushes the filesystem holding `path` to disk (`syncfs`): one call after unpacking a layer
/// instead of an fsync per file.
pub fn sync_dir(path: &Path) -> Result<()> {
    dirfd::syncfs_path(path).map_err(|e| ArchiveError::io("syncing", dirfd::show_path(path), e))
}
