//! The Dockerfile parser: text in, a syntax tree of instructions out.
//!
//! Like BuildKit's `parser` package, this only reads text: it joins continuation lines, drops
//! comments, reads parser directives and heredoc bodies, and splits each instruction into
//! keyword, `--flags` and arguments. It checks no instruction's meaning (that is
//! [`crate::instruction`], which also rejects unknown keywords) and expands no variables
//! (that is [`crate::shell`]).
//!
//! ```
//! let df = berth_build::parser::parse("FROM alpine AS base\nRUN echo hi \\\n  there\n").unwrap();
//! assert_eq!(df.nodes[1].args, ["echo hi   there"]);
//! assert_eq!((df.nodes[1].start_line, df.nodes[1].end_line), (2, 3));
//! assert_eq!(df.dump(), "(from \"alpine\" \"AS\" \"base\")\n(run \"echo hi   there\")");
//! ```

mod arguments;
mod directives;
mod dump;
mod heredoc;
mod lines;
mod split;

pub use directives::Directives;
pub use dump::go_quote;
pub use heredoc::{chomp_leading_tabs, parse_heredoc_word, Heredoc};

use crate::error::ParseError;
use arguments::{shape_of, split_arguments, Shape};
use directives::DirectiveParser;

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    pub directives: Directives,
    /// The instructions in file order.
    pub nodes: Vec<Node>,
    /// Things BuildKit accepts but warns about (empty continuation lines).
    pub warnings: Vec<Warning>,
    /// The physical source lines, to quote them in errors found after parsing.
    source_lines: Vec<String>,
}

/// One instruction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    /// The instruction keyword, lowercased (`from`, `run`, ...). Unknown keywords are kept;
    /// instruction parsing rejects them.
    pub keyword: String,
    /// Leading `--flag[=value]` words, quotes removed; not validated here.
    pub flags: Vec<String>,
    /// The arguments, raw (see the shape rules in `arguments.rs`): one string for the shell
    /// form of `RUN`/`CMD`/`ENTRYPOINT`/`SHELL`, words for `COPY`, `name value sep` triples
    /// for `ENV`/`LABEL`, the decoded strings of a JSON array. Empty for `ONBUILD` (see
    /// `next`); one empty string for an unknown keyword, as in BuildKit.
    pub args: Vec<String>,
    /// Whether `args` came from a JSON array (exec form).
    pub json: bool,
    /// Heredoc bodies, for `RUN`/`COPY`/`ADD` (and an `ONBUILD` of one of those).
    pub heredocs: Vec<Heredoc>,
    /// 1-based first line of the instruction.
    pub start_line: usize,
    /// 1-based last line, including continuation lines and heredoc bodies.
    pub end_line: usize,
    /// The instruction text after joining continuation lines, without heredoc bodies.
    pub original: String,
    /// The trigger instruction of an `ONBUILD`.
    pub next: Option<Box<Node>>,
}

/// Something accepted but discouraged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// 1-based line of the instruction the warning is about.
    pub line: usize,
    pub message: String,
}

impl Dockerfile {
    /// The physical source line `line` (1-based), without its line ending.
    pub fn source_line(&self, line: usize) -> Option<&str> {
        line.checked_sub(1)
            .and_then(|index| self.source_lines.get(index))
            .map(String::as_str)
    }

    /// The first line of the first instruction.
    pub fn start_line(&self) -> usize {
        self.nodes.first().map_or(0, |node| node.start_line)
    }

    /// The last line of the last instruction.
    pub fn end_line(&self) -> usize {
        self.nodes.last().map_or(0, |node| node.end_line)
    }
}

/// Parses Dockerfile bytes; invalid UTF-8 is replaced with U+FFFD.
pub fn parse_bytes(data: &[u8]) -> Result<Dockerfile, ParseError> {
    parse(&String::from_utf8_lossy(data))
}

/// Parses a Dockerfile. A leading UTF-8 byte-order mark is ignored.
pub fn parse(text: &str) -> Result<Dockerfile, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let physical = lines::physical_lines(text);
    let source_lines: Vec<String> = physical
        .iter()
        .map(|line| lines::trim_newline(line).to_string())
        .collect();
    let error_at = |line: usize, message: String| {
        let source = source_lines
            .get(line.saturating_sub(1))
            .map_or("", String::as_str);
        ParseError::at_line(line.max(1), source, message)
    };

    let mut directive_parser = DirectiveParser::default();
    let mut nodes = Vec::new();
    let mut warnings = Vec::new();
    // Lines consumed so far; after consuming a line this is its 1-based number.
    let mut consumed = 0;

    while consumed < physical.len() {
        let first = read_line(&mut directive_parser, physical[consumed], true)
            .map_err(|message| error_at(consumed + 1, message))?;
        consumed += 1;
        let start_line = consumed;
        let escape = directive_parser.directives.escape;
        let (text, mut ends) = lines::trim_continuation(first, escape);
        if ends && text.is_empty() {
            continue;
        }
        let mut joined = text.to_string();
        let mut empty_continuation = false;
        while !ends && consumed < physical.len() {
            let raw = physical[consumed];
            let line = read_line(&mut directive_parser, raw, false)
                .map_err(|message| error_at(consumed + 1, message))?;
            consumed += 1;
            if lines::is_comment(raw) {
                continue;
            }
            if lines::is_empty_continuation(line) {
                empty_continuation = true;
                continue;
            }
            let (text, line_ends) = lines::trim_continuation(line, escape);
            joined.push_str(text);
            ends = line_ends;
        }
        if empty_continuation {
            warnings.push(Warning {
                line: start_line,
                message: format!("Empty continuation line found in: {joined}"),
            });
        }

        let mut node =
            node_from_line(&joined, escape).map_err(|message| error_at(start_line, message))?;
        if can_contain_heredoc(&node) && joined.contains("<<") {
            let openers = heredoc::heredocs_in_line(&joined)
                .map_err(|message| error_at(start_line, message))?;
            for mut heredoc in openers {
                let mut terminated = false;
                while consumed < physical.len() {
                    let line = physical[consumed];
                    consumed += 1;
                    if heredoc::is_terminator(&heredoc, line) {
                        terminated = true;
                        break;
                    }
                    heredoc.content.push_str(line);
                }
                if !terminated {
                    let mut err = error_at(start_line, "unterminated heredoc".to_string());
                    if let Some(offset) = err.source_line.find("<<") {
                        err.column = err.source_line[..offset].chars().count() + 1;
                    }
                    return Err(err);
                }
                node.heredocs.push(heredoc);
            }
        }
        node.start_line = start_line;
        node.end_line = consumed;
        nodes.push(node);
    }

    if nodes.is_empty() {
        return Err(error_at(consumed, "file with no instructions".to_string()));
    }
    Ok(Dockerfile {
        directives: directive_parser.directives,
        nodes,
        warnings,
        source_lines,
    })
}

/// One physical line as instruction text: line ending removed, leading whitespace removed on
/// the first line of an instruction (continuation lines keep theirs), a comment line becomes
/// empty. Directive lines are recorded on the way.
fn read_line<'a>(
    directives: &mut DirectiveParser,
    raw: &'a str,
    strip_leading: bool,
) -> Result<&'a str, String> {
    let mut line = lines::trim_newline(raw);
    if strip_leading {
        line = line.trim_start();
    }
    directives.parse_line(line)?;
    Ok(if lines::is_comment(line) { "" } else { line })
}

/// Builds the node for one joined instruction text.
fn node_from_line(line: &str, escape: char) -> Result<Node, String> {
    let parts = split::split_command(line, escape);
    let keyword = parts.keyword.to_lowercase();
    let mut node = Node {
        flags: parts.flags,
        original: line.to_string(),
        ..Node::default()
    };
    match shape_of(&keyword) {
        Shape::SubInstruction => {
            if !parts.rest.is_empty() {
                node.next = Some(Box::new(node_from_line(parts.rest, escape)?));
            }
        }
        shape => {
            let arguments = split_arguments(shape, parts.rest, escape)?;
            node.args = arguments.args;
            node.json = arguments.json;
        }
    }
    node.keyword = keyword;
    Ok(node)
}

/// `RUN`, `COPY` and `ADD` in shell form read heredocs, also as an `ONBUILD` trigger.
fn can_contain_heredoc(node: &Node) -> bool {
    let node = match (&node.keyword[..], &node.next) {
        ("onbuild", Some(trigger)) => trigger,
        _ => node,
    };
    matches!(&node.keyword[..], "run" | "copy" | "add") && !node.json
}

#[cfg(test)]
mod tests;
