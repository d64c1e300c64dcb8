//! The daemon's side of `cp` on an open [`ContainerFs`]: stat a path, archive it, unpack a tar
//! into a directory. Paths are container paths (relative to its `/`); every lookup goes through
//! [`open_in_root`].

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use berth_archive::{unpack_layer, write_tree, DiffStats, TreeOptions, UnpackOptions};
use chrono::{DateTime, SecondsFormat, Utc};
use rustix::fs::OFlags;
use rustix::io::Errno;

use super::overwrite::refuse_tar_overwrites;
use super::paths::{base, container_abs, join_link, split_last_slash};
use super::resolve::{fd_path, is_symlink, lstat_in, open_in_root, proc_fd};
use super::{
    archive_error_text, go_reason, go_reason_text, ContainerFs, CopyError, ExtractOptions, PathStat,
};
use crate::EngineError;

/// Docker's refusals when unpacking into a container.
const NOT_A_DIRECTORY: &str = "extraction point is not a directory";
const VOLUME_READ_ONLY: &str = "mounted volume is marked read-only";
const ROOTFS_READ_ONLY: &str = "container rootfs is marked read-only";

impl ContainerFs {
    /// What is at `path`, its last element not followed (`HEAD /containers/{id}/archive`).
    pub fn stat(&self, path: &str) -> Result<PathStat, CopyError> {
        let abs = container_abs(path);
        let (dir, last) = split_last_slash(&abs);
        let fail = |e| self.lookup_error(path, &abs, e);
        let dir_fd =
            open_in_root(self.root.as_fd(), dir, OFlags::PATH | OFlags::DIRECTORY).map_err(fail)?;
        let st = lstat_in(dir_fd.as_fd(), last).map_err(fail)?;
        let link_target = if is_symlink(&st) {
            self.link_target(&abs, dir_fd.as_fd(), last)
        } else {
            String::new()
        };
        let mtime = DateTime::<Utc>::from_timestamp(st.st_mtime, st.st_mtime_nsec as u32)
            .unwrap_or_default()
            .to_rfc3339_opts(SecondsFormat::AutoSi, true);
        Ok(PathStat {
            name: base(&abs),
            size: st.st_size,
            mode: st.st_mode,
            mtime,
            link_target,
        })
    }

    /// Writes `path` as a tar to `out` (`GET /containers/{id}/archive`). The top entry is named
    /// `name`, or by Docker's rule the last element of the path; an empty name writes a
    /// directory's content only.
    pub fn archive(
        &self,
        path: &str,
        name: Option<&str>,
        out: impl Write,
    ) -> Result<DiffStats, CopyError> {
        self.stat(path)?;
        let abs = container_abs(path);
        let (dir, last) = split_last_slash(&abs);
        let dir_fd = self
            .open_dir(dir)
            .map_err(|e| self.lookup_error(path, &abs, e))?;
        let default_name = match base(&abs).as_str() {
            "/" => ".".to_string(),
            b => b.to_string(),
        };
        write_item(dir_fd.as_fd(), last, name.unwrap_or(&default_name), out)
            .map_err(|e| EngineError::Other(archive_error_text(&e)).into())
    }

    /// Unpacks the tar `tar` (plain or compressed) into the directory `path`, which must exist;
    /// a symlink there is followed inside the container (`PUT /containers/{id}/archive`).
    pub fn extract(
        &self,
        path: &str,
        tar: impl Read + Send,
        opts: &ExtractOptions,
    ) -> Result<(), CopyError> {
        let dir = self.extraction_dir(path)?;
        let tar = berth_archive::decompress(tar)
            .map_err(|e| EngineError::Other(archive_error_text(&e)))?;
        if !opts.no_overwrite_dir_non_dir {
            return self.unpack(dir.as_fd(), tar, opts.copy_uid_gid);
        }
        // The tar is kept aside so its entries can be checked before anything is written.
        let mut spool: File =
            tempfile::tempfile().map_err(EngineError::io("buffering the tar stream"))?;
        let mut tar = tar;
        std::io::copy(&mut tar, &mut spool).map_err(EngineError::io("reading the tar stream"))?;
        spool
            .rewind()
            .map_err(EngineError::io("rereading the tar stream"))?;
        let shown = self
            .container_path(dir.as_fd())
            .unwrap_or_else(|_| path.to_string());
        refuse_tar_overwrites(&mut spool, dir.as_fd(), &shown)
            .map_err(EngineError::InvalidArgument)?;
        spool
            .rewind()
            .map_err(EngineError::io("rereading the tar stream"))?;
        self.unpack(dir.as_fd(), spool, opts.copy_uid_gid)
    }

    /// The directory a tar is unpacked into: it must exist and be writable here.
    pub(crate) fn extraction_dir(&self, path: &str) -> Result<OwnedFd, CopyError> {
        let abs = container_abs(path);
        let dir = open_in_root(self.root.as_fd(), &abs, OFlags::RDONLY | OFlags::DIRECTORY)
            .map_err(|e| match e {
                Errno::NOTDIR => EngineError::InvalidArgument(NOT_A_DIRECTORY.into()).into(),
                e => self.lookup_error(path, &abs, e),
            })?;
        self.check_writable(dir.as_fd())?;
        Ok(dir)
    }

    /// Unpacks into an extraction directory: entries never land outside it; owned by root
    /// unless the tar's owners are kept.
    pub(crate) fn unpack(
        &self,
        dir: BorrowedFd<'_>,
        tar: impl Read,
        keep_owners: bool,
    ) -> Result<(), CopyError> {
        let opts = UnpackOptions {
            overlay_whiteouts: false,
            owner: (!keep_owners).then_some((0, 0)),
        };
        unpack_layer(tar, &proc_fd(dir), &opts)
            .map(drop)
            .map_err(|e| EngineError::Other(archive_error_text(&e)).into())
    }

    /// The directory part of a path, resolved inside the root (for archiving what is in it).
    pub(crate) fn open_dir(&self, dir: &str) -> Result<OwnedFd, Errno> {
        open_in_root(self.root.as_fd(), dir, OFlags::RDONLY | OFlags::DIRECTORY)
    }

    /// The container path of an open descriptor.
    pub(crate) fn container_path(&self, fd: BorrowedFd<'_>) -> Result<String, Errno> {
        let at = fd_path(fd)?;
        let rel = at.strip_prefix(&self.root_path).map_err(|_| Errno::XDEV)?;
        Ok(format!("/{}", rel.to_string_lossy()))
    }

    /// Docker refuses to write into a read-only volume, or outside volumes into a read-only
    /// rootfs.
    fn check_writable(&self, dir: BorrowedFd<'_>) -> Result<(), CopyError> {
        let at = self.container_path(dir).map_err(|e| {
            EngineError::Other(format!(
                "locating the extraction point: {}",
                go_reason_text(&e.to_string())
            ))
        })?;
        let mount = self
            .mounts
            .iter()
            .filter(|(dest, _)| at == *dest || dest == "/" || at.starts_with(&format!("{dest}/")))
            .max_by_key(|(dest, _)| dest.len());
        match mount {
            Some((_, false)) => Err(EngineError::InvalidArgument(VOLUME_READ_ONLY.into()).into()),
            None if self.readonly_rootfs => {
                Err(EngineError::InvalidArgument(ROOTFS_READ_ONLY.into()).into())
            }
            _ => Ok(()),
        }
    }

    /// Where a symlink leads, as Docker reports it: resolved inside the container when it can
    /// be, else its target joined to its directory.
    fn link_target(&self, abs: &str, dir: BorrowedFd<'_>, last: &str) -> String {
        if let Ok(fd) = open_in_root(self.root.as_fd(), abs, OFlags::PATH) {
            if let Ok(p) = self.container_path(fd.as_fd()) {
                return p;
            }
        }
        match rustix::fs::readlinkat(dir, last, Vec::new()) {
            Ok(t) => join_link(abs, &t.to_string_lossy()),
            Err(_) => String::new(),
        }
    }

    /// Docker's answers for a path that cannot be looked up.
    fn lookup_error(&self, path: &str, abs: &str, e: Errno) -> CopyError {
        match e {
            Errno::NOENT => EngineError::NotFound(format!(
                "Could not find the file {path} in container {}",
                self.name
            ))
            .into(),
            e => EngineError::Other(format!("lstat {abs}: {}", go_reason(&e.into()))).into(),
        }
    }
}

/// Writes `last` in the directory `dir` (the directory itself when `last` is empty or `.`) as a
/// tar whose top entry is `name`.
pub(crate) fn write_item(
    dir: BorrowedFd<'_>,
    last: &str,
    name: &str,
    out: impl Write,
) -> Result<DiffStats, berth_archive::ArchiveError> {
    let path = (!last.is_empty() && last != ".").then(|| last.into());
    let opts = TreeOptions {
        path,
        name: Some(name.to_string()),
    };
    write_tree(&proc_fd(dir), out, &opts)
}
