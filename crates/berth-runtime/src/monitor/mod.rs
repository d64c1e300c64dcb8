//! The per-container monitor (like Podman's conmon): one small process per container
//! that outlives the CLI which started it. It owns the container's stdio or pty,
//! writes the json-file log, serves attach and control requests on a unix socket
//! (protocol in [`crate::attach`]), waits for the exit, reports it through
//! [`MonitorHooks`], and restarts the container when the hooks ask for it.
//!
//! It runs on one thread around one `poll`, so the embedded runtime may fork from it
//! (the only other thread, for a few milliseconds before a start, waits in one system
//! call and holds no lock of the process: see `grace_period`), and it stays small: no
//! async runtime, buffers of a few KiB, and every runtime call made in a short-lived
//! child, so that the runtime's code never joins the monitor's resident set (about
//! 2.5 MiB RSS for a running container, in a release build).
//!
//! The engine's hidden entry point (`berth __monitor <id>`) does:
//!
//! ```no_run
//! # use berth_runtime::monitor::{self, MonitorConfig, MonitorHooks};
//! # fn entry(config: MonitorConfig, hooks: &mut dyn MonitorHooks, ready: std::os::fd::OwnedFd)
//! #     -> berth_runtime::Result<()> {
//! monitor::daemonize()?; // the CLI's child exits here; the monitor goes on detached
//! monitor::run(config, hooks, ready)
//! # }
//! ```
//!
//! and the CLI reads [`ReadyEvent`]s from the other end of `ready` ([`ReadyReader`]).
//!
//! What the launching CLI must arrange:
//! - `ready` is the write end of a pipe, inherited by the monitor process without
//!   close-on-exec (clear FD_CLOEXEC between fork and exec, for that fd only); the CLI
//!   closes its own copy of the write end, or it never sees EOF. The monitor makes the
//!   fd close-on-exec itself, so runtimes and containers do not hold it.
//! - The CLI reaps the monitor's first process (it exits 0 at once); the detached
//!   monitor is then re-parented to the CLI's nearest subreaper or pid 1.
//! - `listening` carries the monitor's pid; record it to notice a dead monitor.
//! - With `wait_for_attach`, attach after `listening` and before waiting for `started`;
//!   closing the pipe without attaching abandons the start.

mod clients;
mod container;
mod daemon;
mod grace_period;
mod hooks;
mod isolated;
mod oom;
mod ready;
mod reaper;
mod supervisor;

use std::os::fd::OwnedFd;
use std::path::PathBuf;

pub use daemon::daemonize;
pub use hooks::{Decision, ExitInfo, MonitorHooks, SETTLED_AFTER};
pub use ready::{ReadyEvent, ReadyReader};

use crate::error::Result;
use crate::runtime::{Embedded, OciBinary, Runtime};

/// Everything a monitor needs to know about its container. Paths are absolute.
#[derive(Debug, Clone)]
pub struct MonitorConfig {
    pub id: String,
    /// The OCI bundle (its `config.json` must agree with `terminal`).
    pub bundle: PathBuf,
    pub runtime: RuntimeChoice,
    /// `-t`: a pty instead of pipes.
    pub terminal: bool,
    /// `-i`: the container's stdin is a pipe attached clients write to (else /dev/null).
    pub open_stdin: bool,
    /// Close the container's stdin when an attached client ends its input (Docker's
    /// `StdinOnce`, set for an attached `run -i`).
    pub stdin_once: bool,
    /// The json-file log; appended to across restarts.
    pub log_path: PathBuf,
    /// The attach/control socket (under 108 bytes). With a pty, the runtime's console
    /// socket goes next to it, with the extension `.console`.
    pub socket_path: PathBuf,
    /// Create the container only once the first client attached, so that no output is
    /// lost (`run` without `-d`, `start -a`).
    pub wait_for_attach: bool,
    /// The pty's first size, (rows, cols).
    pub initial_size: Option<(u16, u16)>,
    /// `--rm`: the container goes away with its first exit (the hooks never restart it
    /// and remove its record in `finished`), so nothing can start it again under its
    /// ID. Its runtime state (the runtime's directory, its cgroups) is then deleted
    /// after the clients have the exit code rather than before `exited`. A monitor
    /// killed in between leaves that state to the engine's sweep.
    pub auto_remove: bool,
    /// The container asks for a network namespace of its own and nothing else (`--network
    /// none`): with the embedded runtime, the monitor makes it (with `lo` up) while it waits
    /// for the first start, off the start's critical path, and the container joins it. A
    /// restart gets a new namespace from the runtime, as with any other runtime.
    pub first_netns: bool,
}

/// Which runtime runs the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuntimeChoice {
    /// youki's libcontainer in the monitor; `state_dir` as for [`Embedded::new`].
    Embedded { state_dir: PathBuf },
    /// runc or a compatible binary, as for [`OciBinary::new`].
    Binary { path: PathBuf, state_dir: PathBuf },
}

impl RuntimeChoice {
    pub fn runtime(&self) -> Box<dyn Runtime> {
        match self {
            RuntimeChoice::Embedded { state_dir } => Box::new(Embedded::new(state_dir)),
            RuntimeChoice::Binary { path, state_dir } => Box::new(OciBinary::new(path, state_dir)),
        }
    }

    /// The runtime, with a container that asks for a new network namespace joining `netns`
    /// instead; a runtime binary makes its own.
    fn runtime_joining_netns(&self, netns: PathBuf) -> Box<dyn Runtime> {
        match self {
            RuntimeChoice::Embedded { state_dir } => {
                Box::new(Embedded::new(state_dir).joining_netns(netns))
            }
            RuntimeChoice::Binary { .. } => self.runtime(),
        }
    }
}

/// The whole life of one container, from its first start to its last exit: returns
/// after [`MonitorHooks::finished`] and after attached clients got the exit code.
///
/// `ready` is the write end of the readiness pipe (see [`ReadyEvent`]); it is closed
/// once the first start succeeded or failed. A container that could not start is
/// reported through `ready`, `start_failed` and attached clients, and `run` returns
/// `Ok`; `Err` means the monitor itself failed (its socket or log could not be set up,
/// also reported through `ready` and `start_failed`).
///
/// Call it single-threaded (but for the thread [`daemonize`] starts), in a process that
/// is the container's parent or a child subreaper ([`daemonize`] arranges both), and
/// that nothing else waits in for children.
pub fn run(config: MonitorConfig, hooks: &mut dyn MonitorHooks, ready: OwnedFd) -> Result<()> {
    supervisor::Supervisor::run(config, hooks, ready)
}
