//! Whether the kernel's OOM killer struck the container: the `oom_kill` counter of its
//! memory cgroup, read before the runtime deletes the cgroup.

use std::path::{Path, PathBuf};

use serde::Deserialize;

const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The file holding the container's `oom_kill` counter.
#[derive(Debug, Clone)]
pub(crate) struct OomCounter {
    file: Option<PathBuf>,
}

#[derive(Deserialize)]
struct Config {
    linux: Option<Linux>,
}

#[derive(Deserialize)]
struct Linux {
    #[serde(rename = "cgroupsPath")]
    cgroups_path: Option<String>,
}

impl OomCounter {
    /// Finds the counter from the cgroup path in the bundle's `config.json`: cgroup v2
    /// keeps it in `memory.events`, v1 (also in a hybrid layout) in `memory.oom_control`.
    /// A bundle without a cgroup path has no counter to read.
    pub(crate) fn for_bundle(bundle: &Path) -> Self {
        let path = std::fs::read(bundle.join("config.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Config>(&bytes).ok())
            .and_then(|config| config.linux?.cgroups_path);
        let root = Path::new(CGROUP_ROOT);
        let file = path.map(|path| {
            let relative = path.trim_start_matches('/');
            if root.join("cgroup.controllers").exists() {
                root.join(relative).join("memory.events")
            } else {
                root.join("memory")
                    .join(relative)
                    .join("memory.oom_control")
            }
        });
        Self { file }
    }

    /// True once a process of the cgroup was OOM-killed. A fresh cgroup counts from 0.
    pub(crate) fn killed(&self) -> bool {
        self.file
            .as_ref()
            .and_then(|file| std::fs::read_to_string(file).ok())
            .is_some_and(|text| oom_kills(&text) > 0)
    }
}

/// The `oom_kill N` line of either file.
fn oom_kills(text: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix("oom_kill "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_of_both_cgroup_versions_read() {
        let v1 = "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n";
        let v2 = "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\noom_group_kill 0\n";
        assert_eq!(oom_kills(v1), 2);
        assert_eq!(oom_kills(v2), 1);
        assert_eq!(oom_kills("oom_kill_disable 0\n"), 0);
    }

    #[test]
    fn a_bundle_without_cgroup_has_no_oom() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), r#"{"linux":{}}"#).unwrap();
        assert!(!OomCounter::for_bundle(dir.path()).killed());
    }
}
