//! The build context: the directory whose files `COPY` and `ADD` take, seen through its
//! `.dockerignore`.
//!
//! [`Context::select`] finds what one source of a `COPY` names (wildcards, a directory's
//! contents, a symlink followed inside the context), and [`Context::digest`] sums up what was
//! selected — names, types, modes, bytes, link targets; never times — for the step's cache key.
//! A path never leads out of the context: `..` stops at its root, and symlinks are resolved
//! as if the context were `/`.
//!
//! ```
//! use berth_build::context::{ChecksumCache, Context, IgnoreRules};
//!
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::create_dir(dir.path().join("src")).unwrap();
//! std::fs::write(dir.path().join("src/main.c"), "int main;").unwrap();
//! std::fs::write(dir.path().join("notes.tmp"), "x").unwrap();
//! let rules = IgnoreRules::parse("*.tmp").unwrap();
//! let ctx = Context::new(dir.path(), rules, ChecksumCache::in_memory());
//!
//! let all = ctx.select(".", &IgnoreRules::default()).unwrap();
//! let names: Vec<&str> = all[0].entries.iter().map(|e| e.rel.as_str()).collect();
//! assert_eq!(names, ["src", "src/main.c"]);
//! assert!(ctx.select("notes.tmp", &IgnoreRules::default()).is_err());
//! let digest = ctx.digest(&all).unwrap();
//! assert_eq!(digest.len(), 64);
//! ```

mod checksum;
mod glob;
mod ignore;
mod walk;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

pub use checksum::{hash_file, ChecksumCache, FileStamp};
pub use glob::has_wildcards;
pub use ignore::IgnoreRules;

use glob::ElementPattern;
use ignore::clean;

/// Why the context could not give what a step asked for.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("invalid pattern {pattern:?}: {message}")]
    Pattern { pattern: String, message: String },
    /// BuildKit's words for a source that is not there.
    #[error("\"/{0}\": not found")]
    NotFound(String),
    #[error("no source files were specified")]
    NoMatch,
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

fn io_error(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> ContextError {
    let context = context.into();
    move |source| ContextError::Io { context, source }
}

/// What kind of file an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    /// A symlink and its target, copied as it is.
    Symlink(String),
    /// Devices, fifos and sockets: not copied.
    Other,
}

/// One file or directory of a selection.
#[derive(Debug, Clone)]
pub struct ContextEntry {
    /// The path below the selected root, `/`-separated; empty for a selected file itself.
    pub rel: String,
    /// Where it is on this host.
    pub host: PathBuf,
    pub kind: EntryKind,
    /// Permission bits, with setuid/setgid/sticky.
    pub mode: u32,
    pub size: u64,
    pub uid: u32,
    pub gid: u32,
    /// Modification time (seconds, nanoseconds), kept on copies as Docker keeps it.
    pub mtime: (i64, i64),
    /// What `stat` said, for the checksum cache.
    pub stamp: FileStamp,
}

/// One thing a source names: a file, or a directory with everything below it.
#[derive(Debug, Clone)]
pub struct Selected {
    /// Its path in the context (cleaned, relative; `.` for the root).
    pub path: String,
    /// Its host path, after following a symlink it may be.
    pub host: PathBuf,
    pub is_dir: bool,
    /// For a file: the file (with `rel` empty). For a directory: what is below it, parents
    /// before children, names sorted.
    pub entries: Vec<ContextEntry>,
}

impl Selected {
    /// The last element of the path, as `COPY` names a file it puts into a directory.
    pub fn base_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

/// A build context directory.
pub struct Context {
    root: PathBuf,
    rules: IgnoreRules,
    checksums: Mutex<ChecksumCache>,
}

impl Context {
    pub fn new(root: &Path, rules: IgnoreRules, checksums: ChecksumCache) -> Context {
        Context {
            root: root.to_path_buf(),
            rules,
            checksums: Mutex::new(checksums),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether `.dockerignore` hides this context path.
    pub fn is_excluded(&self, path: &str) -> bool {
        let path = clean(path);
        path != "." && self.rules.is_excluded(&path)
    }

    /// What one `COPY`/`ADD` source names. A source without wildcards must exist; one with
    /// wildcards must match something. `excludes` are `--exclude` patterns, matched against
    /// paths below each selected root and against the root's own path.
    pub fn select(
        &self,
        source: &str,
        excludes: &IgnoreRules,
    ) -> Result<Vec<Selected>, ContextError> {
        let source = clean(source);
        let paths = if has_wildcards(&source) {
            let found = self.expand_wildcards(&source)?;
            if found.is_empty() {
                return Err(ContextError::NoMatch);
            }
            found
        } else {
            vec![source]
        };
        let mut out = Vec::new();
        for path in paths {
            if self.is_excluded(&path) && !self.rules.has_exceptions() {
                return Err(ContextError::NotFound(path));
            }
            if !excludes.is_empty() && path != "." && excludes.is_excluded(&path) {
                continue;
            }
            let resolved = self
                .resolve(&path)
                .ok_or_else(|| ContextError::NotFound(path.clone()))?;
            let host = self.host_path(&resolved);
            let meta = fs::metadata(&host).map_err(|_| ContextError::NotFound(path.clone()))?;
            if meta.is_dir() {
                let entries = self.walk_tree(&host, &resolved, excludes)?;
                out.push(Selected {
                    path,
                    host,
                    is_dir: true,
                    entries,
                });
            } else {
                if self.is_excluded(&resolved) {
                    return Err(ContextError::NotFound(path));
                }
                let entry = entry_of("", &host, &meta, EntryKind::File);
                out.push(Selected {
                    path,
                    host,
                    is_dir: false,
                    entries: vec![entry],
                });
            }
        }
        Ok(out)
    }

    /// The content digest (hex SHA-256) of selections: each path, type, mode, link target and
    /// file content, in order. Times and owners are left out: `COPY` from the context gives
    /// every file to root (or to `--chown`), and times must not defeat the cache.
    pub fn digest(&self, selections: &[Selected]) -> Result<String, ContextError> {
        let mut hasher = Sha256::new();
        let mut checksums = self.checksums.lock().unwrap_or_else(|p| p.into_inner());
        // Every variable-length field is length-prefixed, so no two listings hash alike.
        let mut field = |tag: &[u8], bytes: &[u8]| {
            hasher.update(tag);
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        };
        let mut ctx_rel = String::new();
        for sel in selections {
            field(b"root", sel.path.as_bytes());
            field(b"is-dir", &[u8::from(sel.is_dir)]);
            for e in &sel.entries {
                match &e.kind {
                    EntryKind::File => {
                        ctx_rel.clear();
                        ctx_rel.push_str(&join(&sel.path, &e.rel));
                        let digest = checksums
                            .digest(&ctx_rel, &e.host, &e.stamp)
                            .map_err(io_error(format!("reading {ctx_rel}")))?;
                        field(b"file", e.rel.as_bytes());
                        field(b"content", &digest);
                    }
                    EntryKind::Dir => field(b"dir", e.rel.as_bytes()),
                    EntryKind::Symlink(target) => {
                        field(b"symlink", e.rel.as_bytes());
                        field(b"target", target.as_bytes());
                    }
                    EntryKind::Other => continue,
                }
                field(b"mode", &e.mode.to_le_bytes());
            }
        }
        Ok(hex::encode(hasher.finalize()))
    }

    /// Files read in full so far (the others came from the checksum cache).
    pub fn files_read(&self) -> u64 {
        self.checksums
            .lock()
            .map(|c| c.files_read)
            .unwrap_or_default()
    }

    /// Keeps the digests learned by this build for the next one.
    pub fn save_checksums(&self) -> std::io::Result<()> {
        match self.checksums.lock() {
            Ok(c) => c.save(),
            Err(p) => p.into_inner().save(),
        }
    }

    fn host_path(&self, rel: &str) -> PathBuf {
        if rel == "." {
            self.root.clone()
        } else {
            self.root.join(rel)
        }
    }

    /// Resolves every symlink of a context path inside the context (as if it were `/`).
    /// `None` when an element is missing or the links loop.
    pub fn resolve(&self, path: &str) -> Option<String> {
        let mut todo: Vec<String> = clean(path)
            .split('/')
            .filter(|p| *p != ".")
            .rev()
            .map(str::to_string)
            .collect();
        let mut done: Vec<String> = Vec::new();
        let mut hops = 0;
        while let Some(part) = todo.pop() {
            if part == ".." {
                done.pop();
                continue;
            }
            if part.is_empty() || part == "." {
                continue;
            }
            done.push(part);
            let host = self.root.join(done.join("/"));
            let meta = fs::symlink_metadata(&host).ok()?;
            if meta.file_type().is_symlink() {
                hops += 1;
                if hops > 40 {
                    return None;
                }
                let target = fs::read_link(&host).ok()?;
                let target = target.to_string_lossy().into_owned();
                done.pop();
                if target.starts_with('/') {
                    done.clear();
                }
                todo.extend(target.split('/').rev().map(str::to_string));
            }
        }
        Some(if done.is_empty() {
            ".".to_string()
        } else {
            done.join("/")
        })
    }

    /// Context paths matching a pattern with wildcards, sorted; hidden ones left out.
    fn expand_wildcards(&self, pattern: &str) -> Result<Vec<String>, ContextError> {
        let mut found = vec![String::from(".")];
        for element in pattern.split('/') {
            let mut next = Vec::new();
            if !has_wildcards(element) {
                for dir in found {
                    let path = join(&dir, element);
                    if fs::symlink_metadata(self.host_path(&path)).is_ok() {
                        next.push(path);
                    }
                }
            } else {
                let matcher =
                    ElementPattern::new(element).map_err(|message| ContextError::Pattern {
                        pattern: pattern.to_string(),
                        message,
                    })?;
                for dir in found {
                    let Some(resolved) = self.resolve(&dir) else {
                        continue;
                    };
                    let Ok(read) = fs::read_dir(self.host_path(&resolved)) else {
                        continue;
                    };
                    let mut names: Vec<String> = read
                        .filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .filter(|n| matcher.matches(n))
                        .collect();
                    names.sort();
                    for name in names {
                        let path = join(&dir, &name);
                        if !self.is_excluded(&path) {
                            next.push(path);
                        }
                    }
                }
            }
            found = next;
        }
        Ok(found)
    }
}

fn entry_of(rel: &str, host: &Path, meta: &fs::Metadata, kind: EntryKind) -> ContextEntry {
    ContextEntry {
        rel: rel.to_string(),
        host: host.to_path_buf(),
        kind,
        mode: meta.permissions().mode() & 0o7777,
        size: meta.size(),
        uid: meta.uid(),
        gid: meta.gid(),
        mtime: (meta.mtime(), meta.mtime_nsec()),
        stamp: FileStamp::of(meta),
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir == "." || dir.is_empty() {
        name.to_string()
    } else if name.is_empty() {
        dir.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

fn join_rel(rel: &str, name: &str) -> String {
    if rel.is_empty() {
        name.to_string()
    } else {
        format!("{rel}/{name}")
    }
}

#[cfg(test)]
mod tests;
