//! An attached session with a container (`run` without `-d`, `start -a`, `attach`): the
//! terminal in raw mode for `-t`, window size changes sent along, signals forwarded to the
//! container (`--sig-proxy`), detach keys, and the container's exit code as ours.

use std::io::IsTerminal;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use berth_engine::runtime::attach::{
    parse_detach_keys, request, AttachClient, PumpEnd, Request, Streams,
};
use rustix::termios::{self, Termios};

use super::CliError;

/// What to attach and how.
pub struct Session<'a> {
    pub socket: &'a Path,
    pub streams: Streams,
    pub tty: bool,
    pub detach_keys: Option<&'a str>,
    pub sig_proxy: bool,
}

/// How the session ended, for the caller's exit status.
pub enum Ended {
    Exited(i32),
    Detached,
    /// The monitor went away without an exit code: ask the engine.
    Disconnected,
}

impl Session<'_> {
    pub fn run(&self) -> Result<Ended, CliError> {
        let keys = match self.detach_keys {
            Some(k) => Some(parse_detach_keys(k).map_err(|e| {
                CliError::usage(format!("Invalid detach keys ({k}) provided: {e}"))
            })?),
            None => None,
        };
        let mut client = AttachClient::connect(self.socket, self.streams).map_err(engine_error)?;
        let stdin = std::io::stdin();
        let stdout = std::io::stdout();
        let stderr = std::io::stderr();
        let _raw = if self.tty && stdin.is_terminal() && self.streams.stdin {
            RawMode::enter(stdin.as_fd())
        } else {
            None
        };
        if self.tty && stdout.is_terminal() {
            if let Ok(ws) = termios::tcgetwinsize(stdout.as_fd()) {
                let _ = client.resize(ws.ws_row, ws.ws_col);
            }
            if let Some((signal, tty)) = winch_pipe(stdout.as_fd()) {
                client.watch_resize(signal, tty);
            }
        }
        let _forwarder = if self.sig_proxy && !self.tty {
            SignalForwarder::start(self.socket.to_path_buf())
        } else {
            None
        };
        let input: Option<BorrowedFd<'_>> = self.streams.stdin.then(|| stdin.as_fd());
        let end = client
            .pump(input, stdout.as_fd(), stderr.as_fd(), keys.as_deref())
            .map_err(engine_error)?;
        Ok(match end {
            PumpEnd::Exited(code) => Ended::Exited(code),
            PumpEnd::Failed { code, message } => {
                return Err(CliError {
                    message: format!("berth: Error response from daemon: failed to create task for container: {message}"),
                    code: code.clamp(0, 255) as u8,
                })
            }
            PumpEnd::Detached => Ended::Detached,
            PumpEnd::Disconnected => Ended::Disconnected,
        })
    }
}

fn engine_error(e: berth_engine::runtime::Error) -> CliError {
    CliError {
        message: format!("Error response from daemon: {e}"),
        code: 1,
    }
}

/// The terminal in raw mode until dropped.
pub(crate) struct RawMode {
    fd: OwnedFd,
    saved: Termios,
}

impl RawMode {
    pub(crate) fn enter(fd: BorrowedFd<'_>) -> Option<RawMode> {
        let saved = termios::tcgetattr(fd).ok()?;
        let mut raw = saved.clone();
        raw.make_raw();
        termios::tcsetattr(fd, termios::OptionalActions::Now, &raw).ok()?;
        Some(RawMode {
            fd: fd.try_clone_to_owned().ok()?,
            saved,
        })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(&self.fd, termios::OptionalActions::Now, &self.saved);
    }
}

/// A pipe that becomes readable on SIGWINCH, and a handle on the terminal to size.
pub(crate) fn winch_pipe(tty: BorrowedFd<'_>) -> Option<(OwnedFd, OwnedFd)> {
    let (read, write) = rustix::pipe::pipe_with(
        rustix::pipe::PipeFlags::CLOEXEC | rustix::pipe::PipeFlags::NONBLOCK,
    )
    .ok()?;
    signal_hook::low_level::pipe::register(
        signal_hook::consts::SIGWINCH,
        std::os::unix::net::UnixStream::from(write),
    )
    .ok()?;
    Some((read, tty.try_clone_to_owned().ok()?))
}

/// Forwards the signals a user sends to `berth run` to the container, as Docker's
/// `--sig-proxy` does (Ctrl-C ends `berth run busybox sleep 100`).
struct SignalForwarder {
    handle: signal_hook::iterator::Handle,
}

const PROXIED: &[i32] = &[
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

impl SignalForwarder {
    fn start(socket: PathBuf) -> Option<SignalForwarder> {
        let mut signals = signal_hook::iterator::Signals::new(PROXIED).ok()?;
        let handle = signals.handle();
        std::thread::spawn(move || {
            for sig in signals.forever() {
                let _ = request(&socket, Request::Kill { signal: sig });
            }
        });
        Some(SignalForwarder { handle })
    }
}

impl Drop for SignalForwarder {
    fn drop(&mut self) {
        self.handle.close();
    }
}
