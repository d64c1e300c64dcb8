//! `run`, `start`, `attach`, and the hidden `__monitor` entry point.

use std::os::fd::{FromRawFd, OwnedFd};

use berth_engine::container::Prefork;
use berth_engine::runtime::attach::Streams;
use berth_engine::{Engine, EngineError, EngineOptions};
use clap::Args;

use super::container::{create_or_explain, ContainerFlags};
use super::output::write_stdout;
use super::session::{Ended, Session};
use super::CliError;

#[derive(Args)]
#[command(disable_help_flag = true)]
pub struct RunArgs {
    /// Print help
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
    /// Run container in background and print container ID
    #[arg(short, long)]
    detach: bool,
    /// Proxy received signals to the process
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    sig_proxy: bool,
    #[command(flatten)]
    flags: ContainerFlags,
    image: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

impl RunArgs {
    /// Whether the container gets a network namespace pinned by berth (a bridge or user
    /// network), which `main` may start making ahead.
    pub fn joins_networks(&self) -> bool {
        let mode = self.flags.network.as_str();
        !(mode == "none" || mode == "host" || mode.starts_with("container:"))
    }
}

/// Docker's exit status for an engine error of `run`.
const RUN_ERROR: u8 = 125;

/// `prefork`: the container's monitor, forked ahead by `main` (or `None`: berth is
/// re-executed as the monitor).
pub fn run(a: RunArgs, engine: &Engine, prefork: Option<Prefork>) -> Result<(), CliError> {
    if let Some(p) = &prefork {
        p.store_opened();
    }
    if a.detach && a.flags.rm && !a.flags.attach.is_empty() {
        return Err(CliError {
            message: "berth: Conflicting options: -a and -d".into(),
            code: RUN_ERROR,
        });
    }
    let opts = a
        .flags
        .to_options(&a.image, &a.command, a.detach)
        .map_err(|e| CliError {
            message: format!("berth: {}", e.message),
            code: RUN_ERROR,
        })?;
    let streams = Streams {
        stdin: opts.config.attach_stdin,
        stdout: opts.config.attach_stdout,
        stderr: opts.config.attach_stderr,
    };
    let c = create_or_explain(engine, opts)?;
    if let Some(path) = &a.flags.cidfile {
        std::fs::write(path, &c.id).map_err(CliError::from)?;
    }
    if a.detach {
        return match engine.start_detached_with(&c.id, prefork) {
            Ok(id) => write_stdout(&format!("{id}\n")),
            Err(e) => {
                let code = start_error_code(&e);
                if a.flags.rm {
                    let _ = engine.remove_container(&c.id, true, true);
                }
                Err(run_error(e, code))
            }
        };
    }
    let starting = match engine.start_container_with(&c.id, true, prefork) {
        Ok(Some(s)) => s,
        Ok(None) => return Ok(()),
        Err(e) => {
            let code = start_error_code(&e);
            return Err(run_error(e, code));
        }
    };
    let session = Session {
        socket: &starting.socket,
        streams,
        tty: a.flags.tty,
        detach_keys: a.flags.detach_keys.as_deref(),
        sig_proxy: a.sig_proxy,
    };
    let ended = session.run();
    drop(starting);
    finish(engine, &c.id, ended)
}

/// The exit status of an attached session: the container's code.
fn finish(engine: &Engine, id: &str, ended: Result<Ended, CliError>) -> Result<(), CliError> {
    match ended? {
        Ended::Exited(0) | Ended::Detached => Ok(()),
        Ended::Exited(code) => Err(CliError::status(code.clamp(0, 255) as u8)),
        Ended::Disconnected => {
            let code = engine.wait_container(id).unwrap_or(RUN_ERROR as i32);
            if code == 0 {
                Ok(())
            } else {
                Err(CliError::status(code.clamp(0, 255) as u8))
            }
        }
    }
}

fn start_error_code(e: &EngineError) -> u8 {
    match e {
        EngineError::Start { code, .. } => (*code).clamp(0, 255) as u8,
        _ => RUN_ERROR,
    }
}

fn run_error(e: EngineError, code: u8) -> CliError {
    CliError {
        message: format!("berth: Error response from daemon: {e}"),
        code,
    }
}

// ---- start ----

#[derive(Args)]
pub struct StartArgs {
    /// Attach STDOUT/STDERR and forward signals
    #[arg(short, long)]
    attach: bool,
    /// Attach container's STDIN
    #[arg(short, long)]
    interactive: bool,
    /// Override the key sequence for detaching a container
    #[arg(long)]
    detach_keys: Option<String>,
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

pub fn start(a: StartArgs, engine: &Engine) -> Result<(), CliError> {
    if a.attach || a.interactive {
        if a.containers.len() > 1 {
            return Err(CliError::usage(
                "you cannot start and attach multiple containers at once",
            ));
        }
        let c = engine.container(&a.containers[0])?;
        let stored = berth_engine::container::Stored::parse(&c.config);
        let starting = engine.start_container(&c.id, true).map_err(|e| {
            let code = start_error_code(&e);
            CliError {
                message: format!("Error response from daemon: {e}"),
                code: if code == RUN_ERROR { 1 } else { code },
            }
        })?;
        let Some(starting) = starting else {
            return Ok(());
        };
        let session = Session {
            socket: &starting.socket,
            streams: Streams {
                stdin: a.interactive && stored.config.open_stdin,
                stdout: true,
                stderr: true,
            },
            tty: stored.config.tty,
            detach_keys: a.detach_keys.as_deref(),
            sig_proxy: true,
        };
        let ended = session.run();
        drop(starting);
        return finish(engine, &c.id, ended);
    }
    super::container::each(&a.containers, |name| {
        engine.start_detached(name)?;
        Ok(format!("{name}\n"))
    })
}

// ---- attach ----

#[derive(Args)]
pub struct AttachArgs {
    /// Override the key sequence for detaching a container
    #[arg(long)]
    detach_keys: Option<String>,
    /// Do not attach STDIN
    #[arg(long)]
    no_stdin: bool,
    /// Proxy all received signals to the process
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    sig_proxy: bool,
    container: String,
}

pub fn attach(a: AttachArgs, engine: &Engine) -> Result<(), CliError> {
    let c = engine.container(&a.container)?;
    if !c.state.status.is_live() {
        return Err(CliError::usage(
            "You cannot attach to a stopped container, start it first",
        ));
    }
    if c.state.status == berth_engine::store::ContainerStatus::Paused {
        return Err(CliError::usage(
            "You cannot attach to a paused container, unpause it first",
        ));
    }
    let stored = berth_engine::container::Stored::parse(&c.config);
    let socket = engine.monitor_socket(&c.id);
    let session = Session {
        socket: &socket,
        streams: Streams {
            stdin: !a.no_stdin && stored.config.open_stdin,
            stdout: true,
            stderr: true,
        },
        tty: stored.config.tty,
        detach_keys: a.detach_keys.as_deref(),
        sig_proxy: a.sig_proxy,
    };
    let ended = session.run();
    finish(engine, &c.id, ended)
}

// ---- the monitor ----

#[derive(Args)]
pub struct MonitorArgs {
    id: String,
    /// The readiness pipe's write end, inherited from the starting CLI
    #[arg(long)]
    ready_fd: i32,
    /// Create the container once the first client attached
    #[arg(long)]
    wait_for_attach: bool,
}

impl MonitorArgs {
    /// The command line `launch_monitor` gives a monitor, read without clap: a monitor's
    /// start-up is on every container start's critical path, and building the parser for
    /// all of berth's commands cost it more than the rest of its start-up together. `None`
    /// for any other shape (clap then parses it, or explains what is wrong).
    pub fn from_launch(
        mut args: impl Iterator<Item = std::ffi::OsString>,
    ) -> Option<(EngineOptions, MonitorArgs)> {
        expect_next(&mut args, "--root")?;
        let root = args.next()?.into();
        expect_next(&mut args, "--runroot")?;
        let runroot = args.next()?.into();
        expect_next(&mut args, "__monitor")?;
        let id = args.next()?.into_string().ok()?;
        expect_next(&mut args, "--ready-fd")?;
        let ready_fd = args.next()?.to_str()?.parse().ok()?;
        let wait_for_attach = match args.next() {
            None => false,
            Some(flag) if flag == "--wait-for-attach" => true,
            Some(_) => return None,
        };
        if args.next().is_some() {
            return None;
        }
        Some((
            EngineOptions { root, runroot },
            MonitorArgs {
                id,
                ready_fd,
                wait_for_attach,
            },
        ))
    }
}

fn expect_next(args: &mut impl Iterator<Item = std::ffi::OsString>, word: &str) -> Option<()> {
    args.next().filter(|a| a == word).map(|_| ())
}

/// `berth __monitor ID`: becomes the container's monitor. Detaches first, while this
/// process still has one thread (the embedded runtime forks from it).
pub fn monitor(a: MonitorArgs, options: EngineOptions) -> Result<(), CliError> {
    // SAFETY: the starting CLI passed this fd down for us alone; nothing else owns it.
    let ready = unsafe { OwnedFd::from_raw_fd(a.ready_fd) };
    berth_engine::container::monitor_daemonize()?;
    let engine = Engine::open(options)?;
    berth_engine::container::monitor_main(engine, &a.id, ready, a.wait_for_attach)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(dir: &std::path::Path) -> Engine {
        Engine::open(EngineOptions {
            root: dir.join("root"),
            runroot: dir.join("run"),
        })
        .unwrap()
    }

    #[test]
    fn a_monitor_reads_the_command_line_the_engine_starts_it_with() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path());
        for wait in [false, true] {
            let args = engine.monitor_args("abc123", wait);
            let (options, parsed) = MonitorArgs::from_launch(args.into_iter()).unwrap();
            assert_eq!(options.root, dir.path().join("root"));
            assert_eq!(options.runroot, dir.path().join("run"));
            assert_eq!(parsed.id, "abc123");
            assert_eq!(parsed.ready_fd, 3);
            assert_eq!(parsed.wait_for_attach, wait);
        }
    }

    #[test]
    fn any_other_command_line_is_left_to_clap() {
        let dir = tempfile::tempdir().unwrap();
        let mut args = engine(dir.path()).monitor_args("abc123", true);
        args.push("extra".into());
        assert!(MonitorArgs::from_launch(args.clone().into_iter()).is_none());
        args.truncate(5);
        assert!(MonitorArgs::from_launch(args.into_iter()).is_none());
        let ps = ["ps", "-a"].map(std::ffi::OsString::from);
        assert!(MonitorArgs::from_launch(ps.into_iter()).is_none());
    }
}
