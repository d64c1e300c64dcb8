//! `exec`: run a command in a running container. berth is the new process's parent: its
//! stdio are ours, or a pty we pump to our terminal with `-t`.

use std::io::{IsTerminal, Read, Write};
use std::os::fd::{AsFd, OwnedFd};

use berth_engine::container::{ExecOptions, ExecStdio};
use berth_engine::{Engine, EngineError};
use clap::Args;
use rustix::event::{poll, PollFd, PollFlags};

use super::session::{winch_pipe, RawMode};
use super::{flags, CliError};

#[derive(Args)]
pub struct ExecArgs {
    /// Detached mode: run command in the background
    #[arg(short, long)]
    detach: bool,
    /// Override the key sequence for detaching a container
    #[arg(long)]
    detach_keys: Option<String>,
    /// Set environment variables
    #[arg(short, long = "env")]
    env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file")]
    env_file: Vec<String>,
    /// Keep STDIN open even if not attached
    #[arg(short, long)]
    interactive: bool,
    /// Give extended privileges to the command
    #[arg(long)]
    privileged: bool,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    tty: bool,
    /// Username or UID (format: "<name|uid>[:<group|gid>]")
    #[arg(short, long)]
    user: Option<String>,
    /// Working directory inside the container
    #[arg(short, long)]
    workdir: Option<String>,
    container: String,
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

pub fn exec(a: ExecArgs, engine: &Engine) -> Result<(), CliError> {
    let mut env = Vec::new();
    for f in &a.env_file {
        env.extend(flags::env_file(f)?);
    }
    env.extend(flags::env_values(&a.env));
    let opts = ExecOptions {
        cmd: a.command.clone(),
        env,
        workdir: a.workdir.clone(),
        user: a.user.clone(),
        tty: a.tty && !a.detach,
        privileged: a.privileged,
    };
    let stdio = if a.detach {
        ExecStdio::Fds {
            stdin: null()?,
            stdout: null()?,
            stderr: null()?,
        }
    } else if opts.tty {
        ExecStdio::Pty
    } else {
        ExecStdio::Fds {
            stdin: if a.interactive {
                dup(std::io::stdin().as_fd())?
            } else {
                null()?
            },
            stdout: dup(std::io::stdout().as_fd())?,
            stderr: dup(std::io::stderr().as_fd())?,
        }
    };
    let exec = engine
        .exec(&a.container, &opts, stdio)
        .map_err(|e| match e {
            EngineError::Start { code, message } => CliError {
                message: format!("OCI runtime exec failed: {message}"),
                code: code.clamp(0, 255) as u8,
            },
            other => other.into(),
        })?;
    if a.detach {
        return Ok(());
    }
    let _forwarder = (!opts.tty).then(|| forward_signals(exec.pid));
    if let Some(master) = &exec.pty {
        pump_pty(master, a.interactive)?;
    }
    let code = exec.wait()?;
    if code == 0 {
        Ok(())
    } else {
        Err(CliError::status(code.clamp(0, 255) as u8))
    }
}

fn null() -> Result<OwnedFd, CliError> {
    Ok(std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?
        .into())
}

fn dup(fd: std::os::fd::BorrowedFd<'_>) -> Result<OwnedFd, CliError> {
    Ok(fd.try_clone_to_owned()?)
}

/// Copies our terminal to the pty and back until the process closes it.
fn pump_pty(master: &OwnedFd, interactive: bool) -> Result<(), CliError> {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let _raw = (interactive && stdin.is_terminal())
        .then(|| RawMode::enter(stdin.as_fd()))
        .flatten();
    if stdout.is_terminal() {
        if let Ok(ws) = rustix::termios::tcgetwinsize(stdout.as_fd()) {
            let _ = berth_engine::runtime::set_window_size(master, ws.ws_row, ws.ws_col);
        }
    }
    let winch = stdout
        .is_terminal()
        .then(|| winch_pipe(stdout.as_fd()))
        .flatten();
    let mut master_file = std::fs::File::from(master.try_clone()?);
    let mut buf = vec![0u8; 32 * 1024];
    let mut stdin_open = interactive;
    loop {
        let mut fds = vec![PollFd::new(master, PollFlags::IN)];
        if stdin_open {
            fds.push(PollFd::new(&stdin, PollFlags::IN));
        }
        if let Some((sig, _)) = &winch {
            fds.push(PollFd::new(sig, PollFlags::IN));
        }
        match poll(&mut fds, None) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(CliError::from(std::io::Error::from(e))),
        }
        let master_ready = !fds[0].revents().is_empty();
        let stdin_ready = stdin_open && !fds[1].revents().is_empty();
        let winch_ready = winch.is_some() && !fds[fds.len() - 1].revents().is_empty();
        if master_ready {
            match master_file.read(&mut buf) {
                // EIO: the last process holding the pty's other side is gone.
                Ok(0) | Err(_) => return Ok(()),
                Ok(n) => {
                    let mut out = stdout.lock();
                    out.write_all(&buf[..n])?;
                    out.flush()?;
                }
            }
        }
        if stdin_ready {
            match stdin.lock().read(&mut buf) {
                Ok(0) | Err(_) => stdin_open = false,
                Ok(n) => master_file.write_all(&buf[..n])?,
            }
        }
        if winch_ready {
            if let Some((sig, tty)) = &winch {
                let mut drain = [0u8; 64];
                let _ = rustix::io::read(sig, &mut drain);
                if let Ok(ws) = rustix::termios::tcgetwinsize(tty) {
                    let _ = berth_engine::runtime::set_window_size(master, ws.ws_row, ws.ws_col);
                }
            }
        }
    }
}

/// Sends the signals berth gets to the exec'd process (Ctrl-C ends it).
fn forward_signals(pid: i32) -> Option<signal_hook::iterator::Handle> {
    let mut signals = signal_hook::iterator::Signals::new([
        libc::SIGINT,
        libc::SIGTERM,
        libc::SIGHUP,
        libc::SIGQUIT,
    ])
    .ok()?;
    let handle = signals.handle();
    std::thread::spawn(move || {
        for sig in signals.forever() {
            if let (Some(p), Some(s)) = (
                rustix::process::Pid::from_raw(pid),
                rustix::process::Signal::from_named_raw(sig),
            ) {
                let _ = rustix::process::kill_process(p, s);
            }
        }
    });
    Some(handle)
}
