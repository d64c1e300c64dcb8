//! `rm [-f] [-v]`, `container prune` and `rename`.

use std::fs;

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
        let stored = Stored::parse(&c.config);
        let _ = self.runtime_for(c).delete(&c.id, true);
        self.teardown_network(&c.id, &stored.host_config.network_mode);
        if let Ok(rootfs) = self.rootfs(c) {
            rootfs.unmount()?;
        }
        self.store().delete_container_record(&c.id)?;
        let _ = fs::remove_dir_all(self.store().container_run_dir(&c.id));
        let dir = self.store().container_dir(&c.id);
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(EngineError::io(format!("removing {}", dir.display()))(e))
            }
            _ => {}
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
        Ok(())
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
