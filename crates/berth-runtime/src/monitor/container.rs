//! One run of the container: its stdio (pipes or a pty), create and start through the
//! runtime, its output and input, and the cleanup after its exit.

use std::os::fd::{AsFd, OwnedFd};
use std::time::Instant;

use rustix::io::Errno;
use rustix::pipe::{pipe_with, PipeFlags};

use super::oom::OomCounter;
use super::MonitorConfig;
use crate::console::{set_window_size, ConsoleSocket};
use crate::error::{Error, Result};
use crate::logs::Stream;
use crate::process::{ExitStatus, InitProcess};
use crate::runtime::{Runtime, Stdio};

/// How much container input the monitor holds before it stops reading clients.
pub(crate) const STDIN_LIMIT: usize = 64 * 1024;

/// A running container, as its monitor holds it.
pub(crate) struct Run {
    pub init: InitProcess,
    /// Where its output comes from: stdout and stderr pipes, or the pty master.
    pub outputs: Vec<Output>,
    pub stdin: Option<Input>,
    /// The pty master, for window sizes.
    pty: Option<OwnedFd>,
    pub paused: bool,
    /// A stop or kill request came.
    pub manually_stopped: bool,
    /// When a stop escalates to SIGKILL.
    pub kill_at: Option<Instant>,
    /// When the hooks hear that the run settled; `None` once they did.
    pub settle_at: Option<Instant>,
    oom: OomCounter,
}

pub(crate) struct Output {
    pub fd: OwnedFd,
    pub stream: Stream,
    pub open: bool,
}

/// The container's stdin as the monitor writes it.
pub(crate) struct Input {
    pub fd: OwnedFd,
    pub pending: Vec<u8>,
    /// Close once `pending` is written (a `stdin_once` client ended its input).
    pub close_when_flushed: bool,
}

/// What reading an output gave.
pub(crate) enum Read {
    Data(usize),
    /// Nothing now; more may come.
    Empty,
    /// Closed for good (all writers gone; EIO on a pty whose slave closed).
    Closed,
}

impl Run {
    /// Creates and starts the container of `config`. On failure nothing of it is left.
    pub(crate) fn start(
        config: &MonitorConfig,
        runtime: &dyn Runtime,
        size: Option<(u16, u16)>,
    ) -> Result<Self> {
        let oom = OomCounter::for_bundle(&config.bundle);
        let (init, outputs, stdin, pty) = if config.terminal {
            let started = start_with_pty(config, runtime, size)?;
            if let Err(err) = runtime.start(&config.id) {
                abort(runtime, &config.id, &started.0);
                return Err(err);
            }
            started
        } else {
            run_with_pipes(config, runtime)?
        };
        Ok(Self {
            init,
            outputs,
            stdin,
            pty,
            paused: false,
            manually_stopped: false,
            kill_at: None,
            settle_at: Some(Instant::now() + super::hooks::SETTLED_AFTER),
            oom,
        })
    }

    pub(crate) fn resize(&self, rows: u16, cols: u16) -> Result<()> {
        match &self.pty {
            Some(pty) => set_window_size(pty, rows, cols),
            None => Ok(()),
        }
    }

    /// Reads some output of `outputs[index]` into `buf`.
    pub(crate) fn read_output(&mut self, index: usize, buf: &mut [u8]) -> Read {
        let output = &mut self.outputs[index];
        if !output.open {
            return Read::Closed;
        }
        match rustix::io::read(&output.fd, buf) {
            Ok(0) => {
                output.open = false;
                Read::Closed
            }
            Ok(n) => Read::Data(n),
            Err(Errno::AGAIN | Errno::INTR) => Read::Empty,
            Err(_) => {
                output.open = false;
                Read::Closed
            }
        }
    }

    /// Writes pending input; closes the container's stdin when asked to and done.
    pub(crate) fn write_stdin(&mut self) {
        let Some(input) = &mut self.stdin else {
            return;
        };
        if !input.pending.is_empty() {
            match rustix::io::write(&input.fd, &input.pending) {
                Ok(n) => {
                    input.pending.drain(..n);
                }
                Err(Errno::AGAIN | Errno::INTR) => {}
                // The container closed its stdin: what it did not read is lost, as in Docker.
                Err(_) => {
                    self.stdin = None;
                    return;
                }
            }
        }
        if input.pending.is_empty() && input.close_when_flushed {
            self.stdin = None;
        }
    }

    /// Takes the exit status if the init has exited.
    pub(crate) fn exit_status(&self) -> Result<Option<ExitStatus>> {
        self.init.try_wait()
    }

    /// Kills and removes a started container that must not go on.
    pub(crate) fn discard(self, runtime: &dyn Runtime, id: &str) {
        abort(runtime, id, &self.init);
    }

    /// After the exit, while its cgroup is still there: whether the OOM killer struck.
    pub(crate) fn oom_killed(&self) -> bool {
        self.oom.killed()
    }
}

/// After the exit: the runtime's state and the container's cgroups removed.
pub(crate) fn delete_stopped(runtime: &dyn Runtime, id: &str) {
    if let Err(err) = runtime.delete(id, false) {
        tracing::warn!(%err, "deleting the stopped container failed; forcing");
        let _ = runtime.delete(id, true);
    }
}

type Started = (InitProcess, Vec<Output>, Option<Input>, Option<OwnedFd>);

/// Creates and starts the container in one runtime call: with pipes there is nothing to
/// set up between the two.
fn run_with_pipes(config: &MonitorConfig, runtime: &dyn Runtime) -> Result<Started> {
    let pipe =
        || pipe_with(PipeFlags::CLOEXEC).map_err(|e| Error::io("creating a stdio pipe", e.into()));
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    let (stdin_theirs, stdin_ours) = if config.open_stdin {
        let (r, w) = pipe()?;
        (r, Some(w))
    } else {
        (open_null()?, None)
    };
    let outputs = vec![
        output(out_r, Stream::Stdout)?,
        output(err_r, Stream::Stderr)?,
    ];
    let stdin = stdin_ours.map(input).transpose()?;
    let pid = runtime.run(
        &config.id,
        &config.bundle,
        Stdio::Fds {
            stdin: stdin_theirs,
            stdout: out_w,
            stderr: err_w,
        },
    )?;
    // The init may have exited already: it is then a zombie child of this process (its
    // parent exited; this process is a subreaper), which nothing reaps before this.
    let init = open_init(runtime, &config.id, pid)?;
    Ok((init, outputs, stdin, None))
}

fn start_with_pty(
    config: &MonitorConfig,
    runtime: &dyn Runtime,
    size: Option<(u16, u16)>,
) -> Result<Started> {
    let socket = ConsoleSocket::bind(crate::sockpath::console_path(
        &config.socket_path.with_extension("console"),
    ))?;
    let pid = runtime.create(
        &config.id,
        &config.bundle,
        Stdio::Console(socket.path().to_path_buf()),
    )?;
    let init = open_init(runtime, &config.id, pid)?;
    let ours = || -> Result<_> {
        let master = socket.receive_master()?;
        // Before `start`, so the command sees its size from the first instruction:
        // libcontainer ignores the spec's console size.
        if let Some((rows, cols)) = size {
            set_window_size(&master, rows, cols)?;
        }
        let dup = |fd: &OwnedFd| {
            fd.as_fd()
                .try_clone_to_owned()
                .map_err(|e| Error::io("duplicating the pty master", e))
        };
        let outputs = vec![output(dup(&master)?, Stream::Stdout)?];
        let stdin = if config.open_stdin {
            Some(input(dup(&master)?)?)
        } else {
            None
        };
        Ok((outputs, stdin, master))
    };
    match ours() {
        Ok((outputs, stdin, master)) => Ok((init, outputs, stdin, Some(master))),
        Err(err) => {
            abort(runtime, &config.id, &init);
            Err(err)
        }
    }
}

/// The init's pidfd; without it the container cannot be watched, so it is removed.
fn open_init(runtime: &dyn Runtime, id: &str, pid: i32) -> Result<InitProcess> {
    InitProcess::open(pid).inspect_err(|_| {
        let _ = runtime.delete(id, true);
    })
}

/// Removes a container that was created but is not going to run.
fn abort(runtime: &dyn Runtime, id: &str, init: &InitProcess) {
    let _ = runtime.kill(id, libc::SIGKILL, true);
    let _ = init.wait();
    let _ = runtime.delete(id, true);
}

fn output(fd: OwnedFd, stream: Stream) -> Result<Output> {
    set_nonblocking(&fd)?;
    Ok(Output {
        fd,
        stream,
        open: true,
    })
}

fn input(fd: OwnedFd) -> Result<Input> {
    set_nonblocking(&fd)?;
    Ok(Input {
        fd,
        pending: Vec::new(),
        close_when_flushed: false,
    })
}

fn set_nonblocking(fd: &OwnedFd) -> Result<()> {
    rustix::io::ioctl_fionbio(fd, true)
        .map_err(|e| Error::io("making a stdio fd non-blocking", e.into()))
}

fn open_null() -> Result<OwnedFd> {
    std::fs::File::open("/dev/null")
        .map(OwnedFd::from)
        .map_err(|e| Error::io("opening /dev/null", e))
}
