//! A container's (or build step's) overlay upperdir as an OCI layer tar.

use std::io::Write;
use std::path::Path;

use crate::dirfd;
use crate::error::{ArchiveError, Result};
use crate::walk::{walk, Visit};
use crate::whiteout::OPAQUE_XATTR;
use crate::writer::{DiffStats, TarOut};

/// Writes the overlay upperdir `upper` as an OCI layer tar to `out`.
///
/// Overlay whiteouts become OCI ones: a 0/0 character device `dir/NAME` is written as the empty
/// file `dir/.wh.NAME`, and a directory marked `trusted.overlay.opaque=y` is followed by
/// `dir/.wh..wh..opq`. Names are sorted, each directory comes before its content, and carry no
/// leading `/` or `./` (`bin/`, `etc/passwd`). Owner, mode, whole-second mtime and extended
/// attributes (except overlay's `trusted.overlay.*`) are kept; files linked more than once inside
/// the tree are written once and then as hardlinks. The same tree always gives the same bytes.
///
/// `out` is flushed but not closed: pass `&mut encoder` to keep a compressor or hasher.
pub fn write_diff<W: Write>(upper: &Path, out: W) -> Result<DiffStats> {
    let root = dirfd::open_dir_path(upper)
        .map_err(|e| ArchiveError::io("opening", dirfd::show_path(upper), e))?;
    let mut tar = TarOut::new(out);
    walk(root, b"", |node| {
        if node.stat.is_whiteout() {
            tar.whiteout(node.path, node.stat)?;
            return Ok(Visit::Skip);
        }
        let xattrs = dirfd::read_xattrs(node.dir, node.name)
            .map_err(|e| ArchiveError::io("reading extended attributes of", node.shown(), e))?;
        tar.node(node, node.path, &xattrs)?;
        let opaque = xattrs
            .iter()
            .any(|(k, v)| k.as_slice() == OPAQUE_XATTR.as_bytes() && v.as_slice() == b"y");
        if node.stat.is_dir() && opaque {
            tar.opaque_marker(node.path, node.stat)?;
        }
        Ok(Visit::Descend)
    })?;
    tar.finish()
}
