//! Paths inside a container's root, resolved by the kernel as the container would resolve
//! them: `openat2` with `RESOLVE_IN_ROOT` treats the root as `/` for every component, `..` and
//! absolute symlinks included, so no path ever leads out of the container.

use std::ffi::OsString;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags, ResolveFlags, Stat};
use rustix::io::Errno;

/// Opens `path` (absolute or relative, both from the container's `/`) inside `root`.
pub(crate) fn open_in_root(
    root: BorrowedFd<'_>,
    path: &str,
    flags: OFlags,
) -> Result<OwnedFd, Errno> {
    let rel = path.trim_start_matches('/');
    let rel = if rel.is_empty() { "." } else { rel };
    loop {
        match rfs::openat2(
            root,
            rel,
            flags | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        ) {
            // The kernel asks for a retry when a rename or mount raced with a `..` step.
            Err(Errno::AGAIN) => continue,
            other => return other,
        }
    }
}

/// `lstat` of `name` in the directory `dir`; an empty name is the directory itself.
pub(crate) fn lstat_in(dir: BorrowedFd<'_>, name: &str) -> Result<Stat, Errno> {
    if name.is_empty() {
        rfs::fstat(dir)
    } else {
        rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
    }
}

/// Where an open descriptor is, as this thread's mount namespace names it.
pub(crate) fn fd_path(fd: BorrowedFd<'_>) -> Result<PathBuf, Errno> {
    let link = rfs::readlink(proc_fd(fd), Vec::new())?;
    Ok(PathBuf::from(OsString::from_vec(link.into_bytes())))
}

/// A path that reaches an open descriptor through procfs, for APIs that take paths; opening it
/// lands exactly on the descriptor's file, whatever its name is now.
pub(crate) fn proc_fd(fd: BorrowedFd<'_>) -> PathBuf {
    PathBuf::from(format!("/proc/thread-self/fd/{}", fd.as_raw_fd()))
}

pub(crate) fn is_dir(st: &Stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFDIR
}

pub(crate) fn is_symlink(st: &Stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFLNK
}
