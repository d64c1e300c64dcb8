//! The readiness pipe: how the monitor tells the CLI that started it how the start
//! went, as JSON lines.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One line on the readiness pipe.
///
/// ```text
/// {"event":"listening","monitor_pid":4242}
/// {"event":"started","pid":4250}
/// {"event":"error","code":127,"message":"exec: \"nosuch\": executable file not found in $PATH"}
/// ```
///
/// `listening` comes first, once the socket accepts clients (attach now, with
/// `wait_for_attach`); then exactly one of `started` and `error`, after which the
/// monitor closes the pipe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ReadyEvent {
    Listening { monitor_pid: i32 },
    Started { pid: i32 },
    Error { code: i32, message: String },
}

/// The monitor's end of the pipe.
#[derive(Debug)]
pub(crate) struct ReadyPipe {
    file: File,
}

impl ReadyPipe {
    /// Takes the write end the engine passed down. It is made close-on-exec so that
    /// no runtime binary or container process holds it: the CLI sees EOF when the
    /// monitor closes it.
    pub(crate) fn new(fd: OwnedFd) -> Result<Self> {
        let flags = rustix::io::fcntl_getfd(&fd)
            .map_err(|e| Error::io("reading the readiness pipe's flags", e.into()))?;
        rustix::io::fcntl_setfd(&fd, flags | rustix::io::FdFlags::CLOEXEC)
            .map_err(|e| Error::io("marking the readiness pipe close-on-exec", e.into()))?;
        Ok(Self {
            file: File::from(fd),
        })
    }

    /// Best effort: a CLI that went away (EPIPE) has nobody left to tell.
    pub(crate) fn send(&mut self, event: &ReadyEvent) {
        if let Ok(mut line) = serde_json::to_vec(event) {
            line.push(b'\n');
            let _ = self.file.write_all(&line);
        }
    }
}

impl AsFd for ReadyPipe {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

/// The CLI's end: the events, in order, until the monitor closes the pipe.
#[derive(Debug)]
pub struct ReadyReader {
    lines: BufReader<File>,
}

impl ReadyReader {
    /// Wraps the read end of the pipe whose write end was given to the monitor.
    pub fn new(fd: OwnedFd) -> Self {
        Self {
            lines: BufReader::new(File::from(fd)),
        }
    }
}

impl Iterator for ReadyReader {
    type Item = Result<ReadyEvent>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut line = String::new();
        match self.lines.read_line(&mut line) {
            Ok(0) => None,
            Ok(_) => Some(serde_json::from_str(line.trim_end()).map_err(|err| {
                Error::Protocol(format!("unreadable readiness line {line:?}: {err}"))
            })),
            Err(e) => Some(Err(Error::io("reading the readiness pipe", e))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_the_documented_json_lines() {
        let error = ReadyEvent::Error {
            code: 127,
            message: "exec: \"nosuch\": executable file not found in $PATH".into(),
        };
        assert_eq!(
            serde_json::to_string(&error).unwrap(),
            r#"{"event":"error","code":127,"message":"exec: \"nosuch\": executable file not found in $PATH"}"#
        );
        assert_eq!(
            serde_json::to_string(&ReadyEvent::Started { pid: 7 }).unwrap(),
            r#"{"event":"started","pid":7}"#
        );
    }

    #[test]
    fn the_reader_sees_what_the_monitor_sent_until_it_closes() {
        let (read, write) = rustix::pipe::pipe().unwrap();
        let mut pipe = ReadyPipe::new(write).unwrap();
        pipe.send(&ReadyEvent::Listening { monitor_pid: 1 });
        pipe.send(&ReadyEvent::Started { pid: 2 });
        drop(pipe);
        let events: Vec<ReadyEvent> = ReadyReader::new(read).map(|e| e.unwrap()).collect();
        assert_eq!(
            events,
            vec![
                ReadyEvent::Listening { monitor_pid: 1 },
                ReadyEvent::Started { pid: 2 }
            ]
        );
    }
}
