//! Runtimes: what starts, signals and removes a container from an OCI bundle.
//! [`Embedded`] runs it in-process with youki's libcontainer; [`OciBinary`] drives
//! runc, crun or any binary with runc's command line.
//!
//! The caller (berth's per-container monitor) must be the container init's parent or
//! its child subreaper to learn the exit status: see [`crate::InitProcess`].

mod embedded;
mod exec;
mod executor;
mod failure;
mod filtered_bundle;
pub(crate) mod loopback;
mod oci_binary;

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use oci_spec::runtime::Process;

use crate::error::{Error, Result};

pub use embedded::Embedded;
pub use exec::{exec_process, ExecOptions};
pub use oci_binary::OciBinary;

/// The container's standard streams.
#[derive(Debug)]
pub enum Stdio {
    /// These become the init's fds 0, 1 and 2 (pipes, files, /dev/null).
    Fds {
        stdin: OwnedFd,
        stdout: OwnedFd,
        stderr: OwnedFd,
    },
    /// The init gets a new pty as its controlling terminal; the master is sent over a
    /// connection to this unix socket (runc's console-socket protocol). The caller must be
    /// listening there before `create` (see [`crate::ConsoleSocket`]); the spec must say
    /// `terminal: true`.
    Console(PathBuf),
}

impl Stdio {
    /// All three streams on /dev/null.
    pub fn null() -> Result<Self> {
        let open = || {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")
                .map(OwnedFd::from)
                .map_err(|e| Error::io("opening /dev/null", e))
        };
        Ok(Stdio::Fds {
            stdin: open()?,
            stdout: open()?,
            stderr: open()?,
        })
    }
}

impl Stdio {
    /// Moves the fds above 2. Runtimes install them with dup2 onto 0, 1, 2 in turn, so a
    /// given fd that already is 0, 1 or 2 (as in a monitor that closed its own stdio)
    /// would be overwritten before its turn.
    pub(crate) fn lifted(self) -> Result<Self> {
        let lift = |fd: OwnedFd| -> Result<OwnedFd> {
            if fd.as_raw_fd() > 2 {
                return Ok(fd);
            }
            rustix::io::fcntl_dupfd_cloexec(&fd, 3)
                .map_err(|e| Error::io("moving a stdio fd above 2", e.into()))
        };
        Ok(match self {
            Stdio::Fds {
                stdin,
                stdout,
                stderr,
            } => Stdio::Fds {
                stdin: lift(stdin)?,
                stdout: lift(stdout)?,
                stderr: lift(stderr)?,
            },
            console => console,
        })
    }
}

/// Where a container is in its life, as the runtime sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Creating,
    /// The init is waiting for `start` to exec the command.
    Created,
    Running,
    Paused,
    Stopped,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerState {
    pub status: Status,
    /// The init's pid on the host, once there is one.
    pub pid: Option<i32>,
}

/// One container runtime. Ids are the container's id; state lives in the runtime's
/// state directory (berth uses `<runroot>/runtime`).
pub trait Runtime {
    /// Sets up the container from `bundle` (a directory with `config.json`) and its init
    /// process, which waits before exec'ing the command. Returns the init's host pid.
    ///
    /// A missing or non-executable command fails here with
    /// [`Error::CommandNotFound`] / [`Error::CommandNotExecutable`].
    fn create(&self, id: &str, bundle: &Path, stdio: Stdio) -> Result<i32>;

    /// Lets the created init exec the command.
    fn start(&self, id: &str) -> Result<()>;

    /// `create` then `start`, for a caller with nothing to do in between; a container
    /// whose start failed is removed again (its init is killed; its parent reaps it).
    fn run(&self, id: &str, bundle: &Path, stdio: Stdio) -> Result<i32> {
        let pid = self.create(id, bundle, stdio)?;
        if let Err(err) = self.start(id) {
            let _ = self.kill(id, libc::SIGKILL, true);
            let _ = self.delete(id, true);
            return Err(err);
        }
        Ok(pid)
    }

    /// Sends `signal` to the init, or with `all` to every process of the container.
    /// Signals the init does not handle are ignored by the kernel (it is pid 1 of its
    /// namespace), except SIGKILL and SIGSTOP.
    fn kill(&self, id: &str, signal: i32, all: bool) -> Result<()>;

    /// Removes the container's runtime state and cgroup. A running container is refused
    /// unless `force`, which kills it first.
    fn delete(&self, id: &str, force: bool) -> Result<()>;

    fn state(&self, id: &str) -> Result<ContainerState>;

    /// Starts `process` inside the running container `id`: in every namespace and the
    /// cgroup of its init, under the container's seccomp filter, with the capabilities,
    /// user and no-new-privileges `process` names ([`exec_process`] builds one from the
    /// container's spec). Returns the new process's host pid at once; the caller waits
    /// for it with [`crate::InitProcess`], as its parent (embedded) or its child
    /// subreaper (binary). With `Stdio::Console`, `process.terminal` must be true.
    ///
    /// A missing or non-executable command fails here, as with `create`.
    fn exec(&self, id: &str, process: Process, stdio: Stdio) -> Result<i32>;

    /// Freezes every process of the container (cgroup freezer).
    fn pause(&self, id: &str) -> Result<()>;

    /// Thaws a paused container.
    fn resume(&self, id: &str) -> Result<()>;
}
