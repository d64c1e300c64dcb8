//! Physical lines: comments, blank lines and line continuation.

/// The file split into physical lines, each keeping its line ending (heredoc bodies keep them
/// verbatim). A last line without `\n` is still a line.
pub(super) fn physical_lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// A line without its `\n`/`\r\n` ending (any run of trailing CR and LF).
pub(super) fn trim_newline(line: &str) -> &str {
    line.trim_end_matches(['\r', '\n'])
}

/// Whether the line is a comment: `#` is a comment only as the first non-blank char.
pub(super) fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// Whether a line inside a continuation holds nothing but whitespace. Such lines are skipped
/// (BuildKit warns that they will become errors).
pub(super) fn is_empty_continuation(line: &str) -> bool {
    trim_newline(line).trim_start().is_empty()
}

/// Removes a line-continuation escape from the end of `line`.
///
/// The escape char is a continuation when it is the last char apart from spaces and tabs and
/// is not itself escaped (`\\` at the end is a literal backslash). Returns the remaining text
/// and whether the instruction ends on this line. The blanks before the escape stay: they are
/// part of the instruction text (`RUN a \` + `b` is `a b`).
pub(super) fn trim_continuation(line: &str, escape: char) -> (&str, bool) {
    let trimmed = line.trim_end_matches([' ', '\t']);
    if let Some(before) = trimmed.strip_suffix(escape) {
        if before.is_empty() || !before.ends_with(escape) {
            return (before, false);
        }
    }
    (line, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_escape_may_be_followed_by_blanks() {
        assert_eq!(trim_continuation("echo a \\ \t", '\\'), ("echo a ", false));
        assert_eq!(trim_continuation("\\", '\\'), ("", false));
        assert_eq!(trim_continuation("a`", '`'), ("a", false));
    }

    #[test]
    fn escaped_escape_is_not_a_continuation() {
        assert_eq!(trim_continuation("a\\\\", '\\'), ("a\\\\", true));
        assert_eq!(trim_continuation("a\\", '`'), ("a\\", true));
        assert_eq!(trim_continuation("a", '\\'), ("a", true));
    }

    #[test]
    fn lines_keep_endings_and_last_line_without_newline() {
        assert_eq!(physical_lines("a\r\nb\n\nc"), ["a\r\n", "b\n", "\n", "c"]);
        assert!(physical_lines("").is_empty());
    }
}
