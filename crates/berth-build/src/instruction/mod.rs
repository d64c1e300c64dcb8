//! Typed, checked instructions from parsed nodes, and the split into build stages.
//!
//! This is where a Dockerfile's meaning is checked, as Docker's builder checks it: flags each
//! instruction accepts and their values, argument counts, exec form where it is required.
//! Words stay raw: variables are expanded by the build, per step, with the values in effect
//! there; [`Instruction::expanded_fields`] and [`Instruction::expand`] say and do which fields.
//!
//! ```
//! use berth_build::{instruction::{stages, Instruction}, parser::parse};
//!
//! let df = parse("ARG V=1\nFROM --platform=linux/amd64 alpine:$V AS base\nCOPY --chmod=644 a b /dst/\n").unwrap();
//! let (meta_args, stages) = stages(&df).unwrap();
//! assert_eq!(meta_args[0].args[0].name, "V");
//! assert_eq!(stages[0].name.as_deref(), Some("base"));
//! assert_eq!(stages[0].platform.as_deref(), Some("linux/amd64"));
//! let Instruction::Copy(copy) = &stages[0].instructions[0].0 else { panic!() };
//! assert_eq!(copy.files.sources, ["a", "b"]);
//! assert_eq!(copy.chmod.as_deref(), Some("644"));
//! ```

mod command;
mod copy;
mod duration;
mod expand;
mod flags;
mod from;
mod healthcheck;
mod mount;
mod onbuild;
mod run;
mod simple;
mod stages;
mod suggest;
mod variables;

pub use command::CmdLine;
pub use copy::{AddInstruction, CopyInstruction, InlineSource, SourcesAndDest};
pub use expand::{EnvExpander, WordExpander};
pub use from::FromInstruction;
pub use healthcheck::Healthcheck;
pub use mount::{CacheSharing, Mount, MountType, RunMount};
pub use run::{NetworkMode, RunInstruction, Security};
pub use stages::{stages, Stage};
pub use variables::{ArgDefinition, ArgInstruction, KeyValue};

use crate::error::ParseError;
use crate::parser::{Dockerfile, Node};

/// One checked instruction. Words are as written in the Dockerfile (quotes included): the
/// build expands them, see [`Instruction::expand`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instruction {
    From(FromInstruction),
    Run(RunInstruction),
    /// `CMD`: the default command of the image.
    Cmd(CmdLine),
    /// `ENTRYPOINT`: an empty `args` resets it.
    Entrypoint(CmdLine),
    /// `SHELL ["executable", "parameters"]`: the shell of later shell-form instructions.
    Shell(Vec<String>),
    /// `ENV`: in order; later entries win.
    Env(Vec<KeyValue>),
    Arg(ArgInstruction),
    /// `LABEL`: in order; later entries win.
    Label(Vec<KeyValue>),
    /// `WORKDIR path`.
    Workdir(String),
    Copy(CopyInstruction),
    Add(AddInstruction),
    /// `EXPOSE 80 443/tcp 53/udp`: ports as written.
    Expose(Vec<String>),
    /// `USER name[:group]`.
    User(String),
    /// `VOLUME`: the mount points.
    Volume(Vec<String>),
    /// `STOPSIGNAL SIGTERM` (a name or a number).
    StopSignal(String),
    Healthcheck(Healthcheck),
    /// `ONBUILD`: the trigger instruction's source text, stored in the image for builds that
    /// use it as their base (checked only then, as Docker does). Heredoc bodies are included.
    Onbuild(String),
    /// `MAINTAINER` (deprecated): the author.
    Maintainer(String),
}

/// Where an instruction came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceLocation {
    /// 1-based first line.
    pub start_line: usize,
    /// 1-based last line (continuations and heredoc bodies included).
    pub end_line: usize,
    /// The instruction text with continuation lines joined (what `docker build` shows for a
    /// step, e.g. `RUN make install`).
    pub original: String,
}

impl SourceLocation {
    pub(crate) fn of(node: &Node) -> Self {
        SourceLocation {
            start_line: node.start_line,
            end_line: node.end_line,
            original: node.original.clone(),
        }
    }
}

/// Every instruction name Docker knows, for "did you mean" hints.
const INSTRUCTIONS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// Checks one node and turns it into an [`Instruction`].
///
/// Errors name the node's first line; `source_line` is the instruction text (use
/// [`parse_instructions`] or [`stages`] to get the physical source line instead).
pub fn parse_instruction(node: &Node) -> Result<Instruction, ParseError> {
    instruction_of(node).map_err(|message| {
        let first_line = node.original.lines().next().unwrap_or_default();
        ParseError::at_line(node.start_line, first_line, message)
    })
}

/// Checks every instruction of a parsed file, in order, with its location.
pub fn parse_instructions(
    df: &Dockerfile,
) -> Result<Vec<(Instruction, SourceLocation)>, ParseError> {
    df.nodes
        .iter()
        .map(|node| {
            instruction_of(node)
                .map(|instruction| (instruction, SourceLocation::of(node)))
                .map_err(|message| error_at(df, node, message))
        })
        .collect()
}

/// An error about `node`, quoting its physical first line.
pub(crate) fn error_at(df: &Dockerfile, node: &Node, message: String) -> ParseError {
    let source = df
        .source_line(node.start_line)
        .map(str::to_string)
        .unwrap_or_else(|| node.original.clone());
    ParseError::at_line(node.start_line, &source, message)
}

fn instruction_of(node: &Node) -> Result<Instruction, String> {
    Ok(match node.keyword.as_str() {
        "from" => Instruction::From(from::parse(node)?),
        "run" => Instruction::Run(run::parse(node)?),
        "cmd" => Instruction::Cmd(command::parse_command(node)?),
        "entrypoint" => Instruction::Entrypoint(command::parse_command(node)?),
        "shell" => Instruction::Shell(command::parse_shell(node)?),
        "env" => Instruction::Env(variables::parse_env(node)?),
        "label" => Instruction::Label(variables::parse_label(node)?),
        "arg" => Instruction::Arg(variables::parse_arg(node)?),
        "copy" => Instruction::Copy(copy::parse_copy(node)?),
        "add" => Instruction::Add(copy::parse_add(node)?),
        "workdir" => Instruction::Workdir(simple::parse_workdir(node)?),
        "user" => Instruction::User(simple::parse_user(node)?),
        "volume" => Instruction::Volume(simple::parse_volume(node)?),
        "stopsignal" => Instruction::StopSignal(simple::parse_stopsignal(node)?),
        "expose" => Instruction::Expose(simple::parse_expose(node)?),
        "maintainer" => Instruction::Maintainer(simple::parse_maintainer(node)?),
        "healthcheck" => Instruction::Healthcheck(healthcheck::parse(node)?),
        "onbuild" => Instruction::Onbuild(onbuild::parse(node)?),
        _ => {
            // The keyword as the user wrote it.
            let written = node
                .original
                .split_whitespace()
                .next()
                .unwrap_or(&node.keyword);
            return Err(suggest::with_suggestion(
                format!("unknown instruction: {written}"),
                written,
                INSTRUCTIONS,
                false,
            ));
        }
    })
}

impl Instruction {
    /// The instruction keyword in upper case (`RUN`, `COPY`, ...).
    pub fn keyword(&self) -> &'static str {
        match self {
            Instruction::From(_) => "FROM",
            Instruction::Run(_) => "RUN",
            Instruction::Cmd(_) => "CMD",
            Instruction::Entrypoint(_) => "ENTRYPOINT",
            Instruction::Shell(_) => "SHELL",
            Instruction::Env(_) => "ENV",
            Instruction::Arg(_) => "ARG",
            Instruction::Label(_) => "LABEL",
            Instruction::Workdir(_) => "WORKDIR",
            Instruction::Copy(_) => "COPY",
            Instruction::Add(_) => "ADD",
            Instruction::Expose(_) => "EXPOSE",
            Instruction::User(_) => "USER",
            Instruction::Volume(_) => "VOLUME",
            Instruction::StopSignal(_) => "STOPSIGNAL",
            Instruction::Healthcheck(_) => "HEALTHCHECK",
            Instruction::Onbuild(_) => "ONBUILD",
            Instruction::Maintainer(_) => "MAINTAINER",
        }
    }
}

/// Fails unless the node has exactly one argument.
fn exactly_one(node: &Node, keyword: &str) -> Result<String, String> {
    match node.args.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(format!("{keyword} requires exactly one argument")),
    }
}

/// Fails when the node has no argument.
fn at_least_one(node: &Node, keyword: &str) -> Result<(), String> {
    if node.args.is_empty() {
        return Err(format!("{keyword} requires at least one argument"));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
