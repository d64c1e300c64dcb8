//! berth-runtime: runs containers the way Docker does.
//!
//! - [`spec`]: [`ContainerSpec`] (what the engine knows) and [`build_spec`], which applies
//!   Docker's defaults: capabilities, mounts, devices, masked paths, rlimits, seccomp.
//! - [`seccomp`]: Docker's default seccomp profile as a table of ours, and profile files.
//! - [`Runtime`]: create / start / kill / delete / state of a bundle, by [`Embedded`]
//!   (youki's libcontainer, in-process) or [`OciBinary`] (runc and friends).
//! - [`InitProcess`]: the container's init as its parent (the monitor) waits for it.
//! - [`monitor`]: the per-container monitor process (stdio, logs, attach, exit, restarts).
//! - [`attach`]: the monitor socket's protocol and its client (`attach`, `stop`, `wait` ...).
//! - [`logs`]: Docker's json-file log format, written by the monitor, read by `berth logs`.
//! - [`Runtime::exec`] and [`exec_process`]: a process joining a running container.
//!
//! ```no_run
//! use berth_runtime::{build_spec, write_bundle, ContainerSpec, Embedded, InitProcess, Runtime, Stdio};
//! # fn main() -> berth_runtime::Result<()> {
//! let spec = build_spec(&ContainerSpec {
//!     args: vec!["echo".into(), "hello".into()],
//!     rootfs: "/var/lib/berth/containers/abc/merged".into(),
//!     ..Default::default()
//! })?;
//! let bundle = std::path::Path::new("/run/berth/abc/bundle");
//! write_bundle(bundle, &spec)?;
//! let runtime = Embedded::new("/run/berth/runtime");
//! let pid = runtime.create("abc", bundle, Stdio::null()?)?;
//! let init = InitProcess::open(pid)?;
//! runtime.start("abc")?;
//! let status = init.wait()?;
//! runtime.delete("abc", false)?;
//! println!("exit code {}", status.code());
//! # Ok(()) }
//! ```

pub mod attach;
mod bundle;
mod console;
mod error;
mod host;
pub mod logs;
pub mod monitor;
mod process;
mod runtime;
pub mod seccomp;
pub mod sockpath;
pub mod spec;

pub use bundle::write_bundle;
pub use console::{set_window_size, ConsoleSocket};
pub use error::{Error, Result};
pub use host::{CgroupLayout, HostInfo};
pub use process::{become_subreaper, ExitStatus, InitProcess};
pub use runtime::{
    exec_process, ContainerState, Embedded, ExecOptions, OciBinary, Runtime, Status, Stdio,
};
pub use spec::{build_spec, build_spec_for, ContainerSpec};
