//! `exec`: a new process in a running container, joining all of its namespaces and its
//! cgroup, with its capabilities, seccomp profile and no-new-privileges. The calling
//! process is the new process's parent and waits for it.

use std::os::fd::OwnedFd;
use std::path::PathBuf;

use berth_runtime::spec::User;
use berth_runtime::{exec_process, ExecOptions as RuntimeExec};
use berth_runtime::{ConsoleSocket, InitProcess, Stdio};
use berth_store::ContainerStatus;
use oci_spec::runtime::Spec;

use super::config::Stored;
use super::user;
use crate::{Engine, EngineError, Result};

#[derive(Clone, Debug, Default)]
pub struct ExecOptions {
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub tty: bool,
    pub privileged: bool,
}

/// Where the exec'd process's stdio goes.
pub enum ExecStdio {
    /// These fds (the CLI's own, or /dev/null for `-d`).
    Fds {
        stdin: OwnedFd,
        stdout: OwnedFd,
        stderr: OwnedFd,
    },
    /// A new pty; its master is handed back in [`Exec::pty`].
    Pty,
}

/// A started exec: wait for it with [`Exec::wait`].
pub struct Exec {
    pub pid: i32,
    /// The pty master, with [`ExecStdio::Pty`].
    pub pty: Option<OwnedFd>,
    process: InitProcess,
}

impl Exec {
    /// Blocks until the process exits; Docker's exit code.
    pub fn wait(&self) -> Result<i32> {
        self.process
            .wait()
            .map(|s| s.code())
            .map_err(|e| EngineError::Other(e.to_string()))
    }
}

impl Engine {
    pub fn exec(&self, name: &str, opts: &ExecOptions, stdio: ExecStdio) -> Result<Exec> {
        let c = self.container(name)?;
        match c.state.status {
            ContainerStatus::Running => {}
            ContainerStatus::Paused => {
                return Err(EngineError::Conflict(format!(
                    "Container {} is paused, unpause the container before exec",
                    c.id
                )))
            }
            _ => {
                return Err(EngineError::Conflict(format!(
                    "container {} is not running",
                    c.id
                )))
            }
        }
        let stored = Stored::parse(&c.config);
        let bundle = self.store().container_run_dir(&c.id).join("bundle");
        let spec = Spec::load(bundle.join("config.json"))
            .map_err(|e| EngineError::Other(format!("reading the container's spec: {e}")))?;
        let mut env = opts.env.clone();
        let user = match &opts.user {
            Some(u) => {
                let rootfs = self.rootfs(&c)?;
                let r = user::resolve(&rootfs.merged, u, &[])?;
                // The user's own HOME, as `run -u` gives it, unless `-e HOME=` says otherwise.
                if !env.iter().any(|e| e.starts_with("HOME=")) {
                    env.push(format!("HOME={}", r.home));
                }
                Some(User {
                    uid: r.uid,
                    gid: r.gid,
                    additional_gids: r.additional_gids,
                })
            }
            None => None,
        };
        let mut process = exec_process(
            &spec,
            &RuntimeExec {
                args: opts.cmd.clone(),
                env,
                cwd: opts.workdir.clone(),
                user,
                terminal: opts.tty,
            },
        )
        .map_err(|e| EngineError::InvalidArgument(e.to_string()))?;
        if opts.privileged {
            grant_all_capabilities(&mut process);
        }
        let runtime = self.runtime_named(&stored.host_config.runtime);
        // An OCI runtime binary's exec leaves the process to the nearest subreaper: be it, so
        // we stay its parent and can wait for it.
        berth_runtime::become_subreaper().map_err(runtime_err)?;
        let mut console = None;
        let rt_stdio = match stdio {
            ExecStdio::Fds {
                stdin,
                stdout,
                stderr,
            } => Stdio::Fds {
                stdin,
                stdout,
                stderr,
            },
            ExecStdio::Pty => {
                let path = berth_runtime::sockpath::console_path(&console_path(
                    &self.store().container_run_dir(&c.id),
                ));
                let socket = ConsoleSocket::bind(&path).map_err(runtime_err)?;
                let p = socket.path().to_path_buf();
                console = Some(socket);
                Stdio::Console(p)
            }
        };
        let pid = runtime
            .exec(&c.id, process, rt_stdio)
            .map_err(|e| EngineError::Start {
                code: e.docker_exit_code(),
                message: e.to_string(),
            })?;
        let pty = match &console {
            Some(s) => Some(s.receive_master().map_err(runtime_err)?),
            None => None,
        };
        let process = InitProcess::open(pid).map_err(runtime_err)?;
        Ok(Exec { pid, pty, process })
    }
}

/// `exec --privileged`: every capability in every set.
fn grant_all_capabilities(process: &mut oci_spec::runtime::Process) {
    use oci_spec::runtime::{Capability, LinuxCapabilitiesBuilder};
    use std::str::FromStr;
    let all: std::collections::HashSet<Capability> = [
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_DAC_READ_SEARCH",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETPCAP",
        "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN",
        "CAP_NET_RAW",
        "CAP_IPC_LOCK",
        "CAP_IPC_OWNER",
        "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN",
        "CAP_SYS_BOOT",
        "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG",
        "CAP_MKNOD",
        "CAP_LEASE",
        "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN",
        "CAP_SYSLOG",
        "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ",
    ]
    .iter()
    .filter_map(|c| Capability::from_str(c).ok())
    .collect();
    if let Ok(caps) = LinuxCapabilitiesBuilder::default()
        .bounding(all.clone())
        .effective(all.clone())
        .permitted(all.clone())
        .inheritable(all.clone())
        .ambient(all)
        .build()
    {
        process.set_capabilities(Some(caps));
    }
}

/// A fresh console socket path for one exec (several may run at once).
fn console_path(run_dir: &std::path::Path) -> PathBuf {
    use rand::Rng;
    run_dir.join(format!(
        "exec-{:08x}.console",
        rand::thread_rng().gen::<u32>()
    ))
}

fn runtime_err(e: berth_runtime::Error) -> EngineError {
    EngineError::Other(e.to_string())
}
