//! Small filesystem helpers for crash-safe writes.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rand::Rng;

use crate::error::{IoContext, Result};

/// A random name for temporary files and directories.
pub(crate) fn random_name(prefix: &str) -> String {
    let n: u64 = rand::thread_rng().gen();
    format!("{prefix}{n:016x}")
}

/// Creates a new file with a random name in `dir`.
pub(crate) fn create_temp_file(dir: &Path) -> Result<(File, PathBuf)> {
    loop {
        let path = dir.join(random_name("tmp-"));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&path)
        {
            Ok(f) => return Ok((f, path)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).ctx("creating", path),
        }
    }
}

/// Replaces `path` with `bytes` atomically: temp file, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let (mut f, tmp) = create_temp_file(dir)?;
    let res = f
        .write_all(bytes)
        .and_then(|_| f.sync_all())
        .and_then(|_| fs::rename(&tmp, path));
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res.ctx("writing", path)
}

/// Removes a directory tree; a missing one is fine. Renames it aside first so that a crash in
/// the middle leaves a `trash-*` entry (swept by `system check --repair`) rather than a
/// half-deleted directory under its real name.
pub(crate) fn remove_dir_all_atomic(path: &Path) -> Result<()> {
    let Some(parent) = path.parent() else {
        return Ok(());
    };
    let trash = parent.join(random_name("trash-"));
    match fs::rename(path, &trash) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).ctx("removing", path),
    }
    remove_tree(&trash)
}

/// Removes a tree that may hold overlay whiteouts and immutable-less root-owned files.
pub(crate) fn remove_tree(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e).ctx("removing", path),
        _ => Ok(()),
    }
}
