//! `RUN --mount`: bind mounts of the context or another stage (read-only, or over a
//! throw-away layer with `rw`), cache directories kept between builds, tmpfs, and secrets.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use berth_build::context::{ChecksumCache, Context, IgnoreRules};
use berth_build::instruction::{MountType, RunInstruction};
use sha2::{Digest as _, Sha256};

use super::error::{io, BuildError};
use super::executor::{Build, Built};
use super::metadata::join_workdir;
use super::snapshot::Snapshot;
use super::{build_dir, SecretSource};
use crate::container::MountSpec;

/// The mounts of one `RUN`, and what keeps them alive until it ends.
#[derive(Default)]
pub(crate) struct RunMounts {
    pub mounts: Vec<MountSpec>,
    pub binds: Vec<String>,
    pub tmpfs: Vec<(String, String)>,
    /// Every mount target, to clean out of the step's layer.
    pub points: Vec<String>,
    /// Secrets given as environment variables.
    pub env: Vec<String>,
    /// What the step's result depends on: the content of bound files.
    pub key_inputs: Vec<String>,
    /// Mounted views of other stages, unmounted when this is dropped.
    _views: Vec<Snapshot>,
}

impl Build<'_> {
    pub(crate) fn run_mounts(
        &self,
        r: &RunInstruction,
        workdir: &str,
        deps: &HashMap<usize, Built>,
    ) -> Result<RunMounts, BuildError> {
        let mut out = RunMounts::default();
        for m in &r.mounts {
            let mount = m.mount.as_ref().ok_or_else(|| {
                BuildError::new(format!("--mount={}: options not expanded", m.spec))
            })?;
            let target = mount.target.as_deref().map(|t| join_workdir(workdir, t));
            match mount.kind {
                MountType::Bind => {
                    let target =
                        target.ok_or_else(|| BuildError::new("bind mount needs a target"))?;
                    let source = mount.source.clone().unwrap_or_else(|| "/".to_string());
                    let host = match &mount.from {
                        None => {
                            let sel = self.context.select(&source, &IgnoreRules::default())?;
                            out.key_inputs
                                .push(format!("context:{source}:{}", self.context.digest(&sel)?));
                            let resolved = self
                                .context
                                .resolve(&source)
                                .ok_or_else(|| BuildError::new(format!("{source}: not found")))?;
                            self.context.root().join(resolved)
                        }
                        Some(from) => {
                            let built = self.source_named(from, deps)?;
                            out.key_inputs.push(format!(
                                "from:{from}:{}",
                                built
                                    .image
                                    .as_ref()
                                    .map_or("scratch".into(), |d| d.to_string())
                            ));
                            let view = Snapshot::read_only(
                                self.engine,
                                self.scratch,
                                built.top_layer.as_ref(),
                            )?;
                            let ctx = Context::new(
                                &view.merged,
                                IgnoreRules::default(),
                                ChecksumCache::in_memory(),
                            );
                            let resolved = ctx
                                .resolve(&source)
                                .ok_or_else(|| BuildError::new(format!("{source}: not found")))?;
                            let host = view.merged.join(resolved);
                            out._views.push(view);
                            host
                        }
                    };
                    let host = if !mount.read_only && host.is_dir() {
                        // Writes to a bind mount are thrown away: an overlay takes them.
                        let view = Snapshot::over_dir(self.scratch, &host)?;
                        let merged = view.merged.clone();
                        out._views.push(view);
                        merged
                    } else {
                        host
                    };
                    out.mounts.push(MountSpec {
                        kind: "bind".into(),
                        source: host.display().to_string(),
                        target: target.clone(),
                        read_only: mount.read_only,
                        tmpfs_options: None,
                    });
                    out.points.push(target);
                }
                MountType::Cache => {
                    let target =
                        target.ok_or_else(|| BuildError::new("cache mount needs a target"))?;
                    let id = mount.id.clone().unwrap_or_else(|| target.clone());
                    let dir = cache_mount_dir(self, &id);
                    if !dir.exists() {
                        fs::create_dir_all(&dir)
                            .map_err(io(format!("creating the cache mount {id}")))?;
                        let mode = mount.mode.unwrap_or(0o755);
                        fs::set_permissions(&dir, fs::Permissions::from_mode(mode))
                            .map_err(io(format!("creating the cache mount {id}")))?;
                        std::os::unix::fs::chown(
                            &dir,
                            mount.uid.or(Some(0)),
                            mount.gid.or(Some(0)),
                        )
                        .map_err(io(format!("creating the cache mount {id}")))?;
                    }
                    out.mounts.push(MountSpec {
                        kind: "bind".into(),
                        source: dir.display().to_string(),
                        target: target.clone(),
                        read_only: mount.read_only,
                        tmpfs_options: None,
                    });
                    out.points.push(target);
                }
                MountType::Tmpfs => {
                    let target =
                        target.ok_or_else(|| BuildError::new("tmpfs mount needs a target"))?;
                    let opts = mount
                        .size_limit
                        .map(|s| format!("size={s}"))
                        .unwrap_or_default();
                    out.tmpfs.push((target.clone(), opts));
                    out.points.push(target);
                }
                MountType::Secret => {
                    let id = mount
                        .id
                        .clone()
                        .or_else(|| {
                            target
                                .as_deref()
                                .and_then(|t| t.rsplit('/').next())
                                .map(str::to_string)
                        })
                        .unwrap_or_default();
                    let Some(secret) = self.secrets.get(&id) else {
                        if mount.required {
                            return Err(BuildError::new(format!("secret {id}: not found")));
                        }
                        continue;
                    };
                    let bytes = match secret {
                        SecretSource::File(p) => {
                            fs::read(p).map_err(io(format!("reading secret {id}")))?
                        }
                        SecretSource::Value(v) => v.clone(),
                    };
                    if let Some(var) = &mount.env {
                        out.env
                            .push(format!("{var}={}", String::from_utf8_lossy(&bytes)));
                        if target.is_none() {
                            continue;
                        }
                    }
                    let target = target.unwrap_or_else(|| format!("/run/secrets/{id}"));
                    let file = self.scratch.fresh("secret")?.join("secret");
                    fs::write(&file, &bytes).map_err(io(format!("writing secret {id}")))?;
                    let mode = mount.mode.unwrap_or(0o400);
                    fs::set_permissions(&file, fs::Permissions::from_mode(mode))
                        .map_err(io(format!("writing secret {id}")))?;
                    std::os::unix::fs::chown(&file, mount.uid.or(Some(0)), mount.gid.or(Some(0)))
                        .map_err(io(format!("writing secret {id}")))?;
                    out.mounts.push(MountSpec {
                        kind: "bind".into(),
                        source: file.display().to_string(),
                        target: target.clone(),
                        read_only: true,
                        tmpfs_options: None,
                    });
                    out.points.push(target);
                }
                MountType::Ssh => {
                    return Err(BuildError::new(
                        "RUN --mount=type=ssh is not supported by berth",
                    ))
                }
            }
        }
        Ok(out)
    }
}

/// The directory of a cache mount, kept under the store between builds.
fn cache_mount_dir(build: &Build, id: &str) -> PathBuf {
    build_dir(build.engine)
        .join("cache-mounts")
        .join(hex::encode(&Sha256::digest(id.as_bytes())[..16]))
}
