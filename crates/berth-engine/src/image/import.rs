//! `import`: a rootfs tarball (plain, gzip or zstd) becomes a one-layer image.

use std::io::Read;

use berth_store::{
    now_rfc3339, Digest, History, ImageConfig, LayerExpect, Reference, RootFs, RunConfig,
};

use crate::{Engine, Result};

#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// `REPOSITORY[:TAG]` to tag the new image with.
    pub reference: Option<String>,
    /// Dockerfile instructions applied to the config (`-c 'CMD ["sh"]'`).
    pub changes: Vec<String>,
    /// The commit message (`-m`); the default says where the tarball came from.
    pub message: Option<String>,
    /// Where the tarball came from, as the user named it (`-` for stdin).
    pub source: String,
}

impl Engine {
    pub fn import(&self, tarball: impl Read + Send, opts: &ImportOptions) -> Result<Digest> {
        // Refuse a bad name or change before reading a byte: nothing is stored on error.
        let reference = opts
            .reference
            .as_deref()
            .map(|r| Reference::parse(r).map(Reference::with_default_tag))
            .transpose()?;
        let mut run_config = RunConfig::default();
        for c in &opts.changes {
            super::changes::apply(&mut run_config, c)?;
        }
        let lease = self.store().lease()?;
        let layer = self
            .store()
            .create_layer(&lease, None, tarball, &LayerExpect::default())?;
        let created = now_rfc3339();
        let comment = opts
            .message
            .clone()
            .unwrap_or_else(|| format!("Imported from {}", opts.source));
        let config = ImageConfig {
            architecture: host_architecture().to_string(),
            os: "linux".to_string(),
            created: Some(created.clone()),
            comment: Some(comment.clone()),
            config: Some(run_config),
            rootfs: RootFs {
                kind: "layers".to_string(),
                diff_ids: vec![layer.diff_id.clone()],
            },
            history: vec![History {
                created: Some(created),
                comment: Some(comment),
                ..Default::default()
            }],
            ..Default::default()
        };
        let id = self
            .store()
            .create_image(&lease, &config.to_bytes(), None)?;
        if let Some(r) = reference {
            self.store().tag(&id, &r)?;
        }
        Ok(id)
    }
}

/// The GOARCH name of this machine, as image configs spell architectures.
pub fn host_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        "arm" => "arm",
        other => other,
    }
}
