//! Creating each kind of entry in its directory, with its owner, mode, attributes and times.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};

use rustix::fs::{self as rfs, FileType, Mode};
use rustix::io::Errno;
use tar::EntryType;

use crate::dirfd;
use crate::error::{ArchiveError, Result};
use crate::header::EntryMeta;
use crate::name::RelPath;
use crate::whiteout::{self, OPAQUE_XATTR};

/// An entry being unpacked: where it goes and how to name it in errors.
pub(super) struct Target<'a> {
    pub(super) shown: &'a str,
    pub(super) path: &'a RelPath,
    pub(super) dir: BorrowedFd<'a>,
    pub(super) name: &'a [u8],
}

impl Target<'_> {
    pub(super) fn io(&self, op: &'static str) -> impl FnOnce(Errno) -> ArchiveError + '_ {
        move |e| ArchiveError::io(op, self.shown, e)
    }
}

/// A directory entry: a new directory, or the metadata of the existing one it merges into.
pub(super) fn make_dir(target: &Target<'_>, meta: &EntryMeta, opaque: bool) -> Result<()> {
    match rfs::mkdirat(target.dir, target.name, Mode::from_raw_mode(0o700)) {
        Ok(()) | Err(Errno::EXIST) => {}
        Err(e) => return Err(target.io("creating")(e)),
    }
    let fd = dirfd::open_child_dir(target.dir, target.name).map_err(target.io("opening"))?;
    set_fd_meta(fd.as_fd(), meta, target.shown)?;
    if opaque {
        // The layer deleted this directory of the layers below and made a new one.
        dirfd::set_xattr_fd(fd.as_fd(), OPAQUE_XATTR.as_bytes(), b"y")
            .map_err(target.io("marking opaque"))?;
    }
    Ok(())
}

/// A regular file with the entry's content; returns its size. `expected` is the size the
/// header announced, checked because the tar crate ends a short stream without an error.
pub(super) fn write_file<R: Read>(
    buf: &mut [u8],
    target: &Target<'_>,
    data: &mut R,
    meta: &EntryMeta,
    expected: Option<u64>,
) -> Result<u64> {
    let fd = dirfd::create_file(target.dir, target.name).map_err(target.io("creating"))?;
    let mut file = File::from(fd);
    let mut written: u64 = 0;
    loop {
        let n = match data.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ArchiveError::Read(e)),
        };
        file.write_all(&buf[..n])
            .map_err(|e| ArchiveError::io("writing", target.shown, e))?;
        written += n as u64;
    }
    if expected.is_some_and(|size| size != written) {
        return Err(ArchiveError::Read(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("the tar stream ends inside {:?}", target.shown),
        )));
    }
    set_fd_meta(file.as_fd(), meta, target.shown)?;
    dirfd::set_times_fd(file.as_fd(), &meta.times).map_err(target.io("setting the times of"))?;
    Ok(written)
}

/// Owner, then mode (a change of owner clears setuid/setgid), then extended attributes (a change
/// of owner also clears `security.capability`).
pub(super) fn set_fd_meta(fd: BorrowedFd<'_>, meta: &EntryMeta, shown: &str) -> Result<()> {
    let io = |op| move |e: Errno| ArchiveError::io(op, shown, e);
    dirfd::chown_fd(fd, meta.uid, meta.gid).map_err(io("changing the owner of"))?;
    dirfd::chmod_fd(fd, meta.mode).map_err(io("setting the mode of"))?;
    set_xattrs(meta, shown, |key, value| {
        dirfd::set_xattr_fd(fd, key, value)
    })
}

pub(super) fn make_symlink(target: &Target<'_>, link: &[u8], meta: &EntryMeta) -> Result<()> {
    rfs::symlinkat(link, target.dir, target.name).map_err(target.io("creating"))?;
    dirfd::chown_at(target.dir, target.name, meta.uid, meta.gid)
        .map_err(target.io("changing the owner of"))?;
    set_xattrs(meta, target.shown, |key, value| {
        dirfd::set_xattr_at(target.dir, target.name, key, value)
    })?;
    dirfd::set_times_at(target.dir, target.name, &meta.times)
        .map_err(target.io("setting the times of"))
}

pub(super) fn make_node(target: &Target<'_>, kind: EntryType, meta: &EntryMeta) -> Result<()> {
    let (file_type, dev) = match kind {
        EntryType::Char => (
            FileType::CharacterDevice,
            rfs::makedev(meta.device.0, meta.device.1),
        ),
        EntryType::Block => (
            FileType::BlockDevice,
            rfs::makedev(meta.device.0, meta.device.1),
        ),
        _ => (FileType::Fifo, 0),
    };
    rfs::mknodat(target.dir, target.name, file_type, Mode::empty(), dev)
        .map_err(target.io("creating"))?;
    dirfd::chown_at(target.dir, target.name, meta.uid, meta.gid)
        .map_err(target.io("changing the owner of"))?;
    dirfd::chmod_node_at(target.dir, target.name, meta.mode)
        .map_err(target.io("setting the mode of"))?;
    set_xattrs(meta, target.shown, |key, value| {
        dirfd::set_xattr_at(target.dir, target.name, key, value)
    })?;
    dirfd::set_times_at(target.dir, target.name, &meta.times)
        .map_err(target.io("setting the times of"))
}

/// Applies the entry's extended attributes except overlay's own. As Docker, an attribute the
/// kernel does not let us set (EPERM, e.g. `user.*` on a symlink) is logged and skipped.
fn set_xattrs(
    meta: &EntryMeta,
    shown: &str,
    mut set: impl FnMut(&[u8], &[u8]) -> std::result::Result<(), Errno>,
) -> Result<()> {
    for (key, value) in &meta.xattrs {
        if whiteout::is_overlay_xattr(key) {
            continue;
        }
        match set(key, value) {
            Ok(()) => {}
            Err(Errno::PERM) => tracing::warn!(
                entry = shown,
                xattr = %String::from_utf8_lossy(key),
                "extended attribute not permitted here; skipped"
            ),
            Err(e) => return Err(ArchiveError::io("setting extended attributes of", shown, e)),
        }
    }
    Ok(())
}
