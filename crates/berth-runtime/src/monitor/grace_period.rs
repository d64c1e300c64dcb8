//! Starting the RCU grace period a cgroup join waits for, ahead of the runtime.
//!
//! Moving a process into a cgroup (a write to `cgroup.procs`) takes the kernel's
//! global cgroup threadgroup lock for writing. That lock is a per-CPU rwsem: its first
//! writer after a quiet spell switches readers to the slow path and waits a whole RCU
//! grace period for them (rcu_sync_enter: 5-12 ms on this project's 2-core machines);
//! writers that come while the switch is in force, or during about one more grace
//! period after the last writer left, do not wait. Every container start pays it once,
//! in the runtime's process that joins the new cgroups, which has nothing else to do
//! meanwhile.
//!
//! So the monitor "moves" itself into the cgroup it is already in as soon as it is
//! detached, several milliseconds before the runtime's create: the grace period runs
//! alongside the monitor's start-up, and the runtime finds the switch made (or under
//! way) and waits for what is left of it, usually nothing. Moving a process into its own
//! cgroup changes nothing (the kernel finds source and destination equal); writing "0"
//! to `cgroup.procs` names the writer's own thread group, which takes the lock (only a
//! single-thread move of oneself, via `tasks`/`cgroup.threads`, skips it).
//!
//! The write blocks for the grace period, so it runs on a short-lived thread of its own,
//! which makes raw system calls only, on a path prepared before it starts: it holds no
//! lock of this process when the monitor forks for a runtime call, and the forked child
//! (which has only the forking thread) is not affected by it.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};

/// Starts the thread described above; best effort (a host without a cgroup this process
/// may write to just does not get the head start).
pub(crate) fn start() {
    let Some(procs) =
        own_cgroup_procs().and_then(|p| CString::new(p.into_os_string().into_encoded_bytes()).ok())
    else {
        return;
    };
    let spawned = std::thread::Builder::new()
        .name("cgroup-lock".into())
        // It only makes three system calls.
        .stack_size(64 * 1024)
        .spawn(move || {
            if let Ok(fd) = rustix::fs::open(
                procs.as_c_str(),
                OFlags::WRONLY | OFlags::CLOEXEC,
                Mode::empty(),
            ) {
                // "0" is the writing process itself.
                let _ = rustix::io::write(&fd, b"0");
            }
        });
    if let Err(err) = spawned {
        tracing::debug!(%err, "no thread to start the cgroup lock's grace period");
    }
}

/// `cgroup.procs` of a cgroup this process is in, on any hierarchy (v1 or v2).
fn own_cgroup_procs() -> Option<PathBuf> {
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    own.lines().find_map(|line| {
        let mut fields = line.splitn(3, ':');
        let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
        procs_candidates(controllers, path)
            .into_iter()
            .find(|p| p.exists())
    })
}

/// Where the `cgroup.procs` of one line of `/proc/self/cgroup` may be mounted.
fn procs_candidates(controllers: &str, path: &str) -> Vec<PathBuf> {
    let path = path.trim_start_matches('/');
    let mounts: Vec<PathBuf> = match controllers {
        // The unified hierarchy: its own mount on a hybrid host, the root on v2.
        "" => vec!["/sys/fs/cgroup/unified".into(), "/sys/fs/cgroup".into()],
        // Named hierarchies (systemd's) are mounted wherever their manager chose.
        c if c.starts_with("name=") => Vec::new(),
        c => vec![Path::new("/sys/fs/cgroup").join(c)],
    };
    mounts
        .into_iter()
        .map(|m| m.join(path).join("cgroup.procs"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_v1_controller_line_names_its_hierarchy() {
        assert_eq!(
            procs_candidates("pids", "/user.slice/session-1"),
            [PathBuf::from(
                "/sys/fs/cgroup/pids/user.slice/session-1/cgroup.procs"
            )]
        );
    }

    #[test]
    fn the_unified_line_is_tried_on_a_hybrid_host_first() {
        assert_eq!(
            procs_candidates("", "/"),
            [
                PathBuf::from("/sys/fs/cgroup/unified/cgroup.procs"),
                PathBuf::from("/sys/fs/cgroup/cgroup.procs")
            ]
        );
    }

    #[test]
    fn a_named_hierarchy_is_not_guessed() {
        assert!(procs_candidates("name=systemd", "/init.scope").is_empty());
    }

    #[test]
    fn this_process_finds_a_cgroup_it_is_in() {
        let procs = own_cgroup_procs().expect("a cgroup.procs of this process");
        let pids = std::fs::read_to_string(&procs).expect("readable");
        let me = std::process::id().to_string();
        assert!(
            pids.lines().any(|pid| pid == me),
            "{} lacks {me}",
            procs.display()
        );
    }
}
