//! A container's monitor forked at the very start of `run`, before the container exists.
//!
//! Re-executing berth as `berth __monitor ID` cost a start 3 ms before the monitor listened:
//! loading a 22 MB binary (about 340 more page faults than a small program: relocations,
//! code) and opening the store, after the CLI had already opened the store and created the
//! container. The CLI waited for it. A child forked while the CLI still has one thread and
//! nothing open (right after parsing its arguments) needs none of that. While the CLI
//! creates the container it gets ready: it detaches ([`super::monitor_daemonize`], which
//! also starts the cgroup lock's grace period for the container's start), and opens the
//! store once the CLI says that it has opened it (so that the child never waits on SQLite's
//! recovery of the WAL, which the first opener makes and a second one sleeps through).
//! Then it waits until the CLI names the container it is to watch, and becomes its monitor
//! exactly as an exec'd one does ([`super::monitor_main`]). A CLI that fails before that,
//! or exits, closes the pipe, and the child leaves. It shares only what the CLI had at the
//! fork (its parsed arguments); everything else it opens itself.
//!
//! The pipe carries lines: `store` (the CLI's store is open), then the container's ID and
//! whether to wait for a client to attach (`1` or `0`).

use std::io::{BufRead, BufReader, Write};
use std::os::fd::OwnedFd;

use rustix::pipe::{pipe_with, PipeFlags};
use rustix::process::{waitpid, Pid, WaitOptions};

use crate::{Engine, EngineError, EngineOptions, Result};

/// A forked monitor waiting for its container (see the module's comment), and what else a
/// run prepares ahead.
pub struct Prefork {
    /// A network namespace being made for a container on a bridge network, while the CLI
    /// opens the store and creates the container ([`Prefork::make_netns_ahead`]).
    netns: Option<NetnsAhead>,
    pid: Pid,
    /// Where the container's ID goes; closing it without one sends the child away.
    go: Option<OwnedFd>,
    /// The readiness pipe's read end (the child holds the write end).
    ready: Option<OwnedFd>,
}

/// Forks the monitor-to-be of a container about to be created with `options`' store.
///
/// Call it while the process has a single thread and before it opens the store: the child
/// goes on from this point with a copy of everything the process has.
pub fn prefork_monitor(options: &EngineOptions) -> Result<Prefork> {
    let pipe = || {
        pipe_with(PipeFlags::CLOEXEC)
            .map_err(|e| EngineError::io("creating a pipe for the monitor")(e.into()))
    };
    let (ready_read, ready_write) = pipe()?;
    let (go_read, go_write) = pipe()?;
    // SAFETY: fork(2) in a process with a single thread, as documented; the child never
    // returns from here (it leaves through `exit`), so nothing of the caller runs twice.
    match unsafe { libc::fork() } {
        -1 => Err(EngineError::io("forking the container's monitor")(
            std::io::Error::last_os_error(),
        )),
        0 => {
            drop(ready_read);
            drop(go_write);
            std::process::exit(child(options, go_read, ready_write))
        }
        pid => Ok(Prefork {
            // A positive pid from fork.
            pid: Pid::from_raw(pid).ok_or_else(|| EngineError::Other("fork gave pid 0".into()))?,
            go: Some(go_write),
            ready: Some(ready_read),
            netns: None,
        }),
    }
}

/// A network namespace on its way ([`berth_net::new_netns`] on a thread of its own).
pub(crate) type NetnsAhead = std::thread::JoinHandle<berth_net::Result<OwnedFd>>;

impl Prefork {
    /// Starts making the container's network namespace on a thread (a bridge network's
    /// container gets one pinned under the run root; unshare(2) alone is 0.5 ms). Call it after
    /// the fork. Whoever starts the container takes it ([`Prefork::take_netns`]); a namespace
    /// nobody takes goes with its fd.
    pub fn make_netns_ahead(&mut self) {
        self.netns = std::thread::Builder::new()
            .name("netns".into())
            .spawn(berth_net::new_netns)
            .ok();
    }

    pub(crate) fn take_netns(&mut self) -> Option<NetnsAhead> {
        self.netns.take()
    }

    /// Tells the child that this process has opened the store: it may open it too.
    pub fn store_opened(&self) {
        if let Some(go) = &self.go {
            // A child that is gone is noticed when the container is handed over.
            let _ = rustix::io::write(go, b"store\n");
        }
    }

    /// Sends the child to watch container `id`; returns its first process's pid and the
    /// readiness pipe's read end, as an exec'd monitor's launch gives them.
    pub(crate) fn launch(mut self, id: &str, wait_for_attach: bool) -> Result<(Pid, OwnedFd)> {
        let go = self.go.take();
        let ready = self.ready.take();
        let (Some(go), Some(ready)) = (go, ready) else {
            return Err(EngineError::Other("the forked monitor is gone".into()));
        };
        let message = format!("{id}\n{}\n", u8::from(wait_for_attach));
        std::fs::File::from(go)
            .write_all(message.as_bytes())
            .map_err(EngineError::io("starting the container's monitor"))?;
        Ok((self.pid, ready))
    }
}

impl Drop for Prefork {
    /// Unused: the closed pipe sends the child away; it is reaped.
    fn drop(&mut self) {
        if self.go.take().is_some() {
            while let Err(rustix::io::Errno::INTR) = waitpid(Some(self.pid), WaitOptions::empty()) {
            }
        }
    }
}

/// The child's life: get ready, wait for a container, then be its monitor. Returns the exit
/// status.
fn child(options: &EngineOptions, go: OwnedFd, ready: OwnedFd) -> i32 {
    // Out of the CLI's process group and off its stdio at once: the terminal's signals
    // (Ctrl-C while the CLI creates the container) are the CLI's to handle, and a caller may
    // read the CLI's output to the end (`$(berth run -d ...)`).
    if super::monitor_daemonize().is_err() {
        return 125;
    }
    let mut go = BufReader::new(std::fs::File::from(go));
    let mut next_line = || {
        let mut line = String::new();
        match go.read_line(&mut line) {
            Ok(n) if n > 0 => Some(line.trim_end_matches('\n').to_string()),
            // The CLI went away without a container.
            _ => None,
        }
    };
    let mut engine = None;
    let id = loop {
        match next_line() {
            Some(line) if line == "store" => engine = Engine::open(options.clone()).ok(),
            Some(id) => break id,
            None => return 0,
        }
    };
    let Some(wait) = next_line() else {
        return 0;
    };
    let engine = match engine {
        Some(engine) => engine,
        None => match Engine::open(options.clone()) {
            Ok(engine) => engine,
            Err(_) => return 125,
        },
    };
    match super::monitor_main(engine, &id, ready, wait == "1") {
        Ok(()) => 0,
        Err(_) => 125,
    }
}
