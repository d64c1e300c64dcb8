//! Reading a container's cgroup (`/berth/<id>`) on cgroup v2, v1 or the hybrid layout, for
//! `top` and `stats`.

use std::fs;
use std::path::PathBuf;

/// The unified (v2) hierarchy when it is the only one.
fn pure_v2() -> bool {
    std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// The path of `file` of a v1 `controller` (or of the v2 group) for a container.
pub(crate) fn file(id: &str, controller: &str, name: &str) -> PathBuf {
    if pure_v2() {
        PathBuf::from(format!("/sys/fs/cgroup/berth/{id}/{name}"))
    } else {
        PathBuf::from(format!("/sys/fs/cgroup/{controller}/berth/{id}/{name}"))
    }
}

pub(crate) fn read(id: &str, controller: &str, name: &str) -> Option<String> {
    fs::read_to_string(file(id, controller, name)).ok()
}

pub(crate) fn read_u64(id: &str, controller: &str, name: &str) -> Option<u64> {
    read(id, controller, name)?.trim().parse().ok()
}

/// Host pids of every process of the container.
pub(crate) fn pids(id: &str) -> Vec<i32> {
    let text = read(id, "pids", "cgroup.procs")
        .or_else(|| read(id, "memory", "cgroup.procs"))
        .unwrap_or_default();
    text.lines().filter_map(|l| l.trim().parse().ok()).collect()
}

/// Memory in use, as Docker computes it (without the inactive page cache), and the limit.
pub(crate) fn memory(id: &str) -> (u64, Option<u64>) {
    if pure_v2() {
        let usage = read_u64(id, "", "memory.current").unwrap_or(0);
        let inactive = stat_value(
            &read(id, "", "memory.stat").unwrap_or_default(),
            "inactive_file",
        );
        let limit = read(id, "", "memory.max").and_then(|s| s.trim().parse().ok());
        return (usage.saturating_sub(inactive), limit);
    }
    let usage = read_u64(id, "memory", "memory.usage_in_bytes").unwrap_or(0);
    let inactive = stat_value(
        &read(id, "memory", "memory.stat").unwrap_or_default(),
        "total_inactive_file",
    );
    // v1 reports "no limit" as a huge page-aligned number.
    let limit = read_u64(id, "memory", "memory.limit_in_bytes").filter(|l| *l < (1u64 << 62));
    (usage.saturating_sub(inactive), limit)
}

/// CPU time used by the container, in nanoseconds.
pub(crate) fn cpu_nanos(id: &str) -> u64 {
    if pure_v2() {
        return stat_value(&read(id, "", "cpu.stat").unwrap_or_default(), "usage_usec") * 1000;
    }
    read_u64(id, "cpuacct", "cpuacct.usage").unwrap_or(0)
}

/// Bytes read and written by block devices.
pub(crate) fn block_io(id: &str) -> (u64, u64) {
    let (mut r, mut w) = (0, 0);
    if pure_v2() {
        for line in read(id, "", "io.stat").unwrap_or_default().lines() {
            for kv in line.split_whitespace() {
                if let Some(v) = kv.strip_prefix("rbytes=") {
                    r += v.parse::<u64>().unwrap_or(0);
                } else if let Some(v) = kv.strip_prefix("wbytes=") {
                    w += v.parse::<u64>().unwrap_or(0);
                }
            }
        }
        return (r, w);
    }
    for line in read(id, "blkio", "blkio.throttle.io_service_bytes_recursive")
        .unwrap_or_default()
        .lines()
    {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() == 3 {
            match f[1] {
                "Read" => r += f[2].parse::<u64>().unwrap_or(0),
                "Write" => w += f[2].parse::<u64>().unwrap_or(0),
                _ => {}
            }
        }
    }
    (r, w)
}

pub(crate) fn pids_current(id: &str) -> u64 {
    read_u64(id, "pids", "pids.current").unwrap_or_else(|| pids(id).len() as u64)
}

fn stat_value(stat: &str, key: &str) -> u64 {
    stat.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0)
}
