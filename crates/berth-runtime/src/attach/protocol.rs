//! The messages of the monitor socket: JSON header and response lines, binary frames.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The longest header or response line accepted.
pub(crate) const MAX_HEADER: usize = 64 * 1024;
/// The largest frame payload accepted; senders stay far below it.
const MAX_PAYLOAD: usize = 1024 * 1024;

/// Which of the container's streams an attached client takes part in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Streams {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
}

/// The header line a client sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    Attach(Streams),
    /// Sends `signal`, then SIGKILL after `timeout`. Answered when the container is gone.
    Stop {
        #[serde(rename = "timeout_ms", with = "millis")]
        timeout: Duration,
        signal: i32,
    },
    /// Sends `signal` to the container's init.
    Kill {
        signal: i32,
    },
    /// Sets the pty's window size (tty containers).
    Resize {
        rows: u16,
        cols: u16,
    },
    Pause,
    Resume,
    /// Answered with the exit code when the container exits; at once if it is between
    /// an exit and a restart.
    Wait,
    Ping,
}

/// What the monitor answers to a header line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    Ok,
    Pong {
        /// The init's host pid while the container runs.
        pid: Option<i32>,
        state: MonitorState,
    },
    Exited {
        code: i32,
        oom_killed: bool,
    },
    Error {
        message: String,
    },
}

/// Where the container is, as its monitor sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MonitorState {
    /// Not started yet: the monitor waits for the first client to attach.
    Created,
    Running,
    Paused,
    /// Exited; a restart policy will start it again.
    Restarting,
    /// Exited for good; the monitor is about to end.
    Exited,
}

/// A frame from the monitor to an attached client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Stdout(Vec<u8>),
    Stderr(Vec<u8>),
    /// The container's exit code; nothing follows.
    Exit(i32),
    /// The container could not be started; an [`Frame::Exit`] follows.
    Error(String),
}

/// A frame from an attached client to the monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin(Vec<u8>),
    StdinEof,
    Resize { rows: u16, cols: u16 },
    Detach,
}

/// Frame kinds on the wire. The two directions have separate numberings.
pub(crate) struct FrameKind;

impl FrameKind {
    pub const STDOUT: u8 = 1;
    pub const STDERR: u8 = 2;
    pub const EXIT: u8 = 3;
    pub const ERROR: u8 = 4;

    pub const STDIN: u8 = 0;
    pub const STDIN_EOF: u8 = 1;
    pub const RESIZE: u8 = 2;
    pub const DETACH: u8 = 3;
}

/// Appends one frame to `out`.
pub(crate) fn encode(kind: u8, payload: &[u8], out: &mut Vec<u8>) {
    out.push(kind);
    // Payloads are bounded by the read buffers that produce them, far below 4 GiB.
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
}

/// Takes one whole frame off the front of `buf`, if it holds one.
pub(crate) fn decode(buf: &mut Vec<u8>) -> Result<Option<(u8, Vec<u8>)>> {
    let Some(header) = buf.get(..5) else {
        return Ok(None);
    };
    let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
    if len > MAX_PAYLOAD {
        return Err(Error::Protocol(format!("frame of {len} bytes")));
    }
    if buf.len() < 5 + len {
        return Ok(None);
    }
    let kind = buf[0];
    let payload = buf[5..5 + len].to_vec();
    buf.drain(..5 + len);
    Ok(Some((kind, payload)))
}

/// Takes one `\n`-terminated line off the front of `buf`, without the newline.
pub(crate) fn read_line(buf: &mut Vec<u8>) -> Result<Option<Vec<u8>>> {
    match buf.iter().position(|&b| b == b'\n') {
        Some(end) => {
            let line = buf[..end].to_vec();
            buf.drain(..=end);
            Ok(Some(line))
        }
        None if buf.len() > MAX_HEADER => Err(Error::Protocol("header line too long".into())),
        None => Ok(None),
    }
}

impl Frame {
    #[cfg(test)]
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Frame::Stdout(data) => encode(FrameKind::STDOUT, data, out),
            Frame::Stderr(data) => encode(FrameKind::STDERR, data, out),
            Frame::Exit(code) => encode(FrameKind::EXIT, &code.to_be_bytes(), out),
            Frame::Error(message) => encode(FrameKind::ERROR, message.as_bytes(), out),
        }
    }

    pub(crate) fn parse(kind: u8, payload: Vec<u8>) -> Result<Self> {
        Ok(match kind {
            FrameKind::STDOUT => Frame::Stdout(payload),
            FrameKind::STDERR => Frame::Stderr(payload),
            FrameKind::EXIT => Frame::Exit(i32::from_be_bytes(fixed(&payload)?)),
            FrameKind::ERROR => Frame::Error(String::from_utf8_lossy(&payload).into_owned()),
            other => return Err(Error::Protocol(format!("unknown frame kind {other}"))),
        })
    }
}

impl Input {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Input::Stdin(data) => encode(FrameKind::STDIN, data, out),
            Input::StdinEof => encode(FrameKind::STDIN_EOF, &[], out),
            Input::Resize { rows, cols } => {
                let [r0, r1] = rows.to_be_bytes();
                let [c0, c1] = cols.to_be_bytes();
                encode(FrameKind::RESIZE, &[r0, r1, c0, c1], out)
            }
            Input::Detach => encode(FrameKind::DETACH, &[], out),
        }
    }

    pub(crate) fn parse(kind: u8, payload: Vec<u8>) -> Result<Self> {
        Ok(match kind {
            FrameKind::STDIN => Input::Stdin(payload),
            FrameKind::STDIN_EOF => Input::StdinEof,
            FrameKind::RESIZE => {
                let [r0, r1, c0, c1] = fixed(&payload)?;
                Input::Resize {
                    rows: u16::from_be_bytes([r0, r1]),
                    cols: u16::from_be_bytes([c0, c1]),
                }
            }
            FrameKind::DETACH => Input::Detach,
            other => return Err(Error::Protocol(format!("unknown input kind {other}"))),
        })
    }
}

fn fixed<const N: usize>(payload: &[u8]) -> Result<[u8; N]> {
    payload
        .try_into()
        .map_err(|_| Error::Protocol(format!("frame payload of {} bytes", payload.len())))
}

/// `Duration` as whole milliseconds on the wire.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_read_as_documented() {
        let text = |r: &Request| serde_json::to_string(r).unwrap();
        assert_eq!(
            text(&Request::Attach(Streams {
                stdin: true,
                stdout: true,
                stderr: false
            })),
            r#"{"attach":{"stdin":true,"stdout":true,"stderr":false}}"#
        );
        assert_eq!(
            text(&Request::Stop {
                timeout: Duration::from_secs(10),
                signal: 15
            }),
            r#"{"stop":{"timeout_ms":10000,"signal":15}}"#
        );
        assert_eq!(text(&Request::Wait), r#""wait""#);
        let back: Request = serde_json::from_str(r#"{"resize":{"rows":24,"cols":80}}"#).unwrap();
        assert_eq!(back, Request::Resize { rows: 24, cols: 80 });
    }

    #[test]
    fn responses_read_as_documented() {
        let pong = Response::Pong {
            pid: Some(12),
            state: MonitorState::Running,
        };
        assert_eq!(
            serde_json::to_string(&pong).unwrap(),
            r#"{"pong":{"pid":12,"state":"running"}}"#
        );
        assert_eq!(serde_json::to_string(&Response::Ok).unwrap(), r#""ok""#);
    }

    #[test]
    fn frames_survive_the_wire_in_pieces() {
        let mut wire = Vec::new();
        Frame::Stdout(b"hello\n".to_vec()).encode(&mut wire);
        Frame::Exit(-3).encode(&mut wire);
        Input::Resize {
            rows: 30,
            cols: 100,
        }
        .encode(&mut wire);

        let mut buf = Vec::new();
        let mut seen = Vec::new();
        for byte in wire {
            buf.push(byte);
            while let Some((kind, payload)) = decode(&mut buf).unwrap() {
                seen.push((kind, payload));
            }
        }
        assert_eq!(seen.len(), 3);
        let mut seen = seen.into_iter();
        let (k, p) = seen.next().unwrap();
        assert_eq!(
            Frame::parse(k, p).unwrap(),
            Frame::Stdout(b"hello\n".to_vec())
        );
        let (k, p) = seen.next().unwrap();
        assert_eq!(Frame::parse(k, p).unwrap(), Frame::Exit(-3));
        let (k, p) = seen.next().unwrap();
        assert_eq!(
            Input::parse(k, p).unwrap(),
            Input::Resize {
                rows: 30,
                cols: 100
            }
        );
    }

    #[test]
    fn oversized_frames_and_lines_are_refused() {
        let mut buf = vec![FrameKind::STDOUT, 0xff, 0xff, 0xff, 0xff];
        assert!(decode(&mut buf).is_err());
        let mut line = vec![b'x'; MAX_HEADER + 1];
        assert!(read_line(&mut line).is_err());
        let mut short = b"{\"ping\"".to_vec();
        assert_eq!(read_line(&mut short).unwrap(), None);
        short.extend_from_slice(b"}\nrest");
        assert_eq!(read_line(&mut short).unwrap().unwrap(), b"{\"ping\"}");
        assert_eq!(short, b"rest");
    }
}
