//! Container logs in Docker's `json-file` format: one JSON object per line,
//!
//! ```text
//! {"log":"hello\n","stream":"stdout","time":"2026-11-28T00:00:00.123456789Z"}
//! ```
//!
//! `log` is one line of output with its newline, or a piece of a longer line (16 KiB,
//! or what was left at the exit) without one; `stream` is `stdout` or `stderr` (a tty's
//! output is `stdout`); `time` is when the monitor read it, UTC, RFC 3339 with as many
//! fraction digits as needed (Go's RFC3339Nano). Escaping follows Docker's encoder
//! byte for byte, so files written by either read the same.
//!
//! [`LogWriter`] is the monitor's side; [`read_logs`] serves `berth logs`.

mod format;
mod reader;
mod writer;

pub use format::{format_time, format_time_fixed};
pub use reader::{read_logs, LogOptions};
pub use writer::{LogWriter, MAX_LINE};

/// Which of the container's output streams a piece of output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}
