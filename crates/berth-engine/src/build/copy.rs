//! Where `COPY` and `ADD` put things, as Docker's builder does: a directory source gives its
//! contents; a file goes into the destination when that is a directory (a trailing `/`, or
//! one that exists) and becomes the destination otherwise; missing directories are made (owned
//! by `--chown`, else root); `--parents` keeps the source's path; `--chmod` sets every mode.

use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use berth_build::context::{ContextEntry, EntryKind, Selected};

use super::error::BuildError;
use super::place::{is_dir, write_dir, write_file, write_symlink, Meta, Owner, Root};
pub(crate) use crate::image::changes::clean_path;

/// How the files of one `COPY`/`ADD` are placed.
pub(crate) struct CopyOptions {
    /// The destination in the image, absolute (WORKDIR applied), as written otherwise: a
    /// trailing `/` means a directory.
    pub dest: String,
    pub chown: Option<Owner>,
    pub chmod: Option<u32>,
    pub parents: bool,
    /// More than one source was named: the destination must be a directory.
    pub several: bool,
}

/// One thing to place.
pub(crate) enum Item<'a> {
    /// Files from the context or another image; `keep_owner` for images (`--from`).
    Selected { sel: &'a Selected, keep_owner: bool },
    /// A file with the given content (a heredoc, a download).
    File {
        name: &'a str,
        path: Option<&'a Path>,
        bytes: &'a [u8],
        mode: u32,
        mtime: Option<(i64, i64)>,
    },
    /// A tar archive to unpack into the destination (`ADD`).
    Archive { path: &'a Path },
}

impl CopyOptions {
    fn dest_is_dir_syntax(&self) -> bool {
        self.dest.ends_with('/') || self.dest.ends_with("/.") || self.dest == "."
    }

    fn dest_clean(&self) -> String {
        clean_path(&self.dest)
    }

    fn dir_owner(&self) -> Owner {
        self.chown.unwrap_or(Owner::ROOT)
    }

    /// A copied entry's mode, owner and mtime: `--chmod`/`--chown` win; otherwise its own mode,
    /// and its own owner only when it comes from an image (`keep_owner`), else root.
    fn meta_of(&self, entry: &ContextEntry, keep_owner: bool) -> Meta {
        let own = Owner {
            uid: entry.uid,
            gid: entry.gid,
        };
        Meta {
            mode: self.chmod.unwrap_or(entry.mode),
            owner: self
                .chown
                .unwrap_or(if keep_owner { own } else { Owner::ROOT }),
            mtime: Some(entry.mtime),
        }
    }
}

pub(crate) fn place(root: &Root, opts: &CopyOptions, items: &[Item]) -> Result<(), BuildError> {
    if opts.several && !opts.dest_is_dir_syntax() {
        return Err(BuildError::new(
            "When using COPY with more than one source file, the destination must be a directory and end with a /",
        ));
    }
    let dest = opts.dest_clean();
    let dest_exists_as_dir = root.stat(&dest).is_some_and(|st| is_dir(&st));
    let into_dir = opts.dest_is_dir_syntax() || dest_exists_as_dir;
    for item in items {
        match item {
            Item::Selected { sel, keep_owner } => {
                let target = if opts.parents {
                    join(&dest, &sel.path)
                } else if sel.is_dir {
                    dest.clone()
                } else if into_dir {
                    join(&dest, sel.base_name())
                } else {
                    dest.clone()
                };
                if sel.is_dir {
                    let fd = root.mkdir_all(&target, opts.dir_owner())?;
                    copy_tree(root, fd, &target, sel, *keep_owner, opts)?;
                } else {
                    let entry = &sel.entries[0];
                    let (parent, name) = split(&target);
                    let dir = root.mkdir_all(parent, opts.dir_owner())?;
                    let meta = opts.meta_of(entry, *keep_owner);
                    let mut file = File::open(&entry.host)
                        .map_err(|e| BuildError::new(format!("reading {}: {e}", sel.path)))?;
                    write_file(dir.as_fd(), name, &target, &mut file, meta)?;
                }
            }
            Item::File {
                name,
                path,
                bytes,
                mode,
                mtime,
            } => {
                let target = if into_dir {
                    join(&dest, name)
                } else {
                    dest.clone()
                };
                let (parent, file_name) = split(&target);
                let dir = root.mkdir_all(parent, opts.dir_owner())?;
                let meta = Meta {
                    mode: opts.chmod.unwrap_or(*mode),
                    owner: opts.dir_owner(),
                    mtime: *mtime,
                };
                match path {
                    Some(p) => {
                        let mut f = File::open(p)
                            .map_err(|e| BuildError::new(format!("reading {name}: {e}")))?;
                        write_file(dir.as_fd(), file_name, &target, &mut f, meta)?;
                    }
                    None => write_file(dir.as_fd(), file_name, &target, &mut &bytes[..], meta)?,
                }
            }
            Item::Archive { path } => {
                let dir = root.mkdir_all(&dest, opts.dir_owner())?;
                let host = fd_path(&dir)?;
                let file = File::open(path)
                    .map_err(|e| BuildError::new(format!("reading {}: {e}", path.display())))?;
                let decoded = berth_archive::decompress(file)
                    .map_err(|e| BuildError::new(format!("reading {}: {e}", path.display())))?;
                berth_archive::unpack_layer(decoded, &host, &Default::default())
                    .map_err(|e| BuildError::new(format!("unpacking {}: {e}", path.display())))?;
            }
        }
    }
    Ok(())
}

/// Copies what is below a selected directory into the open directory `top` (`shown`).
fn copy_tree(
    root: &Root,
    top: OwnedFd,
    shown: &str,
    sel: &Selected,
    keep_owner: bool,
    opts: &CopyOptions,
) -> Result<(), BuildError> {
    // Open directories from `top` down to the current entry's parent: entries come parents
    // first, depth first, so a stack holds only one branch (and few descriptors).
    let mut stack: Vec<(String, OwnedFd)> = vec![(String::new(), top)];
    for e in &sel.entries {
        let (parent, name) = match e.rel.rsplit_once('/') {
            Some((p, n)) => (p, n),
            None => ("", e.rel.as_str()),
        };
        while stack.last().is_some_and(|(rel, _)| {
            !(rel.is_empty() || parent == rel || parent.starts_with(&format!("{rel}/")))
        }) {
            stack.pop();
        }
        // Directories the walk did not list (hidden by .dockerignore, with an exception
        // inside) are made as plain ones.
        loop {
            let top_rel = stack.last().map(|(r, _)| r.clone()).unwrap_or_default();
            if top_rel == parent {
                break;
            }
            let rest = if top_rel.is_empty() {
                parent
            } else {
                &parent[top_rel.len() + 1..]
            };
            let next = rest.split('/').next().unwrap_or(rest);
            let rel = if top_rel.is_empty() {
                next.to_string()
            } else {
                format!("{top_rel}/{next}")
            };
            let shown_path = join(shown, &rel);
            let fd = {
                let (_, dir) = stack
                    .last()
                    .ok_or_else(|| BuildError::new("copy: lost the destination directory"))?;
                write_dir(
                    root,
                    dir.as_fd(),
                    next,
                    &shown_path,
                    Meta {
                        mode: 0o755,
                        owner: opts.dir_owner(),
                        mtime: None,
                    },
                )?
            };
            stack.push((rel, fd));
        }
        let meta = opts.meta_of(e, keep_owner);
        let shown_path = join(shown, &e.rel);
        let (_, dir) = stack
            .last()
            .ok_or_else(|| BuildError::new("copy: lost the destination directory"))?;
        let dir = dir.as_fd();
        match &e.kind {
            EntryKind::Dir => {
                let fd = write_dir(root, dir, name, &shown_path, meta)?;
                stack.push((e.rel.clone(), fd));
            }
            EntryKind::File => {
                let mut file = File::open(&e.host)
                    .map_err(|err| BuildError::new(format!("reading {}: {err}", e.rel)))?;
                write_file(dir, name, &shown_path, &mut file, meta)?;
            }
            EntryKind::Symlink(target) => {
                write_symlink(dir, name, &shown_path, target, meta.owner)?
            }
            EntryKind::Other => {}
        }
    }
    Ok(())
}

/// Where an open directory is on this host.
fn fd_path(fd: &OwnedFd) -> Result<std::path::PathBuf, BuildError> {
    use std::os::fd::AsRawFd;
    std::fs::read_link(format!("/proc/thread-self/fd/{}", fd.as_raw_fd()))
        .map_err(|e| BuildError::new(format!("finding the destination: {e}")))
}

fn join(dir: &str, name: &str) -> String {
    if name.is_empty() || name == "." {
        dir.to_string()
    } else if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// `/a/b/c` → (`/a/b`, `c`).
fn split(path: &str) -> (&str, &str) {
    match path.rsplit_once('/') {
        Some(("", name)) => ("/", name),
        Some((parent, name)) => (parent, name),
        None => ("/", path),
    }
}

/// `--chown=user[:group]`: numbers, or names from the image's `/etc/passwd` and `/etc/group`.
/// A user alone gives the same number as group, as Docker does.
pub(crate) fn resolve_chown(root: &Root, spec: &str) -> Result<Owner, BuildError> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let lookup = |file: &str, name: &str, kind: &str| -> Result<u32, BuildError> {
        if let Ok(n) = name.parse::<u32>() {
            return Ok(n);
        }
        let text = root.read(file).unwrap_or_default();
        String::from_utf8_lossy(&text)
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() > 2 && f[0] == name).then(|| f[2].parse::<u32>().ok())
            })
            .flatten()
            .next()
            .ok_or_else(|| {
                BuildError::new(format!(
                    "unable to convert uid/gid chown string to host mapping: can't find {kind} for {kind} name {name:?}"
                ))
            })
    };
    let uid = lookup("/etc/passwd", user, "uid")?;
    let gid = match group {
        Some(g) => lookup("/etc/group", g, "gid")?,
        None => uid,
    };
    Ok(Owner { uid, gid })
}

/// `--chmod=0755`.
pub(crate) fn parse_chmod(spec: &str) -> Result<u32, BuildError> {
    u32::from_str_radix(spec, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| {
            BuildError::new(format!(
                "invalid chmod parameter: {spec:?} (an octal mode, like 0755)"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_and_join() {
        assert_eq!(split("/a/b"), ("/a", "b"));
        assert_eq!(split("/a"), ("/", "a"));
        assert_eq!(join("/app/", "x"), "/app/x");
        assert_eq!(join("/app", "."), "/app");
        assert_eq!(parse_chmod("0755").unwrap(), 0o755);
        assert!(parse_chmod("u+x").is_err());
    }
}
