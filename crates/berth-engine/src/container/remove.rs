//! `rm [-f] [-v]`, `container prune` and `rename`.

use std::fs;
use std::path::{Path, PathBuf};

use berth_store::{Container, ContainerStatus};

use super::config::Stored;
use crate::{Engine, EngineError, Result};

impl Engine {
    /// Removes a container: refused while it runs unless `force` (then it is killed first);
    /// with `volumes`, its anonymous volumes go too. Returns the ID.
    pub fn remove_container(&self, name: &str, force: bool, volumes: bool) -> Result<String> {
        let c = self.container(name)?;
        if c.state.status.is_live() {
            if !force {
                let what = if c.state.status == ContainerStatus::Paused {
                    "paused"
                } else {
                    "running"
                };
                return Err(EngineError::Conflict(format!(
                    "cannot remove container \"/{}\": container is {what}: stop the container before removing or force remove",
                    c.name
                )));
            }
            self.kill_and_wait(&c)?;
        }
        self.remove_stopped(&c, volumes)?;
        Ok(c.id)
    }

    /// Deletes a stopped container's runtime state, mounts, directories and record.
    pub(crate) fn remove_stopped(&self, c: &Container, volumes: bool) -> Result<()> {
        // Gone already when a monitor saw the container exit; then this costs a lookup.
        let _ = self.runtime_for(c).delete(&c.id, true);
        self.remove_exited(c, volumes)?.delete();
        // Directories a monitor moved aside but did not get to delete (it was killed).
        sweep(&self.store().root().join(TRASH));
        sweep(&self.runroot().join(TRASH));
        self.sweep_runtime_state();
        Ok(())
    }

    /// Deletes what runtimes still hold of containers whose record is gone: an `--rm`
    /// container's monitor deletes the runtime's state (its directory, its cgroups) after
    /// answering its client, and one killed in between leaves it behind. A container's
    /// record is written before its runtime state and deleted after, so a live or
    /// starting container is never taken for a leftover.
    fn sweep_runtime_state(&self) {
        let Ok(kinds) = fs::read_dir(self.runroot().join("runtime")) else {
            return;
        };
        for kind in kinds.flatten() {
            let Ok(entries) = fs::read_dir(kind.path()) else {
                continue;
            };
            let mut runtime = None;
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(id) = name.to_str().filter(|id| is_container_id(id)) else {
                    continue;
                };
                if matches!(self.store().container(id), Ok(None)) {
                    let runtime = runtime.get_or_insert_with(|| {
                        self.runtime_named(&kind.file_name().to_string_lossy())
                    });
                    let _ = runtime.delete(id, true);
                }
            }
        }
    }

    /// Network, mount, record, volumes; the directories only moved aside: the caller
    /// deletes them once nobody waits for it. On some filesystems each directory removed
    /// costs a synchronous discard (1-4 ms on this project's test machines), and `run
    /// --rm` would make its user wait for a dozen of them. The runtime's state must be
    /// gone already, or be deleted by the caller.
    pub(crate) fn remove_exited(&self, c: &Container, volumes: bool) -> Result<Leftovers> {
        let stored = Stored::parse(&c.config);
        let mut leftovers = Leftovers {
            links: self.teardown_network_but_links(&c.id, &stored.host_config.network_mode),
            dirs: Vec::new(),
        };
        if let Ok(rootfs) = self.rootfs(c) {
            rootfs.unmount()?;
        }
        self.store().delete_container_record(&c.id)?;
        let run_dir = self.store().container_run_dir(&c.id);
        if let Some(moved) = move_aside(&run_dir, &self.runroot().join(TRASH)) {
            leftovers.dirs.push(moved);
        }
        let dir = self.store().container_dir(&c.id);
        match move_aside(&dir, &self.store().root().join(TRASH)) {
            Some(moved) => leftovers.dirs.push(moved),
            None => match fs::remove_dir_all(&dir) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(EngineError::io(format!("removing {}", dir.display()))(e))
                }
                _ => {}
            },
        }
        if volumes {
            for m in stored.mounts.iter().filter(|m| m.kind == "volume") {
                if let Some(v) = self.volume(&m.name)? {
                    if v.anonymous && self.volume_users(&v.name)?.is_empty() {
                        self.remove_volume(&v.name, true)?;
                    }
                }
            }
        }
        Ok(leftovers)
    }

    /// `container prune`: every stopped container. Returns IDs and bytes reclaimed.
    pub fn prune_containers(&self, filters: &[String]) -> Result<(Vec<String>, u64)> {
        let until = filters
            .iter()
            .find_map(|f| f.strip_prefix("until="))
            .map(crate::image::parse_until)
            .transpose()?;
        let mut removed = Vec::new();
        let mut reclaimed = 0;
        for c in self.containers()? {
            if c.state.status.is_live() || c.state.status == ContainerStatus::Removing {
                continue;
            }
            if let Some(u) = until {
                if crate::image::unix_seconds(&c.created) >= u {
                    continue;
                }
            }
            let stored = Stored::parse(&c.config);
            let labels_ok =
                filters
                    .iter()
                    .filter_map(|f| f.strip_prefix("label="))
                    .all(|l| match l.split_once('=') {
                        Some((k, v)) => stored.config.labels.get(k).is_some_and(|x| x == v),
                        None => stored.config.labels.contains_key(l),
                    });
            if !labels_ok {
                continue;
            }
            reclaimed += crate::volume::dir_size(&self.store().container_dir(&c.id).join("upper"));
            self.remove_stopped(&c, false)?;
            removed.push(c.id);
        }
        Ok((removed, reclaimed))
    }

    pub fn rename_container(&self, name: &str, new_name: &str) -> Result<()> {
        let c = self.container(name)?;
        let new_name = super::names::validate(new_name)?;
        if c.name == new_name {
            return Err(EngineError::InvalidArgument(
                "Renaming a container with the same name as its current name".into(),
            ));
        }
        Ok(self.store().rename_container(&c.id, &new_name)?)
    }
}

/// Where a removed container's directories wait to be deleted: `trash/` in the root and in
/// the run root (a rename never leaves its filesystem).
const TRASH: &str = "trash";

/// What of a removed container is left to delete: its veth pairs (normally gone with its
/// network namespace already) and its directories, already out of the store's sight.
#[must_use = "the directories stay in the trash until deleted"]
pub(crate) struct Leftovers {
    links: Vec<String>,
    dirs: Vec<PathBuf>,
}

impl Leftovers {
    pub(crate) fn delete(self) {
        let _ = berth_net::delete_links(&self.links);
        for dir in self.dirs {
            let _ = fs::remove_dir_all(&dir);
        }
    }
}

/// Renames `dir` into `trash` (made when missing); `None` when there is nothing to move or
/// it cannot be moved.
fn move_aside(dir: &Path, trash: &Path) -> Option<PathBuf> {
    let target = trash.join(dir.file_name()?);
    match fs::rename(dir, &target) {
        Ok(()) => Some(target),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && dir.exists() => {
            fs::create_dir_all(trash).ok()?;
            fs::rename(dir, &target).ok().map(|()| target)
        }
        Err(_) => None,
    }
}

/// The names runtimes' state directories have for berth's containers: 64 hex digits.
fn is_container_id(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

fn sweep(trash: &Path) {
    let Ok(entries) = fs::read_dir(trash) else {
        return;
    };
    for e in entries.flatten() {
        let _ = fs::remove_dir_all(e.path());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_moved_aside_is_out_of_sight_until_deleted() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("containers").join("abc");
        fs::create_dir_all(dir.join("upper/deep")).expect("dirs");
        fs::write(dir.join("hosts"), b"127.0.0.1 localhost\n").expect("file");
        let trash = tmp.path().join("trash");
        let moved = move_aside(&dir, &trash).expect("moved");
        assert!(!dir.exists());
        assert_eq!(moved, trash.join("abc"));
        assert!(moved.join("upper/deep").is_dir());
        Leftovers {
            links: Vec::new(),
            dirs: vec![moved],
        }
        .delete();
        assert_eq!(fs::read_dir(&trash).expect("trash").count(), 0);
    }

    #[test]
    fn nothing_to_move_is_no_leftover() {
        let tmp = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            move_aside(&tmp.path().join("gone"), &tmp.path().join("trash")),
            None
        );
        assert!(!tmp.path().join("trash").exists());
    }

    #[test]
    fn only_container_ids_are_taken_for_runtime_state() {
        assert!(is_container_id(&"a1".repeat(32)));
        assert!(!is_container_id(".seccomp"));
        assert!(!is_container_id(&"a1".repeat(31)));
        assert!(!is_container_id(&"z1".repeat(32)));
    }

    #[test]
    fn a_sweep_deletes_what_a_killed_monitor_left() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let trash = tmp.path().join("trash");
        fs::create_dir_all(trash.join("a/upper")).expect("dirs");
        fs::create_dir_all(trash.join("b")).expect("dirs");
        sweep(&trash);
        assert_eq!(fs::read_dir(&trash).expect("trash").count(), 0);
        sweep(&tmp.path().join("no-trash-yet"));
    }
}
