//! Unpacking a layer tar into a directory in overlayfs lowerdir form.

mod budget;
mod create;
mod hardlink;

use std::io::{self, BufReader, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::fs::{self as rfs, FileType, Mode, Timestamps};
use rustix::io::Errno;
use tar::EntryType;

use self::budget::Budgeted;
use self::create::Target;
use crate::dirfd;
use crate::error::{ArchiveError, EscapeReason, Result};
use crate::header::EntryMeta;
use crate::name::{self, RelPath};
use crate::parents::{Parents, WalkError};
use crate::whiteout::{self, Whiteout, OPAQUE_XATTR};

/// Read size for the tar stream and for file contents: large enough that a decompressor is called
/// rarely, small enough to stay in cache.
const COPY_BUF: usize = 256 * 1024;

/// How [`unpack_layer`] writes what it reads.
#[derive(Debug, Clone)]
pub struct UnpackOptions {
    /// Turn OCI whiteouts into overlay ones (the layer form; the default). When `false`, `.wh.`
    /// entries are written as the plain files they look like, as `docker cp` and `ADD` do.
    pub overlay_whiteouts: bool,
    /// Give every entry this `(uid, gid)` instead of the owner recorded in the tar.
    pub owner: Option<(u32, u32)>,
}

impl Default for UnpackOptions {
    fn default() -> Self {
        Self {
            overlay_whiteouts: true,
            owner: None,
        }
    }
}

/// What [`unpack_layer`] unpacked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnpackStats {
    /// Sum of the sizes of the regular files, which Docker reports as the layer's size.
    pub size: u64,
    /// Number of tar entries applied (whiteouts included, skipped AUFS bookkeeping not).
    pub entries: u64,
}

/// Unpacks the (uncompressed) layer tar `tar` into the existing directory `dest`.
///
/// Entries are created relative to directory descriptors, never through a symlink, and an entry
/// that would land outside `dest` stops the unpacking with [`ArchiveError::Escape`]: nothing
/// outside `dest` is ever created or changed. On any error `dest` is left half-written; the caller
/// removes it.
///
/// `dest` is meant to be empty. Whatever it holds is treated like earlier entries of the tar: a
/// symlink in it is replaced or refused, never followed.
///
/// The reader is read to its very end, past the tar's end marker, so a digest computed over it
/// covers the whole stream.
pub fn unpack_layer<R: Read>(tar: R, dest: &Path, opts: &UnpackOptions) -> Result<UnpackStats> {
    let root = dirfd::open_dir_path(dest)
        .map_err(|e| ArchiveError::io("opening", dirfd::show_path(dest), e))?;
    let mut layer = Layer {
        parents: Parents::new(root, opts.overlay_whiteouts),
        opts,
        dir_times: Vec::new(),
        stats: UnpackStats::default(),
        buf: vec![0; COPY_BUF],
    };
    let (input, budget) = Budgeted::new(BufReader::with_capacity(COPY_BUF, tar));
    let mut archive = tar::Archive::new(input);
    let mut entries = archive.entries().map_err(ArchiveError::Read)?;
    loop {
        budget.arm();
        let next = entries.next();
        budget.disarm();
        let Some(entry) = next else { break };
        let mut entry = entry.map_err(ArchiveError::Read)?;
        layer.entry(&mut entry)?;
        // What an entry leaves unread (the data of a skipped one) is skipped here, outside the
        // budget of the next entry's headers.
        io::copy(&mut entry, &mut io::sink()).map_err(ArchiveError::Read)?;
    }
    layer.apply_dir_times()?;
    io::copy(&mut archive.into_inner().into_inner(), &mut io::sink())
        .map_err(ArchiveError::Read)?;
    Ok(layer.stats)
}

struct Layer<'o> {
    parents: Parents,
    opts: &'o UnpackOptions,
    /// Directory times are set last: creating children changes them.
    dir_times: Vec<(RelPath, Timestamps)>,
    stats: UnpackStats,
    buf: Vec<u8>,
}

impl Layer<'_> {
    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<()> {
        let mut kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() {
            return Ok(());
        }
        let raw = entry.path_bytes().into_owned();
        // Pre-POSIX tars mark directories only by a trailing slash; Go's reader, and so Docker,
        // reads them as directories.
        if kind == EntryType::Regular && raw.ends_with(b"/") {
            kind = EntryType::Directory;
        }
        let shown = String::from_utf8_lossy(&raw).into_owned();
        let path = RelPath::parse(&raw).map_err(|e| match e {
            name::NameError::Escapes => ArchiveError::escape(&shown, EscapeReason::OutsideRoot),
            other => ArchiveError::invalid(&shown, other.describe()),
        })?;
        if whiteout::is_aufs_meta(&path) {
            return Ok(());
        }
        let meta = EntryMeta::read(entry, self.opts.owner)
            .map_err(|reason| ArchiveError::invalid(&shown, reason))?;
        self.stats.entries += 1;

        let Some((parent, name)) = path.split_last() else {
            return self.root_entry(kind, &meta, &shown);
        };
        if self.opts.overlay_whiteouts {
            match whiteout::classify(name) {
                Whiteout::Opaque => return self.opaque(parent, &shown),
                Whiteout::Remove(gone) => return self.whiteout(parent, gone, &meta, &shown),
                Whiteout::No => {}
            }
        }
        // A hardlink's target is checked before anything is created for the link itself.
        let link_target = if kind == EntryType::Link {
            Some(self.hardlink_target(entry, &shown)?)
        } else {
            None
        };
        let dir = self.parent(parent, &shown)?;
        let target = Target {
            shown: &shown,
            path: &path,
            dir: dir.as_fd(),
            name,
        };
        match kind {
            EntryType::Directory => {
                let replaced_whiteout = self.clear(&target, true)?;
                create::make_dir(&target, &meta, replaced_whiteout)?;
                self.dir_times.push((path.clone(), meta.times.clone()));
            }
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                self.clear(&target, false)?;
                let expected = (kind != EntryType::GNUSparse).then(|| entry.size());
                let written = create::write_file(&mut self.buf, &target, entry, &meta, expected)?;
                self.stats.size += written;
            }
            EntryType::Symlink => {
                let link = entry
                    .link_name_bytes()
                    .map(|l| l.into_owned())
                    .unwrap_or_default();
                if link.is_empty() {
                    return Err(ArchiveError::invalid(&shown, "symlink without a target"));
                }
                if !name::symlink_stays_inside(parent, &link) {
                    let target = String::from_utf8_lossy(&link).into_owned();
                    return Err(ArchiveError::escape(
                        &shown,
                        EscapeReason::SymlinkOutsideRoot { target },
                    ));
                }
                self.clear(&target, false)?;
                create::make_symlink(&target, &link, &meta)?;
            }
            EntryType::Link => {
                if let Some((link_dir, link_name)) = link_target {
                    self.make_hardlink(&target, link_dir.as_fd(), &link_name)?;
                }
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                self.clear(&target, false)?;
                create::make_node(&target, kind, &meta)?;
            }
            other => {
                return Err(ArchiveError::invalid(
                    &shown,
                    format!("unsupported entry type {:?}", other.as_byte() as char),
                ))
            }
        }
        Ok(())
    }

    /// The directory `parts`, with missing ones created; errors name the offending component.
    fn parent(&mut self, parts: &[Vec<u8>], shown: &str) -> Result<std::rc::Rc<OwnedFd>> {
        self.parents
            .dir(parts)
            .map_err(|e| walk_error(e, parts, shown))
    }

    /// `./` in the tar: the metadata of the layer root itself.
    fn root_entry(&mut self, kind: EntryType, meta: &EntryMeta, shown: &str) -> Result<()> {
        if kind != EntryType::Directory {
            return Err(ArchiveError::invalid(
                shown,
                "the layer root must be a directory",
            ));
        }
        create::set_fd_meta(self.parents.root(), meta, shown)?;
        self.dir_times
            .push((RelPath::default(), meta.times.clone()));
        Ok(())
    }

    /// `dir/.wh..wh..opq`: mark `dir` opaque.
    fn opaque(&mut self, dir: &[Vec<u8>], shown: &str) -> Result<()> {
        let fd = self.parent(dir, shown)?;
        dirfd::set_xattr_fd(fd.as_fd(), OPAQUE_XATTR.as_bytes(), b"y")
            .map_err(|e| ArchiveError::io("marking opaque", shown, e))
    }

    /// `dir/.wh.NAME`: a 0/0 character device named `NAME`.
    fn whiteout(
        &mut self,
        dir: &[Vec<u8>],
        gone: &[u8],
        meta: &EntryMeta,
        shown: &str,
    ) -> Result<()> {
        if gone.is_empty() || gone == b"." || gone == b".." {
            return Err(ArchiveError::invalid(shown, "whiteout of an invalid name"));
        }
        let fd = self.parent(dir, shown)?;
        let fd = fd.as_fd();
        let io = |op| move |e: Errno| ArchiveError::io(op, shown, e);
        // A whiteout only hides the layers below: an entry of this same layer keeps its place.
        if dirfd::lstat_at(fd, gone)
            .map_err(io("inspecting"))?
            .is_some()
        {
            return Ok(());
        }
        rfs::mknodat(fd, gone, FileType::CharacterDevice, Mode::empty(), 0)
            .map_err(io("creating whiteout"))?;
        dirfd::chown_at(fd, gone, meta.uid, meta.gid).map_err(io("changing the owner of"))?;
        dirfd::set_times_at(fd, gone, &meta.times).map_err(io("setting the times of"))
    }

    /// Makes room for the entry: removes what has its name, except a directory that a directory
    /// entry merges into. Returns whether an overlay whiteout was replaced.
    fn clear(&mut self, target: &Target<'_>, is_dir: bool) -> Result<bool> {
        let Some(st) = dirfd::lstat_at(target.dir, target.name).map_err(target.io("inspecting"))?
        else {
            return Ok(false);
        };
        if is_dir && st.is_dir() {
            return Ok(false);
        }
        if st.is_dir() {
            self.parents.forget_below(target.path.parts());
        }
        dirfd::remove_at(target.dir, target.name, &st).map_err(target.io("replacing"))?;
        Ok(self.opts.overlay_whiteouts && st.is_whiteout())
    }

    /// Sets the times of every directory, now that nothing more is created in them. A directory
    /// replaced by a later entry is skipped.
    fn apply_dir_times(&mut self) -> Result<()> {
        for (path, times) in &self.dir_times {
            let fd = match self.parents.existing(path.parts()) {
                Ok(fd) => fd,
                Err(WalkError::Io(op, e)) => {
                    let shown = String::from_utf8_lossy(&path.to_bytes()).into_owned();
                    return Err(ArchiveError::io(op, shown, e));
                }
                Err(_) => continue,
            };
            dirfd::set_times_fd(fd.as_fd(), times).map_err(|e| {
                ArchiveError::io(
                    "setting the times of",
                    String::from_utf8_lossy(&path.to_bytes()).into_owned(),
                    e,
                )
            })?;
        }
        Ok(())
    }
}

fn walk_error(e: WalkError, parts: &[Vec<u8>], shown: &str) -> ArchiveError {
    match e {
        WalkError::Symlink(i) => ArchiveError::escape(
            shown,
            EscapeReason::ThroughSymlink {
                symlink: name::show_prefix(parts, i + 1),
            },
        ),
        WalkError::NotDir(i) | WalkError::Missing(i) => ArchiveError::invalid(
            shown,
            format!("{:?} is not a directory", name::show_prefix(parts, i + 1)),
        ),
        WalkError::Io(op, e) => ArchiveError::io(op, shown, e),
    }
}
