//! The container's init process as its parent sees it: a pidfd to poll, and the exit
//! status to collect.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::process::{pidfd_open, waitid, Pid, PidfdFlags, WaitId, WaitIdOptions};

use crate::error::{Error, Result};

/// How the container's init ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Exited(i32),
    Signaled(i32),
}

impl ExitStatus {
    /// The number Docker reports: the exit code, or 128 + the signal.
    pub fn code(&self) -> i32 {
        match *self {
            ExitStatus::Exited(code) => code,
            ExitStatus::Signaled(signal) => 128 + signal,
        }
    }
}

/// The init of a container. Only its parent, or the child subreaper it was re-parented
/// to, can collect its status; nobody else may reap it first (so the caller must not
/// ignore SIGCHLD, nor run a catch-all `wait`).
#[derive(Debug)]
pub struct InitProcess {
    pid: i32,
    pidfd: OwnedFd,
}

impl InitProcess {
    /// Holds on to `pid`, as returned by `Runtime::create`. The pid stays valid until it
    /// is reaped, so this cannot catch another process that reused the number.
    pub fn open(pid: i32) -> Result<Self> {
        let raw = Pid::from_raw(pid).ok_or_else(|| Error::Runtime {
            action: "wait",
            message: format!("invalid pid {pid}"),
        })?;
        let pidfd = pidfd_open(raw, PidfdFlags::empty())
            .map_err(|e| Error::io(format!("opening pidfd of {pid}"), e.into()))?;
        Ok(Self { pid, pidfd })
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Blocks until the init exits and reaps it.
    pub fn wait(&self) -> Result<ExitStatus> {
        loop {
            match self.collect(WaitIdOptions::EXITED)? {
                Some(status) => return Ok(status),
                None => continue,
            }
        }
    }

    /// Reaps the init if it has exited.
    pub fn try_wait(&self) -> Result<Option<ExitStatus>> {
        self.collect(WaitIdOptions::EXITED | WaitIdOptions::NOHANG)
    }

    fn collect(&self, options: WaitIdOptions) -> Result<Option<ExitStatus>> {
        let status = loop {
            match waitid(WaitId::PidFd(self.pidfd.as_fd()), options) {
                Err(rustix::io::Errno::INTR) => continue,
                other => break other,
            }
        };
        let status =
            status.map_err(|e| Error::io(format!("waiting for pid {}", self.pid), e.into()))?;
        Ok(status.and_then(|s| {
            if let Some(signal) = s.terminating_signal() {
                Some(ExitStatus::Signaled(signal))
            } else {
                s.exit_status().map(ExitStatus::Exited)
            }
        }))
    }
}

/// Readable once the init has exited: poll it in an event loop, then `try_wait`.
impl AsFd for InitProcess {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.pidfd.as_fd()
    }
}

/// Makes orphaned descendants of this process (such as an init whose `runc create`
/// exited) its children rather than pid 1's, so it can wait for them.
pub fn become_subreaper() -> Result<()> {
    rustix::process::set_child_subreaper(Some(rustix::process::getpid()))
        .map_err(|e| Error::io("becoming a child subreaper", e.into()))
}
