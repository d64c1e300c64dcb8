//! Engine errors: each one's Display is the text Docker's daemon would send, which the CLI
//! prints after `Error response from daemon: `.

use berth_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Docker's "conflict" family (rmi of a used image, a name in use ...).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
    /// The container's process could not be started: `code` is Docker's 125/126/127.
    #[error("failed to create task for container: {message}")]
    Start { code: i32, message: String },
}

impl EngineError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> EngineError {
        let context = context.into();
        move |source| EngineError::Io { context, source }
    }

    /// Whether the error means "no such object" (Docker's 404s).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            EngineError::NotFound(_)
                | EngineError::Store(StoreError::ImageNotFound(_))
                | EngineError::Store(StoreError::ContainerNotFound(_))
        )
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;
