//! File operations relative to an open directory, one name at a time, never following a symlink.
//!
//! Everything this crate writes or reads inside a tree goes through here: a name is always a single
//! component looked up in a directory we hold open, so neither `..` nor a symlink planted by a tar
//! or a container can redirect it.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, Timespec, Timestamps};
use rustix::io::Errno;

/// An extended attribute: (name, value).
pub(crate) type Xattr = (Vec<u8>, Vec<u8>);

/// What `lstat` tells us about an entry, in plain integer types on every architecture.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FileStat {
    pub(crate) kind: FileType,
    /// Permission bits, with setuid, setgid and sticky.
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) size: u64,
    pub(crate) nlink: u64,
    pub(crate) dev: u64,
    pub(crate) ino: u64,
    pub(crate) rdev: u64,
    pub(crate) mtime: Timespec,
}

impl FileStat {
    // The field types of `struct stat` differ between architectures; on some these conversions
    // are no-ops.
    #[allow(clippy::useless_conversion)]
    fn from_raw(st: &rfs::Stat) -> Self {
        Self {
            kind: FileType::from_raw_mode(st.st_mode),
            mode: st.st_mode & 0o7777,
            uid: st.st_uid,
            gid: st.st_gid,
            size: u64::try_from(st.st_size).unwrap_or(0),
            nlink: u64::from(st.st_nlink),
            dev: u64::from(st.st_dev),
            ino: u64::from(st.st_ino),
            rdev: u64::from(st.st_rdev),
            mtime: Timespec {
                tv_sec: i64::from(st.st_mtime),
                tv_nsec: i64::try_from(st.st_mtime_nsec).unwrap_or(0),
            },
        }
    }

    pub(crate) fn is_dir(&self) -> bool {
        self.kind == FileType::Directory
    }

    /// Overlay's whiteout: a character device with device number 0/0.
    pub(crate) fn is_whiteout(&self) -> bool {
        self.kind == FileType::CharacterDevice && self.rdev == 0
    }
}

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// Opens a directory given by a caller's path (symlinks in that path are the caller's business).
pub(crate) fn open_dir_path(path: &Path) -> io::Result<OwnedFd> {
    Ok(rfs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// Opens the directory `name` in `dir`; fails with `ELOOP` or `ENOTDIR` if it is anything else.
pub(crate) fn open_child_dir(dir: BorrowedFd<'_>, name: &[u8]) -> Result<OwnedFd, Errno> {
    rfs::openat(dir, name, DIR_FLAGS, Mode::empty())
}

/// A second descriptor of the same directory.
pub(crate) fn reopen_dir(dir: BorrowedFd<'_>) -> Result<OwnedFd, Errno> {
    rfs::openat(dir, c".", DIR_FLAGS, Mode::empty())
}

/// Opens the regular file `name` in `dir` for reading.
pub(crate) fn open_file(dir: BorrowedFd<'_>, name: &[u8]) -> Result<OwnedFd, Errno> {
    rfs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// Creates the regular file `name` in `dir`, which must not exist yet. It starts private (0600)
/// and gets its real mode once its content and owner are in place.
pub(crate) fn create_file(dir: BorrowedFd<'_>, name: &[u8]) -> Result<OwnedFd, Errno> {
    rfs::openat(
        dir,
        name,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )
}

/// `lstat` of `name` in `dir`; `None` if there is no such entry.
pub(crate) fn lstat_at(dir: BorrowedFd<'_>, name: &[u8]) -> Result<Option<FileStat>, Errno> {
    match rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(FileStat::from_raw(&st))),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

pub(crate) fn fstat(fd: BorrowedFd<'_>) -> Result<FileStat, Errno> {
    rfs::fstat(fd).map(|st| FileStat::from_raw(&st))
}

/// Removes `name` from `dir`, whatever it is; a directory goes with everything in it.
pub(crate) fn remove_at(dir: BorrowedFd<'_>, name: &[u8], st: &FileStat) -> Result<(), Errno> {
    if st.is_dir() {
        remove_tree_at(dir, name)
    } else {
        rfs::unlinkat(dir, name, AtFlags::empty())
    }
}

/// Removes the directory `name` in `dir` and all it holds. Recursion depth is bounded by the
/// deepest path a tar can create (4096 bytes of name).
fn remove_tree_at(dir: BorrowedFd<'_>, name: &[u8]) -> Result<(), Errno> {
    let child = open_child_dir(dir, name)?;
    for entry in list_names(child.as_fd())? {
        match lstat_at(child.as_fd(), &entry)? {
            Some(st) => remove_at(child.as_fd(), &entry, &st)?,
            None => continue,
        }
    }
    drop(child);
    rfs::unlinkat(dir, name, AtFlags::REMOVEDIR)
}

/// The names in a directory (without `.` and `..`), sorted bytewise as Go's `filepath.Walk` and
/// Docker's tars order them.
pub(crate) fn list_names(dir: BorrowedFd<'_>) -> Result<Vec<Vec<u8>>, Errno> {
    let mut names = Vec::new();
    for entry in rfs::Dir::read_from(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            names.push(name.to_vec());
        }
    }
    names.sort_unstable();
    Ok(names)
}

/// A path naming `name` in the directory held by `dir`, through `/proc/self/fd`. The kernel resolves
/// the descriptor itself (not a path) and then the single `name`, so the `l*xattr` calls that take
/// it reach exactly that entry, even a symlink or a device we cannot open.
pub(crate) fn proc_path(dir: BorrowedFd<'_>, name: &[u8]) -> CString {
    let mut path = format!("/proc/self/fd/{}/", dir.as_raw_fd()).into_bytes();
    path.extend_from_slice(name);
    // Names reaching here come from a directory listing or a cleaned tar name: no NUL inside.
    CString::new(path).unwrap_or_default()
}

/// The extended attributes of `name` in `dir`, sorted by name.
pub(crate) fn read_xattrs(dir: BorrowedFd<'_>, name: &[u8]) -> Result<Vec<Xattr>, Errno> {
    let path = proc_path(dir, name);
    let list = read_sized(|buf| match buf {
        None => rfs::llistxattr_query(&path),
        Some(buf) => rfs::llistxattr(&path, buf),
    });
    let list = match list {
        Ok(list) => list,
        Err(Errno::NOTSUP) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut attrs = Vec::new();
    for key in list.split(|b| *b == 0).filter(|k| !k.is_empty()) {
        let Ok(key_c) = CString::new(key) else {
            continue;
        };
        let value = read_sized(|buf| match buf {
            None => rfs::lgetxattr_query(&path, &key_c),
            Some(buf) => rfs::lgetxattr(&path, &key_c, buf),
        });
        match value {
            Ok(value) => attrs.push((key.to_vec(), value)),
            // Removed between listing and reading: it is simply not there.
            Err(Errno::NODATA) => {}
            Err(e) => return Err(e),
        }
    }
    attrs.sort();
    Ok(attrs)
}

/// One extended attribute of the open file `fd`, `None` if it is not set.
pub(crate) fn get_xattr(fd: BorrowedFd<'_>, key: &str) -> Result<Option<Vec<u8>>, Errno> {
    let value = read_sized(|buf| match buf {
        None => rfs::fgetxattr_query(fd, key),
        Some(buf) => rfs::fgetxattr(fd, key, buf),
    });
    match value {
        Ok(v) => Ok(Some(v)),
        Err(Errno::NODATA | Errno::NOTSUP) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Calls a size-query-then-fill syscall pair, retrying if the value grows in between.
fn read_sized(
    mut call: impl FnMut(Option<&mut [u8]>) -> Result<usize, Errno>,
) -> Result<Vec<u8>, Errno> {
    for _ in 0..8 {
        let size = call(None)?;
        let mut buf = vec![0u8; size];
        match call(Some(&mut buf)) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(Errno::RANGE) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Errno::RANGE)
}

/// Sets an extended attribute on an open file or directory.
pub(crate) fn set_xattr_fd(fd: BorrowedFd<'_>, key: &[u8], value: &[u8]) -> Result<(), Errno> {
    rfs::fsetxattr(fd, key, value, rfs::XattrFlags::empty())
}

/// Sets an extended attribute on `name` in `dir` without following it if it is a symlink.
pub(crate) fn set_xattr_at(
    dir: BorrowedFd<'_>,
    name: &[u8],
    key: &[u8],
    value: &[u8],
) -> Result<(), Errno> {
    rfs::lsetxattr(proc_path(dir, name), key, value, rfs::XattrFlags::empty())
}

pub(crate) fn chown_fd(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> Result<(), Errno> {
    rfs::fchown(fd, Some(uid_of(uid)), Some(gid_of(gid)))
}

pub(crate) fn chown_at(dir: BorrowedFd<'_>, name: &[u8], uid: u32, gid: u32) -> Result<(), Errno> {
    rfs::chownat(
        dir,
        name,
        Some(uid_of(uid)),
        Some(gid_of(gid)),
        AtFlags::SYMLINK_NOFOLLOW,
    )
}

pub(crate) fn chmod_fd(fd: BorrowedFd<'_>, mode: u32) -> Result<(), Errno> {
    rfs::fchmod(fd, Mode::from_raw_mode(mode & 0o7777))
}

/// `chmod` of a device or fifo we just created by `name` in `dir`. `fchmodat` has no no-follow
/// flag on Linux; the name is a node we made ourselves a moment ago, not a symlink.
pub(crate) fn chmod_node_at(dir: BorrowedFd<'_>, name: &[u8], mode: u32) -> Result<(), Errno> {
    rfs::chmodat(
        dir,
        name,
        Mode::from_raw_mode(mode & 0o7777),
        AtFlags::empty(),
    )
}

pub(crate) fn set_times_fd(fd: BorrowedFd<'_>, times: &Timestamps) -> Result<(), Errno> {
    rfs::futimens(fd, times)
}

pub(crate) fn set_times_at(
    dir: BorrowedFd<'_>,
    name: &[u8],
    times: &Timestamps,
) -> Result<(), Errno> {
    rfs::utimensat(dir, name, times, AtFlags::SYMLINK_NOFOLLOW)
}

/// `syncfs` on the filesystem holding `path`.
pub(crate) fn syncfs_path(path: &Path) -> io::Result<()> {
    let fd = open_dir_path(path)?;
    Ok(rfs::syncfs(fd.as_fd())?)
}

fn uid_of(uid: u32) -> rfs::Uid {
    rfs::Uid::from_raw_unchecked(uid)
}

fn gid_of(gid: u32) -> rfs::Gid {
    rfs::Gid::from_raw_unchecked(gid)
}

/// Shows a path given by the caller in error messages.
pub(crate) fn show_path(path: &Path) -> String {
    String::from_utf8_lossy(path.as_os_str().as_bytes()).into_owned()
}
