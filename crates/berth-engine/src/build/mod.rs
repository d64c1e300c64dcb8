//! `build`: a Dockerfile and a context become an image, one cached step at a time.
//!
//! berth-build reads the Dockerfile, plans the stages and keys the steps; this module runs
//! them, as Docker's classic builder does on this kind of store: every step yields an image
//! whose parent is the previous step's (metadata steps add no layer), `RUN` runs a build
//! container and its container layer becomes the step's layer, `COPY`/`ADD` write into a
//! fresh layer over a mount of the previous step. Before a step runs its key is looked up in
//! the build cache; a hit reuses the step's image, so an unchanged rebuild gives the same ID.
//! Stages the target needs run in parallel when they do not depend on each other.

mod cache;
mod copy;
mod error;
mod executor;
mod fetch;
mod metadata;
mod mounts;
mod place;
mod run;
mod snapshot;
mod source;
mod stage;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

use berth_build::context::{ChecksumCache, Context, IgnoreRules};
use berth_build::plan::{plan, PlanOptions, Platform, PROXY_ARGS};
use berth_store::{Digest, Reference};
use rusqlite::OptionalExtension;

pub use berth_build::progress::{Buffer, Progress};
pub use cache::{BuilderPruneReport, CacheUsage};
pub use error::{BuildError, FailedStep, SourceExcerpt};
pub use run::BUILD_LABEL;

use crate::Engine;

/// Where the build context comes from.
pub enum ContextSource {
    /// A directory.
    Dir(PathBuf),
    /// A tar stream (plain, gzip or zstd), e.g. `berth build - < ctx.tar`.
    Tar(Box<dyn Read + Send>),
    /// A URL of a tar archive.
    Url(String),
    /// No context at all (a Dockerfile on stdin).
    Empty,
}

/// Where the Dockerfile comes from.
pub enum DockerfileSource {
    /// A file on this host (`-f FILE`, or `PATH/Dockerfile`).
    Path(PathBuf),
    /// A path inside the context (a context from a tar or URL).
    InContext(String),
    /// The text itself (`-f -`).
    Text(Vec<u8>),
}

/// A secret a `RUN --mount=type=secret` may use (`--secret id=...`).
#[derive(Clone, Debug)]
pub enum SecretSource {
    File(PathBuf),
    /// The value of an environment variable of the build's caller.
    Value(Vec<u8>),
}

/// What `berth build` was asked for.
pub struct BuildOptions {
    pub context: ContextSource,
    pub dockerfile: DockerfileSource,
    /// `-t`
    pub tags: Vec<String>,
    /// `--build-arg`, values resolved.
    pub build_args: BTreeMap<String, String>,
    /// `--target`
    pub target: Option<String>,
    /// `--no-cache`
    pub no_cache: bool,
    /// `--pull`: base images are only ever local here; accepted for compatibility.
    pub pull: bool,
    /// `--label`: set on the final image.
    pub labels: BTreeMap<String, String>,
    /// `--network`: the network of `RUN` steps without `--network` (`bridge` by default).
    pub network: Option<String>,
    /// `--platform`
    pub platform: Option<String>,
    /// `--secret`
    pub secrets: BTreeMap<String, SecretSource>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            context: ContextSource::Empty,
            dockerfile: DockerfileSource::Text(Vec::new()),
            tags: Vec::new(),
            build_args: BTreeMap::new(),
            target: None,
            no_cache: false,
            pull: false,
            labels: BTreeMap::new(),
            network: None,
            platform: None,
            secrets: BTreeMap::new(),
        }
    }
}

/// A built image.
#[derive(Debug, Clone)]
pub struct BuildOutcome {
    pub image_id: Digest,
    pub tags: Vec<Reference>,
    /// Build args given but used by no stage (Docker warns about them).
    pub unused_args: Vec<String>,
}

impl Engine {
    /// Builds an image; progress goes to `progress`. Nothing is tagged unless every step
    /// succeeded.
    pub fn build(
        &self,
        opts: BuildOptions,
        progress: &Progress,
    ) -> Result<BuildOutcome, BuildError> {
        let tags = opts
            .tags
            .iter()
            .map(|t| {
                Reference::parse(t)
                    .map(Reference::with_default_tag)
                    .map_err(|e| BuildError::new(format!("invalid tag {t:?}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let platform = match &opts.platform {
            Some(p) => check_platform(p)?,
            None => Platform::host(),
        };
        let scratch = source::Scratch::new(self)?;
        let prepared = source::prepare(self, &scratch, opts.context, &opts.dockerfile, progress)?;

        let df = berth_build::parser::parse_bytes(&prepared.dockerfile).map_err(|e| {
            let text = String::from_utf8_lossy(&prepared.dockerfile).into_owned();
            BuildError::new(format!(
                "dockerfile parse error on line {}: {}",
                e.line, e.message
            ))
            .with_source(Some(SourceExcerpt::of(
                &prepared.dockerfile_name,
                &text,
                e.line,
                e.line,
            )))
        })?;
        let text = String::from_utf8_lossy(&prepared.dockerfile).into_owned();
        let excerpt = |line: usize, end: usize| {
            Some(SourceExcerpt::of(
                &prepared.dockerfile_name,
                &text,
                line,
                end,
            ))
        };
        let plan = plan(
            &df,
            &PlanOptions {
                target: opts.target.as_deref(),
                build_args: &opts.build_args,
                platform: platform.clone(),
            },
        )
        .map_err(|e| {
            let line = e.line();
            let message = match &e {
                berth_build::plan::PlanError::Parse(p) => {
                    format!("dockerfile parse error on line {}: {}", p.line, p.message)
                }
                other => other.to_string(),
            };
            BuildError::new(message).with_source(line.and_then(|l| excerpt(l, l)))
        })?;
        for stage in &plan.stages {
            if let Some(p) = &stage.platform {
                check_platform(p).map_err(|e| {
                    e.with_source(excerpt(
                        stage.location.start_line,
                        stage.location.start_line,
                    ))
                })?;
            }
        }

        let rules = IgnoreRules::parse(&String::from_utf8_lossy(&prepared.dockerignore))?;
        let checksums = match &prepared.checksum_file {
            Some(f) => ChecksumCache::load(f),
            None => ChecksumCache::in_memory(),
        };
        let context = Context::new(&prepared.root, rules, checksums);

        self.ensure_build_cache()?;
        let lease = self.store().lease()?;
        let build = executor::Build {
            engine: self,
            plan: &plan,
            context: &context,
            progress,
            lease: &lease,
            scratch: &scratch,
            build_args: &opts.build_args,
            no_cache: opts.no_cache,
            network: opts.network.clone().unwrap_or_else(|| "bridge".to_string()),
            secrets: &opts.secrets,
            platform: &platform,
            dockerfile_name: &prepared.dockerfile_name,
            dockerfile_text: &text,
        };
        let built = build.run()?;
        let image = build.finish(built, &opts.labels)?;

        let export = progress.vertex("exporting to image");
        export.status("exporting layers done");
        export.status(&format!("writing image {image} done"));
        for t in &tags {
            self.tag_built(&image, t)?;
            export.status(&format!("naming to {t} done"));
        }
        export.done();
        if let Err(e) = context.save_checksums() {
            tracing::debug!("keeping the context checksums: {e}");
        }
        let unused_args = opts
            .build_args
            .keys()
            .filter(|k| !plan.declared_args.contains(*k) && !PROXY_ARGS.contains(&k.as_str()))
            .cloned()
            .collect();
        Ok(BuildOutcome {
            image_id: image,
            tags,
            unused_args,
        })
    }
}

impl Engine {
    /// Tags the built image, unless the tag names it already: a fully cached rebuild then
    /// writes nothing to the database (Docker would refresh the image's LastTagTime; keeping
    /// the write-ahead log from growing on every rebuild is worth more).
    fn tag_built(&self, image: &Digest, tag: &Reference) -> Result<(), BuildError> {
        let name = tag.to_string();
        let current: Option<String> = self.store().db().read(|tx| {
            Ok(tx
                .query_row("SELECT image_id FROM tags WHERE name = ?1", [&name], |r| {
                    r.get(0)
                })
                .optional()?)
        })?;
        if current.as_deref() != Some(image.to_string().as_str()) {
            self.store().tag(image, tag)?;
        }
        Ok(())
    }
}

/// Only this machine's platform can be built for: there is no emulation here.
fn check_platform(text: &str) -> Result<Platform, BuildError> {
    let wanted = Platform::parse(text).map_err(BuildError::new)?;
    let host = Platform::host();
    if wanted.os != host.os || wanted.architecture != host.architecture {
        return Err(BuildError::new(format!(
            "platform {wanted} is not supported: berth builds for {host} only (this machine's platform)"
        )));
    }
    Ok(wanted)
}

/// A path of the store where the build keeps its own files.
fn build_dir(engine: &Engine) -> PathBuf {
    engine.root().join("build")
}

pub(crate) use error::io as io_error;
