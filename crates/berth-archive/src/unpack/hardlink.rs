//! Hardlink entries: the target must already be in the layer, reached without a symlink.

use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs as rfs;

use super::create::Target;
use super::Layer;
use crate::dirfd::{self, FileStat};
use crate::error::{ArchiveError, EscapeReason, Result};
use crate::name::{self, RelPath};
use crate::parents::WalkError;

impl Layer<'_> {
    /// Checks a hardlink's target and opens the directory holding it.
    pub(super) fn hardlink_target<R: Read>(
        &mut self,
        entry: &tar::Entry<'_, R>,
        shown: &str,
    ) -> Result<(OwnedFd, Vec<u8>)> {
        let raw = entry
            .link_name_bytes()
            .map(|l| l.into_owned())
            .unwrap_or_default();
        let target_shown = String::from_utf8_lossy(&raw).into_owned();
        let target = match RelPath::parse(&raw) {
            Ok(t) => t,
            Err(name::NameError::Escapes) => {
                return Err(ArchiveError::escape(
                    shown,
                    EscapeReason::HardlinkOutsideRoot {
                        target: target_shown,
                    },
                ))
            }
            Err(e) => return Err(ArchiveError::invalid(shown, e.describe())),
        };
        let Some((dir, name)) = target.split_last() else {
            return Err(ArchiveError::invalid(shown, "hardlink to the layer root"));
        };
        let missing = || {
            ArchiveError::invalid(
                shown,
                format!("hardlink target {target_shown:?} is not in this layer"),
            )
        };
        let dir_fd = match self.parents.existing(dir) {
            Ok(fd) => fd,
            Err(WalkError::Symlink(_)) => {
                return Err(ArchiveError::escape(
                    shown,
                    EscapeReason::HardlinkThroughSymlink {
                        target: target_shown,
                    },
                ))
            }
            Err(WalkError::Missing(_) | WalkError::NotDir(_)) => return Err(missing()),
            Err(WalkError::Io(op, e)) => return Err(ArchiveError::io(op, shown, e)),
        };
        match dirfd::lstat_at(dir_fd.as_fd(), name)
            .map_err(|e| ArchiveError::io("inspecting", shown, e))?
        {
            None => Err(missing()),
            Some(st) if st.is_dir() => Err(ArchiveError::invalid(shown, "hardlink to a directory")),
            Some(_) => Ok((dir_fd, name.to_vec())),
        }
    }

    /// Links the entry to the checked target, unless it already is that file.
    pub(super) fn make_hardlink(
        &mut self,
        target: &Target<'_>,
        from_dir: BorrowedFd<'_>,
        from: &[u8],
    ) -> Result<()> {
        let source = dirfd::lstat_at(from_dir, from).map_err(target.io("inspecting"))?;
        let existing = dirfd::lstat_at(target.dir, target.name).map_err(target.io("inspecting"))?;
        if let (Some(a), Some(b)) = (source, existing) {
            if same_inode(&a, &b) {
                return Ok(());
            }
        }
        self.clear(target, false)?;
        // Without AT_SYMLINK_FOLLOW: a link to a symlink links the symlink itself.
        rfs::linkat(
            from_dir,
            from,
            target.dir,
            target.name,
            rfs::AtFlags::empty(),
        )
        .map_err(target.io("linking"))
    }
}

fn same_inode(a: &FileStat, b: &FileStat) -> bool {
    a.dev == b.dev && a.ino == b.ino
}
