//! `ps`: containers with Docker's filters; the CLI turns states into `Up 3 seconds` text.

use berth_store::{Container, ContainerStatus};

use super::config::Stored;
use crate::image::unix_seconds;
use crate::{Engine, EngineError, Result};

#[derive(Clone, Debug, Default)]
pub struct PsOptions {
    pub all: bool,
    /// `-n N` / `-l` (1): the last N created, any state.
    pub last: Option<usize>,
    pub filters: Vec<String>,
    /// `-s`: compute the size of each container's layer.
    pub size: bool,
}

/// One row of `ps`, with everything the CLI's columns and templates need.
#[derive(Clone, Debug)]
pub struct ContainerSummary {
    pub container: Container,
    pub stored: Stored,
    /// Bytes in the container's own layer (`-s`).
    pub size_rw: Option<u64>,
    /// Bytes of the image below it (`-s`).
    pub size_root_fs: Option<u64>,
    /// The PORTS column (`0.0.0.0:8080->80/tcp`).
    pub ports: String,
}

impl Engine {
    pub fn list_containers(&self, opts: &PsOptions) -> Result<Vec<ContainerSummary>> {
        let filters = opts
            .filters
            .iter()
            .map(|f| Filter::parse(f))
            .collect::<Result<Vec<_>>>()?;
        let mut all = self.containers()?;
        all.sort_by(|a, b| b.created.cmp(&a.created));
        let mut out = Vec::new();
        for c in all {
            let status_filtered = filters.iter().any(|f| matches!(f, Filter::Status(_)));
            if !opts.all && opts.last.is_none() && !status_filtered && !c.state.status.is_live() {
                continue;
            }
            let stored = Stored::parse(&c.config);
            // Build containers (`RUN` steps) show only with -a.
            if !opts.all && stored.config.labels.contains_key(crate::build::BUILD_LABEL) {
                continue;
            }
            // Values of one filter key are alternatives (labels excepted: all must hold, as
            // in Docker); different keys must all match.
            let mut by_key: std::collections::BTreeMap<&str, bool> =
                std::collections::BTreeMap::new();
            for f in &filters {
                let hit = self.matches(f, &c, &stored);
                if f.key() == "label" {
                    *by_key.entry("label").or_insert(true) &= hit;
                } else {
                    *by_key.entry(f.key()).or_insert(false) |= hit;
                }
            }
            if by_key.values().any(|hit| !hit) {
                continue;
            }
            let (size_rw, size_root_fs) = if opts.size {
                let rw = crate::volume::dir_size(&self.store().container_dir(&c.id).join("upper"));
                let image = self.store().image(&c.image_id)?.map_or(0, |i| i.size);
                (Some(rw), Some(rw + image))
            } else {
                (None, None)
            };
            let ports = self.ports_text(&c, &stored);
            out.push(ContainerSummary {
                ports,
                container: c,
                stored,
                size_rw,
                size_root_fs,
            });
            if opts.last.is_some_and(|n| out.len() >= n) {
                break;
            }
        }
        Ok(out)
    }

    fn matches(&self, f: &Filter, c: &Container, stored: &Stored) -> bool {
        match f {
            Filter::Status(s) => {
                let word = match c.state.status {
                    ContainerStatus::Removing => "removing",
                    s => s.as_str(),
                };
                word == s
            }
            Filter::Name(n) => c.name.contains(n.trim_start_matches('/')),
            Filter::Id(p) => c.id.starts_with(p.as_str()),
            Filter::Label(k, v) => match (stored.config.labels.get(k), v) {
                (Some(_), None) => true,
                (Some(have), Some(want)) => have == want,
                (None, _) => false,
            },
            Filter::Ancestor(a) => match self.store().resolve_image(a) {
                Ok(img) => c.image_id == img.id || self.descends_from(&c.image_id, &img.id),
                Err(_) => false,
            },
            Filter::Exited(code) => {
                c.state.status == ContainerStatus::Exited && c.state.exit_code == *code
            }
            Filter::Before(b) => self.store().resolve_container(b).is_ok_and(|o| {
                unix_seconds(&c.created) < unix_seconds(&o.created) || c.created < o.created
            }),
            Filter::Since(s) => self
                .store()
                .resolve_container(s)
                .is_ok_and(|o| c.created > o.created),
            Filter::Volume(v) => stored
                .mounts
                .iter()
                .any(|m| &m.name == v || &m.destination == v || &m.source == v),
        }
    }

    /// Whether `image` was built on `ancestor` (through the parent chain).
    fn descends_from(&self, image: &berth_store::Digest, ancestor: &berth_store::Digest) -> bool {
        let mut cur = self.store().image(image).ok().flatten();
        for _ in 0..256 {
            let Some(img) = cur else { return false };
            match &img.parent {
                Some(p) if p == ancestor => return true,
                Some(p) => cur = self.store().image(p).ok().flatten(),
                None => return false,
            }
        }
        false
    }
}

enum Filter {
    Status(String),
    Name(String),
    Id(String),
    Label(String, Option<String>),
    Ancestor(String),
    Exited(i32),
    Before(String),
    Since(String),
    Volume(String),
}

impl Filter {
    fn key(&self) -> &'static str {
        match self {
            Filter::Status(_) => "status",
            Filter::Name(_) => "name",
            Filter::Id(_) => "id",
            Filter::Label(..) => "label",
            Filter::Ancestor(_) => "ancestor",
            Filter::Exited(_) => "exited",
            Filter::Before(_) => "before",
            Filter::Since(_) => "since",
            Filter::Volume(_) => "volume",
        }
    }

    fn parse(s: &str) -> Result<Filter> {
        let (k, v) = s.split_once('=').ok_or_else(|| {
            EngineError::InvalidArgument("bad format of filter (expected name=value)".into())
        })?;
        Ok(match k {
            "status" => match v {
                "created" | "restarting" | "running" | "removing" | "paused" | "exited"
                | "dead" => Filter::Status(v.into()),
                _ => {
                    return Err(EngineError::InvalidArgument(format!(
                        "invalid filter 'status={v}'"
                    )))
                }
            },
            "name" => Filter::Name(v.into()),
            "id" => Filter::Id(v.into()),
            "label" => match v.split_once('=') {
                Some((a, b)) => Filter::Label(a.into(), Some(b.into())),
                None => Filter::Label(v.into(), None),
            },
            "ancestor" => Filter::Ancestor(v.into()),
            "exited" => Filter::Exited(v.parse().map_err(|_| {
                EngineError::InvalidArgument(format!("invalid filter 'exited={v}'"))
            })?),
            "before" => Filter::Before(v.into()),
            "since" => Filter::Since(v.into()),
            "volume" => Filter::Volume(v.into()),
            _ => {
                return Err(EngineError::InvalidArgument(format!(
                    "invalid filter '{k}'"
                )))
            }
        })
    }
}
