//! Running a plan: one thread per needed stage, each waiting for the stages it takes files
//! from, so independent stages run at the same time. The first failure stops the others at
//! their next step.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Condvar, Mutex};

use berth_build::context::Context;
use berth_build::plan::{Plan, PlannedStage, Platform};
use berth_build::progress::Progress;
use berth_store::{Digest, ImageConfig, Lease};

use super::error::{BuildError, SourceExcerpt};
use super::source::Scratch;
use super::SecretSource;
use crate::Engine;

/// Where a stage (or step) stands: its image so far and that image's config.
#[derive(Clone, Debug)]
pub(crate) struct Built {
    /// `None` while a `FROM scratch` stage has made no image yet.
    pub image: Option<Digest>,
    pub config: ImageConfig,
    pub top_layer: Option<Digest>,
    /// A `CMD` came earlier in this stage: an `ENTRYPOINT` then keeps it (Docker resets only
    /// a CMD inherited from the base).
    pub cmd_set: bool,
}

/// Everything a build's steps share.
pub(crate) struct Build<'a> {
    pub engine: &'a Engine,
    pub plan: &'a Plan,
    pub context: &'a Context,
    pub progress: &'a Progress,
    pub lease: &'a Lease,
    pub scratch: &'a Scratch,
    pub build_args: &'a BTreeMap<String, String>,
    pub no_cache: bool,
    /// The network of `RUN` steps that do not choose one.
    pub network: String,
    pub secrets: &'a BTreeMap<String, SecretSource>,
    pub platform: &'a Platform,
    pub dockerfile_name: &'a str,
    pub dockerfile_text: &'a str,
}

#[derive(Default)]
struct Board {
    done: HashMap<usize, Built>,
    failed: Option<BuildError>,
}

impl Build<'_> {
    /// Builds every planned stage; returns the target's result.
    pub(crate) fn run(&self) -> Result<Built, BuildError> {
        let board = Mutex::new(Board::default());
        let changed = Condvar::new();
        std::thread::scope(|s| {
            for stage in &self.plan.stages {
                let (board, changed) = (&board, &changed);
                s.spawn(move || {
                    let deps = match wait_for(board, changed, stage) {
                        Some(d) => d,
                        None => return,
                    };
                    let result = self.run_stage(stage, &deps, &|| {
                        board.lock().map(|b| b.failed.is_some()).unwrap_or(true)
                    });
                    let mut b = board.lock().unwrap_or_else(|p| p.into_inner());
                    match result {
                        Ok(built) => {
                            b.done.insert(stage.index, built);
                        }
                        Err(e) => {
                            if b.failed.is_none() {
                                b.failed = Some(e);
                            }
                        }
                    }
                    changed.notify_all();
                });
            }
        });
        let mut board = board.into_inner().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = board.failed.take() {
            return Err(e);
        }
        board
            .done
            .remove(&self.plan.target)
            .ok_or_else(|| BuildError::new("the target stage was not built"))
    }

    /// The Dockerfile lines of an instruction, for an error.
    pub(crate) fn excerpt(&self, start: usize, end: usize) -> Option<SourceExcerpt> {
        Some(SourceExcerpt::of(
            self.dockerfile_name,
            self.dockerfile_text,
            start,
            end,
        ))
    }

    /// The final image: the target's, with the `--label`s of the command line on top.
    pub(crate) fn finish(
        &self,
        built: Built,
        labels: &BTreeMap<String, String>,
    ) -> Result<Digest, BuildError> {
        let mut built = built;
        if !labels.is_empty() {
            let kvs = labels
                .iter()
                .map(|(k, v)| berth_build::instruction::KeyValue {
                    key: k.clone(),
                    value: v.clone(),
                    no_delimiter: false,
                })
                .collect();
            let instruction = berth_build::instruction::Instruction::Label(kvs);
            let text = labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ");
            built = self
                .metadata_step(&built, &instruction, &[], &format!("LABEL {text}"))?
                .0;
        }
        if built.image.is_none() {
            built = self.commit(&built, None, "")?;
        }
        built
            .image
            .ok_or_else(|| BuildError::new("the build made no image"))
    }
}

/// Waits until the stages `stage` needs are built; `None` when the build failed meanwhile.
fn wait_for(
    board: &Mutex<Board>,
    changed: &Condvar,
    stage: &PlannedStage,
) -> Option<HashMap<usize, Built>> {
    let mut b = board.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        if b.failed.is_some() {
            return None;
        }
        if stage.needs.iter().all(|n| b.done.contains_key(n)) {
            return Some(
                stage
                    .needs
                    .iter()
                    .filter_map(|n| b.done.get(n).map(|r| (*n, r.clone())))
                    .collect(),
            );
        }
        b = changed.wait(b).unwrap_or_else(|p| p.into_inner());
    }
}
