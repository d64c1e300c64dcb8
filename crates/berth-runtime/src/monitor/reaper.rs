//! Reaping: the monitor is a subreaper, so processes orphaned inside the container
//! (with the host's pid namespace, or a runtime's helpers) become its children and
//! must be waited for, without ever taking the exit status of the container's init
//! before its pidfd does.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::pipe::{pipe_with, PipeFlags};
use rustix::process::{waitpid, Pid, WaitOptions};
use signal_hook::SigId;

use crate::error::{Error, Result};

/// SIGCHLD as a readable pipe.
pub(crate) struct Reaper {
    wakeups: OwnedFd,
    registration: SigId,
}

impl Reaper {
    pub(crate) fn install() -> Result<Self> {
        let (wakeups, notify) = pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)
            .map_err(|e| Error::io("creating the SIGCHLD pipe", e.into()))?;
        let registration = signal_hook::low_level::pipe::register(libc::SIGCHLD, notify)
            .map_err(|e| Error::io("watching SIGCHLD", e))?;
        Ok(Self {
            wakeups,
            registration,
        })
    }

    /// Empties the pipe; call before reaping so that no SIGCHLD is missed.
    pub(crate) fn clear(&self) {
        let mut sink = [0u8; 64];
        while matches!(rustix::io::read(&self.wakeups, &mut sink), Ok(n) if n > 0) {}
    }

    /// Reaps every exited child except `keep` (the init whose status is still to be
    /// taken through its pidfd). Each zombie is looked at first without being reaped
    /// (WNOWAIT); a catch-all wait could take the init's status, and then it is lost.
    pub(crate) fn reap_orphans(&self, keep: Option<i32>) {
        loop {
            // SAFETY: siginfo_t is plain data; waitid fills it or leaves it zeroed.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            // SAFETY: waitid(2) with a valid out-pointer; WNOWAIT leaves the child as is.
            let rc = unsafe {
                libc::waitid(
                    libc::P_ALL,
                    0,
                    &mut info,
                    libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
                )
            };
            // SAFETY: si_pid is valid for SIGCHLD information, which waitid reports.
            let pid = unsafe { info.si_pid() };
            // ECHILD (no children) or no zombie among them.
            if rc != 0 || pid == 0 || Some(pid) == keep {
                return;
            }
            let Some(zombie) = Pid::from_raw(pid) else {
                return;
            };
            if waitpid(Some(zombie), WaitOptions::NOHANG).is_err() {
                return;
            }
        }
    }
}

impl AsFd for Reaper {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.wakeups.as_fd()
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        signal_hook::low_level::unregister(self.registration);
    }
}
