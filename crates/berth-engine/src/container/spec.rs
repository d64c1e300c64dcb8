//! The runtime spec of a container: its stored config turned into berth-runtime's
//! `ContainerSpec` (Docker's defaults and the user's flags), once its rootfs is mounted.

use std::path::{Path, PathBuf};

use berth_runtime::spec::{Mount, NamespaceMode, Resources, Seccomp, User};
use berth_runtime::ContainerSpec;
use berth_store::Container;

use super::config::Stored;
use super::user;
use crate::{Engine, EngineError, Result};

/// Where `--init` finds a static init (Debian's tini package ships tini-static).
const INIT_CANDIDATES: &[&str] = &[
    "/usr/bin/tini-static",
    "/usr/bin/docker-init",
    "/usr/libexec/docker/docker-init",
];

impl Engine {
    pub(crate) fn container_spec(
        &self,
        c: &Container,
        stored: &Stored,
        rootfs: &Path,
        netns: NamespaceMode,
    ) -> Result<ContainerSpec> {
        let cfg = &stored.config;
        let hc = &stored.host_config;
        let group_add = hc.group_add.clone().unwrap_or_default();
        let u = user::resolve(rootfs, &cfg.user, &group_add)?;
        let mut env = cfg.env.clone();
        if !env.iter().any(|e| e.starts_with("HOSTNAME=")) {
            env.insert(0, format!("HOSTNAME={}", cfg.hostname));
        }
        if !env.iter().any(|e| e.starts_with("HOME=")) {
            env.push(format!("HOME={}", u.home));
        }
        let mut args = vec![stored.path.clone()];
        args.extend(stored.args.iter().cloned());

        let dir = self.store().container_dir(&c.id);
        let mut mounts = Vec::new();
        for (file, dest) in [
            ("hostname", "/etc/hostname"),
            ("hosts", "/etc/hosts"),
            ("resolv.conf", "/etc/resolv.conf"),
        ] {
            if !stored.mounts.iter().any(|m| m.destination == dest) {
                mounts.push(Mount::Bind {
                    source: dir.join(file),
                    destination: dest.to_string(),
                    readonly: hc.readonly_rootfs,
                });
            }
        }
        for m in &stored.mounts {
            mounts.push(match m.kind.as_str() {
                "bind" => Mount::Bind {
                    source: PathBuf::from(&m.source),
                    destination: m.destination.clone(),
                    readonly: !m.rw,
                },
                "volume" => Mount::Volume {
                    source: PathBuf::from(&m.source),
                    destination: m.destination.clone(),
                    readonly: !m.rw,
                },
                // tmpfs options travel in `Mode`, where Docker shows them.
                _ => Mount::Tmpfs {
                    destination: m.destination.clone(),
                    options: m
                        .mode
                        .split(',')
                        .filter(|o| !o.is_empty())
                        .map(str::to_string)
                        .collect(),
                },
            });
        }

        let mut spec = ContainerSpec {
            args,
            env,
            cwd: cfg.working_dir.clone(),
            user: User {
                uid: u.uid,
                gid: u.gid,
                additional_gids: u.additional_gids,
            },
            hostname: Some(cfg.hostname.clone()),
            terminal: cfg.tty,
            rootfs: rootfs.to_path_buf(),
            readonly_rootfs: hc.readonly_rootfs,
            mounts,
            cap_add: hc.cap_add.clone().unwrap_or_default(),
            cap_drop: hc.cap_drop.clone().unwrap_or_default(),
            privileged: hc.privileged,
            cgroup_path: Some(format!("/berth/{}", c.id)),
            oom_score_adj: (hc.oom_score_adj != 0).then_some(hc.oom_score_adj),
            shm_size: (hc.shm_size > 0).then_some(hc.shm_size as u64),
            ..Default::default()
        };
        spec.namespaces.network = netns;
        for opt in hc.security_opt.iter().flatten() {
            let (k, v) = opt.split_once(['=', ':']).unwrap_or((opt.as_str(), ""));
            match (k, v) {
                ("no-new-privileges", "" | "true") => spec.no_new_privileges = true,
                ("no-new-privileges", "false") => spec.no_new_privileges = false,
                ("seccomp", "unconfined") => spec.seccomp = Seccomp::Unconfined,
                ("seccomp", path) if !path.is_empty() => {
                    spec.seccomp = Seccomp::Profile(PathBuf::from(path))
                }
                ("apparmor" | "label", _) => {}
                ("systempaths", "unconfined") => {
                    spec.masked_paths = Some(Vec::new());
                    spec.readonly_paths = Some(Vec::new());
                }
                _ => {
                    return Err(EngineError::InvalidArgument(format!(
                        "Invalid --security-opt: {opt:?}"
                    )))
                }
            }
        }
        let mut res = Resources {
            memory: (hc.memory > 0).then_some(hc.memory),
            memory_swap: (hc.memory_swap != 0).then_some(hc.memory_swap),
            cpu_shares: (hc.cpu_shares > 0).then_some(hc.cpu_shares as u64),
            pids_limit: hc.pids_limit.filter(|p| *p > 0),
            ..Default::default()
        };
        if hc.nano_cpus > 0 {
            res = res.with_cpus(hc.nano_cpus as f64 / 1e9);
        }
        spec.resources = res;
        if hc.init == Some(true) {
            let init = INIT_CANDIDATES
                .iter()
                .map(Path::new)
                .find(|p| p.exists())
                .ok_or_else(|| {
                    EngineError::InvalidArgument(
                        "--init needs a static init binary: install Debian's tini package (tini-static)".into(),
                    )
                })?;
            spec.init = Some(init.to_path_buf());
        }
        Ok(spec)
    }
}
