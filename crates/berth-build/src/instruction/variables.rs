//! `ENV`, `LABEL` and `ARG`.

use super::flags::Flags;
use crate::parser::Node;

/// One `ENV` or `LABEL` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
    /// Written in the legacy form `ENV key value` (no `=`).
    pub no_delimiter: bool,
}

/// `ARG name[=default] ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgInstruction {
    pub args: Vec<ArgDefinition>,
}

/// One build argument declared by `ARG`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDefinition {
    pub name: String,
    /// `ARG name=default`; `ARG name=` gives `Some("")`, `ARG name` gives `None`.
    pub default: Option<String>,
}

pub(super) fn parse_env(node: &Node) -> Result<Vec<KeyValue>, String> {
    Flags::parse(&node.flags, &[])?;
    key_values(&node.args, "ENV")
}

pub(super) fn parse_label(node: &Node) -> Result<Vec<KeyValue>, String> {
    Flags::parse(&node.flags, &[])?;
    key_values(&node.args, "LABEL")
}

/// The parser's `name value sep` triples as entries.
fn key_values(args: &[String], keyword: &str) -> Result<Vec<KeyValue>, String> {
    if args.is_empty() {
        return Err(format!("{keyword} requires at least one argument"));
    }
    if !args.len().is_multiple_of(3) {
        return Err(format!("Bad input to {keyword}, too many arguments"));
    }
    args.chunks_exact(3)
        .map(|triple| {
            if triple[0].is_empty() {
                return Err(format!("{keyword} names can not be blank"));
            }
            Ok(KeyValue {
                key: triple[0].clone(),
                value: triple[1].clone(),
                no_delimiter: triple[2].is_empty(),
            })
        })
        .collect()
}

pub(super) fn parse_arg(node: &Node) -> Result<ArgInstruction, String> {
    if node.args.is_empty() {
        return Err("ARG requires at least one argument".to_string());
    }
    Flags::parse(&node.flags, &[])?;
    let args = node
        .args
        .iter()
        .map(|word| match word.split_once('=') {
            Some(("", _)) => Err("ARG names can not be blank".to_string()),
            Some((name, default)) => Ok(ArgDefinition {
                name: name.to_string(),
                default: Some(default.to_string()),
            }),
            None => Ok(ArgDefinition {
                name: word.clone(),
                default: None,
            }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ArgInstruction { args })
}
