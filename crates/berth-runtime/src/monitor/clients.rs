//! The monitor's connections: a header line first, then either frames (attached) or
//! one answer (control). Everything is non-blocking; what a client cannot take yet
//! waits in its output buffer.

use std::os::unix::net::UnixStream;

use rustix::io::Errno;
use rustix::net::{send, SendFlags};

use crate::attach::{decode, encode, read_line, FrameKind, Input, Request, Response, Streams};
use crate::error::{Error, Result};
use crate::logs::Stream;

/// Beyond this much unsent output for one client, the monitor stops reading the
/// container's output until the client catches up (as a Docker attach does).
pub(crate) const OUTPUT_LIMIT: usize = 256 * 1024;

pub(crate) struct Conn {
    stream: UnixStream,
    received: Vec<u8>,
    unsent: Vec<u8>,
    pub role: Role,
    /// Close once everything is sent.
    pub closing: bool,
    /// Gone: removed after this turn of the loop.
    pub dead: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The header line has not arrived yet.
    Handshake,
    Attached(Streams),
    /// Answered at the container's exit (wait, stop).
    Waiting,
    /// Answered; closing.
    Answered,
}

impl Conn {
    pub(crate) fn new(stream: UnixStream) -> Result<Self> {
        stream
            .set_nonblocking(true)
            .map_err(|e| Error::io("making a client socket non-blocking", e))?;
        Ok(Self {
            stream,
            received: Vec::new(),
            unsent: Vec::new(),
            role: Role::Handshake,
            closing: false,
            dead: false,
        })
    }

    pub(crate) fn stream(&self) -> &UnixStream {
        &self.stream
    }

    pub(crate) fn has_unsent(&self) -> bool {
        !self.unsent.is_empty()
    }

    pub(crate) fn backlogged(&self) -> bool {
        self.unsent.len() > OUTPUT_LIMIT
    }

    /// Reads what the client sent; a closed or broken connection is marked dead.
    pub(crate) fn receive(&mut self, scratch: &mut [u8]) {
        match rustix::io::read(&self.stream, &mut *scratch) {
            Ok(0) => self.dead = true,
            Ok(n) => self.received.extend_from_slice(&scratch[..n]),
            Err(Errno::AGAIN | Errno::INTR) => {}
            Err(_) => self.dead = true,
        }
    }

    /// The header, once its line is complete. A bad header is answered and closed.
    pub(crate) fn take_request(&mut self) -> Option<Request> {
        match read_line(&mut self.received) {
            Ok(None) => None,
            Ok(Some(line)) => match serde_json::from_slice(&line) {
                Ok(request) => Some(request),
                Err(err) => {
                    self.answer(&Response::Error {
                        message: format!("bad request: {err}"),
                    });
                    None
                }
            },
            Err(err) => {
                self.answer(&Response::Error {
                    message: err.to_string(),
                });
                None
            }
        }
    }

    /// The next whole input frame of an attached client. A protocol error ends it.
    pub(crate) fn take_input(&mut self) -> Option<Input> {
        match decode(&mut self.received) {
            Ok(Some((kind, payload))) => match Input::parse(kind, payload) {
                Ok(input) => Some(input),
                Err(_) => {
                    self.dead = true;
                    None
                }
            },
            Ok(None) => None,
            Err(_) => {
                self.dead = true;
                None
            }
        }
    }

    /// Sends a response line and keeps the connection open (attach).
    pub(crate) fn respond(&mut self, response: &Response) {
        if let Ok(mut line) = serde_json::to_vec(response) {
            line.push(b'\n');
            self.unsent.extend_from_slice(&line);
        }
    }

    /// Sends the one answer of a control connection, then closes it.
    pub(crate) fn answer(&mut self, response: &Response) {
        self.respond(response);
        self.role = Role::Answered;
        self.closing = true;
    }

    /// Queues container output for an attached client that asked for `stream`.
    pub(crate) fn output(&mut self, stream: Stream, data: &[u8]) {
        let Role::Attached(streams) = self.role else {
            return;
        };
        let (wanted, kind) = match stream {
            Stream::Stdout => (streams.stdout, FrameKind::STDOUT),
            Stream::Stderr => (streams.stderr, FrameKind::STDERR),
        };
        if wanted && !self.closing {
            encode(kind, data, &mut self.unsent);
        }
    }

    /// Ends an attached session with the container's exit (and why it did not start).
    pub(crate) fn exit(&mut self, code: i32, start_error: Option<&str>) {
        if let Role::Attached(_) = self.role {
            if let Some(message) = start_error {
                encode(FrameKind::ERROR, message.as_bytes(), &mut self.unsent);
            }
            encode(FrameKind::EXIT, &code.to_be_bytes(), &mut self.unsent);
            self.closing = true;
        }
    }

    /// Sends what the socket takes now.
    pub(crate) fn flush(&mut self) {
        while !self.unsent.is_empty() {
            match send(
                &self.stream,
                &self.unsent,
                SendFlags::NOSIGNAL | SendFlags::DONTWAIT,
            ) {
                Ok(n) => {
                    self.unsent.drain(..n);
                }
                Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => break,
                Err(_) => {
                    self.dead = true;
                    return;
                }
            }
        }
        if self.unsent.capacity() > OUTPUT_LIMIT && self.unsent.is_empty() {
            self.unsent = Vec::new();
        }
        if self.closing && self.unsent.is_empty() {
            self.dead = true;
        }
    }
}
