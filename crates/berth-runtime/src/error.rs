//! Errors of berth-runtime.

use std::io;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unknown capability: {0:?}")]
    UnknownCapability(String),
    #[error("capability {0} is not held by this process, so no container can get it")]
    CapabilityUnavailable(String),
    #[error("unknown ulimit: {0:?}")]
    UnknownRlimit(String),
    #[error("invalid container spec: {0}")]
    InvalidSpec(String),
    #[error("reading host facts: {0}")]
    Host(String),
    /// The command is not in the container (Docker exits 127 for this).
    #[error("{}", not_found_message(command))]
    CommandNotFound { command: String },
    /// The command exists but cannot be executed (Docker exits 126 for this).
    #[error("exec: {command:?}: permission denied")]
    CommandNotExecutable { command: String },
    #[error("container {0} does not exist")]
    NoSuchContainer(String),
    #[error("runtime failed to {action}: {message}")]
    Runtime {
        action: &'static str,
        message: String,
    },
    /// A container's monitor refused a request, with its reason.
    #[error("{0}")]
    Monitor(String),
    /// Bytes on a monitor socket or in a log file that do not follow the format.
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

impl Error {
    /// The exit code Docker's CLI reports when starting the container failed this way:
    /// 127 for a missing command, 126 for one that cannot run, 125 for anything else.
    pub fn docker_exit_code(&self) -> i32 {
        match self {
            Error::CommandNotFound { .. } => 127,
            Error::CommandNotExecutable { .. } => 126,
            _ => 125,
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

/// runc's words: a bare name is looked up in `$PATH`, a path is `stat`ed.
fn not_found_message(command: &str) -> String {
    if command.contains('/') {
        format!("exec: {command:?}: stat {command}: no such file or directory")
    } else {
        format!("exec: {command:?}: executable file not found in $PATH")
    }
}
