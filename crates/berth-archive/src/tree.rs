//! A plain tar of a directory tree, for `export` and `cp`.

use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{self as rfs, Mode, OFlags, ResolveFlags};

use crate::dirfd::{self, FileStat};
use crate::error::{ArchiveError, Result};
use crate::walk::{walk, Node, Visit};
use crate::writer::{DiffStats, TarOut};

/// What [`write_tree`] archives and under which name.
#[derive(Debug, Clone, Default)]
pub struct TreeOptions {
    /// Archive only this path inside the root (`/etc`, `etc/passwd`). Symlinks among its parent
    /// directories are followed as the container would see them, never out of the root; the last
    /// component is archived as it is, a symlink included (as `docker cp` does). `None`: the whole
    /// tree, the root itself not written (as `docker export`).
    pub path: Option<PathBuf>,
    /// The archived path's name in the tar, instead of its last component (`docker cp
    /// CONTAINER:/etc -` writes `etc/`, `etc/passwd` ...). An empty name writes a directory's
    /// content without the directory itself.
    pub name: Option<String>,
}

/// Writes the tree at `root` (or one path inside it, see [`TreeOptions`]) as a tar to `out`.
///
/// Same order and metadata rules as [`write_diff`](crate::write_diff), but no whiteout
/// conversion: a 0/0 character device is written as the device it is.
pub fn write_tree<W: Write>(root: &Path, out: W, opts: &TreeOptions) -> Result<DiffStats> {
    let root_fd = dirfd::open_dir_path(root)
        .map_err(|e| ArchiveError::io("opening", dirfd::show_path(root), e))?;
    let mut tar = TarOut::new(out);
    match &opts.path {
        None => whole_dir(&mut tar, root_fd, opts.name.as_deref().unwrap_or(""))?,
        Some(path) => {
            let shown = dirfd::show_path(path);
            let (parent, last) = split_last(path);
            let parent_fd = open_in_root(root_fd.as_fd(), &parent)
                .map_err(|e| ArchiveError::io("resolving", &shown, e))?;
            match last {
                None => whole_dir(&mut tar, parent_fd, opts.name.as_deref().unwrap_or(""))?,
                Some(last) => {
                    let name = opts.name.as_deref().map(str::as_bytes).unwrap_or(&last);
                    one_path(&mut tar, parent_fd, &last, name, &shown)?;
                }
            }
        }
    }
    tar.finish()
}

/// The content of the directory `dir`, under `name/` if `name` is not empty.
fn whole_dir<W: Write>(tar: &mut TarOut<W>, dir: OwnedFd, name: &str) -> Result<()> {
    if !name.is_empty() {
        let st = dirfd::fstat(dir.as_fd()).map_err(|e| ArchiveError::io("inspecting", name, e))?;
        // An empty name through /proc/self/fd/N/ reaches the directory itself.
        write_node(
            tar,
            &Node {
                dir: dir.as_fd(),
                name: b"",
                path: name.as_bytes(),
                stat: &st,
            },
        )?;
    }
    write_walk(tar, dir, name.as_bytes())
}

/// `last` in `parent` under the tar name `name`, and its content if it is a directory.
fn one_path<W: Write>(
    tar: &mut TarOut<W>,
    parent: OwnedFd,
    last: &[u8],
    name: &[u8],
    shown: &str,
) -> Result<()> {
    let st: FileStat = dirfd::lstat_at(parent.as_fd(), last)
        .map_err(|e| ArchiveError::io("inspecting", shown, e))?
        .ok_or_else(|| ArchiveError::io("inspecting", shown, std::io::ErrorKind::NotFound))?;
    if !name.is_empty() {
        write_node(
            tar,
            &Node {
                dir: parent.as_fd(),
                name: last,
                path: name,
                stat: &st,
            },
        )?;
    }
    if st.is_dir() {
        let dir = dirfd::open_child_dir(parent.as_fd(), last)
            .map_err(|e| ArchiveError::io("opening", shown, e))?;
        write_walk(tar, dir, name)?;
    }
    Ok(())
}

fn write_walk<W: Write>(tar: &mut TarOut<W>, dir: OwnedFd, prefix: &[u8]) -> Result<()> {
    walk(dir, prefix, |node| {
        write_node(tar, node)?;
        Ok(Visit::Descend)
    })
}

fn write_node<W: Write>(tar: &mut TarOut<W>, node: &Node<'_>) -> Result<()> {
    let xattrs = dirfd::read_xattrs(node.dir, node.name)
        .map_err(|e| ArchiveError::io("reading extended attributes of", node.shown(), e))?;
    tar.node(node, node.path, &xattrs)
}

/// Splits a path inside the root into its parent and last name; `None` when the path names a
/// directory as a whole (`/`, `..`, `a/..`).
fn split_last(path: &Path) -> (PathBuf, Option<Vec<u8>>) {
    let mut parts: Vec<Component<'_>> = path
        .components()
        .filter(|c| matches!(c, Component::Normal(_) | Component::ParentDir))
        .collect();
    match parts.last() {
        Some(Component::Normal(last)) => {
            let last = last.as_bytes().to_vec();
            parts.pop();
            (parts.iter().collect(), Some(last))
        }
        _ => (parts.iter().collect(), None),
    }
}

/// Opens a directory of the container's tree as the container would resolve it: `..` and
/// symlinks (absolute ones too) are resolved with `root` as `/`.
fn open_in_root(root: std::os::fd::BorrowedFd<'_>, path: &Path) -> std::io::Result<OwnedFd> {
    let path: &Path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    Ok(rfs::openat2(
        root,
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_parent_and_last_name() {
        let (p, l) = split_last(Path::new("/etc/passwd"));
        assert_eq!((p, l), (PathBuf::from("etc"), Some(b"passwd".to_vec())));
        let (p, l) = split_last(Path::new("etc"));
        assert_eq!((p, l), (PathBuf::new(), Some(b"etc".to_vec())));
        let (p, l) = split_last(Path::new("/"));
        assert_eq!((p, l), (PathBuf::new(), None));
        let (p, l) = split_last(Path::new("/a/.."));
        assert_eq!((p, l), (PathBuf::from("a/.."), None));
    }
}
