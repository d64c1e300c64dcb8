//! Starting the RCU grace period a cgroup join waits for, ahead of the runtime.
//!
//! Moving a process into a cgroup takes the kernel's cgroup threadgroup lock for writing,
//! and the first writer after a quiet spell waits a whole RCU grace period (rcu_sync:
//! about 10 ms on this project's 2-core test machines) before it gets the lock. Every
//! container start pays it once, in the runtime's process that joins the new cgroups,
//! which has nothing else to do meanwhile. A throwaway child that "moves" itself into
//! the cgroup it is already in, just before the runtime starts, takes the lock early:
//! the grace period then runs alongside the runtime's own setup, and the runtime finds
//! it under way or passed and waits only for what is left of it. Nothing changes
//! cgroup: the child stays where it is and exits.

use std::ffi::CString;
use std::path::{Path, PathBuf};

/// Forks the child described above; best effort. The caller must be single-threaded (the
/// monitor is) and reap the child like any other.
pub(crate) fn start() {
    let Some(procs) =
        own_cgroup_procs().and_then(|p| CString::new(p.into_os_string().into_encoded_bytes()).ok())
    else {
        return;
    };
    // SAFETY: fork(2) from a single-threaded process; the child makes raw syscalls only
    // (open, write, _exit) on memory prepared before the fork, and never returns here.
    unsafe {
        if libc::fork() == 0 {
            let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd >= 0 {
                // "0" is the writing process itself.
                libc::write(fd, b"0".as_ptr().cast(), 1);
            }
            libc::_exit(0);
        }
    }
}

/// `cgroup.procs` of a cgroup this process is in, on any hierarchy (v1 or v2).
fn own_cgroup_procs() -> Option<PathBuf> {
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    own.lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, ':');
            let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
            let path = path.trim_start_matches('/');
            let mounts: Vec<PathBuf> = match controllers {
                // The unified hierarchy: its own mount on a hybrid host, the root on v2.
                "" => vec!["/sys/fs/cgroup/unified".into(), "/sys/fs/cgroup".into()],
                c if c.starts_with("name=") => Vec::new(),
                c => vec![Path::new("/sys/fs/cgroup").join(c)],
            };
            mounts
                .into_iter()
                .map(|m| m.join(path).join("cgroup.procs"))
                .find(|p| p.exists())
        })
        .next()
}
