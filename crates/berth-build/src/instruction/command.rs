//! Command lines: `CMD`, `ENTRYPOINT`, `SHELL` (and `RUN`'s command).

use super::flags::Flags;
use crate::parser::Node;

/// A command in shell form or exec form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CmdLine {
    /// Exec form: the argv. Shell form: one string, the whole command text.
    pub args: Vec<String>,
    /// Shell form: run `args[0]` through the stage's shell (`/bin/sh -c` unless `SHELL`).
    pub prepend_shell: bool,
}

impl CmdLine {
    pub(super) fn of(node: &Node) -> CmdLine {
        let args = if node.json || node.args.is_empty() {
            node.args.clone()
        } else {
            vec![node.args.join(" ")]
        };
        CmdLine {
            args,
            prepend_shell: !node.json,
        }
    }
}

/// `CMD` and `ENTRYPOINT`: any form, no flags; no arguments is allowed (it clears the value).
pub(super) fn parse_command(node: &Node) -> Result<CmdLine, String> {
    Flags::parse(&node.flags, &[])?;
    Ok(CmdLine::of(node))
}

pub(super) fn parse_shell(node: &Node) -> Result<Vec<String>, String> {
    Flags::parse(&node.flags, &[])?;
    if node.args.is_empty() {
        return Err("SHELL requires at least one argument".to_string());
    }
    if !node.json {
        return Err("SHELL requires the arguments to be in JSON form".to_string());
    }
    Ok(node.args.clone())
}
