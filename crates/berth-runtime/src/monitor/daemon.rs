//! Detaching the monitor from the CLI that started it.

use std::fs::OpenOptions;

use crate::error::{Error, Result};
use crate::process::become_subreaper;

/// Turns the calling process into a detached monitor: forks; the parent exits 0 at
/// once (so the CLI that spawned it can reap it and go on); the child starts a new
/// session, becomes a child subreaper (so a runc-started init, and orphans of the
/// container, become its children), puts its stdio on /dev/null, moves to `/`, and
/// starts with default signal dispositions except SIGPIPE, which it ignores. Last, it
/// starts the cgroup lock's grace period for the container's first start, on a
/// short-lived thread (see the `grace_period` module).
///
/// Call it while the process has a single thread, before [`super::run`]. Paths given
/// to `run` must be absolute.
pub fn daemonize() -> Result<()> {
    // SAFETY: fork(2) in a process that, as documented, has a single thread; the child
    // goes on with this thread's state and the parent leaves at once with _exit,
    // running no destructors or atexit handlers twice.
    match unsafe { libc::fork() } {
        -1 => {
            return Err(Error::io(
                "forking the monitor",
                std::io::Error::last_os_error(),
            ))
        }
        0 => {}
        // SAFETY: _exit(2) ends the parent without touching state shared with the child.
        _ => unsafe { libc::_exit(0) },
    }
    rustix::process::setsid().map_err(|e| Error::io("starting a new session", e.into()))?;
    become_subreaper()?;
    let null = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(|e| Error::io("opening /dev/null", e))?;
    let redirect = |result: rustix::io::Result<()>| {
        result.map_err(|e| Error::io("moving stdio to /dev/null", e.into()))
    };
    redirect(rustix::stdio::dup2_stdin(&null))?;
    redirect(rustix::stdio::dup2_stdout(&null))?;
    redirect(rustix::stdio::dup2_stderr(&null))?;
    std::env::set_current_dir("/").map_err(|e| Error::io("changing to /", e))?;
    reset_signals();
    super::grace_period::start();
    Ok(())
}

/// Ignored signals are inherited by every process the monitor starts (runc, and through
/// it the container), so none stays ignored but SIGPIPE: the monitor writes to clients
/// that may have gone away, and must see EPIPE rather than die.
fn reset_signals() {
    // SAFETY: signal(2) with SIG_DFL/SIG_IGN installs no handler code; sigprocmask with
    // a set initialised by sigemptyset. The process has a single thread.
    unsafe {
        for signal in 1..libc::SIGRTMIN() {
            if signal != libc::SIGKILL && signal != libc::SIGSTOP {
                libc::signal(signal, libc::SIG_DFL);
            }
        }
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        let mut empty = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
        libc::sigemptyset(empty.as_mut_ptr());
        libc::sigprocmask(libc::SIG_SETMASK, empty.as_ptr(), std::ptr::null_mut());
    }
}
