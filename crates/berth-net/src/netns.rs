//! Named network namespaces: a namespace kept alive by a bind mount on a file (as
//! `ip netns add` does), so it exists before the container's process does and the OCI runtime
//! can be told to join it.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{flock, FlockOperation};
use rustix::mount::{mount_bind, mount_change, unmount, MountPropagationFlags, UnmountFlags};
use rustix::thread::{unshare_unsafe, UnshareFlags};

use crate::error::{IoContext, Result};

/// Where berth keeps the namespace of container `id`: `<runroot>/netns/<id>`.
pub fn netns_path(runroot: &Path, id: &str) -> PathBuf {
    runroot.join("netns").join(id)
}

/// Creates a new, empty network namespace pinned at `path` (only `lo`, down).
pub fn create_netns(path: &Path) -> Result<()> {
    pin_netns(path, None)
}

/// A new network namespace, not pinned anywhere yet: held by the returned fd, for
/// [`pin_netns`] to pin later. Made on a short-lived thread, so that the caller stays in its
/// namespace; it is cheap to make ahead, while the caller does other things (unshare(2) of a
/// network namespace takes about 0.5 ms).
pub fn new_netns() -> Result<OwnedFd> {
    std::thread::scope(|s| {
        s.spawn(|| -> io::Result<OwnedFd> {
            // SAFETY: as in `pin_netns`.
            unsafe { unshare_unsafe(UnshareFlags::NEWNET) }?;
            Ok(File::open("/proc/thread-self/ns/net")?.into())
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("namespace thread panicked")))
    })
    .ctx(
        "creating a network namespace",
        Path::new("/proc/thread-self/ns/net"),
    )
}

/// Pins a network namespace at `path` (a file made here): `made` (from [`new_netns`]), or a new
/// one.
pub fn pin_netns(path: &Path, made: Option<OwnedFd>) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    fs::create_dir_all(dir).ctx("creating", dir)?;
    // Held until the namespace is pinned: a concurrent remove of the directory's last other
    // namespace must not unmount the shared directory under us.
    let _lock = lock_dir(dir)?;
    make_shared_mount(dir)?;
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .ctx("creating network namespace file", path)?;
    let pinned = match made {
        Some(fd) => mount_bind(format!("/proc/self/fd/{}", fd.as_raw_fd()).as_str(), path)
            .map_err(io::Error::from),
        None => std::thread::scope(|s| {
            s.spawn(|| -> io::Result<()> {
                // SAFETY: only the network namespace is unshared, and only for this thread,
                // which does nothing else and ends right after; no file table is unshared.
                unsafe { unshare_unsafe(UnshareFlags::NEWNET) }?;
                mount_bind("/proc/thread-self/ns/net", path)?;
                Ok(())
            })
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("namespace thread panicked")))
        }),
    };
    if let Err(e) = pinned {
        let _ = fs::remove_file(path);
        return Err(e).ctx("creating network namespace", path);
    }
    Ok(())
}

/// Unpins and removes a namespace made by [`create_netns`]; absent is fine. The namespace
/// itself ends when its last process does.
pub fn remove_netns(path: &Path) -> Result<()> {
    // The common case for a container without one (`--network none` asks at every removal):
    // nothing to unpin, and the directory's mount is not this call's to release.
    if fs::symlink_metadata(path).is_err_and(|e| e.kind() == io::ErrorKind::NotFound) {
        return Ok(());
    }
    match unmount(path, UnmountFlags::DETACH) {
        Ok(()) | Err(rustix::io::Errno::INVAL) | Err(rustix::io::Errno::NOENT) => {}
        Err(e) => return Err(io::Error::from(e)).ctx("unmounting network namespace", path),
    }
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            return Err(e).ctx("removing network namespace file", path)
        }
        _ => {}
    }
    release_shared_mount(path.parent().unwrap_or(Path::new("/")));
    Ok(())
}

/// Undoes [`make_shared_mount`] once the directory holds no namespace, so that a store's run
/// root leaves no mount behind (a test's temporary store can then be deleted). Best effort:
/// a namespace created meanwhile keeps it, under the same lock.
fn release_shared_mount(dir: &Path) {
    let Ok(_lock) = lock_dir(dir) else { return };
    let empty = fs::read_dir(dir)
        .map(|mut d| d.next().is_none())
        .unwrap_or(false);
    if empty {
        let _ = unmount(dir, UnmountFlags::DETACH);
    }
}

/// Makes the namespace directory a shared mount point, as `ip netns` does with /run/netns, so
/// that unpinning a namespace also reaches copies of the mount in other mount namespaces and
/// the namespace is really freed.
/// The lock that orders the directory's shared mount against the namespaces in it (two berth
/// processes must not both bind the directory onto itself, nor unmount it while one is added).
fn lock_dir(dir: &Path) -> Result<File> {
    let guard = File::open(dir).ctx("opening", dir)?;
    flock(&guard, FlockOperation::LockExclusive)
        .map_err(io::Error::from)
        .ctx("locking", dir)?;
    Ok(guard)
}

/// Call with the directory's lock held.
fn make_shared_mount(dir: &Path) -> Result<()> {
    match mount_change(
        dir,
        MountPropagationFlags::SHARED | MountPropagationFlags::REC,
    ) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::INVAL) => {
            // Not a mount point yet.
            mount_bind(dir, dir)
                .and_then(|()| {
                    mount_change(
                        dir,
                        MountPropagationFlags::SHARED | MountPropagationFlags::REC,
                    )
                })
                .map_err(io::Error::from)
                .ctx("making a shared mount of", dir)
        }
        Err(e) => Err(io::Error::from(e)).ctx("making a shared mount of", dir),
    }
}
