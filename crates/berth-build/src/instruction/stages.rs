//! Splitting a Dockerfile into build stages.

use super::variables::ArgInstruction;
use super::{error_at, instruction_of, Instruction, SourceLocation};
use crate::error::ParseError;
use crate::parser::Dockerfile;

/// A build stage: a `FROM` and the instructions up to the next `FROM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// `AS name`, lowercased.
    pub name: Option<String>,
    /// The base image, stage or `scratch`, raw (may reference meta ARGs).
    pub base: String,
    /// `FROM --platform=`, raw.
    pub platform: Option<String>,
    /// Where the `FROM` is.
    pub location: SourceLocation,
    /// The stage's instructions after its `FROM`, in order.
    pub instructions: Vec<(Instruction, SourceLocation)>,
}

/// Checks every instruction and groups them into stages.
///
/// Returns the `ARG`s before the first `FROM` (the "meta args" that `FROM` lines may use) and
/// the stages. Any other instruction before the first `FROM` is an error, as in Docker.
pub fn stages(df: &Dockerfile) -> Result<(Vec<ArgInstruction>, Vec<Stage>), ParseError> {
    let mut meta_args = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    for node in &df.nodes {
        let instruction = instruction_of(node).map_err(|message| error_at(df, node, message))?;
        let location = SourceLocation::of(node);
        match (instruction, stages.last_mut()) {
            (Instruction::From(from), _) => stages.push(Stage {
                name: from.name,
                base: from.base,
                platform: from.platform,
                location,
                instructions: Vec::new(),
            }),
            (instruction, Some(stage)) => stage.instructions.push((instruction, location)),
            (Instruction::Arg(arg), None) => meta_args.push(arg),
            (_, None) => {
                return Err(error_at(
                    df,
                    node,
                    "no build stage in current context".to_string(),
                ))
            }
        }
    }
    Ok((meta_args, stages))
}
