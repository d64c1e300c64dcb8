//! The host's side of `cp`, as Docker's CLI treats local paths: made absolute from the current
//! directory, symlinks of the source's directories resolved (and of the source too with `-L`),
//! a destination symlink followed, and the destination's parent required.

use std::fs;
use std::io;

use super::paths::{
    base, clean, dir, join_link, keep_trailing, rebase_name, split_dir_entry, split_last_slash,
};
use super::place::CopyInfo;
use super::{go_reason, CopyError};

/// Symlinks followed at most this many times for a destination (Docker's limit).
const MAX_DEST_LINKS: usize = 10;

/// A local path made absolute, its trailing `/` or `/.` kept.
pub(crate) fn absolute(path: &str) -> Result<String, CopyError> {
    let joined = if path.starts_with('/') {
        path.to_string()
    } else {
        let cwd =
            std::env::current_dir().map_err(|e| client(format!("getwd: {}", go_reason(&e))))?;
        format!("{}/{path}", cwd.to_string_lossy())
    };
    Ok(keep_trailing(&clean(&joined), path))
}

/// Docker's `ValidateOutputPath`: the destination's directory must exist, and the destination,
/// if it exists, must be a directory or a regular file.
pub(crate) fn validate_output_path(path: &str) -> Result<(), CopyError> {
    let parent = dir(&clean(path));
    if parent != "." {
        if let Err(e) = fs::metadata(&parent) {
            if e.kind() == io::ErrorKind::NotFound {
                return Err(client(format!(
                    "invalid output path: directory {parent:?} does not exist"
                )));
            }
        }
    }
    match fs::metadata(path) {
        Ok(m) if !m.is_dir() && !m.is_file() => Err(client(format!(
            "invalid output path: {path:?} must be a directory or a regular file"
        ))),
        _ => Ok(()),
    }
}

/// Docker's `CopyInfoSourcePath`: the source with its directories' symlinks resolved (the source
/// itself too with `follow`), which must exist.
pub(crate) fn source_info(abs: &str, follow: bool) -> Result<CopyInfo, CopyError> {
    let (resolved, rebase) = if follow {
        let real = eval_symlinks(abs)?;
        rebase_name(abs, &real)
    } else {
        let (dir, last) = split_last_slash(abs);
        let real_dir = eval_symlinks(dir)?;
        let resolved = format!("{}/{last}", real_dir.trim_end_matches('/'));
        let rebase = (abs.ends_with('/') && base(abs) != base(&resolved)).then(|| base(abs));
        (resolved, rebase)
    };
    let meta = fs::symlink_metadata(&resolved)
        .map_err(|e| client(format!("lstat {resolved}: {}", go_reason(&e))))?;
    Ok(CopyInfo {
        path: resolved,
        exists: true,
        is_dir: meta.is_dir(),
        rebase,
    })
}

/// Docker's `CopyInfoDestinationPath`: the destination with symlinks followed (a dangling one
/// names the file to create); a missing destination needs an existing parent directory.
pub(crate) fn destination_info(abs: &str) -> Result<CopyInfo, CopyError> {
    let mut path = abs.to_string();
    let mut meta = fs::symlink_metadata(&path);
    let mut followed = 0;
    while let Ok(m) = &meta {
        if !m.file_type().is_symlink() {
            break;
        }
        if followed == MAX_DEST_LINKS {
            return Err(client(format!("too many symlinks in {abs}")));
        }
        followed += 1;
        let target = fs::read_link(&path)
            .map_err(|e| client(format!("readlink {path}: {}", go_reason(&e))))?;
        path = join_link(&path, &target.to_string_lossy());
        meta = fs::symlink_metadata(&path);
    }
    match meta {
        Ok(m) => Ok(CopyInfo {
            path,
            exists: true,
            is_dir: m.is_dir(),
            rebase: None,
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let (parent, _) = split_dir_entry(&path);
            let pm = fs::metadata(&parent)
                .map_err(|e| client(format!("stat {parent}: {}", go_reason(&e))))?;
            if !pm.is_dir() {
                return Err(client("not a directory".into()));
            }
            Ok(CopyInfo {
                path,
                ..Default::default()
            })
        }
        Err(e) => Err(client(format!("lstat {path}: {}", go_reason(&e)))),
    }
}

/// Go's `filepath.EvalSymlinks`: every symlink resolved; the path must exist.
fn eval_symlinks(path: &str) -> Result<String, CopyError> {
    fs::canonicalize(path)
        .map(|p| p.to_string_lossy().into_owned())
        .map_err(|e| {
            let shown = match path.trim_end_matches('/') {
                "" => "/",
                p => p,
            };
            client(format!("lstat {shown}: {}", go_reason(&e)))
        })
}

fn client(message: String) -> CopyError {
    CopyError::Client(message)
}
