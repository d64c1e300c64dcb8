//! `image inspect`: the image as Docker's API describes it, field names and all.

use std::collections::BTreeMap;

use berth_store::{Digest, Image, Reference, RunConfig};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::{Engine, Result};

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInspect {
    pub id: String,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    pub parent: String,
    pub comment: String,
    pub created: String,
    pub docker_version: String,
    pub author: String,
    pub config: Value,
    pub architecture: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    pub os: String,
    pub size: u64,
    pub graph_driver: GraphDriver,
    #[serde(rename = "RootFS")]
    pub root_fs: RootFsInspect,
    pub metadata: Metadata,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GraphDriver {
    pub name: String,
    pub data: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RootFsInspect {
    #[serde(rename = "Type")]
    pub kind: String,
    pub layers: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Metadata {
    pub last_tag_time: String,
}

/// Go's zero time, which Docker prints for an image never tagged.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

impl Engine {
    pub fn inspect_image(&self, name: &str) -> Result<ImageInspect> {
        let img = self.store().resolve_image(name)?;
        self.inspect_resolved(&img)
    }

    pub(crate) fn inspect_resolved(&self, img: &Image) -> Result<ImageInspect> {
        let config = self.store().image_config(&img.id)?;
        let layers = self.store().layer_stack(img.top_layer.as_ref())?;
        Ok(ImageInspect {
            id: img.id.to_string(),
            repo_tags: img.tags.iter().map(Reference::familiar).collect(),
            repo_digests: img.digests.iter().map(Reference::familiar).collect(),
            parent: img
                .parent
                .as_ref()
                .map(Digest::to_string)
                .unwrap_or_default(),
            comment: config.comment.clone().unwrap_or_default(),
            created: config
                .created
                .clone()
                .unwrap_or_else(|| img.created.clone()),
            docker_version: config
                .extra
                .get("docker_version")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            author: config.author.clone().unwrap_or_default(),
            config: inspect_config(config.config.as_ref()),
            architecture: config.architecture.clone(),
            variant: config.variant.clone(),
            os: config.os.clone(),
            size: img.size,
            graph_driver: self.graph_driver(img),
            root_fs: RootFsInspect {
                kind: "layers".to_string(),
                layers: layers.iter().map(|l| l.diff_id.to_string()).collect(),
            },
            metadata: Metadata {
                last_tag_time: img
                    .last_tag_time
                    .clone()
                    .unwrap_or_else(|| ZERO_TIME.to_string()),
            },
        })
    }

    /// overlay2's view of an image: its top layer is the upper dir, the rest are lower dirs.
    fn graph_driver(&self, img: &Image) -> GraphDriver {
        let mut data = BTreeMap::new();
        if let Some(top) = &img.top_layer {
            let dir = self.store().layer_dir(top);
            let lowers: Vec<String> = self
                .store()
                .layer_stack(Some(top))
                .unwrap_or_default()
                .iter()
                .rev()
                .skip(1)
                .map(|l| self.store().layer_diff(&l.chain_id).display().to_string())
                .collect();
            if !lowers.is_empty() {
                data.insert("LowerDir".to_string(), lowers.join(":"));
            }
            data.insert("MergedDir".into(), dir.join("merged").display().to_string());
            data.insert("UpperDir".into(), dir.join("diff").display().to_string());
            data.insert("WorkDir".into(), dir.join("work").display().to_string());
        }
        GraphDriver {
            name: "overlay2".to_string(),
            data,
        }
    }
}

/// The `Config` object: the fields scripts read are always present (null when unset, as
/// Docker prints them); Docker-only and unknown fields pass through when set.
fn inspect_config(c: Option<&RunConfig>) -> Value {
    let d = RunConfig::default();
    let c = c.unwrap_or(&d);
    let mut m = Map::new();
    let opt = |v: Option<Value>| v.unwrap_or(Value::Null);
    m.insert("User".into(), Value::from(c.user.clone()));
    m.insert(
        "ExposedPorts".into(),
        opt(c.exposed_ports.as_ref().map(|p| serde_json::json!(p))),
    );
    m.insert(
        "Env".into(),
        opt(c.env.as_ref().map(|v| serde_json::json!(v))),
    );
    m.insert(
        "Cmd".into(),
        opt(c.cmd.as_ref().map(|v| serde_json::json!(v))),
    );
    if let Some(h) = &c.healthcheck {
        m.insert("Healthcheck".into(), serde_json::json!(h));
    }
    if c.args_escaped {
        m.insert("ArgsEscaped".into(), Value::Bool(true));
    }
    m.insert(
        "Volumes".into(),
        opt(c.volumes.as_ref().map(|v| serde_json::json!(v))),
    );
    m.insert("WorkingDir".into(), Value::from(c.working_dir.clone()));
    m.insert(
        "Entrypoint".into(),
        opt(c.entrypoint.as_ref().map(|v| serde_json::json!(v))),
    );
    m.insert(
        "OnBuild".into(),
        opt(c.on_build.as_ref().map(|v| serde_json::json!(v))),
    );
    m.insert(
        "Labels".into(),
        opt(c.labels.as_ref().map(|v| serde_json::json!(v))),
    );
    m.insert("StopSignal".into(), Value::from(c.stop_signal.clone()));
    if let Some(s) = &c.shell {
        m.insert("Shell".into(), serde_json::json!(s));
    }
    for (k, v) in &c.extra {
        m.entry(k.clone()).or_insert_with(|| v.clone());
    }
    Value::Object(m)
}
