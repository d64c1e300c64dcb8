//! The client side of the monitor socket, for the CLI and the API server.

use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use rustix::event::{poll, PollFd, PollFlags};
use rustix::io::Errno;
use rustix::net::{send, SendFlags};

use super::detach::{DetachMatcher, DEFAULT_DETACH_KEYS};
use super::protocol::{decode, read_line, Frame, Input, Request, Response, Streams};
use crate::error::{Error, Result};

/// How much client input is read at once, and held unsent at most.
const CHUNK: usize = 32 * 1024;

/// How an attached session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PumpEnd {
    /// The container exited with this code (Docker's number).
    Exited(i32),
    /// The container could not be started: Docker's exit code (125, 126, 127) and why.
    Failed { code: i32, message: String },
    /// The user typed the detach keys; the container goes on.
    Detached,
    /// The monitor went away without reporting an exit (it was killed).
    Disconnected,
}

/// One attached session with a container's monitor.
#[derive(Debug)]
pub struct AttachClient {
    stream: UnixStream,
    /// Bytes received and not yet taken as frames.
    received: Vec<u8>,
    streams: Streams,
    resize: Option<ResizeSource>,
}

/// Where window size changes come from during [`AttachClient::pump`].
#[derive(Debug)]
struct ResizeSource {
    /// Readable when the window changed: e.g. a pipe written on SIGWINCH.
    signal: OwnedFd,
    /// The terminal whose size is sent.
    tty: OwnedFd,
}

/// Sends one control request and returns the monitor's answer. `Wait` and `Stop`
/// block until the container has exited.
pub fn request(socket: impl AsRef<Path>, request: Request) -> Result<Response> {
    let (_, response) = open(socket.as_ref(), &request)?;
    Ok(response)
}

/// Connects, sends the header line and reads the response line. Bytes after the
/// response (the first frames) are returned with the stream.
fn open(socket: &Path, request: &Request) -> Result<((UnixStream, Vec<u8>), Response)> {
    let mut stream = crate::sockpath::connect(socket)
        .map_err(|e| Error::io(format!("connecting to {}", socket.display()), e))?;
    let mut line = serde_json::to_vec(request)
        .map_err(|err| Error::Protocol(format!("encoding a request: {err}")))?;
    line.push(b'\n');
    stream
        .write_all(&line)
        .map_err(|e| Error::io("sending a request to the monitor", e))?;
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    let answer = loop {
        if let Some(answer) = read_line(&mut received)? {
            break answer;
        }
        let n = stream
            .read(&mut chunk)
            .map_err(|e| Error::io("reading the monitor's answer", e))?;
        if n == 0 {
            return Err(Error::Protocol("the monitor closed the connection".into()));
        }
        received.extend_from_slice(&chunk[..n]);
    };
    let response: Response = serde_json::from_slice(&answer)
        .map_err(|err| Error::Protocol(format!("unreadable answer: {err}")))?;
    Ok(((stream, received), response))
}

impl AttachClient {
    /// Attaches to the container's `streams`. Fails with [`Error::Monitor`] when the
    /// monitor refuses (the container is restarting, or exited).
    pub fn connect(socket: impl AsRef<Path>, streams: Streams) -> Result<Self> {
        let ((stream, received), response) = open(socket.as_ref(), &Request::Attach(streams))?;
        match response {
            Response::Ok => Ok(Self {
                stream,
                received,
                streams,
                resize: None,
            }),
            Response::Error { message } => Err(Error::Monitor(message)),
            other => Err(Error::Protocol(format!("unexpected answer {other:?}"))),
        }
    }

    pub fn send_stdin(&mut self, data: &[u8]) -> Result<()> {
        let mut wire = Vec::with_capacity(data.len().min(CHUNK) + 5);
        for piece in data.chunks(CHUNK) {
            wire.clear();
            Input::Stdin(piece.to_vec()).encode(&mut wire);
            self.write(&wire)?;
        }
        Ok(())
    }

    /// Ends the input; the container's stdin is closed if it was started with `stdin_once`.
    pub fn close_stdin(&mut self) -> Result<()> {
        self.send_input(&Input::StdinEof)
    }

    pub fn resize(&mut self, rows: u16, cols: u16) -> Result<()> {
        self.send_input(&Input::Resize { rows, cols })
    }

    /// Ends this session; the container goes on.
    pub fn detach(&mut self) -> Result<()> {
        self.send_input(&Input::Detach)
    }

    /// The next frame; `None` once the monitor closed the connection.
    pub fn recv(&mut self) -> Result<Option<Frame>> {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some((kind, payload)) = decode(&mut self.received)? {
                return Frame::parse(kind, payload).map(Some);
            }
            let n = self
                .stream
                .read(&mut chunk)
                .map_err(|e| Error::io("reading from the monitor", e))?;
            if n == 0 {
                return Ok(None);
            }
            self.received.extend_from_slice(&chunk[..n]);
        }
    }

    /// During [`pump`](Self::pump), sends the size of `tty` whenever `signal` becomes
    /// readable (its content is discarded). Give it the read end of a pipe that a
    /// SIGWINCH handler writes to, e.g. `signal_hook::low_level::pipe::register`.
    pub fn watch_resize(&mut self, signal: OwnedFd, tty: OwnedFd) {
        self.resize = Some(ResizeSource { signal, tty });
    }

    /// Runs the whole attached session: `stdin` (when attached) goes to the container,
    /// its output to `stdout` and `stderr`, until it exits, the monitor goes away, or
    /// the detach keys are typed. `detach_keys`: `None` for ctrl-p ctrl-q, an empty
    /// slice for none. Bytes pass unchanged, so a raw-mode terminal works as a tty.
    pub fn pump(
        &mut self,
        stdin: Option<BorrowedFd<'_>>,
        stdout: BorrowedFd<'_>,
        stderr: BorrowedFd<'_>,
        detach_keys: Option<&[u8]>,
    ) -> Result<PumpEnd> {
        self.stream
            .set_nonblocking(true)
            .map_err(|e| Error::io("setting the socket non-blocking", e))?;
        let result = self.pump_loop(
            stdin.filter(|_| self.streams.stdin),
            stdout,
            stderr,
            detach_keys.unwrap_or(DEFAULT_DETACH_KEYS),
        );
        let _ = self.stream.set_nonblocking(false);
        result
    }

    fn pump_loop(
        &mut self,
        mut stdin: Option<BorrowedFd<'_>>,
        stdout: BorrowedFd<'_>,
        stderr: BorrowedFd<'_>,
        detach_keys: &[u8],
    ) -> Result<PumpEnd> {
        let mut matcher = DetachMatcher::new(detach_keys);
        let mut unsent: Vec<u8> = Vec::new();
        let mut start_error: Option<String> = None;
        let mut chunk = vec![0u8; CHUNK];
        let mut forward = Vec::new();
        // Once the monitor stops taking input (it closed our stdin), input is dropped.
        let mut input_open = true;
        loop {
            while let Some((kind, payload)) = decode(&mut self.received)? {
                match Frame::parse(kind, payload)? {
                    Frame::Stdout(data) => write_fd(stdout, &data)?,
                    Frame::Stderr(data) => write_fd(stderr, &data)?,
                    Frame::Error(message) => start_error = Some(message),
                    Frame::Exit(code) => {
                        return Ok(match start_error.take() {
                            Some(message) => PumpEnd::Failed { code, message },
                            None => PumpEnd::Exited(code),
                        })
                    }
                }
            }

            let mut socket_events = PollFlags::IN;
            if !unsent.is_empty() {
                socket_events |= PollFlags::OUT;
            }
            let read_stdin = stdin.filter(|_| unsent.len() < CHUNK);
            let mut fds = vec![PollFd::new(&self.stream, socket_events)];
            if let Some(fd) = read_stdin {
                fds.push(PollFd::from_borrowed_fd(fd, PollFlags::IN));
            }
            if let Some(resize) = &self.resize {
                fds.push(PollFd::new(&resize.signal, PollFlags::IN));
            }
            match poll(&mut fds, None) {
                Err(Errno::INTR) => continue,
                Err(e) => return Err(Error::io("polling the attach session", e.into())),
                Ok(_) => {}
            }
            let socket_ready = fds[0].revents();
            let stdin_ready = read_stdin.map_or(PollFlags::empty(), |_| fds[1].revents());
            let resize_ready = self
                .resize
                .as_ref()
                .map_or(PollFlags::empty(), |_| fds[fds.len() - 1].revents());
            drop(fds);

            if socket_ready.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
                match rustix::io::read(&self.stream, &mut chunk) {
                    Ok(0) => return Ok(PumpEnd::Disconnected),
                    Ok(n) => self.received.extend_from_slice(&chunk[..n]),
                    Err(Errno::AGAIN | Errno::INTR) => {}
                    Err(Errno::CONNRESET) => return Ok(PumpEnd::Disconnected),
                    Err(e) => return Err(Error::io("reading from the monitor", e.into())),
                }
            }
            if socket_ready.contains(PollFlags::OUT) && !unsent.is_empty() {
                match send(&self.stream, &unsent, SendFlags::NOSIGNAL) {
                    Ok(n) => {
                        unsent.drain(..n);
                    }
                    Err(Errno::AGAIN | Errno::INTR) => {}
                    Err(_) => {
                        // The monitor no longer reads: the container is ending. Its
                        // exit frame may still be on the way.
                        unsent.clear();
                        input_open = false;
                        stdin = None;
                    }
                }
            }
            if let Some(fd) = read_stdin {
                if !stdin_ready.is_empty() {
                    let n = match rustix::io::read(fd, &mut chunk) {
                        Ok(n) => n,
                        Err(Errno::AGAIN | Errno::INTR) => continue,
                        // A terminal that hung up ends the input like EOF does.
                        Err(_) => 0,
                    };
                    if n == 0 {
                        stdin = None;
                        if input_open {
                            Input::StdinEof.encode(&mut unsent);
                        }
                    } else {
                        forward.clear();
                        let detached = matcher.feed(&chunk[..n], &mut forward);
                        if !forward.is_empty() && input_open {
                            Input::Stdin(forward.clone()).encode(&mut unsent);
                        }
                        if detached {
                            Input::Detach.encode(&mut unsent);
                            let _ = self.stream.set_nonblocking(false);
                            // Best effort: the session ends either way.
                            let _ = self.stream.write_all(&unsent);
                            return Ok(PumpEnd::Detached);
                        }
                    }
                }
            }
            if !resize_ready.is_empty() {
                if let Some(resize) = &self.resize {
                    drain(&resize.signal);
                    if let Ok(size) = rustix::termios::tcgetwinsize(&resize.tty) {
                        Input::Resize {
                            rows: size.ws_row,
                            cols: size.ws_col,
                        }
                        .encode(&mut unsent);
                    }
                }
            }
        }
    }

    fn send_input(&mut self, input: &Input) -> Result<()> {
        let mut wire = Vec::new();
        input.encode(&mut wire);
        self.write(&wire)
    }

    fn write(&mut self, wire: &[u8]) -> Result<()> {
        self.stream
            .write_all(wire)
            .map_err(|e| Error::io("writing to the monitor", e))
    }
}

/// Writes all of `data`, waiting whenever `fd` is non-blocking and full.
pub(crate) fn write_fd(fd: BorrowedFd<'_>, mut data: &[u8]) -> Result<()> {
    while !data.is_empty() {
        match rustix::io::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(Errno::INTR) => {}
            Err(Errno::AGAIN) => {
                let mut fds = [PollFd::from_borrowed_fd(fd, PollFlags::OUT)];
                let _ = poll(&mut fds, None);
            }
            Err(e) => return Err(Error::io("writing the container's output", e.into())),
        }
    }
    Ok(())
}

/// Takes what a notification pipe holds; one read, as it may be blocking. Anything
/// left wakes the next poll, which only sends the same size again.
fn drain(fd: impl AsFd) {
    let mut sink = [0u8; 64];
    let _ = rustix::io::read(fd.as_fd(), &mut sink);
}
