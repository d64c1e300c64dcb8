//! The embedded runtime: youki's libcontainer, in this process.
//!
//! `create` forks from the calling process (raw clone3, no atfork handlers), so call it
//! while the process has a single thread, or while no other thread can hold a lock the
//! child needs (the allocator's, stdio's). The container's init becomes a direct child of
//! the caller. libcontainer also marks the caller non-dumpable (PR_SET_DUMPABLE 0), and
//! sets the spec's `oom_score_adj` on the caller before forking; `create` puts the
//! caller's own score back afterwards.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use libcontainer::container::builder::ContainerBuilder;
use libcontainer::container::{Container, ContainerStatus};
use libcontainer::signal::Signal;
use libcontainer::syscall::syscall::SyscallType;
use oci_spec::runtime::Process;

use super::exec::ProcessFile;
use super::executor::CommandExecutor;
use super::failure::classify;
use super::filtered_bundle;
use super::loopback;
use super::{ContainerState, Runtime, Status, Stdio};
use crate::error::{Error, Result};
use crate::seccomp::BpfCache;

const OOM_SCORE_ADJ: &str = "/proc/self/oom_score_adj";

#[derive(Debug, Clone)]
pub struct Embedded {
    state_dir: PathBuf,
    seccomp: BpfCache,
    /// A network namespace made ahead, which a container asking for a new one joins.
    netns: Option<PathBuf>,
}

impl Embedded {
    /// `state_dir` holds one directory per container (libcontainer's "root path"), and
    /// the compiled seccomp programs in `.seccomp/`.
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        let state_dir = state_dir.into();
        Self {
            seccomp: BpfCache::new(state_dir.join(".seccomp")),
            state_dir,
            netns: None,
        }
    }

    /// This runtime, with containers that ask for a new network namespace joining `netns`
    /// instead (one made ahead with `lo` up: see [`crate::monitor::MonitorConfig`]).
    pub fn joining_netns(mut self, netns: impl Into<PathBuf>) -> Self {
        self.netns = Some(netns.into());
        self
    }

    fn load(&self, id: &str) -> Result<Container> {
        let dir = self.state_dir.join(id);
        if !dir.exists() {
            return Err(Error::NoSuchContainer(id.to_string()));
        }
        Container::load(dir).map_err(|err| runtime_error("load the container state", err))
    }
}

impl Embedded {
    /// `create`, returning the container libcontainer built with its init's pid.
    fn build(&self, id: &str, bundle: &Path, stdio: Stdio) -> Result<(Container, i32)> {
        std::fs::create_dir_all(&self.state_dir)
            .map_err(|e| Error::io(format!("creating {}", self.state_dir.display()), e))?;
        // The spec is read once: every allocation in this forked child copies pages.
        let prepared = filtered_bundle::prepare(bundle, &self.seccomp, self.netns.as_deref())?;
        let pid_file = PidFile::new(&self.state_dir);
        let builder = ContainerBuilder::new(id.to_string(), SyscallType::default())
            .validate_id()
            .map_err(|err| runtime_error("create", err))?
            .with_root_path(&self.state_dir)
            .map_err(|err| runtime_error("create", err))?
            .with_pid_file(Some(pid_file.path()))
            .map_err(|err| runtime_error("create", err))?
            .with_executor(CommandExecutor::new(prepared.filter, None));
        let builder = match stdio.lifted()? {
            Stdio::Fds {
                stdin,
                stdout,
                stderr,
            } => builder
                .with_stdin(stdin)
                .with_stdout(stdout)
                .with_stderr(stderr),
            Stdio::Console(socket) => builder.with_console_socket(Some(socket)),
        };
        let result = keeping_own_oom_score(|| {
            builder
                .as_init(&prepared.bundle)
                .with_systemd(false)
                .with_detach(true)
                .build()
        });
        match result {
            Ok(container) => {
                let pid =
                    container
                        .pid()
                        .map(|pid| pid.as_raw())
                        .ok_or_else(|| Error::Runtime {
                            action: "create",
                            message: "no init pid recorded".into(),
                        })?;
                if prepared.new_netns {
                    if let Err(err) = loopback::bring_up(pid) {
                        discard(container, pid);
                        return Err(Error::io("bringing up the container's loopback", err));
                    }
                }
                Ok((container, pid))
            }
            Err(err) => {
                pid_file.remove_failed_process();
                reap_failed_children();
                Err(classify("create", &prepared.command, error_chain(&err)))
            }
        }
    }
}

impl Runtime for Embedded {
    fn create(&self, id: &str, bundle: &Path, stdio: Stdio) -> Result<i32> {
        self.build(id, bundle, stdio).map(|(_, pid)| pid)
    }

    /// Starts the container it has just built, without loading its state back from disk
    /// (state.json, the init's /proc/PID/stat: about 5% of the runtime's work in a start).
    fn run(&self, id: &str, bundle: &Path, stdio: Stdio) -> Result<i32> {
        let (mut container, pid) = self.build(id, bundle, stdio)?;
        if let Err(err) = container.start() {
            discard(container, pid);
            return Err(runtime_error("start", err));
        }
        Ok(pid)
    }

    fn start(&self, id: &str) -> Result<()> {
        self.load(id)?
            .start()
            .map_err(|err| runtime_error("start", err))
    }

    fn kill(&self, id: &str, signal: i32, all: bool) -> Result<()> {
        let signal = Signal::try_from(signal).map_err(|err| runtime_error("kill", err))?;
        self.load(id)?
            .kill(signal, all)
            .map_err(|err| runtime_error("kill", err))
    }

    fn delete(&self, id: &str, force: bool) -> Result<()> {
        self.load(id)?
            .delete(force)
            .map_err(|err| runtime_error("delete", err))
    }

    fn exec(&self, id: &str, process: Process, stdio: Stdio) -> Result<i32> {
        let container = self.load(id)?;
        let command = process
            .args()
            .as_ref()
            .and_then(|args| args.first().cloned())
            .unwrap_or_default();
        let (process, filter, seccomp) =
            filtered_bundle::joining(container.bundle(), process, &self.seccomp)?;
        let process_file = ProcessFile::write(&self.state_dir.join(id), &process)?;
        let pid_file = PidFile::new(&self.state_dir);
        let builder = ContainerBuilder::new(id.to_string(), SyscallType::default())
            .with_root_path(&self.state_dir)
            .map_err(|err| runtime_error("exec", err))?
            .with_pid_file(Some(pid_file.path()))
            .map_err(|err| runtime_error("exec", err))?
            .with_executor(CommandExecutor::new(filter, seccomp));
        let builder = match stdio.lifted()? {
            Stdio::Fds {
                stdin,
                stdout,
                stderr,
            } => builder
                .with_stdin(stdin)
                .with_stdout(stdout)
                .with_stderr(stderr),
            Stdio::Console(socket) => builder.with_console_socket(Some(socket)),
        };
        let result = keeping_own_oom_score(|| {
            builder
                .as_tenant()
                .with_process(Some(process_file.path()))
                .with_detach(true)
                .build()
        });
        drop(process_file);
        match result {
            Ok(pid) => Ok(pid.as_raw()),
            Err(err) => {
                pid_file.remove_failed_process();
                reap_failed_children();
                Err(classify("exec", &command, error_chain(&err)))
            }
        }
    }

    fn pause(&self, id: &str) -> Result<()> {
        self.load(id)?
            .pause()
            .map_err(|err| runtime_error("pause", err))
    }

    fn resume(&self, id: &str) -> Result<()> {
        self.load(id)?
            .resume()
            .map_err(|err| runtime_error("resume", err))
    }

    fn state(&self, id: &str) -> Result<ContainerState> {
        let container = self.load(id)?;
        let status = match container.status() {
            ContainerStatus::Creating => Status::Creating,
            ContainerStatus::Created => Status::Created,
            ContainerStatus::Running => Status::Running,
            ContainerStatus::Paused => Status::Paused,
            ContainerStatus::Stopped => Status::Stopped,
        };
        Ok(ContainerState {
            status,
            pid: container.pid().map(|pid| pid.as_raw()),
        })
    }
}

/// Kills, reaps and deletes a created container that is not going to run.
/// The init is the caller's child (see the module's note), so the caller reaps it.
fn discard(mut container: Container, pid: i32) {
    if let Some(pid) = rustix::process::Pid::from_raw(pid) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
    }
    let _ = container.delete(true);
}

/// Runs `build` (which forks the container's process) and puts this process's
/// oom_score_adj back: libcontainer sets the spec's on the caller so that the child
/// inherits it, but the caller (the monitor) keeps its own.
fn keeping_own_oom_score<T>(build: impl FnOnce() -> T) -> T {
    let own = std::fs::read_to_string(OOM_SCORE_ADJ).ok();
    let result = build();
    if let Some(score) = own {
        if std::fs::read_to_string(OOM_SCORE_ADJ).ok().as_deref() != Some(score.as_str()) {
            if let Err(err) = std::fs::write(OOM_SCORE_ADJ, score.trim()) {
                tracing::warn!(%err, "could not restore this process's oom_score_adj");
            }
        }
    }
    result
}

fn runtime_error(action: &'static str, err: impl std::error::Error) -> Error {
    Error::Runtime {
        action,
        message: error_chain(&err),
    }
}

/// libcontainer nests its errors deeply and the useful words are at the bottom.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        let part = inner.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = inner.source();
    }
    text
}

/// Where libcontainer writes the pid of the process it forks, as soon as it knows it:
/// also when the call fails later, so the failed process can be found.
struct PidFile {
    path: PathBuf,
}

impl PidFile {
    fn new(dir: &Path) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            ".pid-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        Self {
            path: dir.join(name),
        }
    }

    fn path(&self) -> &Path {
        &self.path
    }

    /// Kills and reaps the process of a failed create or exec. It may still be on its
    /// way out, or waiting for a start that will not come; a zombie left in the
    /// container's pid namespace would keep that namespace's init from ever finishing
    /// its exit. It is the caller's child and not yet reaped, so the pid is still its.
    fn remove_failed_process(&self) {
        let Some(pid) = std::fs::read_to_string(&self.path)
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .and_then(rustix::process::Pid::from_raw)
        else {
            return;
        };
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        while let Err(rustix::io::Errno::INTR) =
            rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty())
        {}
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A failed create leaves libcontainer's helper and init processes as zombie children
/// of ours. They are recognised by the names libcontainer gives them ("youki:[1:INTER]",
/// "youki:[2:INIT]"), so no other child of the caller is reaped by mistake.
fn reap_failed_children() {
    let me = std::process::id().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // stat is "pid (comm) state ppid ..."; comm may hold spaces, so split at the last ')'.
        let Some((head, tail)) = stat.rsplit_once(')') else {
            continue;
        };
        let comm = head.split_once('(').map(|(_, c)| c).unwrap_or("");
        let mut fields = tail.split_whitespace();
        let (state, ppid) = (fields.next(), fields.next());
        if comm.starts_with("youki:[") && state == Some("Z") && ppid == Some(me.as_str()) {
            if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::NOHANG);
            }
        }
    }
}
