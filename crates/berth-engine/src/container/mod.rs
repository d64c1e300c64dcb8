//! Container use cases: create, start, stop, ps, inspect, rm, logs, exec, cp ... Each verb in
//! its own file; the monitor entry point in `monitor.rs`.

mod cgroup;
mod commit;
mod config;
mod cp;
mod create;
mod diff;
mod exec;
mod export;
mod inspect;
mod lifecycle;
mod list;
mod monitor;
mod names;
mod network;
mod prefork;
mod remove;
pub(crate) mod rootfs;
mod runtime;
mod signal;
mod spec;
mod start;
mod state;
mod top;
mod user;

pub use config::{
    Config, HostConfig, LogConfig, MountPoint, MountSpec, RestartPolicy, Stored, TmpfsOptions,
};
pub use create::CreateOptions;
pub use exec::{Exec, ExecOptions, ExecStdio};
pub use list::{ContainerSummary, PsOptions};

pub use commit::CommitOptions;
pub use cp::{
    ContainerFs, Copied, CopyDest, CopyError, CopyOptions, CopySource, ExtractOptions, PathStat,
};
pub use diff::{Change, ChangeKind};
pub use monitor::{monitor_daemonize, monitor_main};
pub use network::network_mode;
pub use prefork::{prefork_monitor, Prefork};
pub use signal::parse_signal;
pub use start::Starting;
pub use state::{monitor_alive, process_start_time};
pub use top::{Stats, Top};
