//! What a failed build tells the user: the error, the step that failed with its last lines of
//! output, and the Dockerfile lines around the instruction, as `docker build` shows them.

use crate::EngineError;

/// A build that did not produce an image.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct BuildError {
    /// The error itself (`process "/bin/sh -c exit 3" did not complete successfully: exit
    /// code: 3`).
    pub message: String,
    /// The step that failed and the end of its output.
    pub step: Option<Box<FailedStep>>,
    /// Where in the Dockerfile.
    pub excerpt: Option<Box<SourceExcerpt>>,
}

#[derive(Debug, Clone)]
pub struct FailedStep {
    /// `[2/4] RUN make`
    pub name: String,
    /// Its last lines of output, each with its time.
    pub output: Vec<String>,
}

/// Lines of the Dockerfile around an instruction.
#[derive(Debug, Clone)]
pub struct SourceExcerpt {
    /// `Dockerfile` (as given with `-f`).
    pub file: String,
    /// The instruction's first and last lines (1-based).
    pub start: usize,
    pub end: usize,
    /// `(line number, text)`, a few lines before and after.
    pub lines: Vec<(usize, String)>,
}

impl SourceExcerpt {
    /// The excerpt of `text` around lines `start..=end`.
    pub fn of(file: &str, text: &str, start: usize, end: usize) -> SourceExcerpt {
        let from = start.saturating_sub(2).max(1);
        let to = end + 2;
        let lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.to_string()))
            .filter(|(n, _)| (from..=to).contains(n))
            .collect();
        SourceExcerpt {
            file: file.to_string(),
            start,
            end,
            lines,
        }
    }
}

impl BuildError {
    pub fn new(message: impl Into<String>) -> BuildError {
        BuildError {
            message: message.into(),
            step: None,
            excerpt: None,
        }
    }

    pub(crate) fn with_source(mut self, excerpt: Option<SourceExcerpt>) -> BuildError {
        if self.excerpt.is_none() {
            self.excerpt = excerpt.map(Box::new);
        }
        self
    }
}

impl From<EngineError> for BuildError {
    fn from(e: EngineError) -> BuildError {
        BuildError::new(e.to_string())
    }
}

impl From<berth_store::StoreError> for BuildError {
    fn from(e: berth_store::StoreError) -> BuildError {
        BuildError::new(e.to_string())
    }
}

impl From<berth_build::context::ContextError> for BuildError {
    fn from(e: berth_build::context::ContextError) -> BuildError {
        BuildError::new(e.to_string())
    }
}

pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> BuildError {
    let context = context.into();
    move |e| BuildError::new(format!("{context}: {e}"))
}
