//! `RUN`: a build container from the previous step's image runs the command, its output goes
//! to the progress printer, and its container layer becomes the step's layer.

use std::fs;
use std::path::Path;

use berth_build::progress::Vertex;
use berth_runtime::attach::{AttachClient, Frame, Streams};
use berth_store::{Digest, Layer, Lease};

use super::error::BuildError;
use super::snapshot::{layer_from_upper, lowers_of};
use crate::container::{Config, CreateOptions, HostConfig, MountSpec};
use crate::Engine;

/// The label that marks build containers (`ps` shows them only with `-a`).
pub const BUILD_LABEL: &str = "berth.build";

/// One `RUN` to carry out.
pub(crate) struct RunSpec<'a> {
    /// The previous step's image and its top layer.
    pub image: &'a Digest,
    pub top_layer: Option<&'a Digest>,
    pub argv: Vec<String>,
    /// Build args and secrets as `KEY=value`, on top of the image's environment.
    pub env: Vec<String>,
    pub user: String,
    pub working_dir: String,
    /// `none`, `host`, `bridge` or a network name.
    pub network: String,
    pub mounts: Vec<MountSpec>,
    pub binds: Vec<String>,
    pub tmpfs: Vec<(String, String)>,
    /// Paths the mounts need that the image may not have: removed from the layer again when
    /// the run made them.
    pub mount_points: Vec<String>,
}

/// Runs the step; returns the layer of what it changed (`None`: nothing).
pub(crate) fn run(
    engine: &Engine,
    lease: &Lease,
    spec: RunSpec,
    vertex: &Vertex,
) -> Result<Option<Layer>, BuildError> {
    let mut labels = std::collections::BTreeMap::new();
    labels.insert(BUILD_LABEL.to_string(), "1".to_string());
    let opts = CreateOptions {
        config: Config {
            image: spec.image.to_string(),
            cmd: Some(spec.argv.clone()),
            // An ENTRYPOINT of the image does not apply to RUN.
            entrypoint: Some(Vec::new()),
            env: spec.env.clone(),
            user: spec.user.clone(),
            working_dir: spec.working_dir.clone(),
            labels,
            attach_stdout: true,
            attach_stderr: true,
            ..Default::default()
        },
        host_config: HostConfig {
            network_mode: spec.network.clone(),
            mounts: (!spec.mounts.is_empty()).then(|| spec.mounts.clone()),
            binds: (!spec.binds.is_empty()).then(|| spec.binds.clone()),
            tmpfs: (!spec.tmpfs.is_empty()).then(|| spec.tmpfs.iter().cloned().collect()),
            ..Default::default()
        },
        ..Default::default()
    };
    let c = engine.create_container(opts)?;
    let outcome = run_created(engine, lease, &c, &spec, vertex);
    let removed = engine.remove_container(&c.id, true, true);
    let layer = outcome?;
    removed?;
    Ok(layer)
}

fn run_created(
    engine: &Engine,
    lease: &Lease,
    c: &berth_store::Container,
    spec: &RunSpec,
    vertex: &Vertex,
) -> Result<Option<Layer>, BuildError> {
    let rootfs = engine.rootfs(c)?;
    let missing_points: Vec<String> = spec
        .mount_points
        .iter()
        .filter(|p| !exists_in_layers(engine, spec.top_layer, p))
        .cloned()
        .collect();
    // A missing working directory is made by `start`, inside the step's layer.
    let starting = engine
        .start_container(&c.id, true)?
        .ok_or_else(|| BuildError::new("the build container did not start"))?;
    let mut client = AttachClient::connect(
        &starting.socket,
        Streams {
            stdin: false,
            stdout: true,
            stderr: true,
        },
    )
    .map_err(|e| BuildError::new(format!("attaching to the build container: {e}")))?;
    let mut failure: Option<String> = None;
    let mut code = None;
    loop {
        match client.recv() {
            Ok(Some(Frame::Stdout(data))) | Ok(Some(Frame::Stderr(data))) => vertex.log(&data),
            Ok(Some(Frame::Error(message))) => failure = Some(message),
            Ok(Some(Frame::Exit(c))) => {
                code = Some(c);
                break;
            }
            Ok(None) => break,
            Err(e) => return Err(BuildError::new(format!("reading the build's output: {e}"))),
        }
    }
    drop(client);
    drop(starting);
    let code = match code {
        Some(c) => c,
        None => engine.wait_container(&c.id)?,
    };
    // The monitor records the exit before it lets go of the rootfs; wait for that.
    let _ = engine.wait_container(&c.id);
    if let Some(message) = failure {
        return Err(BuildError::new(format!(
            "process {:?} did not complete successfully: {message}",
            spec.argv.join(" ")
        )));
    }
    if code != 0 {
        return Err(BuildError::new(format!(
            "process {:?} did not complete successfully: exit code: {code}",
            spec.argv.join(" ")
        )));
    }
    for point in &missing_points {
        remove_mount_point(&rootfs.upper, point);
    }
    // With the overlay gone nothing writes to the upper directory any more: it can become the
    // layer's directory as it is (the monitor's own unmount, after the exit, is then a no-op).
    let _lock = engine.lock_mount(&c.id)?;
    rootfs.unmount()?;
    layer_from_upper(engine, lease, spec.top_layer, &rootfs.upper)
}

/// Whether some layer of the image has `path` (a cheap look at the layer directories; a
/// path behind a symlink or a whiteout counts as missing, which only costs a mount).
fn exists_in_layers(engine: &Engine, top: Option<&Digest>, path: &str) -> bool {
    let rel = path.trim_start_matches('/');
    lowers_of(engine, top)
        .map(|lowers| {
            lowers
                .iter()
                .any(|l| fs::symlink_metadata(l.join(rel)).is_ok())
        })
        .unwrap_or(false)
}

/// Removes a mount point the runtime made in the container's layer (and the empty
/// directories made for it), so a `--mount` leaves nothing in the image.
fn remove_mount_point(upper: &Path, point: &str) {
    let rel = super::copy::clean_path(point);
    let rel = rel.trim_start_matches('/');
    if rel.is_empty() {
        return;
    }
    let path = upper.join(rel);
    match fs::symlink_metadata(&path) {
        Ok(m) if m.is_dir() => {
            let _ = fs::remove_dir(&path);
        }
        Ok(m) if m.is_file() && m.len() == 0 => {
            let _ = fs::remove_file(&path);
        }
        _ => return,
    }
    let mut parent = path.parent();
    while let Some(p) = parent {
        if p == upper || fs::remove_dir(p).is_err() {
            break;
        }
        parent = p.parent();
    }
}
