//! `commit`: a container's layer becomes an image layer over its image's, and its config the
//! new image's (with `--change` lines applied), as `docker commit` makes it.

use std::fs::File;

use berth_archive::write_diff;
use berth_store::{
    now_rfc3339, ContainerStatus, Digest, History, ImageConfig, LayerExpect, Reference, RunConfig,
};

use super::Stored;
use crate::{Engine, EngineError, Result};

/// `docker commit` flags.
#[derive(Clone, Debug, Default)]
pub struct CommitOptions {
    /// `REPOSITORY[:TAG]` for the new image.
    pub reference: Option<String>,
    /// `-a`
    pub author: String,
    /// `-m`
    pub message: String,
    /// `-c`: Dockerfile instructions applied to the config.
    pub changes: Vec<String>,
    /// `-p`: freeze a running container while its layer is read.
    pub pause: bool,
}

impl Engine {
    /// Commits a container; returns the new image's ID.
    pub fn commit_container(&self, name: &str, opts: &CommitOptions) -> Result<Digest> {
        // A bad name or change is refused before anything is stored.
        let reference = opts
            .reference
            .as_deref()
            .map(|r| Reference::parse(r).map(Reference::with_default_tag))
            .transpose()?;
        let c = self.container(name)?;
        if c.state.status == ContainerStatus::Dead {
            return Err(EngineError::Conflict(format!(
                "You cannot commit container {} which is Dead",
                c.id
            )));
        }
        let stored = Stored::parse(&c.config);
        let mut run_config = run_config(&stored)?;
        for change in &opts.changes {
            crate::image::apply_change(&mut run_config, change)?;
        }
        // As Docker: pausing is best effort, and only what was paused here is resumed.
        let paused = opts.pause
            && c.state.status == ContainerStatus::Running
            && self.pause_container(&c.id).is_ok();
        let image = self.commit_image(&c, run_config, &stored, opts);
        if paused {
            let _ = self.unpause_container(&c.id);
        }
        let id = image?;
        if let Some(r) = reference {
            self.store().tag(&id, &r)?;
        }
        Ok(id)
    }

    fn commit_image(
        &self,
        c: &berth_store::Container,
        run_config: RunConfig,
        stored: &Stored,
        opts: &CommitOptions,
    ) -> Result<Digest> {
        let parent = self.store().image_config(&c.image_id)?;
        let lease = self.store().lease()?;
        let rootfs = self.rootfs(c)?;
        let lowers: Vec<&std::path::Path> = rootfs.lowers.iter().map(|p| p.as_path()).collect();
        let changed = !berth_archive::changes(&rootfs.upper, &lowers)
            .map_err(|e| EngineError::Other(format!("listing the changes of {}: {e}", c.id)))?
            .is_empty();
        let mut diff_ids = parent.rootfs.diff_ids.clone();
        if changed {
            let (reader, writer) = pipe()?;
            let upper = rootfs.upper.clone();
            let (written, layer) = std::thread::scope(|s| {
                let producer = s.spawn(move || write_diff(&upper, writer));
                let layer = self.store().create_layer(
                    &lease,
                    c.top_layer.as_ref(),
                    reader,
                    &LayerExpect::default(),
                );
                (producer.join(), layer)
            });
            match written {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    return Err(EngineError::Other(format!(
                        "reading the layer of {}: {e}",
                        c.id
                    )))
                }
                Err(_) => return Err(EngineError::Other("the layer writer panicked".into())),
            }
            diff_ids.push(layer?.diff_id);
        }
        let created = now_rfc3339();
        let text = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let mut history = parent.history.clone();
        history.push(History {
            created: Some(created.clone()),
            created_by: Some(stored.config.cmd.clone().unwrap_or_default().join(" ")),
            author: text(&opts.author),
            comment: text(&opts.message),
            empty_layer: !changed,
        });
        let config = ImageConfig {
            architecture: parent.architecture.clone(),
            variant: parent.variant.clone(),
            os: if parent.os.is_empty() {
                "linux".into()
            } else {
                parent.os.clone()
            },
            created: Some(created),
            author: text(&opts.author),
            comment: text(&opts.message),
            config: Some(run_config),
            rootfs: berth_store::RootFs {
                kind: "layers".into(),
                diff_ids,
            },
            history,
            ..Default::default()
        };
        Ok(self
            .store()
            .create_image(&lease, &config.to_bytes(), Some(&c.image_id))?)
    }
}

/// The container's `Config` as an image config: every field Docker's container config has
/// (Hostname, Tty, Image ... as `docker commit` keeps them).
fn run_config(stored: &Stored) -> Result<RunConfig> {
    serde_json::to_value(&stored.config)
        .and_then(serde_json::from_value)
        .map_err(|e| EngineError::Other(format!("converting the container's config: {e}")))
}

fn pipe() -> Result<(File, File)> {
    let (reader, writer) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| EngineError::io("making a pipe")(e.into()))?;
    Ok((File::from(reader), File::from(writer)))
}
