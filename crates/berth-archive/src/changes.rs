//! What a container changed, as `docker diff` lists it.

use std::fmt;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::io::Errno;

use crate::dirfd;
use crate::error::{ArchiveError, Result};
use crate::name::RelPath;
use crate::walk::{walk, Visit};
use crate::whiteout::OPAQUE_XATTR;

/// The kind of a [`Change`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    /// The path exists now and did not exist in the image (`A`).
    Added,
    /// The path existed in the image and was changed (`C`), or a directory holding a change.
    Changed,
    /// The path existed in the image and was removed (`D`).
    Deleted,
}

impl ChangeKind {
    /// The letter `docker diff` prints.
    pub fn letter(self) -> char {
        match self {
            Self::Added => 'A',
            Self::Changed => 'C',
            Self::Deleted => 'D',
        }
    }

    /// The number of the Docker Engine API (`Kind` in `GET /containers/{id}/changes`).
    pub fn api_kind(self) -> u8 {
        match self {
            Self::Changed => 0,
            Self::Added => 1,
            Self::Deleted => 2,
        }
    }
}

/// One line of `docker diff`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Added, changed or deleted.
    pub kind: ChangeKind,
    /// Absolute path inside the container: `/etc/passwd`.
    pub path: String,
}

impl fmt::Display for Change {
    /// `C /etc/passwd`, as `docker diff` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind.letter(), self.path)
    }
}

/// Lists the changes an overlay upperdir makes over its lower layers.
///
/// `lower_dirs` are the image's layer directories from the top-most down, as overlay's
/// `lowerdir=` lists them; whiteouts and opaque directories in them are honoured when deciding
/// whether a path existed in the image.
///
/// Every entry of the upper is listed: `D` for a whiteout, `C` when the path exists in the image
/// (directories that only hold changes included, as Docker shows them), `A` otherwise. An opaque
/// directory that replaced one of the image is `C` (Docker prints a misleading `D` for it).
/// The list is in path order, component by component: each directory right before its content.
pub fn changes(upper: &Path, lower_dirs: &[&Path]) -> Result<Vec<Change>> {
    let lowers = lower_dirs
        .iter()
        .map(|p| {
            dirfd::open_dir_path(p).map_err(|e| ArchiveError::io("opening", dirfd::show_path(p), e))
        })
        .collect::<Result<Vec<_>>>()?;
    let root = dirfd::open_dir_path(upper)
        .map_err(|e| ArchiveError::io("opening", dirfd::show_path(upper), e))?;
    let mut list = Vec::new();
    walk(root, b"", |node| {
        let path = format!("/{}", node.shown());
        if node.stat.is_whiteout() {
            list.push(Change {
                kind: ChangeKind::Deleted,
                path,
            });
            return Ok(Visit::Skip);
        }
        let parts = RelPath::from_clean(node.path);
        let existed = in_image(&lowers, parts.parts())
            .map_err(|e| ArchiveError::io("inspecting the image's", node.shown(), e))?;
        let kind = if existed {
            ChangeKind::Changed
        } else {
            ChangeKind::Added
        };
        list.push(Change { kind, path });
        Ok(Visit::Descend)
    })?;
    Ok(list)
}

/// What one layer says about a path.
enum Presence {
    Found,
    /// Deleted or hidden by this layer: the layers below do not count.
    Hidden,
    /// This layer does not know the path: ask the layer below.
    Unknown,
}

fn in_image(lowers: &[OwnedFd], parts: &[Vec<u8>]) -> Result<bool, Errno> {
    for layer in lowers {
        match in_layer(layer, parts)? {
            Presence::Found => return Ok(true),
            Presence::Hidden => return Ok(false),
            Presence::Unknown => {}
        }
    }
    Ok(false)
}

fn in_layer(layer: &OwnedFd, parts: &[Vec<u8>]) -> Result<Presence, Errno> {
    let mut cur: Option<OwnedFd> = None;
    let mut below_opaque = false;
    for (i, part) in parts.iter().enumerate() {
        let dir = cur.as_ref().map_or(layer.as_fd(), |fd| fd.as_fd());
        let Some(st) = dirfd::lstat_at(dir, part)? else {
            return Ok(if below_opaque {
                Presence::Hidden
            } else {
                Presence::Unknown
            });
        };
        if st.is_whiteout() {
            return Ok(Presence::Hidden);
        }
        if i + 1 == parts.len() {
            return Ok(Presence::Found);
        }
        if !st.is_dir() {
            // A file here hides whatever the layers below have under this name.
            return Ok(Presence::Hidden);
        }
        let fd = dirfd::open_child_dir(dir, part)?;
        if dirfd::get_xattr(fd.as_fd(), OPAQUE_XATTR)?.as_deref() == Some(b"y") {
            below_opaque = true;
        }
        cur = Some(fd);
    }
    Ok(Presence::Unknown)
}
