//! `create` (and the first half of `run`): the image's config merged with the user's, mounts
//! resolved, a name chosen, the container's directories made. Nothing is copied from the
//! image: the container's layer starts empty.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use berth_store::{now_rfc3339, Container, ContainerState, RunConfig};
use serde_json::Value;

use super::config::{Config, HostConfig, MountPoint, Stored};
use super::names;
use crate::volume::random_hex64;
use crate::{Engine, EngineError, Result};

/// What the user asked for (`run`/`create` flags, or the API's create body).
#[derive(Clone, Debug, Default)]
pub struct CreateOptions {
    pub name: Option<String>,
    pub config: Config,
    pub host_config: HostConfig,
    /// `--network-alias`
    pub aliases: Vec<String>,
    /// `-p` values.
    pub publish: Vec<String>,
}

impl Engine {
    /// Creates a container and returns its record.
    pub fn create_container(&self, opts: CreateOptions) -> Result<Container> {
        let image = self.store().resolve_image(&opts.config.image)?;
        let image_config = self
            .store()
            .image_config(&image.id)?
            .config
            .unwrap_or_default();
        let mut stored = Stored {
            config: merge_config(opts.config, &image_config),
            host_config: opts.host_config,
            aliases: opts.aliases,
            publish: opts.publish,
            ..Default::default()
        };
        check_host_config(&stored.host_config)?;
        self.check_network_config(&stored)?;
        stored.host_config.port_bindings = port_bindings(&stored.publish);
        let mut command = stored.config.entrypoint.clone().unwrap_or_default();
        command.extend(stored.config.cmd.clone().unwrap_or_default());
        if command.is_empty() {
            return Err(EngineError::InvalidArgument("No command specified".into()));
        }
        stored.path = command[0].clone();
        stored.args = command[1..].to_vec();

        let id = random_hex64();
        if stored.config.hostname.is_empty() {
            stored.config.hostname = self.default_hostname(&stored, &id)?;
        }
        let explicit_name = opts.name.as_deref().map(names::validate).transpose()?;
        let lease = self.store().lease()?;
        stored.mounts = self.resolve_mounts(&stored, &id)?;

        let dir = self.store().container_dir(&id);
        fs::create_dir_all(&dir).map_err(EngineError::io("creating container directory"))?;
        let mut record = Container {
            id: id.clone(),
            name: String::new(),
            image_id: image.id.clone(),
            image: stored.config.image.clone(),
            top_layer: image.top_layer.clone(),
            created: now_rfc3339(),
            config: String::new(),
            state: ContainerState::default(),
        };
        let result = (|| {
            let rootfs = self.rootfs(&record)?;
            rootfs.create_dirs()?;
            write_identity_files(&dir, &stored)?;
            record.config = stored.to_json();
            self.insert_named(&lease, &mut record, explicit_name)?;
            self.link_volumes(&record.id, &stored.mounts)
        })();
        if let Err(e) = result {
            let _ = fs::remove_dir_all(&dir);
            return Err(e);
        }
        Ok(record)
    }

    /// Inserts the record under the given name, or under a generated one (retrying on the
    /// rare clash, as concurrent `run`s may pick the same words).
    fn insert_named(
        &self,
        lease: &berth_store::Lease,
        record: &mut Container,
        name: Option<String>,
    ) -> Result<()> {
        if let Some(n) = name {
            record.name = n;
            return Ok(self.store().insert_container(lease, record)?);
        }
        for attempt in 0..64 {
            record.name = names::generate(attempt / 8);
            match self.store().insert_container(lease, record) {
                Ok(()) => return Ok(()),
                Err(berth_store::StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(EngineError::Conflict(
            "could not generate a unique container name".into(),
        ))
    }

    fn link_volumes(&self, id: &str, mounts: &[MountPoint]) -> Result<()> {
        self.store().db().write(|tx| {
            for m in mounts.iter().filter(|m| m.kind == "volume") {
                tx.execute(
                    "INSERT OR IGNORE INTO container_volumes (container_id, volume) VALUES (?1, ?2)",
                    [id, &m.name],
                )?;
            }
            Ok(())
        })?;
        Ok(())
    }

    /// `-v`, `--mount`, `--tmpfs` and the image's VOLUMEs as mount points. Named volumes are
    /// created when missing; an image VOLUME no user mount covers gets an anonymous volume.
    fn resolve_mounts(&self, stored: &Stored, _id: &str) -> Result<Vec<MountPoint>> {
        let mut out: Vec<MountPoint> = Vec::new();
        let hc = &stored.host_config;
        for bind in hc.binds.iter().flatten() {
            out.push(self.parse_bind(bind)?);
        }
        for m in hc.mounts.iter().flatten() {
            out.push(self.mount_point(m)?);
        }
        for (dest, opts) in hc.tmpfs.iter().flatten() {
            out.push(MountPoint {
                kind: "tmpfs".into(),
                destination: dest.clone(),
                mode: opts.clone(),
                rw: !opts.split(',').any(|o| o == "ro"),
                ..Default::default()
            });
        }
        let mut seen = std::collections::HashSet::new();
        for m in &out {
            if !m.destination.starts_with('/') {
                return Err(EngineError::InvalidArgument(format!(
                    "invalid mount config for type \"{}\": invalid mount path: '{}' mount path must be absolute",
                    m.kind, m.destination
                )));
            }
            if !seen.insert(clean(&m.destination)) {
                return Err(EngineError::InvalidArgument(format!(
                    "Duplicate mount point: {}",
                    m.destination
                )));
            }
        }
        for dest in stored.config.volumes.iter().flat_map(|v| v.keys()) {
            if seen.contains(&clean(dest)) {
                continue;
            }
            let v = self.create_volume(None, BTreeMap::new(), BTreeMap::new())?;
            out.push(MountPoint {
                kind: "volume".into(),
                name: v.name.clone(),
                source: v.mountpoint.clone(),
                destination: dest.clone(),
                driver: "local".into(),
                rw: true,
                ..Default::default()
            });
        }
        Ok(out)
    }

    /// `-v SRC:DST[:OPTS]`: SRC absolute is a bind (created if missing, as Docker does),
    /// otherwise a volume name; a bare DST is an anonymous volume.
    fn parse_bind(&self, spec: &str) -> Result<MountPoint> {
        let parts: Vec<&str> = spec.split(':').collect();
        let (src, dst, mode) = match parts.as_slice() {
            [dst] => ("", *dst, ""),
            [src, dst] => (*src, *dst, ""),
            [src, dst, mode] => (*src, *dst, *mode),
            _ => {
                return Err(EngineError::InvalidArgument(format!(
                    "invalid volume specification: '{spec}'"
                )))
            }
        };
        let ro = mode.split(',').any(|o| o == "ro");
        if let Some(bad) = mode.split(',').find(|o| {
            !o.is_empty()
                && !matches!(
                    *o,
                    "ro" | "rw"
                        | "z"
                        | "Z"
                        | "nocopy"
                        | "private"
                        | "rprivate"
                        | "shared"
                        | "rshared"
                        | "slave"
                        | "rslave"
                )
        }) {
            return Err(EngineError::InvalidArgument(format!("invalid mode: {bad}")));
        }
        if src.starts_with('/') {
            let p = Path::new(src);
            if !p.exists() {
                fs::create_dir_all(p)
                    .map_err(EngineError::io(format!("creating bind source {src}")))?;
            }
            return Ok(MountPoint {
                kind: "bind".into(),
                source: src.to_string(),
                destination: dst.to_string(),
                mode: mode.to_string(),
                rw: !ro,
                propagation: "rprivate".into(),
                ..Default::default()
            });
        }
        let v = self.create_volume(
            (!src.is_empty()).then_some(src),
            BTreeMap::new(),
            BTreeMap::new(),
        )?;
        Ok(MountPoint {
            kind: "volume".into(),
            name: v.name.clone(),
            source: v.mountpoint.clone(),
            destination: dst.to_string(),
            driver: "local".into(),
            mode: if mode.is_empty() {
                "z".into()
            } else {
                mode.to_string()
            },
            rw: !ro,
            ..Default::default()
        })
    }

    fn mount_point(&self, m: &super::config::MountSpec) -> Result<MountPoint> {
        match m.kind.as_str() {
            "bind" => {
                if !Path::new(&m.source).exists() {
                    return Err(EngineError::InvalidArgument(format!(
                        "invalid mount config for type \"bind\": bind source path does not exist: {}",
                        m.source
                    )));
                }
                Ok(MountPoint {
                    kind: "bind".into(),
                    source: m.source.clone(),
                    destination: m.target.clone(),
                    rw: !m.read_only,
                    propagation: "rprivate".into(),
                    ..Default::default()
                })
            }
            "volume" => {
                let v = self.create_volume(
                    (!m.source.is_empty()).then_some(m.source.as_str()),
                    BTreeMap::new(),
                    BTreeMap::new(),
                )?;
                Ok(MountPoint {
                    kind: "volume".into(),
                    name: v.name.clone(),
                    source: v.mountpoint,
                    destination: m.target.clone(),
                    driver: "local".into(),
                    mode: "z".into(),
                    rw: !m.read_only,
                    ..Default::default()
                })
            }
            "tmpfs" => {
                let mut opts = Vec::new();
                if let Some(t) = &m.tmpfs_options {
                    if t.size_bytes > 0 {
                        opts.push(format!("size={}", t.size_bytes));
                    }
                    if t.mode > 0 {
                        opts.push(format!("mode={:o}", t.mode));
                    }
                }
                if m.read_only {
                    opts.push("ro".into());
                }
                Ok(MountPoint {
                    kind: "tmpfs".into(),
                    destination: m.target.clone(),
                    rw: !m.read_only,
                    mode: opts.join(","),
                    ..Default::default()
                })
            }
            other => Err(EngineError::InvalidArgument(format!(
                "invalid mount config: mount type unknown: {other:?}"
            ))),
        }
    }
}

/// `HostConfig.PortBindings` from `-p` values: `{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}`.
fn port_bindings(publish: &[String]) -> BTreeMap<String, Value> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for p in publish {
        for m in berth_net::parse_publish(p).unwrap_or_default() {
            let binding = m.requested_binding();
            out.entry(m.container.to_string())
                .or_default()
                .push(serde_json::to_value(binding).unwrap_or(Value::Null));
        }
    }
    out.into_iter().map(|(k, v)| (k, Value::Array(v))).collect()
}

/// Docker's merge of the user's config over the image's.
fn merge_config(mut user: Config, image: &RunConfig) -> Config {
    let user_entrypoint_empty = user
        .entrypoint
        .as_ref()
        .is_none_or(|e| e.is_empty() || (e.len() == 1 && e[0].is_empty()));
    if user_entrypoint_empty {
        if user.cmd.as_ref().is_none_or(Vec::is_empty) {
            user.cmd = image.cmd.clone();
        }
        user.entrypoint = match user.entrypoint {
            None => image.entrypoint.clone(),
            Some(_) => None,
        };
    }
    let mut env = image.env.clone().unwrap_or_default();
    for e in std::mem::take(&mut user.env) {
        let key = e.split_once('=').map_or(e.as_str(), |(k, _)| k).to_string();
        match env
            .iter_mut()
            .find(|x| x.split_once('=').map_or(x.as_str(), |(k, _)| k) == key)
        {
            Some(slot) => *slot = e,
            None => env.push(e),
        }
    }
    user.env = env;
    if user.working_dir.is_empty() {
        user.working_dir = image.working_dir.clone();
    }
    if user.user.is_empty() {
        user.user = image.user.clone();
    }
    if user.stop_signal.is_empty() {
        user.stop_signal = image.stop_signal.clone();
    }
    let mut labels = image.labels.clone().unwrap_or_default();
    labels.extend(std::mem::take(&mut user.labels));
    user.labels = labels;
    user.exposed_ports = union(image.exposed_ports.as_ref(), user.exposed_ports.take());
    user.volumes = union(image.volumes.as_ref(), user.volumes.take());
    if user.healthcheck.is_none() {
        user.healthcheck = image.healthcheck.clone();
    }
    if user.on_build.is_none() {
        user.on_build = image.on_build.clone();
    }
    user
}

fn union(
    image: Option<&BTreeMap<String, Value>>,
    user: Option<BTreeMap<String, Value>>,
) -> Option<BTreeMap<String, Value>> {
    match (image, user) {
        (None, None) => None,
        (i, u) => {
            let mut m = i.cloned().unwrap_or_default();
            m.extend(u.unwrap_or_default());
            Some(m)
        }
    }
}

fn check_host_config(hc: &HostConfig) -> Result<()> {
    match hc.restart_policy.name.as_str() {
        "" | "no" | "always" | "unless-stopped" | "on-failure" => {}
        other => {
            return Err(EngineError::InvalidArgument(format!(
                "invalid restart policy: {other}"
            )))
        }
    }
    if hc.restart_policy.maximum_retry_count != 0 && hc.restart_policy.name != "on-failure" {
        return Err(EngineError::InvalidArgument(
            "invalid restart policy: maximum retry count can only be used with 'on-failure'".into(),
        ));
    }
    if hc.auto_remove && !matches!(hc.restart_policy.name.as_str(), "" | "no") {
        return Err(EngineError::InvalidArgument(
            "can't create 'AutoRemove' container with restart policy".into(),
        ));
    }
    let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get());
    if hc.nano_cpus < 0 || hc.nano_cpus > ncpu as i64 * 1_000_000_000 {
        return Err(EngineError::InvalidArgument(format!(
            "Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available"
        )));
    }
    if hc.memory != 0 && hc.memory < 6 * 1024 * 1024 {
        return Err(EngineError::InvalidArgument(
            "Minimum memory limit allowed is 6MB".into(),
        ));
    }
    Ok(())
}

/// `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf` of the container, bind-mounted in.
fn write_identity_files(dir: &Path, stored: &Stored) -> Result<()> {
    let hostname = &stored.config.hostname;
    let hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";
    let write = |name: &str, content: &str| {
        fs::write(dir.join(name), content).map_err(EngineError::io(format!("writing {name}")))
    };
    write("hostname", &format!("{hostname}\n"))?;
    write("hosts", hosts)?;
    write("resolv.conf", &host_resolv_conf())?;
    Ok(())
}

/// The host's resolv.conf without loopback nameservers (they mean nothing inside the
/// container's network namespace).
fn host_resolv_conf() -> String {
    let host = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    host.lines()
        .filter(|l| {
            !l.trim_start().starts_with("nameserver")
                || !l
                    .split_whitespace()
                    .nth(1)
                    .is_some_and(|a| a.starts_with("127.") || a == "::1")
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

pub(crate) fn clean(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}
