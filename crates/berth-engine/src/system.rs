//! System-wide use cases: `system check`, `system df`, `system prune`, `info`, `version`.

use berth_store::Problem;
use serde::Serialize;

use crate::image::PruneReport;
use crate::{Engine, Result};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The Docker Engine API version berth speaks.
pub const API_VERSION: &str = "1.43";

/// One row of `system df`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DiskUsageRow {
    #[serde(rename = "Type")]
    pub kind: String,
    pub total: u64,
    pub active: u64,
    pub size: u64,
    pub reclaimable: u64,
}

/// What `info` reports.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Info {
    pub containers: u64,
    pub containers_running: u64,
    pub containers_paused: u64,
    pub containers_stopped: u64,
    pub images: u64,
    pub driver: String,
    pub docker_root_dir: String,
    pub server_version: String,
    pub kernel_version: String,
    pub operating_system: String,
    #[serde(rename = "OSType")]
    pub os_type: String,
    pub architecture: String,
    #[serde(rename = "NCPU")]
    pub ncpu: u64,
    pub mem_total: u64,
    pub name: String,
    pub cgroup_version: String,
}

impl Engine {
    /// Verifies the store; with `repair`, removes what is unreachable or half-written.
    pub fn system_check(&self, repair: bool) -> Result<Vec<Problem>> {
        let ex = self.store().exclusive()?;
        Ok(self.store().check(&ex, repair)?)
    }

    pub fn disk_usage(&self) -> Result<Vec<DiskUsageRow>> {
        let images = self.store().images()?;
        // Layers are shared: count each once.
        let mut seen = std::collections::HashSet::new();
        let mut size = 0;
        for img in &images {
            for l in self.store().layer_stack(img.top_layer.as_ref())? {
                if seen.insert(l.chain_id.clone()) {
                    size += l.size;
                }
            }
        }
        let active = 0;
        let cache = self.build_cache_usage()?;
        Ok(vec![
            DiskUsageRow {
                kind: "Images".into(),
                total: images.len() as u64,
                active,
                size,
                reclaimable: size,
            },
            DiskUsageRow {
                kind: "Containers".into(),
                total: 0,
                active: 0,
                size: 0,
                reclaimable: 0,
            },
            DiskUsageRow {
                kind: "Local Volumes".into(),
                total: 0,
                active: 0,
                size: 0,
                reclaimable: 0,
            },
            DiskUsageRow {
                kind: "Build Cache".into(),
                total: cache.total,
                active: cache.active,
                size: cache.size,
                reclaimable: cache.reclaimable,
            },
        ])
    }

    /// `system prune`: dangling images (with `all`, every unused image).
    pub fn system_prune(&self, all: bool, filters: &[String]) -> Result<PruneReport> {
        self.prune_images(all, filters)
    }

    pub fn info(&self) -> Result<Info> {
        let uts = rustix::system::uname();
        let images = self.store().images()?.len() as u64;
        Ok(Info {
            containers: 0,
            containers_running: 0,
            containers_paused: 0,
            containers_stopped: 0,
            images,
            driver: "overlay2".into(),
            docker_root_dir: self.root().display().to_string(),
            server_version: VERSION.into(),
            kernel_version: uts.release().to_string_lossy().into_owned(),
            operating_system: os_pretty_name(),
            os_type: "linux".into(),
            architecture: uts.machine().to_string_lossy().into_owned(),
            ncpu: std::thread::available_parallelism().map_or(1, |n| n.get() as u64),
            mem_total: mem_total(),
            name: uts.nodename().to_string_lossy().into_owned(),
            cgroup_version: if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
                "2".into()
            } else {
                "1".into()
            },
        })
    }
}

fn os_pretty_name() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| "Linux".into())
}

fn mem_total() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}
