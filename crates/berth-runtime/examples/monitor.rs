//! The monitor as the engine drives it, without the engine: a launcher that starts a
//! detached monitor for a bundle and prints its readiness events, and a client for
//! control requests. Used to measure the monitor (RSS of a running `sleep`).
//!
//! ```text
//! monitor start <embedded|RUNC-PATH> <bundle> <state-dir> <run-dir>
//! monitor request <socket> '<request json>'      e.g. '{"stop":{"timeout_ms":0,"signal":15}}'
//! ```

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

use berth_runtime::attach::{request, Request};
use berth_runtime::monitor::{
    self, Decision, ExitInfo, MonitorConfig, MonitorHooks, ReadyReader, RuntimeChoice,
};

/// Set in the monitor's own process: the readiness pipe's fd.
const READY_FD: &str = "BERTH_EXAMPLE_READY_FD";

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["start", runtime, bundle, state, run] => match std::env::var(READY_FD) {
            Ok(fd) => be_the_monitor(runtime, bundle, state, run, fd.parse()?),
            Err(_) => launch(&args),
        },
        ["request", socket, json] => {
            let asked: Request = serde_json::from_str(json)?;
            println!("{}", serde_json::to_string(&request(socket, asked)?)?);
            Ok(())
        }
        _ => Err(
            "usage: monitor start <embedded|runc-path> <bundle> <state-dir> <run-dir> \
                  | monitor request <socket> <json>"
                .into(),
        ),
    }
}

/// The CLI's half: run this program again as the monitor, with the pipe's write end.
fn launch(args: &[String]) -> Result<(), Error> {
    let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    let fd = write.as_raw_fd();
    let mut command = Command::new(std::env::current_exe()?);
    command.args(args).env(READY_FD, fd.to_string());
    // SAFETY: fcntl(2) in the forked child before exec, on an fd it holds.
    unsafe {
        command.pre_exec(move || {
            if libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.status()?;
    drop(write);
    for event in ReadyReader::new(read) {
        println!("{}", serde_json::to_string(&event?)?);
    }
    Ok(())
}

/// The monitor's half.
fn be_the_monitor(
    runtime: &str,
    bundle: &str,
    state: &str,
    run: &str,
    ready_fd: i32,
) -> Result<(), Error> {
    // SAFETY: the launcher made this fd inheritable for this process; nothing else owns it.
    let ready = unsafe { OwnedFd::from_raw_fd(ready_fd) };
    let absolute = |p: &str| std::path::absolute(p);
    let run_dir = absolute(run)?;
    let runtime = match runtime {
        "embedded" => RuntimeChoice::Embedded {
            state_dir: absolute(state)?,
        },
        path => RuntimeChoice::Binary {
            path: PathBuf::from(path),
            state_dir: absolute(state)?,
        },
    };
    let config = MonitorConfig {
        id: format!("example-{}", std::process::id()),
        bundle: absolute(bundle)?,
        runtime,
        terminal: false,
        open_stdin: false,
        stdin_once: false,
        log_path: run_dir.join("container-json.log"),
        socket_path: run_dir.join("monitor.sock"),
        wait_for_attach: false,
        initial_size: None,
        auto_remove: false,
        first_netns: false,
    };
    monitor::daemonize()?;
    monitor::run(config, &mut Silent, ready)?;
    Ok(())
}

/// Hooks of an engine without a database: never restart.
struct Silent;

impl MonitorHooks for Silent {
    fn prepare(&mut self) -> berth_runtime::Result<()> {
        Ok(())
    }
    fn started(&mut self, _pid: i32) -> berth_runtime::Result<()> {
        Ok(())
    }
    fn start_failed(&mut self, _error: &berth_runtime::Error) {}
    fn exited(&mut self, _exit: &ExitInfo) -> Decision {
        Decision::Finish
    }
    fn restart_cancelled(&mut self) {}
    fn finished(&mut self) {}
}
