//! The engine's side of a container's monitor process (`berth __monitor ID`): the database
//! updates, mounts, restart policy and `--rm` cleanup that berth-runtime's monitor loop
//! calls back into.

use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use berth_runtime::monitor::{
    self, Decision, ExitInfo, MonitorConfig, MonitorHooks, RuntimeChoice,
};
use berth_store::{now_rfc3339, ContainerStatus};

use super::config::Stored;
use super::remove::Leftovers;
use super::state::process_start_time;
use crate::{Engine, EngineError, Result};

/// Docker's restart back-off: 100 ms, doubled each time, at most a minute; reset when the
/// container ran for 10 s.
const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(60);
const BACKOFF_RESET_AFTER: Duration = Duration::from_secs(10);

/// Detaches from the caller. Must run first, while the process has one thread.
pub fn monitor_daemonize() -> Result<()> {
    monitor::daemonize().map_err(|e| EngineError::Other(e.to_string()))
}

/// Runs the monitor of container `id` until the container is done for good.
pub fn monitor_main(engine: Engine, id: &str, ready: OwnedFd, wait_for_attach: bool) -> Result<()> {
    // What `ps` and tools find monitors by: one forked by `run` keeps the CLI's command line.
    let _ = rustix::thread::set_name(c"berth-monitor");
    let c = engine
        .store()
        .container(id)?
        .ok_or_else(|| EngineError::NotFound(format!("No such container: {id}")))?;
    let stored = Stored::parse(&c.config);
    let runtime_name = stored.host_config.runtime.clone();
    let runtime = match runtime_name.as_str() {
        "" | "berth" | "embedded" => RuntimeChoice::Embedded {
            state_dir: engine.runtime_state_dir(""),
        },
        other => RuntimeChoice::Binary {
            path: super::runtime::binary_path(other),
            state_dir: engine.runtime_state_dir(other),
        },
    };
    let config = MonitorConfig {
        id: c.id.clone(),
        bundle: engine.store().container_run_dir(&c.id).join("bundle"),
        runtime,
        terminal: stored.config.tty,
        open_stdin: stored.config.open_stdin,
        stdin_once: stored.config.stdin_once,
        log_path: engine.log_path(&c.id),
        socket_path: engine.monitor_socket(&c.id),
        wait_for_attach,
        initial_size: None,
        auto_remove: stored.host_config.auto_remove,
        first_netns: matches!(
            super::network::network_mode(&stored.host_config.network_mode),
            berth_net::NetworkMode::None
        ),
    };
    let mut hooks = Hooks {
        engine: &engine,
        id: c.id.clone(),
        stored,
        started: None,
        backoff: BACKOFF_START,
        restarts: c.state.restart_count,
        leftovers: None,
    };
    let result = monitor::run(config, &mut hooks, ready);
    if let Some(leftovers) = hooks.leftovers.take() {
        leftovers.delete();
    }
    engine.store().db().trim_wal();
    result.map_err(|e| EngineError::Other(e.to_string()))
}

struct Hooks<'a> {
    engine: &'a Engine,
    id: String,
    stored: Stored,
    started: Option<Instant>,
    backoff: Duration,
    restarts: i64,
    /// An `--rm` container's directories, deleted once its clients have their answers.
    leftovers: Option<Leftovers>,
}

impl Hooks<'_> {
    fn restart_decision(&mut self, exit: &ExitInfo) -> Decision {
        let policy = &self.stored.host_config.restart_policy;
        let wanted = match policy.name.as_str() {
            "always" | "unless-stopped" => !exit.manually_stopped,
            "on-failure" => {
                exit.code != 0
                    && !exit.manually_stopped
                    && (policy.maximum_retry_count == 0
                        || self.restarts < policy.maximum_retry_count)
            }
            _ => false,
        };
        if !wanted || self.stored.host_config.auto_remove {
            return Decision::Finish;
        }
        if self
            .started
            .is_some_and(|t| t.elapsed() >= BACKOFF_RESET_AFTER)
        {
            self.backoff = BACKOFF_START;
        }
        let delay = self.backoff;
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
        self.restarts += 1;
        Decision::Restart { delay }
    }
}

impl MonitorHooks for Hooks<'_> {
    fn prepare(&mut self) -> berth_runtime::Result<()> {
        if let Ok(Some(c)) = self.engine.store().container(&self.id) {
            if let Ok(rootfs) = self.engine.rootfs(&c) {
                let _ = rootfs.mount();
            }
        }
        Ok(())
    }

    fn start_failed(&mut self, error: &berth_runtime::Error) {
        self.engine
            .teardown_network(&self.id, &self.stored.host_config.network_mode);
        let message = error.to_string();
        let code = error.docker_exit_code();
        let now = now_rfc3339();
        let _ = self.engine.store().update_container_state(&self.id, |s| {
            // Docker records a container that could not start as created, with the error.
            s.status = if s.started_at.is_empty() {
                ContainerStatus::Created
            } else {
                ContainerStatus::Exited
            };
            s.exit_code = code;
            s.error = message.clone();
            s.pid = 0;
            s.monitor_pid = 0;
            s.monitor_start = 0;
            if !s.started_at.is_empty() {
                s.finished_at = now.clone();
            }
            Ok(())
        });
    }

    fn restart_cancelled(&mut self) {
        let _ = self.engine.store().update_container_state(&self.id, |s| {
            s.status = ContainerStatus::Exited;
            s.manually_stopped = true;
            s.monitor_pid = 0;
            s.monitor_start = 0;
            Ok(())
        });
    }

    fn started(&mut self, pid: i32) -> berth_runtime::Result<()> {
        self.started = Some(Instant::now());
        let me = std::process::id() as i32;
        let me_start = process_start_time(me).unwrap_or(0);
        let restarts = self.restarts;
        let now = now_rfc3339();
        let _ = self.engine.store().update_container_state(&self.id, |s| {
            s.status = ContainerStatus::Running;
            s.pid = pid;
            s.monitor_pid = me;
            s.monitor_start = me_start;
            s.exit_code = 0;
            s.error.clear();
            s.oom_killed = false;
            s.started_at = now.clone();
            s.restart_count = restarts;
            s.manually_stopped = false;
            Ok(())
        });
        Ok(())
    }

    fn settled(&mut self) {
        shed_code_pages();
    }

    fn exited(&mut self, exit: &ExitInfo) -> Decision {
        let decision = self.restart_decision(exit);
        let finished = chrono::DateTime::<chrono::Utc>::from(exit.finished_at)
            .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        let restarting = matches!(decision, Decision::Restart { .. });
        let restarts = self.restarts;
        let _ = self.engine.store().update_container_state(&self.id, |s| {
            s.status = if restarting {
                ContainerStatus::Restarting
            } else {
                ContainerStatus::Exited
            };
            s.pid = 0;
            s.exit_code = exit.code;
            s.oom_killed = exit.oom_killed;
            s.finished_at = finished.clone();
            s.manually_stopped = exit.manually_stopped;
            s.restart_count = restarts;
            if !restarting {
                s.monitor_pid = 0;
                s.monitor_start = 0;
            }
            Ok(())
        });
        decision
    }

    fn finished(&mut self) {
        let Ok(Some(c)) = self.engine.store().container(&self.id) else {
            return;
        };
        if self.stored.host_config.auto_remove {
            // Removed before the exit code goes out, as Docker's `run --rm` returns after the
            // removal; only deleting the moved-aside directories waits until the client is
            // answered (see `monitor_main`), and so does the runtime's delete, which the
            // monitor makes after its answer (`MonitorConfig::auto_remove`).
            if let Ok(leftovers) = self.engine.remove_exited(&c, true) {
                self.leftovers = Some(leftovers);
            }
            return;
        }
        self.engine
            .teardown_network(&self.id, &self.stored.host_config.network_mode);
        let _lock = self.engine.lock_mount(&c.id);
        // A new `start` may have taken the container over meanwhile: its mount is not ours.
        let live_again = self
            .engine
            .store()
            .container(&self.id)
            .ok()
            .flatten()
            .is_some_and(|c| c.state.status.is_live() || c.state.monitor_pid != 0);
        if !live_again {
            if let Ok(rootfs) = self.engine.rootfs(&c) {
                let _ = rootfs.unmount();
            }
        }
    }
}

/// Drops the monitor's start-up pages of files from its resident set once the container has
/// run for a moment ([`berth_runtime::monitor::SETTLED_AFTER`]; a short container's exit does
/// not wait for it). Start-up ran much of berth's code (argument parsing, the store, the spec) and the dynamic
/// loader read all of the binary's relocations (about 800 KiB); the monitor's loop needs
/// little of it, and what it needs comes back from the page cache on the next touch. Only
/// read-only file mappings without a private (written) page are dropped: discarding a
/// written page would lose data (the relocated RELRO segment is one), a clean page loses
/// nothing. This is what keeps a monitor near conmon's size.
fn shed_code_pages() {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return;
    };
    for ((start, end), private_kib) in read_only_file_mappings(&smaps) {
        if private_kib != 0 {
            continue;
        }
        // SAFETY: the range is a whole mapping of this process that is read-only, backed by
        // a file and holds no private page, so no data is lost; MADV_DONTNEED only unmaps its
        // resident pages, which fault back in from the file when next used.
        unsafe {
            let _ = rustix::mm::madvise(
                start as *mut std::ffi::c_void,
                end - start,
                rustix::mm::Advice::LinuxDontNeed,
            );
        }
    }
}

/// The read-only file mappings of `/proc/self/smaps`: their address range and how many KiB
/// of private (anonymous) pages they hold.
fn read_only_file_mappings(smaps: &str) -> Vec<((usize, usize), u64)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, usize)> = None;
    for line in smaps.lines() {
        let mut f = line.split_whitespace();
        let Some(first) = f.next() else {
            continue;
        };
        if let Some((start, end)) = first.split_once('-') {
            // A mapping's header: "start-end perms offset dev inode path".
            let perms = f.next().unwrap_or("");
            let path = f.nth(3).unwrap_or("");
            let range = match (
                usize::from_str_radix(start, 16),
                usize::from_str_radix(end, 16),
            ) {
                (Ok(s), Ok(e)) => Some((s, e)),
                _ => None,
            };
            current =
                range.filter(|_| (perms == "r-xp" || perms == "r--p") && path.starts_with('/'));
        } else if first == "Anonymous:" {
            if let Some(range) = current.take() {
                let kib = f.next().and_then(|v| v.parse().ok()).unwrap_or(u64::MAX);
                out.push((range, kib));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_file_mappings_are_found_with_their_private_pages() {
        let smaps = "\
5557000-5558000 r--p 00000000 fe:00 7757841 /usr/bin/berth
Rss:                1120 kB
Anonymous:             0 kB
5558000-5559000 r-xp 003b6000 fe:00 7757841 /usr/bin/berth
Anonymous:             0 kB
5559000-555a000 r--p 011a1000 fe:00 7757841 /usr/bin/berth
Anonymous:           604 kB
555a000-555b000 rw-p 01237000 fe:00 7757841 /usr/bin/berth
Anonymous:            32 kB
555c000-555d000 rw-p 00000000 00:00 0 [heap]
Anonymous:           636 kB
7f00000-7f01000 r--p 00000000 00:00 0
Anonymous:             0 kB
";
        assert_eq!(
            read_only_file_mappings(smaps),
            [
                ((0x5557000, 0x5558000), 0),
                ((0x5558000, 0x5559000), 0),
                ((0x5559000, 0x555a000), 604)
            ]
        );
    }
}
