//! What the engine does at each step of a container's life, called by the monitor.

use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};

/// How one run of the container ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitInfo {
    /// Docker's number: the exit code, or 128 + the signal that killed the init.
    pub code: i32,
    /// The signal that killed the init, if one did.
    pub signal: Option<i32>,
    /// The kernel's OOM killer killed a process of the container's cgroup.
    pub oom_killed: bool,
    pub finished_at: SystemTime,
    /// A stop or kill request ended it (restart policies other than `always` give up).
    pub manually_stopped: bool,
}

/// What happens after an exit, as the engine's restart policy decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Start the container again after `delay` (same log, same socket).
    Restart { delay: Duration },
    /// The container is done; the monitor ends.
    Finish,
}

/// How long a run lasts before [`MonitorHooks::settled`].
pub const SETTLED_AFTER: std::time::Duration = std::time::Duration::from_millis(100);

/// The engine's side of a monitor. Every method is called from the monitor's single
/// thread, in this order for each run:
///
/// `prepare` → `started` (or `start_failed`) → `exited` → [`Restart`: `prepare` → ...]
/// → `finished`.
///
/// `restart_cancelled` comes instead of a new `prepare` when a stop or kill request
/// arrives during a restart delay; `finished` follows. `finished` is always the last
/// call, also after `start_failed`. The one run without any call: with
/// `wait_for_attach`, the CLI closed the readiness pipe before attaching; the monitor
/// then ends at once and the container stays created.
pub trait MonitorHooks {
    /// Before each restart (the first start's are the starting CLI's work): mount the
    /// rootfs, write the bundle. An error fails the start (reported as `start_failed`,
    /// Docker's exit code 125 unless the error says else).
    fn prepare(&mut self) -> Result<()>;

    /// The container runs; `pid` is its init's host pid. An error (the state could not
    /// be recorded) kills the container, which then counts as not started.
    fn started(&mut self, pid: i32) -> Result<()>;

    /// The container has been running for [`SETTLED_AFTER`] (once per run): the time for
    /// housekeeping that should not delay a short container's exit.
    fn settled(&mut self) {}

    /// The container could not be started; `error.docker_exit_code()` is the code
    /// Docker reports (127 command not found, 126 not executable, 125 otherwise).
    fn start_failed(&mut self, error: &Error);

    /// The container exited and its runtime state is deleted (its cgroup is gone) —
    /// unless the config says `auto_remove`: then that comes after `finished`, once
    /// clients have the exit code. The answer decides between a restart and the end.
    fn exited(&mut self, exit: &ExitInfo) -> Decision;

    /// A stop or kill arrived while waiting to restart: there will be no restart.
    fn restart_cancelled(&mut self);

    /// The last call: unmount, remove an `--rm` container. Attached clients and
    /// waiters get the exit code after this returns, so a CLI that waited for the
    /// exit finds the engine's work done.
    fn finished(&mut self);
}
