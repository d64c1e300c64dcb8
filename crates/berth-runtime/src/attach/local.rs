//! An attached session with a process the caller started itself (`berth exec`): the
//! user's terminal or pipes on one side, the process's pipes or pty on the other, until
//! the process exits. The same bytes and the same [`PumpEnd`] as a monitor session.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::event::{poll, PollFd, PollFlags};
use rustix::io::Errno;

use super::client::{write_fd, PumpEnd};
use super::detach::{DetachMatcher, DEFAULT_DETACH_KEYS};
use crate::error::{Error, Result};
use crate::process::InitProcess;

const CHUNK: usize = 32 * 1024;

/// The caller's ends of the process's stdio.
#[derive(Debug)]
pub enum ProcessStdio {
    /// Pipes: the write end of the process's stdin (`None` when it has /dev/null) and
    /// the read ends of its stdout and stderr.
    Pipes {
        stdin: Option<OwnedFd>,
        stdout: OwnedFd,
        stderr: OwnedFd,
    },
    /// The pty master received on the console socket; all output is stdout.
    Pty(OwnedFd),
}

/// The user's side of the session.
#[derive(Debug, Clone, Copy)]
pub struct UserIo<'a> {
    /// Input for the process; `None` when it gets none (no `-i`).
    pub stdin: Option<BorrowedFd<'a>>,
    pub stdout: BorrowedFd<'a>,
    pub stderr: BorrowedFd<'a>,
    /// `None` for ctrl-p ctrl-q, an empty slice for none.
    pub detach_keys: Option<&'a [u8]>,
    /// With a pty: readable when the window changed (a SIGWINCH pipe), and the
    /// terminal whose size to pass on.
    pub resize: Option<(BorrowedFd<'a>, BorrowedFd<'a>)>,
}

/// Copies between the user and `process` until it exits (returns its code, after all
/// its output), or the detach keys are typed (the process keeps its stdio only as long
/// as the caller holds `stdio`'s ends: a pty whose master closes hangs up).
///
/// At the end of the user's input a pipe stdin is closed, so the process sees EOF; a
/// pty stays open, as Docker leaves it.
pub fn pump_process(
    process: &InitProcess,
    stdio: ProcessStdio,
    user: UserIo<'_>,
) -> Result<PumpEnd> {
    let (mut input, outputs, pty) = match stdio {
        ProcessStdio::Pipes {
            stdin,
            stdout,
            stderr,
        } => (stdin, vec![(stdout, false), (stderr, true)], None),
        ProcessStdio::Pty(master) => {
            let writer = match user.stdin {
                Some(_) => Some(dup(&master)?),
                None => None,
            };
            (writer, vec![(dup(&master)?, false)], Some(master))
        }
    };
    for fd in input.iter().chain(outputs.iter().map(|(fd, _)| fd)) {
        rustix::io::ioctl_fionbio(fd, true)
            .map_err(|e| Error::io("making the process's stdio non-blocking", e.into()))?;
    }
    let mut open: Vec<bool> = vec![true; outputs.len()];
    let mut user_stdin = user.stdin.filter(|_| input.is_some());
    let mut matcher = DetachMatcher::new(user.detach_keys.unwrap_or(DEFAULT_DETACH_KEYS));
    let mut pending: Vec<u8> = Vec::new();
    let mut close_input = false;
    let mut chunk = vec![0u8; CHUNK];
    loop {
        let mut fds = vec![PollFd::new(process, PollFlags::IN)];
        let watched: Vec<usize> = (0..outputs.len()).filter(|&i| open[i]).collect();
        for &i in &watched {
            fds.push(PollFd::new(&outputs[i].0, PollFlags::IN));
        }
        let read_user = user_stdin.filter(|_| pending.len() < CHUNK);
        if let Some(fd) = read_user {
            fds.push(PollFd::from_borrowed_fd(fd, PollFlags::IN));
        }
        let write_input = input.as_ref().filter(|_| !pending.is_empty());
        if let Some(fd) = write_input {
            fds.push(PollFd::new(fd, PollFlags::OUT));
        }
        if let (Some((signal, _)), Some(_)) = (user.resize, &pty) {
            fds.push(PollFd::from_borrowed_fd(signal, PollFlags::IN));
        }
        match poll(&mut fds, None) {
            Err(Errno::INTR) => continue,
            Err(e) => return Err(Error::io("polling the exec session", e.into())),
            Ok(_) => {}
        }
        let events: Vec<PollFlags> = fds.iter().map(PollFd::revents).collect();
        drop(fds);
        let mut at = 1;
        for &i in &watched {
            if !events[at].is_empty() {
                open[i] = copy_out(&outputs[i].0, &mut chunk, &user, outputs[i].1)?;
            }
            at += 1;
        }
        if let Some(fd) = read_user {
            if !events[at].is_empty() {
                match rustix::io::read(fd, &mut chunk) {
                    Err(Errno::AGAIN | Errno::INTR) => {}
                    Ok(0) | Err(_) => {
                        user_stdin = None;
                        close_input = pty.is_none();
                    }
                    Ok(n) => {
                        if matcher.feed(&chunk[..n], &mut pending) {
                            return Ok(PumpEnd::Detached);
                        }
                    }
                }
            }
            at += 1;
        }
        if let Some(fd) = write_input {
            if !events[at].is_empty() {
                match rustix::io::write(fd, &pending) {
                    Ok(n) => {
                        pending.drain(..n);
                    }
                    Err(Errno::AGAIN | Errno::INTR) => {}
                    // The process closed its stdin; the rest of the input is dropped.
                    Err(_) => {
                        pending.clear();
                        input = None;
                        user_stdin = None;
                    }
                }
            }
            at += 1;
        }
        if close_input && pending.is_empty() {
            input = None;
        }
        if let (Some((_, tty)), Some(master)) = (user.resize, &pty) {
            if !events
                .get(at)
                .copied()
                .unwrap_or(PollFlags::empty())
                .is_empty()
            {
                if let Some((signal, _)) = user.resize {
                    let mut sink = [0u8; 64];
                    let _ = rustix::io::read(signal, &mut sink);
                }
                if let Ok(size) = rustix::termios::tcgetwinsize(tty) {
                    let _ = crate::console::set_window_size(master, size.ws_row, size.ws_col);
                }
            }
        }
        if !events[0].is_empty() {
            if let Some(status) = process.try_wait()? {
                // What it wrote before it ended is in the pipes or the pty: take it all.
                for (i, (fd, is_err)) in outputs.iter().enumerate() {
                    if open[i] {
                        drain(fd, &mut chunk, &user, *is_err)?;
                    }
                }
                return Ok(PumpEnd::Exited(status.code()));
            }
        }
    }
}

/// Copies one read of `fd` to the user; false once it is closed (EOF, or EIO from a
/// pty whose other side closed).
fn copy_out(fd: &OwnedFd, chunk: &mut [u8], user: &UserIo<'_>, is_err: bool) -> Result<bool> {
    match rustix::io::read(fd, &mut *chunk) {
        Ok(0) => Ok(false),
        Ok(n) => {
            write_fd(if is_err { user.stderr } else { user.stdout }, &chunk[..n])?;
            Ok(true)
        }
        Err(Errno::AGAIN | Errno::INTR) => Ok(true),
        Err(_) => Ok(false),
    }
}

/// Copies what `fd` holds now, to its end or until it has nothing more yet (a
/// background process of the exec may hold the pipe open).
fn drain(fd: &OwnedFd, chunk: &mut [u8], user: &UserIo<'_>, is_err: bool) -> Result<()> {
    loop {
        match rustix::io::read(fd, &mut *chunk) {
            Ok(0) | Err(Errno::AGAIN) => return Ok(()),
            Ok(n) => write_fd(if is_err { user.stderr } else { user.stdout }, &chunk[..n])?,
            Err(Errno::INTR) => {}
            Err(_) => return Ok(()),
        }
    }
}

fn dup(fd: &OwnedFd) -> Result<OwnedFd> {
    fd.as_fd()
        .try_clone_to_owned()
        .map_err(|e| Error::io("duplicating the pty master", e))
}
