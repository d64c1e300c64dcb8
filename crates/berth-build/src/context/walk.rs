//! Listing a directory of the context: every entry below it, parents before children, names
//! sorted, with what `stat` says. A cached rebuild of a large context is mostly this walk (one
//! `statx` per entry), so the subdirectories of the top one are walked by a few threads at
//! once; the result is the same as a walk by one.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::IgnoreRules;
use super::{entry_of, io_error, join, join_rel, Context, ContextEntry, ContextError, EntryKind};

/// At most this many threads walk one tree: the walk waits on the kernel's dentry and inode
/// caches, which scale with cores, not beyond.
const MAX_WALKERS: usize = 4;

/// One child of a walked directory.
struct Child {
    /// Its entry, unless `.dockerignore` or `--exclude` hides it.
    entry: Option<ContextEntry>,
    /// A directory to walk into: host path, context path, path below the selected root.
    below: Option<(PathBuf, String, String)>,
}

type Subtree = Result<Vec<ContextEntry>, ContextError>;

impl Context {
    /// Everything below the directory `host` (context path `ctx_path`).
    pub(super) fn walk_tree(
        &self,
        host: &Path,
        ctx_path: &str,
        excludes: &IgnoreRules,
    ) -> Result<Vec<ContextEntry>, ContextError> {
        let children = self.children(host, ctx_path, "", excludes)?;
        let dirs = children.iter().filter(|c| c.below.is_some()).count();
        let walkers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(MAX_WALKERS)
            .min(dirs);
        let subtrees: Vec<Mutex<Option<Subtree>>> =
            children.iter().map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let work = || loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(child) = children.get(i) else {
                return;
            };
            if let Some((host, ctx, rel)) = &child.below {
                let mut out = Vec::new();
                let walked = self.walk(host, ctx, rel, excludes, &mut out).map(|()| out);
                *subtrees[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(walked);
            }
        };
        if walkers > 1 {
            std::thread::scope(|s| {
                for _ in 1..walkers {
                    s.spawn(work);
                }
                work();
            });
        } else {
            work();
        }
        let mut out = Vec::new();
        for (child, subtree) in children.into_iter().zip(subtrees) {
            out.extend(child.entry);
            if let Some(walked) = subtree.into_inner().unwrap_or_else(|p| p.into_inner()) {
                out.extend(walked?);
            }
        }
        Ok(out)
    }

    /// Appends what is below `host` to `out`, depth first.
    fn walk(
        &self,
        host: &Path,
        ctx_path: &str,
        rel: &str,
        excludes: &IgnoreRules,
        out: &mut Vec<ContextEntry>,
    ) -> Result<(), ContextError> {
        for child in self.children(host, ctx_path, rel, excludes)? {
            out.extend(child.entry);
            if let Some((host, ctx, rel)) = &child.below {
                self.walk(host, ctx, rel, excludes, out)?;
            }
        }
        Ok(())
    }

    /// The children of one directory, sorted by name and stat'ed; hidden ones left out,
    /// except directories that an exception (`!pattern`) may reach into.
    fn children(
        &self,
        host: &Path,
        ctx_path: &str,
        rel: &str,
        excludes: &IgnoreRules,
    ) -> Result<Vec<Child>, ContextError> {
        let mut listed: Vec<(String, fs::DirEntry)> = fs::read_dir(host)
            .map_err(io_error(format!("reading {ctx_path}")))?
            .filter_map(|e| e.ok())
            .map(|e| (e.file_name().to_string_lossy().into_owned(), e))
            .collect();
        listed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut out = Vec::with_capacity(listed.len());
        for (name, dir_entry) in listed {
            let child_ctx = join(ctx_path, &name);
            let child_rel = join_rel(rel, &name);
            // Stat'ed relative to the open directory: one path element to look up, not all.
            let meta = dir_entry
                .metadata()
                .map_err(io_error(format!("reading {child_ctx}")))?;
            let hidden = self.is_excluded(&child_ctx)
                || (!excludes.is_empty() && excludes.is_excluded(&child_rel));
            let descend_anyway =
                meta.is_dir() && (self.rules.has_exceptions() || excludes.has_exceptions());
            if hidden && !descend_anyway {
                continue;
            }
            let child_host = dir_entry.path();
            let kind = if meta.file_type().is_symlink() {
                let target =
                    fs::read_link(&child_host).map_err(io_error(format!("reading {child_ctx}")))?;
                EntryKind::Symlink(target.to_string_lossy().into_owned())
            } else if meta.is_dir() {
                EntryKind::Dir
            } else if meta.is_file() {
                EntryKind::File
            } else {
                EntryKind::Other
            };
            let is_dir = kind == EntryKind::Dir;
            let entry = (!hidden).then(|| entry_of(&child_rel, &child_host, &meta, kind));
            let below = is_dir.then_some((child_host, child_ctx, child_rel));
            out.push(Child { entry, below });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::ChecksumCache;

    #[test]
    fn a_walk_by_several_threads_lists_as_one_would() {
        let dir = tempfile::tempdir().unwrap();
        for d in ["b", "a", "c/deep", "e"] {
            fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        for f in ["a/1", "a/2", "b/x", "c/deep/y", "c/z", "d", "e/.hidden"] {
            fs::write(dir.path().join(f), f).unwrap();
        }
        let ctx = Context::new(
            dir.path(),
            IgnoreRules::parse("c/z").unwrap(),
            ChecksumCache::in_memory(),
        );
        let entries = ctx
            .walk_tree(dir.path(), ".", &IgnoreRules::default())
            .unwrap();
        let names: Vec<&str> = entries.iter().map(|e| e.rel.as_str()).collect();
        assert_eq!(
            names,
            [
                "a",
                "a/1",
                "a/2",
                "b",
                "b/x",
                "c",
                "c/deep",
                "c/deep/y",
                "d",
                "e",
                "e/.hidden"
            ]
        );
    }
}
