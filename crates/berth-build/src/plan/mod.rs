//! The build plan: which stages a target needs, what each stage starts from, which stages wait
//! for which, and the values of the build args before the first `FROM`.
//!
//! Nothing here runs or reads files: the executor walks a [`Plan`], and each stage keeps its
//! variables in a [`Scope`] while its steps run.
//!
//! ```
//! use std::collections::BTreeMap;
//! use berth_build::plan::{plan, Base, PlanOptions, Platform};
//!
//! let df = berth_build::parser::parse(
//!     "ARG V=1\nFROM busybox:$V AS build\nRUN make\nFROM scratch AS docs\nFROM scratch\nCOPY --from=build /out /\n",
//! ).unwrap();
//! let args = BTreeMap::new();
//! let p = plan(&df, &PlanOptions { target: None, build_args: &args, platform: Platform::host() }).unwrap();
//! // `docs` is not needed by the last stage, so it is not planned.
//! let names: Vec<String> = p.stages.iter().map(|s| s.display_name()).collect();
//! assert_eq!(names, ["build", "stage-2"]);
//! assert_eq!(p.stages[0].base, Base::Image("busybox:1".into()));
//! assert_eq!(p.stages[1].needs, [0]);
//! ```

mod platform;
mod scope;

use std::collections::{BTreeMap, BTreeSet};

pub use platform::Platform;
pub use scope::{Scope, PROXY_ARGS};

use crate::error::ParseError;
use crate::instruction::{stages, EnvExpander, Instruction, SourceLocation};
use crate::parser::Dockerfile;
use crate::shell::ShellLex;

/// Why a build cannot be planned.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// Something wrong at a line of the Dockerfile (a bad `FROM`, a stage cycle ...).
    #[error("{message}")]
    At { line: usize, message: String },
    #[error("target stage \"{0}\" could not be found")]
    UnknownTarget(String),
    #[error("the Dockerfile has no FROM instruction")]
    NoStages,
}

impl PlanError {
    /// The Dockerfile line the error is about, when there is one.
    pub fn line(&self) -> Option<usize> {
        match self {
            PlanError::Parse(e) => Some(e.line),
            PlanError::At { line, .. } => Some(*line),
            _ => None,
        }
    }
}

/// What a stage starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    /// `FROM scratch`: nothing.
    Scratch,
    /// `FROM <earlier stage>`: that stage's result (its index in the Dockerfile).
    Stage(usize),
    /// An image reference, build args expanded.
    Image(String),
}

/// One stage the target needs.
#[derive(Debug, Clone)]
pub struct PlannedStage {
    /// Its position among the Dockerfile's stages (0-based).
    pub index: usize,
    /// `AS name`, lowercased.
    pub name: Option<String>,
    pub base: Base,
    /// `FROM --platform=`, expanded.
    pub platform: Option<String>,
    pub location: SourceLocation,
    pub instructions: Vec<(Instruction, SourceLocation)>,
    /// Stages (by index) that must be built first: its base, `COPY --from`, `RUN --mount from=`.
    pub needs: Vec<usize>,
}

impl PlannedStage {
    /// How progress lines name the stage: its name, or `stage-N` as BuildKit does.
    pub fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("stage-{}", self.index))
    }
}

/// The plan of one build.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Values of the ARGs before the first `FROM` (build args applied), plus the automatic
    /// platform args: what `FROM` lines and a stage's `ARG NAME` see.
    pub global_args: BTreeMap<String, String>,
    /// Every name declared by an `ARG` in a planned stage or before the first `FROM`.
    pub declared_args: BTreeSet<String>,
    /// The needed stages, in Dockerfile order.
    pub stages: Vec<PlannedStage>,
    /// The index of the target stage.
    pub target: usize,
    /// The escape character of the Dockerfile.
    pub escape: char,
}

impl Plan {
    pub fn stage(&self, index: usize) -> Option<&PlannedStage> {
        self.stages.iter().find(|s| s.index == index)
    }
}

/// What the user asked of the build.
pub struct PlanOptions<'a> {
    /// `--target`: a stage name; the last stage when `None`.
    pub target: Option<&'a str>,
    /// `--build-arg` values.
    pub build_args: &'a BTreeMap<String, String>,
    /// The platform to build for (`--platform`).
    pub platform: Platform,
}

/// Plans the build of a parsed Dockerfile.
pub fn plan(df: &Dockerfile, opts: &PlanOptions) -> Result<Plan, PlanError> {
    let (meta, all) = stages(df)?;
    if all.is_empty() {
        return Err(PlanError::NoStages);
    }
    let lex = ShellLex::new(df.directives.escape);
    let mut global_args = opts.platform.automatic_args(&Platform::host());
    let mut declared_args = BTreeSet::new();
    for arg in &meta {
        for def in &arg.args {
            let mut def = def.clone();
            let mut expander = EnvExpander::new(lex, &global_args);
            let mut expand = |w: &str| {
                crate::instruction::WordExpander::word(&mut expander, w).map_err(|e| e.to_string())
            };
            def.name = expand(&def.name).map_err(|m| at(df_line_of_meta(df), m))?;
            if let Some(d) = &def.default {
                def.default = Some(expand(d).map_err(|m| at(df_line_of_meta(df), m))?);
            }
            declared_args.insert(def.name.clone());
            let value = opts
                .build_args
                .get(&def.name)
                .cloned()
                .or(def.default.clone());
            match value {
                Some(v) => {
                    global_args.insert(def.name.clone(), v);
                }
                None => {
                    global_args.remove(&def.name);
                }
            }
        }
    }

    // Stage names, for FROM and --from references.
    let names: Vec<Option<String>> = all.iter().map(|s| s.name.clone()).collect();
    let find_stage = |reference: &str, before: usize| -> Option<usize> {
        let lowered = reference.to_lowercase();
        if let Some(i) = names[..before]
            .iter()
            .position(|n| n.as_deref() == Some(lowered.as_str()))
        {
            return Some(i);
        }
        names
            .iter()
            .position(|n| n.as_deref() == Some(lowered.as_str()))
    };

    let mut planned = Vec::new();
    for (index, stage) in all.iter().enumerate() {
        let line = stage.location.start_line;
        let expand_global = |word: &str| -> Result<String, PlanError> {
            lex.process_word(word, &global_args)
                .map_err(|e| at(line, e.to_string()))
        };
        let base_text = expand_global(&stage.base)?;
        if base_text.is_empty() {
            return Err(at(
                line,
                format!("base name ({}) should not be blank", stage.base),
            ));
        }
        let platform = stage.platform.as_deref().map(expand_global).transpose()?;
        let lowered = base_text.to_lowercase();
        let base = if lowered == "scratch" {
            Base::Scratch
        } else if let Some(i) = names[..index]
            .iter()
            .position(|n| n.as_deref() == Some(lowered.as_str()))
        {
            Base::Stage(i)
        } else {
            Base::Image(base_text.clone())
        };
        let mut needs = BTreeSet::new();
        if let Base::Stage(i) = base {
            needs.insert(i);
        }
        for (instruction, location) in &stage.instructions {
            for reference in stage_references(instruction) {
                let found = reference
                    .parse::<usize>()
                    .ok()
                    .filter(|i| *i < all.len())
                    .or_else(|| find_stage(&reference, index));
                match found {
                    Some(i) if i == index => {
                        return Err(at(
                            location.start_line,
                            format!(
                                "circular dependency detected on stage: {}",
                                stage_label(&names, i)
                            ),
                        ))
                    }
                    Some(i) => {
                        needs.insert(i);
                    }
                    None => {}
                }
            }
            if let Instruction::Arg(arg) = instruction {
                for def in &arg.args {
                    declared_args.insert(def.name.clone());
                }
            }
        }
        planned.push(PlannedStage {
            index,
            name: stage.name.clone(),
            base,
            platform,
            location: stage.location.clone(),
            instructions: stage.instructions.clone(),
            needs: needs.into_iter().collect(),
        });
    }

    let target = match opts.target {
        None => planned.len() - 1,
        Some(t) => {
            let lowered = t.to_lowercase();
            names
                .iter()
                .position(|n| n.as_deref() == Some(lowered.as_str()))
                .ok_or_else(|| PlanError::UnknownTarget(t.to_string()))?
        }
    };

    // Keep what the target needs, refusing cycles.
    let mut needed = BTreeSet::new();
    let mut path = Vec::new();
    visit(&planned, &names, target, &mut needed, &mut path)?;
    let stages: Vec<PlannedStage> = planned
        .into_iter()
        .filter(|s| needed.contains(&s.index))
        .collect();
    Ok(Plan {
        global_args,
        declared_args,
        stages,
        target,
        escape: df.directives.escape,
    })
}

fn visit(
    stages: &[PlannedStage],
    names: &[Option<String>],
    index: usize,
    needed: &mut BTreeSet<usize>,
    path: &mut Vec<usize>,
) -> Result<(), PlanError> {
    if path.contains(&index) {
        return Err(at(
            stages[index].location.start_line,
            format!(
                "circular dependency detected on stage: {}",
                stage_label(names, index)
            ),
        ));
    }
    if !needed.insert(index) {
        return Ok(());
    }
    path.push(index);
    for &dep in &stages[index].needs {
        visit(stages, names, dep, needed, path)?;
    }
    path.pop();
    Ok(())
}

fn stage_label(names: &[Option<String>], index: usize) -> String {
    names[index]
        .clone()
        .unwrap_or_else(|| format!("stage-{index}"))
}

/// The stage names or indexes an instruction takes files from.
fn stage_references(instruction: &Instruction) -> Vec<String> {
    match instruction {
        Instruction::Copy(copy) => copy.from.iter().cloned().collect(),
        Instruction::Run(run) => run
            .mounts
            .iter()
            .filter_map(|m| m.mount.as_ref().and_then(|m| m.from.clone()))
            .collect(),
        _ => Vec::new(),
    }
}

fn at(line: usize, message: impl Into<String>) -> PlanError {
    PlanError::At {
        line,
        message: message.into(),
    }
}

fn df_line_of_meta(df: &Dockerfile) -> usize {
    df.start_line()
}

#[cfg(test)]
mod tests;
