//! Parser directives: `# escape=`, `# syntax=` and `# check=` at the top of the file.

use std::collections::HashSet;

/// The parser directives a Dockerfile set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directives {
    /// The escape and line-continuation char: `\` unless `# escape=`` ` ``.
    pub escape: char,
    /// `# syntax=` (a frontend image reference; berth records it but has one frontend).
    pub syntax: Option<String>,
    /// `# check=` (build-check configuration, e.g. `skip=all;error=true`).
    pub check: Option<String>,
}

impl Default for Directives {
    fn default() -> Self {
        Directives {
            escape: '\\',
            syntax: None,
            check: None,
        }
    }
}

/// Reads directives from the contiguous run of directive lines at the top of the file; the
/// first line that is not a known directive (a comment, a blank line, an instruction) ends
/// directive parsing for good.
#[derive(Debug, Default)]
pub(super) struct DirectiveParser {
    done: bool,
    seen: HashSet<String>,
    pub(super) directives: Directives,
}

/// Go regexp `\s`: what BuildKit's directive pattern accepts around `=`.
const BLANKS: [char; 5] = ['\t', '\n', '\x0c', '\r', ' '];

impl DirectiveParser {
    /// Looks at one physical line (without its ending). Returns whether it was a directive;
    /// an error for a repeated directive or an invalid escape char.
    pub(super) fn parse_line(&mut self, line: &str) -> Result<bool, String> {
        if self.done {
            return Ok(false);
        }
        let Some((key, value)) = line
            .strip_prefix('#')
            .and_then(|rest| split_directive(rest.trim_start()))
        else {
            self.done = true;
            return Ok(false);
        };
        let key = key.to_ascii_lowercase();
        if !matches!(key.as_str(), "escape" | "syntax" | "check") {
            self.done = true;
            return Ok(false);
        }
        if !self.seen.insert(key.clone()) {
            return Err(format!("only one {key} parser directive can be used"));
        }
        match key.as_str() {
            "escape" => {
                self.directives.escape = match value {
                    "\\" => '\\',
                    "`" => '`',
                    _ => {
                        return Err(format!(
                            "invalid escape token '{value}' does not match ` or \\"
                        ))
                    }
                }
            }
            "syntax" => self.directives.syntax = Some(value.to_string()),
            _ => self.directives.check = Some(value.to_string()),
        }
        Ok(true)
    }
}

/// `key = value`: the key is an ASCII letter followed by letters and digits, the value is
/// everything after `=` without surrounding blanks and must not be empty.
fn split_directive(text: &str) -> Option<(&str, &str)> {
    let key_len = text
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_alphabetic() || (*i > 0 && c.is_ascii_digit())))
        .map_or(text.len(), |(i, _)| i);
    if key_len == 0 {
        return None;
    }
    let (key, rest) = text.split_at(key_len);
    let after_equals = rest.trim_start_matches(BLANKS).strip_prefix('=')?;
    let value = after_equals.trim_matches(BLANKS);
    if !value.is_empty() {
        return Some((key, value));
    }
    // A value of blanks only: the pattern's lazy `.+?` still takes the last blank, so the
    // directive exists with a blank value (an invalid escape, a meaningless syntax).
    let last_blank = after_equals.chars().last()?;
    let start = after_equals.len() - last_blank.len_utf8();
    Some((key, &after_equals[start..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_case_insensitive_and_spaces_allowed() {
        let mut parser = DirectiveParser::default();
        assert_eq!(parser.parse_line("# ESCAPE = `"), Ok(true));
        assert_eq!(parser.parse_line("#syntax=docker/dockerfile:1"), Ok(true));
        assert_eq!(parser.parse_line("# check=skip=all"), Ok(true));
        assert_eq!(parser.directives.escape, '`');
        assert_eq!(
            parser.directives.syntax.as_deref(),
            Some("docker/dockerfile:1")
        );
        assert_eq!(parser.directives.check.as_deref(), Some("skip=all"));
    }

    #[test]
    fn ordinary_comment_ends_directives() {
        let mut parser = DirectiveParser::default();
        assert_eq!(parser.parse_line("# a comment"), Ok(false));
        assert_eq!(parser.parse_line("# escape=`"), Ok(false));
        assert_eq!(parser.directives.escape, '\\');
    }

    #[test]
    fn unknown_directive_ends_directives() {
        let mut parser = DirectiveParser::default();
        assert_eq!(parser.parse_line("# foo=bar"), Ok(false));
        assert_eq!(parser.parse_line("# escape=`"), Ok(false));
    }

    #[test]
    fn repeated_directive_is_an_error() {
        let mut parser = DirectiveParser::default();
        assert_eq!(parser.parse_line("# syntax=a"), Ok(true));
        assert_eq!(
            parser.parse_line("# Syntax=b"),
            Err("only one syntax parser directive can be used".to_string())
        );
    }

    #[test]
    fn escape_accepts_only_backslash_or_backtick() {
        let mut parser = DirectiveParser::default();
        assert_eq!(
            parser.parse_line("# escape=x"),
            Err("invalid escape token 'x' does not match ` or \\".to_string())
        );
    }
}
