//! `ONBUILD <instruction>`.

use super::flags::Flags;
use crate::parser::Node;

pub(super) fn parse(node: &Node) -> Result<String, String> {
    let Some(trigger) = node.next.as_deref() else {
        return Err("ONBUILD requires at least one argument".to_string());
    };
    Flags::parse(&node.flags, &[])?;
    let keyword = trigger.keyword.to_uppercase();
    match keyword.as_str() {
        "ONBUILD" => return Err("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".to_string()),
        "MAINTAINER" | "FROM" => {
            return Err(format!("{keyword} isn't allowed as an ONBUILD trigger"))
        }
        _ => {}
    }
    // The stored expression is the trigger's text; heredoc bodies follow it as they were
    // written, so the child build parses them again.
    let mut expression = trigger.original.clone();
    for heredoc in &node.heredocs {
        expression.push('\n');
        expression.push_str(&heredoc.content);
        expression.push_str(&heredoc.name);
    }
    Ok(expression)
}
