//! `top` and `stats`: the container's processes and its resource use.

use std::process::Command;
use std::time::Duration;

use berth_store::ContainerStatus;

use super::cgroup;
use crate::{Engine, EngineError, Result};

/// `top`'s table: the header of `ps` and the rows of the container's processes.
#[derive(Clone, Debug)]
pub struct Top {
    pub titles: Vec<String>,
    pub processes: Vec<Vec<String>>,
}

/// One `stats` sample.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub id: String,
    pub name: String,
    pub cpu_percent: f64,
    pub memory_usage: u64,
    pub memory_limit: u64,
    pub net_rx: u64,
    pub net_tx: u64,
    pub block_read: u64,
    pub block_write: u64,
    pub pids: u64,
}

impl Engine {
    /// Runs the host's `ps` with `args` (Docker's default `-ef`) and keeps the container's rows.
    pub fn top(&self, name: &str, args: &[String]) -> Result<Top> {
        let c = self.container(name)?;
        if !matches!(
            c.state.status,
            ContainerStatus::Running | ContainerStatus::Paused
        ) {
            return Err(EngineError::Conflict(format!(
                "Container {} is not running",
                c.id
            )));
        }
        let pids = cgroup::pids(&c.id);
        let args: Vec<String> = if args.is_empty() {
            vec!["-ef".into()]
        } else {
            args.to_vec()
        };
        let out = Command::new("ps")
            .args(&args)
            .output()
            .map_err(EngineError::io("running ps"))?;
        if !out.status.success() {
            return Err(EngineError::Other(format!(
                "ps: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        let header = lines.next().unwrap_or_default();
        let titles: Vec<String> = header.split_whitespace().map(str::to_string).collect();
        let pid_col = titles
            .iter()
            .position(|t| t == "PID")
            .ok_or_else(|| EngineError::Other("Couldn't find PID field in ps output".into()))?;
        let mut processes = Vec::new();
        for line in lines {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let Some(pid) = fields.get(pid_col).and_then(|p| p.parse::<i32>().ok()) else {
                continue;
            };
            if !pids.contains(&pid) {
                continue;
            }
            // The last column (the command) may contain spaces: keep the rest of the line.
            let mut row: Vec<String> = fields[..titles.len().saturating_sub(1).min(fields.len())]
                .iter()
                .map(|s| s.to_string())
                .collect();
            if fields.len() >= titles.len() {
                row.push(fields[titles.len() - 1..].join(" "));
            }
            processes.push(row);
        }
        Ok(Top { titles, processes })
    }

    /// A sample of resource use; CPU % over a short interval, as Docker's one-shot stats.
    pub fn stats(&self, names: &[String]) -> Result<Vec<Stats>> {
        let containers = if names.is_empty() {
            self.containers()?
                .into_iter()
                .filter(|c| c.state.status == ContainerStatus::Running)
                .collect()
        } else {
            names
                .iter()
                .map(|n| self.container(n))
                .collect::<Result<Vec<_>>>()?
        };
        let first: Vec<(u64, u64)> = containers
            .iter()
            .map(|c| (cgroup::cpu_nanos(&c.id), system_nanos()))
            .collect();
        std::thread::sleep(Duration::from_millis(500));
        let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let mut out = Vec::new();
        for (c, (cpu0, sys0)) in containers.iter().zip(first) {
            let live = c.state.status.is_live();
            let (cpu1, sys1) = (cgroup::cpu_nanos(&c.id), system_nanos());
            let cpu_percent = if live && sys1 > sys0 && cpu1 >= cpu0 {
                (cpu1 - cpu0) as f64 / (sys1 - sys0) as f64 * ncpu * 100.0
            } else {
                0.0
            };
            let (usage, limit) = if live {
                cgroup::memory(&c.id)
            } else {
                (0, None)
            };
            let (net_rx, net_tx) = if live { net_io(c.state.pid) } else { (0, 0) };
            let (block_read, block_write) = if live {
                cgroup::block_io(&c.id)
            } else {
                (0, 0)
            };
            out.push(Stats {
                id: c.id.clone(),
                name: c.name.clone(),
                cpu_percent,
                memory_usage: usage,
                memory_limit: if live {
                    limit.unwrap_or_else(host_memory)
                } else {
                    0
                },
                net_rx,
                net_tx,
                block_read,
                block_write,
                pids: if live { cgroup::pids_current(&c.id) } else { 0 },
            });
        }
        Ok(out)
    }
}

/// Total CPU time of the host in nanoseconds (/proc/stat's first line, in clock ticks).
fn system_nanos() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: u64 = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .take(7)
        .filter_map(|v| v.parse::<u64>().ok())
        .sum();
    // USER_HZ is 100 on Linux.
    ticks * 10_000_000
}

fn host_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Bytes received and sent on the container's interfaces (other than lo).
fn net_io(pid: i32) -> (u64, u64) {
    let dev = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).unwrap_or_default();
    let (mut rx, mut tx) = (0, 0);
    for line in dev.lines().skip(2) {
        let Some((iface, rest)) = line.split_once(':') else {
            continue;
        };
        if iface.trim() == "lo" {
            continue;
        }
        let f: Vec<u64> = rest
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        if f.len() >= 9 {
            rx += f[0];
            tx += f[8];
        }
    }
    (rx, tx)
}
