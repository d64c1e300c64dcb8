//! Errors of the Dockerfile parser, the instruction checks and the shell-word lexer.

/// A Dockerfile that cannot be turned into instructions.
///
/// Carries enough to point at the problem the way `docker build` does: the 1-based line and
/// column and the text of that source line, so a caller can print `Dockerfile:7`, the line and
/// a caret under `column`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dockerfile parse error on line {line}: {message}")]
pub struct ParseError {
    /// 1-based line where the offending instruction (or directive) starts.
    pub line: usize,
    /// 1-based column (in characters) within `source_line`.
    pub column: usize,
    /// What is wrong, in BuildKit's wording where BuildKit has one.
    pub message: String,
    /// The physical source line `line`, without its line ending.
    pub source_line: String,
}

impl ParseError {
    /// An error at `line` whose column is the first non-blank character of `source_line`.
    pub(crate) fn at_line(line: usize, source_line: &str, message: impl Into<String>) -> Self {
        let column = source_line
            .chars()
            .take_while(|c| c.is_whitespace())
            .count()
            + 1;
        ParseError {
            line,
            column,
            message: message.into(),
            source_line: source_line.to_string(),
        }
    }
}

/// Why a word could not be lexed; see [`LexError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LexReason {
    #[error("unexpected end of statement while looking for matching single-quote")]
    UnterminatedSingleQuote,
    #[error("unexpected end of statement while looking for matching double-quote")]
    UnterminatedDoubleQuote,
    #[error("unexpected end of statement while looking for matching {0}")]
    UnexpectedEnd(char),
    #[error("syntax error: missing '}}'")]
    MissingBrace,
    #[error("syntax error: missing '/' in ${{}}")]
    MissingSlash,
    #[error("syntax error: bad substitution")]
    BadSubstitution,
    #[error("unsupported modifier ({0}) in substitution")]
    UnsupportedModifier(String),
    /// `${VAR?message}` / `${VAR:?message}` on an unset (or empty) variable.
    #[error("{name}: {message}")]
    Required { name: String, message: String },
    #[error("invalid pattern ({pattern}) in substitution: invalid escape '\\{escaped}'")]
    InvalidPatternEscape { pattern: String, escaped: String },
}

/// A word that the shell-word lexer rejects, e.g. an unterminated quote or `${X:=v}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to process {word:?}: {reason}")]
pub struct LexError {
    /// The whole input word.
    pub word: String,
    pub reason: LexReason,
}

/// An instruction whose fields could not be expanded for a build step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    #[error(transparent)]
    Lex(#[from] LexError),
    /// A value that is invalid once expanded, e.g. a `--mount` option (`uid=$UID` → `uid=x`).
    #[error("{0}")]
    Invalid(String),
}
