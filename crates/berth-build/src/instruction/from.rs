//! `FROM [--platform=<platform>] <image> [AS <name>]`.

use super::flags::{Flags, Kind};
use crate::parser::{go_quote, Node};

/// The start of a build stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FromInstruction {
    /// The base: an image reference, an earlier stage's name, or `scratch`. May reference
    /// ARGs declared before the first FROM.
    pub base: String,
    /// The stage name of `AS name`, lowercased.
    pub name: Option<String>,
    /// `--platform=`, e.g. `linux/arm64` or `$BUILDPLATFORM`.
    pub platform: Option<String>,
}

pub(super) fn parse(node: &Node) -> Result<FromInstruction, String> {
    let name = stage_name(&node.args)?;
    let flags = Flags::parse(&node.flags, &[("platform", Kind::String)])?;
    Ok(FromInstruction {
        base: node.args[0].clone(),
        name,
        platform: flags.string("platform"),
    })
}

fn stage_name(args: &[String]) -> Result<Option<String>, String> {
    match args {
        [_] => Ok(None),
        [_, as_word, name] if as_word.eq_ignore_ascii_case("as") => {
            let lowered = name.to_lowercase();
            if !is_valid_stage_name(&lowered) {
                return Err(format!(
                    "invalid name for build stage: {}, name can't start with a number or contain symbols",
                    go_quote(name)
                ));
            }
            Ok(Some(lowered))
        }
        _ => Err("FROM requires either one or three arguments".to_string()),
    }
}

/// `^[a-z][a-z0-9-_.]*$`
fn is_valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}
