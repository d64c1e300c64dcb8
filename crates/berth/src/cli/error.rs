//! The one user-facing error type: prints as Docker's CLI prints errors and carries the exit
//! status (1 for daemon errors, 125 for engine errors of `run`, 126/127 for commands that
//! cannot be run or found, else the container's own status).

use berth_engine::EngineError;

#[derive(Debug)]
pub struct CliError {
    /// What to print on stderr; empty for a silent exit (a container's own status).
    pub message: String,
    pub code: u8,
}

impl CliError {
    /// An error in the user's input, found before the engine was asked.
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            code: 1,
        }
    }

    /// Exit with a status and print nothing.
    pub fn status(code: u8) -> CliError {
        CliError {
            message: String::new(),
            code,
        }
    }

    pub fn print(&self) {
        if !self.message.is_empty() {
            eprintln!("{}", self.message);
        }
    }
}

impl From<EngineError> for CliError {
    fn from(e: EngineError) -> CliError {
        CliError {
            message: format!("Error response from daemon: {e}"),
            code: 1,
        }
    }
}

impl From<berth_engine::store::StoreError> for CliError {
    fn from(e: berth_engine::store::StoreError) -> CliError {
        EngineError::from(e).into()
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> CliError {
        CliError {
            message: format!("Error: {e}"),
            code: 1,
        }
    }
}
