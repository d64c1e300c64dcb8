//! Docker's `NoOverwriteDirNonDir`, checked before anything is written: a copy never replaces
//! a directory by a file or a file by a directory (unpacking alone would remove what is in the
//! way, a whole directory included).

use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{self as rfs, Dir, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use super::resolve::{is_dir, lstat_in};

/// Walks the source item (`src_last` in `src_dir`; the directory itself when empty or `.`)
/// against what it would replace (`dst_name` in `dst_dir`, likewise), descending only where both
/// are directories. `shown` is the destination directory as the user knows it.
pub(crate) fn refuse_tree_overwrites(
    src_dir: BorrowedFd<'_>,
    src_last: &str,
    dst_dir: BorrowedFd<'_>,
    dst_name: &str,
    shown: &str,
) -> Result<(), String> {
    let shown_item = join(shown, dst_name);
    check(
        src_dir,
        self_name(src_last),
        dst_dir,
        self_name(dst_name),
        &shown_item,
        shown,
    )
}

fn self_name(name: &str) -> &str {
    if name == "." {
        ""
    } else {
        name
    }
}

fn check(
    src_dir: BorrowedFd<'_>,
    src_name: &str,
    dst_dir: BorrowedFd<'_>,
    dst_name: &str,
    shown: &str,
    extract_dir: &str,
) -> Result<(), String> {
    let fail = |e: Errno| format!("lstat {shown}: {}", super::go_reason(&e.into()));
    let src = lstat_in(src_dir, src_name).map_err(fail)?;
    let dst = match lstat_in(dst_dir, dst_name) {
        Ok(st) => st,
        Err(Errno::NOENT) => return Ok(()),
        Err(e) => return Err(fail(e)),
    };
    match (is_dir(&src), is_dir(&dst)) {
        (false, false) => Ok(()),
        (false, true) => Err(conflict("directory", "non-directory", shown, extract_dir)),
        (true, false) => Err(conflict("non-directory", "directory", shown, extract_dir)),
        (true, true) => {
            let src_fd = open_dir(src_dir, src_name).map_err(fail)?;
            let dst_fd = open_dir(dst_dir, dst_name).map_err(fail)?;
            let mut names = Vec::new();
            for entry in Dir::read_from(&src_fd).map_err(fail)? {
                let entry = entry.map_err(fail)?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if name != "." && name != ".." {
                    names.push(name);
                }
            }
            for name in names {
                check(
                    src_fd.as_fd(),
                    &name,
                    dst_fd.as_fd(),
                    &name,
                    &join(shown, &name),
                    extract_dir,
                )?;
            }
            Ok(())
        }
    }
}

/// Checks each entry of a tar against the directory it is about to be unpacked into; the
/// reader is read to its end.
pub(crate) fn refuse_tar_overwrites(
    tar: impl Read,
    dir: BorrowedFd<'_>,
    shown: &str,
) -> Result<(), String> {
    let mut archive = tar::Archive::new(tar);
    let entries = archive
        .entries()
        .map_err(|e| format!("reading the tar stream: {e}"))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("reading the tar stream: {e}"))?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() {
            continue;
        }
        let wants_dir = kind.is_dir() || (kind.is_file() && raw.ends_with('/'));
        let rel = super::paths::clean(&format!("/{raw}"));
        if rel == "/" {
            continue;
        }
        let (parent, name) = rel.rsplit_once('/').unwrap_or(("", &rel));
        // Only what is there now counts; a parent that is missing or not a plain directory
        // holds nothing to replace.
        let Ok(parent_fd) = rfs::openat2(
            dir,
            format!(".{parent}"),
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
        ) else {
            continue;
        };
        let Ok(st) = lstat_in(parent_fd.as_fd(), name) else {
            continue;
        };
        let shown_item = join(shown, rel.trim_start_matches('/'));
        match (wants_dir, is_dir(&st)) {
            (false, true) => {
                return Err(conflict("directory", "non-directory", &shown_item, shown))
            }
            (true, false) => {
                return Err(conflict("non-directory", "directory", &shown_item, shown))
            }
            _ => {}
        }
    }
    Ok(())
}

fn conflict(existing: &str, incoming: &str, path: &str, extract_dir: &str) -> String {
    format!("cannot overwrite {existing} {path:?} with {incoming} {extract_dir:?}")
}

fn open_dir(dir: BorrowedFd<'_>, name: &str) -> Result<OwnedFd, Errno> {
    let name = if name.is_empty() { "." } else { name };
    rfs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

fn join(dir: &str, name: &str) -> String {
    if name.is_empty() {
        dir.to_string()
    } else if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}
