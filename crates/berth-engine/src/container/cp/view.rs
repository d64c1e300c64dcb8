//! A container's filesystem as its processes see it: the rootfs (the live mount of a running
//! container, or a temporary mount of a stopped one) with the container's volumes and bind
//! mounts attached at their destinations. The attaching happens in a mount namespace private
//! to one thread, as Docker's daemon does it: nothing is mounted on the host, and the view
//! goes away with the thread.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{self as rfs, Mode, OFlags, CWD};
use rustix::io::Errno;
use rustix::mount::{
    mount_change, move_mount, open_tree, MountPropagationFlags, MoveMountFlags, OpenTreeFlags,
};
use rustix::thread::UnshareFlags;

use super::resolve::{fd_path, open_in_root};
use super::CopyError;
use crate::container::create::clean;
use crate::container::{MountPoint, Stored};
use crate::{Engine, EngineError};

/// An open view of one container's filesystem. Only usable on the thread that
/// [`Engine::with_container_fs`] runs its closure on (and threads that one starts).
pub struct ContainerFs {
    pub(crate) root: OwnedFd,
    /// Where `root` is in this thread's mount namespace.
    pub(crate) root_path: PathBuf,
    /// The container as the user named it (Docker's error messages repeat it).
    pub(crate) name: String,
    /// Volume and bind destinations and whether they are writable.
    pub(crate) mounts: Vec<(String, bool)>,
    pub(crate) readonly_rootfs: bool,
}

impl Engine {
    /// Runs `f` on a view of the container's filesystem with its mounts (see the module doc).
    /// `f` runs on a thread of its own, in a private mount namespace.
    pub fn with_container_fs<T: Send>(
        &self,
        name: &str,
        f: impl FnOnce(&ContainerFs) -> Result<T, CopyError> + Send,
    ) -> Result<T, CopyError> {
        let c = self.container(name)?;
        let stored = Stored::parse(&c.config);
        let attached: Vec<&MountPoint> = attachable(&stored.mounts);
        let out = self.with_rootfs(&c, |merged| {
            let out = std::thread::scope(|s| {
                s.spawn(|| {
                    let fs =
                        open_view(merged, name, &attached, stored.host_config.readonly_rootfs)?;
                    f(&fs)
                })
                .join()
            });
            Ok(out.unwrap_or_else(|_| {
                Err(EngineError::Other("the copy thread panicked".into()).into())
            }))
        })?;
        out
    }
}

/// Volumes and binds, parents before what is mounted inside them (Docker's order).
fn attachable(mounts: &[MountPoint]) -> Vec<&MountPoint> {
    let mut list: Vec<&MountPoint> = mounts
        .iter()
        .filter(|m| matches!(m.kind.as_str(), "bind" | "volume") && !m.source.is_empty())
        .collect();
    list.sort_by_key(|m| clean(&m.destination).matches('/').count());
    list
}

fn open_view(
    merged: &Path,
    name: &str,
    mounts: &[&MountPoint],
    readonly_rootfs: bool,
) -> Result<ContainerFs, CopyError> {
    let fail = |what: String| move |e: Errno| EngineError::io(what)(e.into());
    // SAFETY: only the mount namespace (and with it this thread's fs struct) is unshared; the
    // file descriptor table stays shared, so descriptors keep their meaning on every thread.
    unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNS) }
        .map_err(fail("entering a private mount namespace".into()))?;
    // Nothing mounted here may reach the host's namespace.
    mount_change(
        "/",
        MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
    )
    .map_err(fail("making the private mount namespace private".into()))?;
    // Opened after unsharing: lookups from this descriptor see the mounts attached below.
    let root = rfs::open(
        merged,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(fail(format!("opening {}", merged.display())))?;
    let root_path = fd_path(root.as_fd()).map_err(fail("locating the container's root".into()))?;
    for m in mounts {
        attach(root.as_fd(), m).map_err(fail(format!(
            "mounting {} at {} for the copy",
            m.source, m.destination
        )))?;
    }
    Ok(ContainerFs {
        root,
        root_path,
        name: name.to_string(),
        mounts: mounts
            .iter()
            .map(|m| (clean(&m.destination), m.rw))
            .collect(),
        readonly_rootfs,
    })
}

/// Mounts the source of `m` at its destination, resolved inside the container's root (a
/// symlink there is followed as the container would follow it, never out of the root).
fn attach(root: BorrowedFd<'_>, m: &MountPoint) -> Result<(), Errno> {
    let source_is_dir = rfs::stat(m.source.as_str())?.st_mode & libc::S_IFMT == libc::S_IFDIR;
    let target = mountpoint(root, &clean(&m.destination), source_is_dir)?;
    let tree = open_tree(
        CWD,
        m.source.as_str(),
        OpenTreeFlags::OPEN_TREE_CLONE
            | OpenTreeFlags::OPEN_TREE_CLOEXEC
            | OpenTreeFlags::AT_RECURSIVE,
    )?;
    move_mount(
        &tree,
        "",
        &target,
        "",
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH,
    )
}

/// The destination of a mount, created when missing (as a runtime creates it at start).
fn mountpoint(root: BorrowedFd<'_>, dest: &str, dir: bool) -> Result<OwnedFd, Errno> {
    match open_in_root(root, dest, OFlags::PATH) {
        Err(Errno::NOENT) => {}
        found => return found,
    }
    let (parent, last) = dest.rsplit_once('/').unwrap_or(("", dest));
    let parent_fd = make_dirs(root, parent)?;
    let made = if dir {
        rfs::mkdirat(&parent_fd, last, Mode::from_raw_mode(0o755))
    } else {
        rfs::openat(
            &parent_fd,
            last,
            OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        )
        .map(drop)
    };
    match made {
        Ok(()) | Err(Errno::EXIST) => open_in_root(root, dest, OFlags::PATH),
        Err(e) => Err(e),
    }
}

/// `mkdir -p` inside the root: each missing directory is made in its parent as resolved
/// inside the root.
pub(crate) fn make_dirs(root: BorrowedFd<'_>, path: &str) -> Result<OwnedFd, Errno> {
    let mut prefix = String::new();
    let mut fd = open_in_root(root, "/", OFlags::PATH | OFlags::DIRECTORY)?;
    for part in path.split('/').filter(|p| !p.is_empty()) {
        prefix.push('/');
        prefix.push_str(part);
        fd = match open_in_root(root, &prefix, OFlags::PATH | OFlags::DIRECTORY) {
            Ok(next) => next,
            Err(Errno::NOENT) => {
                match rfs::mkdirat(&fd, part, Mode::from_raw_mode(0o755)) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(e) => return Err(e),
                }
                open_in_root(root, &prefix, OFlags::PATH | OFlags::DIRECTORY)?
            }
            Err(e) => return Err(e),
        };
    }
    Ok(fd)
}
