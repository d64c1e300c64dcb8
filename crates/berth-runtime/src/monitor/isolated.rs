//! Runtime calls in a short-lived child process. The embedded runtime's code (spec
//! parsing, namespaces, cgroups, seccomp) is large; run in the monitor itself, every page
//! of it that a `create` touches stays in the monitor's resident set for the life of the
//! container (about 2 MiB more, measured). Forked off, it touches the child's pages only.
//!
//! The container's init is then the child's child (libcontainer clones it as a sibling
//! of the intermediate process); when the child exits, the init is re-parented to the
//! monitor, which is a child subreaper, exactly as with `runc create`.

use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use oci_spec::runtime::Process;
use rustix::pipe::{pipe_with, PipeFlags};
use rustix::process::{waitpid, Pid, WaitOptions};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::runtime::{ContainerState, Runtime, Status, Stdio};

/// The longest error text reported from the child; a pipe buffers 64 KiB.
const MAX_MESSAGE: usize = 16 * 1024;

/// A runtime whose every call runs in a forked child of the caller.
pub(crate) struct Isolated {
    inner: Box<dyn Runtime>,
}

impl Isolated {
    pub(crate) fn new(inner: Box<dyn Runtime>) -> Self {
        Self { inner }
    }
}

impl Runtime for Isolated {
    fn create(&self, id: &str, bundle: &Path, stdio: Stdio) -> Result<i32> {
        // The parent's copies of the stdio fds close when `stdio` is dropped here.
        in_child("create", move || self.inner.create(id, bundle, stdio))
    }

    fn start(&self, id: &str) -> Result<()> {
        in_child("start", || self.inner.start(id))
    }

    /// One child for both calls: a fork and the runtime's state load fewer.
    fn run(&self, id: &str, bundle: &Path, stdio: Stdio) -> Result<i32> {
        in_child("create", move || self.inner.run(id, bundle, stdio))
    }

    fn kill(&self, id: &str, signal: i32, all: bool) -> Result<()> {
        in_child("kill", || self.inner.kill(id, signal, all))
    }

    fn delete(&self, id: &str, force: bool) -> Result<()> {
        in_child("delete", || self.inner.delete(id, force))
    }

    fn state(&self, id: &str) -> Result<ContainerState> {
        in_child("state", || self.inner.state(id).map(WireState::from)).map(Into::into)
    }

    fn exec(&self, id: &str, process: Process, stdio: Stdio) -> Result<i32> {
        in_child("exec", move || self.inner.exec(id, process, stdio))
    }

    fn pause(&self, id: &str) -> Result<()> {
        in_child("pause", || self.inner.pause(id))
    }

    fn resume(&self, id: &str) -> Result<()> {
        in_child("resume", || self.inner.resume(id))
    }
}

/// What crosses the pipe: the value, or the error in a form that keeps its kind (and
/// so Docker's exit code) and its words.
#[derive(Serialize, Deserialize)]
enum Outcome<T> {
    Done(T),
    CommandNotFound(String),
    CommandNotExecutable(String),
    NoSuchContainer(String),
    /// A runtime error's own message (without "runtime failed to ...").
    Runtime(String),
    /// Any other error, as it reads.
    Other(String),
}

impl<T> Outcome<T> {
    fn of(result: Result<T>) -> Self {
        match result {
            Ok(value) => Outcome::Done(value),
            Err(Error::CommandNotFound { command }) => Outcome::CommandNotFound(command),
            Err(Error::CommandNotExecutable { command }) => Outcome::CommandNotExecutable(command),
            Err(Error::NoSuchContainer(id)) => Outcome::NoSuchContainer(id),
            Err(Error::Runtime { message, .. }) => Outcome::Runtime(message),
            Err(other) => Outcome::Other(other.to_string()),
        }
    }

    fn truncate(&mut self, max: usize) {
        if let Outcome::CommandNotFound(text)
        | Outcome::CommandNotExecutable(text)
        | Outcome::NoSuchContainer(text)
        | Outcome::Runtime(text)
        | Outcome::Other(text) = self
        {
            if text.len() > max {
                let mut end = max;
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                text.truncate(end);
            }
        }
    }

    fn into_result(self, action: &'static str) -> Result<T> {
        match self {
            Outcome::Done(value) => Ok(value),
            Outcome::CommandNotFound(command) => Err(Error::CommandNotFound { command }),
            Outcome::CommandNotExecutable(command) => Err(Error::CommandNotExecutable { command }),
            Outcome::NoSuchContainer(id) => Err(Error::NoSuchContainer(id)),
            Outcome::Runtime(message) | Outcome::Other(message) => {
                Err(Error::Runtime { action, message })
            }
        }
    }
}

/// Runs `work` in a forked child and returns its result. The caller must have a
/// single thread (the monitor has).
fn in_child<T: Serialize + DeserializeOwned>(
    action: &'static str,
    work: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let (mut report, child_end) = pipe_with(PipeFlags::CLOEXEC)
        .map(|(read, write)| (std::fs::File::from(read), write))
        .map_err(|e| Error::io("creating a pipe for a runtime call", e.into()))?;
    // SAFETY: fork(2) in a single-threaded process (the monitor's contract). The child
    // runs `work`, writes one report and leaves with _exit, never returning here.
    let pid = unsafe { libc::fork() };
    if pid == -1 {
        return Err(Error::io(
            "forking for a runtime call",
            std::io::Error::last_os_error(),
        ));
    }
    if pid == 0 {
        drop(report);
        let outcome = catch_unwind(AssertUnwindSafe(work))
            .unwrap_or_else(|_| Err(Error::Monitor(format!("the runtime's {action} panicked"))));
        // Small enough for the pipe's buffer, so that the write never waits for a reader
        // that first waits for this child's exit.
        let mut outcome = Outcome::of(outcome);
        outcome.truncate(MAX_MESSAGE);
        let bytes = serde_json::to_vec(&outcome).unwrap_or_default();
        let mut report = std::fs::File::from(child_end);
        let _ = std::io::Write::write_all(&mut report, &bytes);
        // SAFETY: _exit(2) ends the child without running the monitor's destructors or
        // atexit handlers, which belong to the parent.
        unsafe { libc::_exit(0) }
    }
    drop(child_end);
    // The report is read after the child is gone, without waiting for EOF: a container
    // init forked by the child holds a copy of the pipe until it execs.
    if let Some(child) = Pid::from_raw(pid) {
        while let Err(rustix::io::Errno::INTR) = waitpid(Some(child), WaitOptions::empty()) {}
    }
    rustix::io::ioctl_fionbio(&report, true)
        .map_err(|e| Error::io("reading a runtime call's report", e.into()))?;
    let mut bytes = Vec::new();
    match report.read_to_end(&mut bytes) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        Err(e) => return Err(Error::io("reading a runtime call's report", e)),
    }
    let outcome: Outcome<T> = serde_json::from_slice(&bytes).map_err(|_| Error::Runtime {
        action,
        message: "the runtime call ended without a report".into(),
    })?;
    outcome.into_result(action)
}

/// `ContainerState` on the wire.
#[derive(Serialize, Deserialize)]
struct WireState {
    status: u8,
    pid: Option<i32>,
}

impl From<ContainerState> for WireState {
    fn from(state: ContainerState) -> Self {
        let status = match state.status {
            Status::Creating => 0,
            Status::Created => 1,
            Status::Running => 2,
            Status::Paused => 3,
            Status::Stopped => 4,
        };
        Self {
            status,
            pid: state.pid,
        }
    }
}

impl From<WireState> for ContainerState {
    fn from(wire: WireState) -> Self {
        let status = match wire.status {
            0 => Status::Creating,
            1 => Status::Created,
            2 => Status::Running,
            3 => Status::Paused,
            _ => Status::Stopped,
        };
        ContainerState {
            status,
            pid: wire.pid,
        }
    }
}
