//! Walking a directory tree in the order layer tars list it: names sorted bytewise, each directory
//! right before its content.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use crate::dirfd::{self, FileStat};
use crate::error::{ArchiveError, Result};

/// One entry met by [`walk`].
pub(crate) struct Node<'a> {
    /// The directory holding the entry.
    pub(crate) dir: BorrowedFd<'a>,
    /// The entry's name in `dir`.
    pub(crate) name: &'a [u8],
    /// The entry's path: the walk's prefix joined with the names below the top (`etc/passwd`).
    pub(crate) path: &'a [u8],
    pub(crate) stat: &'a FileStat,
}

impl Node<'_> {
    pub(crate) fn shown(&self) -> String {
        String::from_utf8_lossy(self.path).into_owned()
    }
}

/// Whether to go into a directory just visited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Visit {
    Descend,
    Skip,
}

struct Level {
    fd: OwnedFd,
    names: std::vec::IntoIter<Vec<u8>>,
    /// Length of the path of this directory, to cut back to.
    path_len: usize,
}

/// Visits everything below the directory `top` (not `top` itself), depth first. `prefix` starts
/// every path (without a trailing slash; empty for none). Entries that vanish while we walk (a
/// running container) are passed over. Only one descriptor per level is held; the walk is a loop,
/// not a recursion, so a hostile depth ends in an error, not a crash.
pub(crate) fn walk(
    top: OwnedFd,
    prefix: &[u8],
    mut visit: impl FnMut(&Node<'_>) -> Result<Visit>,
) -> Result<()> {
    let shown_prefix = String::from_utf8_lossy(prefix).into_owned();
    let names =
        dirfd::list_names(top.as_fd()).map_err(|e| ArchiveError::io("listing", shown_prefix, e))?;
    let mut path = prefix.to_vec();
    let mut stack = vec![Level {
        fd: top,
        names: names.into_iter(),
        path_len: path.len(),
    }];
    while let Some(level) = stack.last_mut() {
        let Some(name) = level.names.next() else {
            stack.pop();
            continue;
        };
        path.truncate(level.path_len);
        if !path.is_empty() {
            path.push(b'/');
        }
        path.extend_from_slice(&name);
        let dir = level.fd.as_fd();
        let shown = || String::from_utf8_lossy(&path).into_owned();
        let Some(stat) =
            dirfd::lstat_at(dir, &name).map_err(|e| ArchiveError::io("inspecting", shown(), e))?
        else {
            continue;
        };
        let node = Node {
            dir,
            name: &name,
            path: &path,
            stat: &stat,
        };
        if visit(&node)? == Visit::Skip || !stat.is_dir() {
            continue;
        }
        let child = match dirfd::open_child_dir(dir, &name) {
            Ok(fd) => fd,
            // Gone or replaced since we looked: nothing to descend into.
            Err(rustix::io::Errno::NOENT | rustix::io::Errno::NOTDIR | rustix::io::Errno::LOOP) => {
                continue
            }
            Err(e) => return Err(ArchiveError::io("opening", shown(), e)),
        };
        let names = dirfd::list_names(child.as_fd())
            .map_err(|e| ArchiveError::io("listing", shown(), e))?;
        stack.push(Level {
            fd: child,
            names: names.into_iter(),
            path_len: path.len(),
        });
    }
    Ok(())
}
