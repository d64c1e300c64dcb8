//! Errors of the formatting kit: a `--format` template that does not parse or does not run.

/// A template failed. The text follows Go's `text/template` messages, so users who know
/// Docker's errors recognise them; callers prefix it as Docker does ("template parsing error: ").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("template: :{line}: {msg}")]
    Parse { line: usize, msg: String },
    #[error("template: :{line}: executing \"\": {msg}")]
    Exec { line: usize, msg: String },
}
