//! `inspect` of a container, with Docker's field names.

use serde_json::{json, Value};

use super::config::Stored;
use crate::{Engine, Result};

const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

impl Engine {
    pub fn inspect_container(&self, name: &str, size: bool) -> Result<Value> {
        let c = self.container(name)?;
        let stored = Stored::parse(&c.config);
        let dir = self.store().container_dir(&c.id);
        let rootfs = self.rootfs(&c)?;
        let s = &c.state;
        let time = |t: &str| {
            if t.is_empty() {
                ZERO_TIME.to_string()
            } else {
                t.to_string()
            }
        };
        let lowers: Vec<String> = rootfs
            .lowers
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        let mut v = json!({
            "Id": c.id,
            "Created": c.created,
            "Path": stored.path,
            "Args": stored.args,
            "State": {
                "Status": s.status.as_str(),
                "Running": matches!(s.status, berth_store::ContainerStatus::Running | berth_store::ContainerStatus::Paused | berth_store::ContainerStatus::Restarting),
                "Paused": s.status == berth_store::ContainerStatus::Paused,
                "Restarting": s.status == berth_store::ContainerStatus::Restarting,
                "OOMKilled": s.oom_killed,
                "Dead": s.status == berth_store::ContainerStatus::Dead,
                "Pid": if s.status.is_live() { s.pid } else { 0 },
                "ExitCode": s.exit_code,
                "Error": s.error,
                "StartedAt": time(&s.started_at),
                "FinishedAt": time(&s.finished_at),
            },
            "Image": c.image_id.to_string(),
            "ResolvConfPath": dir.join("resolv.conf"),
            "HostnamePath": dir.join("hostname"),
            "HostsPath": dir.join("hosts"),
            "LogPath": self.log_path(&c.id),
            "Name": format!("/{}", c.name),
            "RestartCount": s.restart_count,
            "Driver": "overlay2",
            "Platform": "linux",
            "MountLabel": "",
            "ProcessLabel": "",
            "AppArmorProfile": "",
            "ExecIDs": Value::Null,
            "HostConfig": stored.host_config,
            "GraphDriver": {
                "Data": {
                    "LowerDir": lowers.join(":"),
                    "MergedDir": rootfs.merged,
                    "UpperDir": rootfs.upper,
                    "WorkDir": rootfs.work,
                },
                "Name": "overlay2",
            },
            "Mounts": stored.mounts,
            "Config": stored.config,
            "NetworkSettings": self.network_settings_value(&c, &stored),
        });
        if size {
            let rw = crate::volume::dir_size(&rootfs.upper);
            let image = self.store().image(&c.image_id)?.map_or(0, |i| i.size);
            v["SizeRw"] = json!(rw);
            v["SizeRootFs"] = json!(rw + image);
        }
        Ok(v)
    }

    /// The container's log file (Docker's json-file).
    pub fn log_path(&self, id: &str) -> std::path::PathBuf {
        self.store()
            .container_dir(id)
            .join(format!("{id}-json.log"))
    }
}
