//! The truth about a container's state. The database says what the monitor last wrote; a
//! monitor killed with SIGKILL writes nothing more, so a "running" container whose monitor is
//! gone is reconciled here: its leftover processes are killed, its rootfs unmounted, and it is
//! recorded as exited.

use std::fs;

use berth_store::{now_rfc3339, Container, ContainerStatus};

use crate::{Engine, Result};

/// Exit code recorded for a container whose monitor died: its processes were killed.
const MONITOR_DIED_EXIT: i32 = 137;

/// Whether the monitor recorded for a container is still that process. A monitor that has
/// exited but is not reaped yet (a zombie, state Z) keeps its /proc entry and start time, but
/// will never record anything again: it is dead.
pub fn monitor_alive(pid: i32, start: u64) -> bool {
    pid > 0
        && process_stat(pid)
            .is_some_and(|(state, started)| started == start && !matches!(state, 'Z' | 'X'))
}

/// Field 22 of /proc/<pid>/stat: the start time in clock ticks since boot.
pub fn process_start_time(pid: i32) -> Option<u64> {
    process_stat(pid).map(|(_, started)| started)
}

/// Fields 3 (state) and 22 (start time) of /proc/<pid>/stat.
fn process_stat(pid: i32) -> Option<(char, u64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    let mut rest = stat[stat.rfind(')')? + 2..].split(' ');
    let state = rest.next()?.chars().next()?;
    Some((state, rest.nth(18)?.parse().ok()?))
}

impl Engine {
    /// Loads a container by name, ID or prefix, with its state reconciled.
    pub fn container(&self, name: &str) -> Result<Container> {
        let c = self.store().resolve_container(name)?;
        self.reconcile(c)
    }

    /// Every container, reconciled.
    pub fn containers(&self) -> Result<Vec<Container>> {
        self.store()
            .containers()?
            .into_iter()
            .map(|c| self.reconcile(c))
            .collect()
    }

    pub(crate) fn reconcile(&self, mut c: Container) -> Result<Container> {
        if !c.state.status.is_live() || monitor_alive(c.state.monitor_pid, c.state.monitor_start) {
            return Ok(c);
        }
        // A monitor that is starting has not recorded itself yet: only a recorded one can die.
        if c.state.monitor_pid == 0 {
            return Ok(c);
        }
        self.kill_leftovers(&c);
        let stored = super::config::Stored::parse(&c.config);
        self.teardown_network(&c.id, &stored.host_config.network_mode);
        if let Ok(rootfs) = self.rootfs(&c) {
            let _ = rootfs.unmount();
        }
        let finished = now_rfc3339();
        let updated = self.store().update_container_state(&c.id, |s| {
            if s.status.is_live() && !monitor_alive(s.monitor_pid, s.monitor_start) {
                s.status = ContainerStatus::Exited;
                s.exit_code = MONITOR_DIED_EXIT;
                s.pid = 0;
                s.monitor_pid = 0;
                s.finished_at = finished.clone();
                s.error = "the container's monitor process died".into();
            }
            Ok(s.clone())
        })?;
        if let Some(s) = updated {
            c.state = s;
        }
        Ok(c)
    }

    /// Kills whatever still runs in the container's cgroup and removes the runtime's state.
    pub(crate) fn kill_leftovers(&self, c: &Container) {
        let runtime = self.runtime_for(c);
        let _ = runtime.kill(&c.id, libc::SIGKILL, true);
        let _ = runtime.delete(&c.id, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_process_is_alive() {
        let me = std::process::id() as i32;
        let start = process_start_time(me).expect("own start time");
        assert!(monitor_alive(me, start));
        assert!(
            !monitor_alive(me, start + 1),
            "another process with this PID"
        );
    }

    #[test]
    fn an_exited_but_unreaped_monitor_is_dead() {
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("spawn true");
        let pid = child.id() as i32;
        // Not waited for: once `true` exits it stays a zombie until `wait` below.
        let mut seen = None;
        for _ in 0..1000 {
            seen = process_stat(pid);
            if seen.is_some_and(|(state, _)| state == 'Z') {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let (state, start) = seen.expect("the child's /proc entry");
        assert_eq!(state, 'Z', "the child did not become a zombie");
        assert!(!monitor_alive(pid, start));
        let _ = child.wait();
    }
}
