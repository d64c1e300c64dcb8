//! The errors of this crate.

use std::fmt;
use std::io;

/// Everything that can go wrong while reading or writing layer tars.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// A tar entry tried to reach outside the directory it is unpacked into. Nothing outside that
    /// directory was touched.
    #[error("refusing to unpack {path:?}: {reason}")]
    Escape {
        /// The member name as written in the tar.
        path: String,
        /// How it would have escaped.
        reason: EscapeReason,
    },
    /// A tar entry that is well-formed as tar but makes no sense as a layer entry.
    #[error("invalid tar entry {path:?}: {reason}")]
    InvalidEntry {
        /// The member name as written in the tar.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The input stream could not be read or is not a valid (compressed) tar.
    #[error("reading the tar stream")]
    Read(#[source] io::Error),
    /// The output stream could not be written.
    #[error("writing the tar stream")]
    Write(#[source] io::Error),
    /// A filesystem operation failed.
    #[error("{op} {path:?}")]
    Io {
        /// What was being done, e.g. "creating".
        op: &'static str,
        /// The path it was done to, relative to the directory being worked on when possible.
        path: String,
        /// The error of the system call.
        #[source]
        source: io::Error,
    },
}

/// How an entry would have escaped the layer root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EscapeReason {
    /// Its name climbs above the root with `..`.
    OutsideRoot,
    /// A directory on its way is a symlink (created earlier in the same tar); writing through it
    /// could land anywhere.
    ThroughSymlink {
        /// The symlink, relative to the root.
        symlink: String,
    },
    /// A hardlink whose target climbs above the root.
    HardlinkOutsideRoot {
        /// The link target as written in the tar.
        target: String,
    },
    /// A hardlink whose target is reached through a symlink.
    HardlinkThroughSymlink {
        /// The link target as written in the tar.
        target: String,
    },
    /// A relative symlink whose target, resolved from the link's directory, climbs above the root.
    SymlinkOutsideRoot {
        /// The symlink target as written in the tar.
        target: String,
    },
}

impl fmt::Display for EscapeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutsideRoot => write!(f, "path escapes the layer root"),
            Self::ThroughSymlink { symlink } => {
                write!(f, "path goes through the symlink {symlink:?}")
            }
            Self::HardlinkOutsideRoot { target } => {
                write!(f, "hardlink target {target:?} escapes the layer root")
            }
            Self::HardlinkThroughSymlink { target } => {
                write!(f, "hardlink target {target:?} goes through a symlink")
            }
            Self::SymlinkOutsideRoot { target } => {
                write!(f, "symlink target {target:?} escapes the layer root")
            }
        }
    }
}

/// The result type of this crate.
pub type Result<T, E = ArchiveError> = std::result::Result<T, E>;

impl ArchiveError {
    pub(crate) fn io(
        op: &'static str,
        path: impl Into<String>,
        source: impl Into<io::Error>,
    ) -> Self {
        Self::Io {
            op,
            path: path.into(),
            source: source.into(),
        }
    }

    pub(crate) fn invalid(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidEntry {
            path: path.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn escape(path: impl Into<String>, reason: EscapeReason) -> Self {
        Self::Escape {
            path: path.into(),
            reason,
        }
    }
}
