//! An OCI runtime binary with runc's command line: runc, crun, youki, or a path.
//!
//! `runc create` exits once the init is set up, so the init is re-parented to the
//! nearest child subreaper: the caller must be one ([`crate::become_subreaper`]) to wait
//! for it.

use std::ffi::OsStr;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::Command;

use oci_spec::runtime::Process;

use super::exec::ProcessFile;
use super::failure::classify;
use super::{ContainerState, Runtime, Status, Stdio};
use crate::bundle::command_of;
use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct OciBinary {
    path: PathBuf,
    state_dir: PathBuf,
}

impl OciBinary {
    /// `path` is the binary (a bare name is looked up on PATH); `state_dir` is its `--root`.
    pub fn new(path: impl Into<PathBuf>, state_dir: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            state_dir: state_dir.into(),
        }
    }

    /// Where the runtime writes its log for one call; errors are read back from it.
    fn log_path(&self, id: &str) -> PathBuf {
        self.state_dir.join(format!("{id}.log"))
    }

    fn command(&self, id: &str) -> Command {
        let mut cmd = Command::new(&self.path);
        cmd.arg("--root")
            .arg(&self.state_dir)
            .arg("--log")
            .arg(self.log_path(id))
            .arg("--log-format")
            .arg("json");
        cmd
    }

    /// Runs one subcommand that prints nothing of interest; failure carries its log.
    fn run(&self, action: &'static str, id: &str, args: &[&OsStr]) -> Result<()> {
        self.check_state_dir(id)?;
        let output = self
            .command(id)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| Error::io(format!("running {}", self.path.display()), e))?;
        let log = self.take_log(id);
        if output.status.success() {
            return Ok(());
        }
        let message = error_text(&log, &output.stderr);
        // runc and crun both say "container does not exist" for an unknown id.
        if message.contains("does not exist") {
            return Err(Error::NoSuchContainer(id.to_string()));
        }
        Err(Error::Runtime { action, message })
    }

    /// Without its state directory runc fails silently, and no container can exist.
    fn check_state_dir(&self, id: &str) -> Result<()> {
        if self.state_dir.is_dir() {
            Ok(())
        } else {
            Err(Error::NoSuchContainer(id.to_string()))
        }
    }

    /// Reads and removes the log of the last call.
    fn take_log(&self, id: &str) -> String {
        let path = self.log_path(id);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let _ = std::fs::remove_file(&path);
        text
    }
}

impl Runtime for OciBinary {
    fn create(&self, id: &str, bundle: &Path, stdio: Stdio) -> Result<i32> {
        std::fs::create_dir_all(&self.state_dir)
            .map_err(|e| Error::io(format!("creating {}", self.state_dir.display()), e))?;
        let pid_file = self.state_dir.join(format!("{id}.pid"));
        let mut cmd = self.command(id);
        cmd.arg("create")
            .arg("--bundle")
            .arg(bundle)
            .arg("--pid-file")
            .arg(&pid_file);
        give_stdio(&mut cmd, stdio)?;
        cmd.arg(id);
        let status = cmd
            .status()
            .map_err(|e| Error::io(format!("running {}", self.path.display()), e))?;
        let log = self.take_log(id);
        if !status.success() {
            let _ = std::fs::remove_file(&pid_file);
            return Err(classify(
                "create",
                &command_of(bundle),
                error_text(&log, b""),
            ));
        }
        read_pid_file(&pid_file, "create")
    }

    fn start(&self, id: &str) -> Result<()> {
        self.run("start", id, &["start".as_ref(), id.as_ref()])
    }

    fn kill(&self, id: &str, signal: i32, all: bool) -> Result<()> {
        let signal = signal.to_string();
        let mut args: Vec<&OsStr> = vec!["kill".as_ref()];
        if all {
            args.push("--all".as_ref());
        }
        args.push(id.as_ref());
        args.push(signal.as_ref());
        self.run("kill", id, &args)
    }

    fn delete(&self, id: &str, force: bool) -> Result<()> {
        // runc keeps a container's state in `<root>/<id>`: without it there is nothing to
        // delete, and no process to start to learn that.
        if !self.state_dir.join(id).exists() {
            return Err(Error::NoSuchContainer(id.to_string()));
        }
        let mut args: Vec<&OsStr> = vec!["delete".as_ref()];
        if force {
            args.push("--force".as_ref());
        }
        args.push(id.as_ref());
        self.run("delete", id, &args)
    }

    fn exec(&self, id: &str, process: Process, stdio: Stdio) -> Result<i32> {
        self.check_state_dir(id)?;
        let command = process
            .args()
            .as_ref()
            .and_then(|args| args.first().cloned())
            .unwrap_or_default();
        let process_file = ProcessFile::write(&self.state_dir, &process)?;
        let pid_file = self.state_dir.join(format!("{id}.exec.pid"));
        let mut cmd = self.command(id);
        // -d: runc exits once the process runs; it is then the subreaper's child.
        cmd.arg("exec")
            .arg("--process")
            .arg(process_file.path())
            .arg("--pid-file")
            .arg(&pid_file)
            .arg("-d");
        give_stdio(&mut cmd, stdio)?;
        cmd.arg(id);
        let status = cmd
            .status()
            .map_err(|e| Error::io(format!("running {}", self.path.display()), e))?;
        let log = self.take_log(id);
        if !status.success() {
            let _ = std::fs::remove_file(&pid_file);
            let message = error_text(&log, b"");
            if message.contains("does not exist") {
                return Err(Error::NoSuchContainer(id.to_string()));
            }
            return Err(classify("exec", &command, message));
        }
        read_pid_file(&pid_file, "exec")
    }

    fn pause(&self, id: &str) -> Result<()> {
        self.run("pause", id, &["pause".as_ref(), id.as_ref()])
    }

    fn resume(&self, id: &str) -> Result<()> {
        self.run("resume", id, &["resume".as_ref(), id.as_ref()])
    }

    fn state(&self, id: &str) -> Result<ContainerState> {
        self.check_state_dir(id)?;
        let output = self
            .command(id)
            .arg("state")
            .arg(id)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| Error::io(format!("running {}", self.path.display()), e))?;
        let log = self.take_log(id);
        if !output.status.success() {
            let message = error_text(&log, &output.stderr);
            if message.contains("does not exist") {
                return Err(Error::NoSuchContainer(id.to_string()));
            }
            return Err(Error::Runtime {
                action: "state",
                message,
            });
        }
        let state: serde_json::Value =
            serde_json::from_slice(&output.stdout).map_err(|err| Error::Runtime {
                action: "state",
                message: format!("unreadable state: {err}"),
            })?;
        let status = match state["status"].as_str() {
            Some("creating") => Status::Creating,
            Some("created") => Status::Created,
            Some("running") => Status::Running,
            Some("paused") => Status::Paused,
            _ => Status::Stopped,
        };
        let pid = state["pid"]
            .as_i64()
            .and_then(|pid| i32::try_from(pid).ok())
            .filter(|pid| *pid > 0);
        Ok(ContainerState { status, pid })
    }
}

/// Reads and removes the pid file runc wrote.
fn read_pid_file(pid_file: &Path, action: &'static str) -> Result<i32> {
    let pid = std::fs::read_to_string(pid_file)
        .map_err(|e| Error::io(format!("reading {}", pid_file.display()), e))?;
    let _ = std::fs::remove_file(pid_file);
    pid.trim().parse().map_err(|_| Error::Runtime {
        action,
        message: format!("bad pid file content {pid:?}"),
    })
}

/// runc hands its own stdio to the container's process, so the container's fds are
/// given to runc as its stdio. Its error text then goes to the container's stderr too;
/// the log file gets a copy to read back.
fn give_stdio(cmd: &mut Command, stdio: Stdio) -> Result<()> {
    match stdio.lifted()? {
        Stdio::Fds {
            stdin,
            stdout,
            stderr,
        } => {
            cmd.stdin(stdio_of(stdin))
                .stdout(stdio_of(stdout))
                .stderr(stdio_of(stderr));
        }
        Stdio::Console(socket) => {
            cmd.arg("--console-socket")
                .arg(socket)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
        }
    }
    Ok(())
}

fn stdio_of(fd: OwnedFd) -> std::process::Stdio {
    std::process::Stdio::from(fd)
}

/// The error lines of a runtime's JSON log, else its stderr.
fn error_text(log: &str, stderr: &[u8]) -> String {
    let errors: Vec<String> = log
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|entry| entry["level"] == "error" || entry["level"] == "fatal")
        .filter_map(|entry| entry["msg"].as_str().map(str::to_string))
        .collect();
    if errors.is_empty() {
        String::from_utf8_lossy(stderr).trim().to_string()
    } else {
        errors.join("; ")
    }
}
