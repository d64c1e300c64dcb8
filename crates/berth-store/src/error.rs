//! Errors of the store. Their Display strings are what the user reads after
//! `Error response from daemon: `, so they follow Docker's wording where scripts match on it.

use std::io;
use std::path::PathBuf;

use crate::digest::Digest;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid digest: {0:?}")]
    InvalidDigest(String),
    #[error("invalid reference format: {reference:?}: {reason}")]
    InvalidReference { reference: String, reason: String },
    #[error("No such image: {0}")]
    ImageNotFound(String),
    #[error("No such container: {0}")]
    ContainerNotFound(String),
    #[error("No such layer: {0}")]
    LayerNotFound(Digest),
    #[error("blob {0} not found")]
    BlobNotFound(Digest),
    #[error("multiple IDs found with provided prefix: {0}")]
    Ambiguous(String),
    #[error("digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch { expected: Digest, actual: Digest },
    #[error("size mismatch for {digest}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        digest: Digest,
        expected: u64,
        actual: u64,
    },
    #[error("{0}")]
    Conflict(String),
    #[error("invalid image config: {0}")]
    InvalidConfig(String),
    #[error("{context} {}: {source}", path.display())]
    Io {
        context: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("metadata database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("{0}")]
    Archive(#[from] berth_archive::ArchiveError),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Attaches what was being done and to which path to an I/O error.
pub(crate) trait IoContext<T> {
    fn ctx(self, context: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, context: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| StoreError::Io {
            context,
            path: path.into(),
            source,
        })
    }
}
