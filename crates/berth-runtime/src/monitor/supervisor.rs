//! The monitor's event loop: one `poll` over the socket, its clients, the container's
//! output and input, its init's pidfd and SIGCHLD; timers for stop escalation and
//! restart delays.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant, SystemTime};

use rustix::event::{poll, PollFd, PollFlags, Timespec};

use super::clients::{Conn, Role};
use super::container::{delete_stopped, Read, Run, STDIN_LIMIT};
use super::hooks::{Decision, ExitInfo, MonitorHooks};
use super::isolated::Isolated;
use super::ready::{ReadyEvent, ReadyPipe};
use super::reaper::Reaper;
use super::MonitorConfig;
use crate::attach::{Input, MonitorState, Request, Response};
use crate::error::{Error, Result};
use crate::logs::{LogWriter, Stream};
use crate::process::ExitStatus;
use crate::runtime::Runtime;

/// Output is read in pieces of this size.
const READ_CHUNK: usize = 16 * 1024;
/// How long clients get, after the end, to take what is still queued for them.
const FAREWELL: Duration = Duration::from_secs(5);

pub(crate) struct Supervisor<'h> {
    config: MonitorConfig,
    runtime: Box<dyn Runtime>,
    /// The first start's network namespace, made ahead (see [`MonitorConfig::first_netns`]).
    netns: Option<OwnedFd>,
    hooks: &'h mut dyn MonitorHooks,
    listener: UnixListener,
    /// The socket file's identity (device, inode, change time) when bound: see [`Supervisor::remove_socket`].
    socket_file: Option<(u64, u64, i64, i64)>,
    conns: Vec<Conn>,
    log: LogWriter,
    /// Until the first start succeeded or failed.
    ready: Option<ReadyPipe>,
    reaper: Reaper,
    phase: Phase,
    /// The pty size to apply, also on restarts.
    size: Option<(u16, u16)>,
    /// The first client attached while waiting for one.
    start_requested: bool,
    /// An `auto_remove` container exited: its runtime state goes after the farewell.
    delete_after_farewell: bool,
    buf: Vec<u8>,
}

enum Phase {
    /// `wait_for_attach`: nothing created yet.
    AwaitingAttach,
    Running(Box<Run>),
    /// Exited; starts again at `until`.
    RestartDelay {
        until: Instant,
        last: ExitInfo,
    },
    Done,
}

#[derive(Debug, Clone, Copy)]
enum Token {
    Listener,
    Reaper,
    Ready,
    Conn(usize),
    Output(usize),
    Stdin,
    Init,
}

impl<'h> Supervisor<'h> {
    pub(crate) fn run(
        config: MonitorConfig,
        hooks: &'h mut dyn MonitorHooks,
        ready: OwnedFd,
    ) -> Result<()> {
        let mut ready = ReadyPipe::new(ready)?;
        let (listener, log, reaper) = match open(&config) {
            Ok(parts) => parts,
            Err(err) => {
                ready.send(&ReadyEvent::Error {
                    code: err.docker_exit_code(),
                    message: err.to_string(),
                });
                hooks.start_failed(&err);
                hooks.finished();
                return Err(err);
            }
        };
        ready.send(&ReadyEvent::Listening {
            monitor_pid: rustix::process::getpid().as_raw_nonzero().get(),
        });
        // Made now, while the CLI finishes the rootfs and bundle; without it (an error) the
        // runtime makes the namespace itself, as for a restart.
        let netns = (config.first_netns
            && matches!(config.runtime, super::RuntimeChoice::Embedded { .. }))
        .then(|| crate::runtime::loopback::new_netns().ok())
        .flatten();
        let wait_for_attach = config.wait_for_attach;
        let socket_file = file_id(&config.socket_path);
        let mut supervisor = Supervisor {
            runtime: Box::new(Isolated::new(config.runtime.runtime())),
            netns,
            size: config.initial_size,
            config,
            hooks,
            socket_file,
            listener,
            conns: Vec::new(),
            log,
            ready: Some(ready),
            reaper,
            phase: Phase::AwaitingAttach,
            start_requested: false,
            delete_after_farewell: false,
            buf: vec![0; READ_CHUNK],
        };
        if !wait_for_attach {
            supervisor.start();
        }
        while !matches!(supervisor.phase, Phase::Done) {
            supervisor.turn()?;
        }
        supervisor.farewell();
        if supervisor.delete_after_farewell {
            delete_stopped(&*supervisor.runtime, &supervisor.config.id);
        }
        Ok(())
    }

    /// One poll and everything it reported.
    fn turn(&mut self) -> Result<()> {
        let timeout = self
            .next_deadline()
            .map(|at| at.saturating_duration_since(Instant::now()));
        for (token, events) in self.wait(timeout)? {
            self.dispatch(token, events);
        }
        self.on_timers();
        if self.start_requested && matches!(self.phase, Phase::AwaitingAttach) {
            self.start();
        }
        for conn in &mut self.conns {
            conn.flush();
        }
        self.conns.retain(|conn| !conn.dead);
        Ok(())
    }

    fn wait(&mut self, timeout: Option<Duration>) -> Result<Vec<(Token, PollFlags)>> {
        let interests = self.interests();
        let mut fds: Vec<PollFd<'_>> = interests
            .iter()
            .map(|(_, fd, events)| PollFd::from_borrowed_fd(*fd, *events))
            .collect();
        let timeout = timeout.map(|t| Timespec {
            tv_sec: t.as_secs() as i64,
            tv_nsec: i64::from(t.subsec_nanos()),
        });
        match poll(&mut fds, timeout.as_ref()) {
            Ok(_) => {}
            // A signal (SIGCHLD) came; the loop goes round again.
            Err(rustix::io::Errno::INTR) => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("polling", e.into())),
        }
        Ok(interests
            .iter()
            .zip(&fds)
            .filter(|(_, fd)| !fd.revents().is_empty())
            .map(|((token, _, _), fd)| (*token, fd.revents()))
            .collect())
    }

    fn interests(&self) -> Vec<(Token, BorrowedFd<'_>, PollFlags)> {
        let mut list = vec![
            (Token::Listener, self.listener.as_fd(), PollFlags::IN),
            (Token::Reaper, self.reaper.as_fd(), PollFlags::IN),
        ];
        if let (Phase::AwaitingAttach, Some(ready)) = (&self.phase, &self.ready) {
            // Reports POLLERR once the CLI closed its end.
            list.push((Token::Ready, ready.as_fd(), PollFlags::empty()));
        }
        let run = match &self.phase {
            Phase::Running(run) => Some(run),
            _ => None,
        };
        let stdin_full = run
            .and_then(|run| run.stdin.as_ref())
            .is_some_and(|stdin| stdin.pending.len() >= STDIN_LIMIT);
        for (index, conn) in self.conns.iter().enumerate() {
            let reading = match conn.role {
                Role::Handshake | Role::Waiting => true,
                Role::Attached(_) => !stdin_full,
                Role::Answered => false,
            };
            let mut events = PollFlags::empty();
            if reading {
                events |= PollFlags::IN;
            }
            if conn.has_unsent() {
                events |= PollFlags::OUT;
            }
            list.push((Token::Conn(index), conn.stream().as_fd(), events));
        }
        if let Some(run) = run {
            if !self.conns.iter().any(Conn::backlogged) {
                for (index, output) in run.outputs.iter().enumerate() {
                    if output.open {
                        list.push((Token::Output(index), output.fd.as_fd(), PollFlags::IN));
                    }
                }
            }
            if let Some(stdin) = run.stdin.as_ref().filter(|s| !s.pending.is_empty()) {
                list.push((Token::Stdin, stdin.fd.as_fd(), PollFlags::OUT));
            }
            list.push((Token::Init, run.init.as_fd(), PollFlags::IN));
        }
        list
    }

    fn dispatch(&mut self, token: Token, events: PollFlags) {
        match token {
            Token::Listener => self.accept(),
            Token::Reaper => {
                self.reaper.clear();
                let keep = match &self.phase {
                    Phase::Running(run) => Some(run.init.pid()),
                    _ => None,
                };
                self.reaper.reap_orphans(keep);
            }
            Token::Ready => {
                let attached = self
                    .conns
                    .iter()
                    .any(|conn| matches!(conn.role, Role::Attached(_)));
                if !attached && !self.start_requested {
                    self.abandon();
                }
            }
            Token::Conn(index) => {
                if events.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
                    self.receive(index);
                }
            }
            Token::Output(index) => self.read_output(index),
            Token::Stdin => {
                if let Phase::Running(run) = &mut self.phase {
                    run.write_stdin();
                }
            }
            Token::Init => self.on_exit(),
        }
    }

    fn accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => match Conn::new(stream) {
                    Ok(conn) => self.conns.push(conn),
                    Err(err) => tracing::warn!(%err, "dropping a client"),
                },
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    fn receive(&mut self, index: usize) {
        self.conns[index].receive(&mut self.buf);
        match self.conns[index].role {
            Role::Handshake => {
                if let Some(request) = self.conns[index].take_request() {
                    self.on_request(index, request);
                }
            }
            Role::Attached(_) => {
                while let Some(input) = self.conns[index].take_input() {
                    self.on_input(index, input);
                }
                if let Phase::Running(run) = &mut self.phase {
                    run.write_stdin();
                }
            }
            Role::Waiting | Role::Answered => {}
        }
    }

    fn on_request(&mut self, index: usize, request: Request) {
        match request {
            Request::Attach(streams) => {
                let refusal = match self.phase {
                    Phase::AwaitingAttach => {
                        self.start_requested = true;
                        None
                    }
                    Phase::Running(_) => None,
                    Phase::RestartDelay { .. } => Some(
                        "You cannot attach to a restarting container, wait until it is running",
                    ),
                    Phase::Done => Some("You cannot attach to a stopped container, start it first"),
                };
                let conn = &mut self.conns[index];
                match refusal {
                    None => {
                        conn.respond(&Response::Ok);
                        conn.role = Role::Attached(streams);
                    }
                    Some(message) => conn.answer(&error(message.into())),
                }
            }
            Request::Stop { timeout, signal } => self.stop(index, timeout, signal),
            Request::Kill { signal } => self.kill(index, signal),
            Request::Resize { rows, cols } => {
                self.size = Some((rows, cols));
                let result = match &self.phase {
                    Phase::Running(run) => run.resize(rows, cols),
                    _ => Ok(()),
                };
                self.conns[index].answer(&answer_of(result));
            }
            Request::Pause => self.freeze(index, true),
            Request::Resume => self.freeze(index, false),
            Request::Wait => match &self.phase {
                Phase::AwaitingAttach | Phase::Running(_) => self.conns[index].role = Role::Waiting,
                Phase::RestartDelay { last, .. } => {
                    let answer = exited(last.code, last.oom_killed);
                    self.conns[index].answer(&answer);
                }
                Phase::Done => self.conns[index].answer(&error("the container has exited".into())),
            },
            Request::Ping => {
                let (pid, state) = match &self.phase {
                    Phase::AwaitingAttach => (None, MonitorState::Created),
                    Phase::Running(run) if run.paused => {
                        (Some(run.init.pid()), MonitorState::Paused)
                    }
                    Phase::Running(run) => (Some(run.init.pid()), MonitorState::Running),
                    Phase::RestartDelay { .. } => (None, MonitorState::Restarting),
                    Phase::Done => (None, MonitorState::Exited),
                };
                self.conns[index].answer(&Response::Pong { pid, state });
            }
        }
    }

    fn on_input(&mut self, index: usize, input: Input) {
        let Role::Attached(streams) = self.conns[index].role else {
            return;
        };
        match input {
            Input::Stdin(data) => {
                if let (true, Phase::Running(run)) = (streams.stdin, &mut self.phase) {
                    if let Some(stdin) = &mut run.stdin {
                        stdin.pending.extend_from_slice(&data);
                    }
                }
            }
            Input::StdinEof => {
                // With a pty there is no stdin of its own to close; Docker leaves it open.
                let close = streams.stdin && self.config.stdin_once && !self.config.terminal;
                if let (true, Phase::Running(run)) = (close, &mut self.phase) {
                    if let Some(stdin) = &mut run.stdin {
                        stdin.close_when_flushed = true;
                    }
                }
            }
            Input::Resize { rows, cols } => {
                self.size = Some((rows, cols));
                if let Phase::Running(run) = &self.phase {
                    let _ = run.resize(rows, cols);
                }
            }
            Input::Detach => self.conns[index].dead = true,
        }
    }

    /// Docker's stop: the stop signal, SIGKILL after the timeout; answered at the exit.
    fn stop(&mut self, index: usize, timeout: Duration, signal: i32) {
        match &mut self.phase {
            Phase::Running(run) => {
                run.manually_stopped = true;
                let signal = if timeout.is_zero() {
                    libc::SIGKILL
                } else {
                    signal
                };
                if run.paused {
                    // A frozen process cannot act on the signal. Thawed first, because
                    // libcontainer records any killed container as stopped, and then
                    // refuses to resume it.
                    let _ = self.runtime.resume(&self.config.id);
                    run.paused = false;
                }
                // A failure means the init is already gone; its exit is on the way.
                let _ = self
                    .runtime
                    .kill(&self.config.id, signal, signal == libc::SIGKILL);
                if signal != libc::SIGKILL {
                    let at = Instant::now() + timeout;
                    run.kill_at = Some(run.kill_at.map_or(at, |earlier| earlier.min(at)));
                }
                self.conns[index].role = Role::Waiting;
            }
            Phase::RestartDelay { last, .. } => {
                let last = last.clone();
                self.conns[index].answer(&exited(last.code, last.oom_killed));
                self.cancel_restart(&last);
            }
            // Nothing runs yet: nothing to stop.
            Phase::AwaitingAttach => self.conns[index].answer(&Response::Ok),
            Phase::Done => self.conns[index].answer(&error("the container has exited".into())),
        }
    }

    /// Docker's kill: the signal to the init; the container counts as stopped by hand.
    fn kill(&mut self, index: usize, signal: i32) {
        let not_running = || error(format!("container {} is not running", self.config.id));
        match &mut self.phase {
            Phase::Running(run) => {
                run.manually_stopped = true;
                if signal == libc::SIGKILL && run.paused {
                    // As for stop: thawed first, so that the container can die.
                    let _ = self.runtime.resume(&self.config.id);
                    run.paused = false;
                }
                let result = self.runtime.kill(&self.config.id, signal, false);
                self.conns[index].answer(&answer_of(result));
            }
            Phase::RestartDelay { last, .. } => {
                let last = last.clone();
                self.conns[index].answer(&Response::Ok);
                self.cancel_restart(&last);
            }
            Phase::AwaitingAttach | Phase::Done => {
                let answer = not_running();
                self.conns[index].answer(&answer);
            }
        }
    }

    fn freeze(&mut self, index: usize, pause: bool) {
        let answer = match &mut self.phase {
            Phase::Running(run) => {
                let result = if pause {
                    self.runtime.pause(&self.config.id)
                } else {
                    self.runtime.resume(&self.config.id)
                };
                if result.is_ok() {
                    run.paused = pause;
                }
                answer_of(result)
            }
            _ => error(format!("container {} is not running", self.config.id)),
        };
        self.conns[index].answer(&answer);
    }

    fn read_output(&mut self, index: usize) {
        let Phase::Running(run) = &mut self.phase else {
            return;
        };
        if let Read::Data(n) = run.read_output(index, &mut self.buf) {
            let stream = run.outputs[index].stream;
            deliver(&mut self.log, &mut self.conns, stream, &self.buf[..n]);
        }
    }

    /// The init's pidfd is readable: collect the status and end this run.
    fn on_exit(&mut self) {
        let Phase::Running(run) = &mut self.phase else {
            return;
        };
        let status = match run.exit_status() {
            Ok(Some(status)) => status,
            Ok(None) => return,
            Err(err) => {
                // Someone else reaped it; without a status, report a kill.
                tracing::warn!(%err, "the init's status is lost");
                ExitStatus::Signaled(libc::SIGKILL)
            }
        };
        // What the container wrote before it ended is in the pipes: take it all.
        for index in 0..run.outputs.len() {
            while let Read::Data(n) = run.read_output(index, &mut self.buf) {
                let stream = run.outputs[index].stream;
                deliver(&mut self.log, &mut self.conns, stream, &self.buf[..n]);
            }
        }
        if let Err(err) = self.log.flush_partial() {
            tracing::warn!(%err, "writing the log failed");
        }
        let Phase::Running(run) = std::mem::replace(&mut self.phase, Phase::Done) else {
            return;
        };
        let manually_stopped = run.manually_stopped;
        let oom_killed = run.oom_killed();
        // Deleting takes milliseconds (a cgroup per hierarchy, the runtime's files); a
        // container that is going away waits for it only once its clients are answered.
        // Any other may be started again as soon as `exited` records the exit, and a
        // new start needs the ID free in the runtime.
        if self.config.auto_remove {
            self.delete_after_farewell = true;
        } else {
            delete_stopped(&*self.runtime, &self.config.id);
        }
        drop(run);
        // The init's status is taken: now any exited child may be reaped.
        self.reaper.reap_orphans(None);
        let info = ExitInfo {
            code: status.code(),
            signal: match status {
                ExitStatus::Signaled(signal) => Some(signal),
                ExitStatus::Exited(_) => None,
            },
            oom_killed,
            finished_at: SystemTime::now(),
            manually_stopped,
        };
        match self.hooks.exited(&info) {
            Decision::Finish => self.finish(info.code, info.oom_killed, None),
            Decision::Restart { delay } => {
                if std::mem::take(&mut self.delete_after_farewell) {
                    delete_stopped(&*self.runtime, &self.config.id);
                }
                // As with Docker, an attached session ends with the run it attached to.
                self.tell_exit(info.code, info.oom_killed, None);
                self.phase = Phase::RestartDelay {
                    until: Instant::now() + delay,
                    last: info,
                };
            }
        }
    }

    fn start(&mut self) {
        self.start_requested = false;
        let restart = self.ready.is_none();
        if restart {
            // The head start `daemonize` gave the first create is long over.
            super::grace_period::start();
        }
        // The first start's rootfs and bundle are the starting CLI's work.
        let prepared = if restart {
            self.hooks.prepare()
        } else {
            Ok(())
        };
        // The namespace made ahead serves the first start only; the monitor lets it go after.
        let netns = self.netns.take();
        let joining = netns.as_ref().map(|fd| {
            let path = format!("/proc/{}/fd/{}", std::process::id(), fd.as_raw_fd());
            Isolated::new(self.config.runtime.runtime_joining_netns(path.into()))
        });
        let runtime: &dyn Runtime = match &joining {
            Some(joining) => joining,
            None => &*self.runtime,
        };
        let started = prepared.and_then(|()| Run::start(&self.config, runtime, self.size));
        drop(netns);
        let run = match started {
            Ok(run) => run,
            Err(err) => return self.start_failed(err),
        };
        let pid = run.init.pid();
        if let Err(err) = self.hooks.started(pid) {
            // A container the engine could not record must not run.
            run.discard(&*self.runtime, &self.config.id);
            return self.start_failed(err);
        }
        if let Some(mut ready) = self.ready.take() {
            ready.send(&ReadyEvent::Started { pid });
        }
        self.phase = Phase::Running(Box::new(run));
    }

    fn start_failed(&mut self, err: Error) {
        let code = err.docker_exit_code();
        let message = err.to_string();
        if let Some(mut ready) = self.ready.take() {
            ready.send(&ReadyEvent::Error {
                code,
                message: message.clone(),
            });
        }
        self.hooks.start_failed(&err);
        self.finish(code, false, Some(&message));
    }

    fn cancel_restart(&mut self, last: &ExitInfo) {
        self.hooks.restart_cancelled();
        self.finish(last.code, last.oom_killed, None);
    }

    /// The end: the engine's last hook, then clients learn the exit. The socket's name
    /// goes first, so a new monitor for the same container can bind it at once.
    fn finish(&mut self, code: i32, oom_killed: bool, start_error: Option<&str>) {
        self.hooks.finished();
        self.remove_socket();
        self.tell_exit(code, oom_killed, start_error);
        self.phase = Phase::Done;
    }

    fn tell_exit(&mut self, code: i32, oom_killed: bool, start_error: Option<&str>) {
        for conn in &mut self.conns {
            match conn.role {
                Role::Attached(_) => conn.exit(code, start_error),
                Role::Waiting => conn.answer(&exited(code, oom_killed)),
                Role::Handshake | Role::Answered => {}
            }
        }
    }

    /// The CLI went away before it attached: nothing was started, and nobody is going
    /// to attach. The monitor ends without calling hooks; the container stays created.
    fn abandon(&mut self) {
        self.ready = None;
        self.remove_socket();
        self.phase = Phase::Done;
    }

    fn on_timers(&mut self) {
        let now = Instant::now();
        if let Phase::Running(run) = &mut self.phase {
            if run.settle_at.is_some_and(|at| at <= now) {
                run.settle_at = None;
                self.hooks.settled();
            }
        }
        match &mut self.phase {
            Phase::Running(run) if run.kill_at.is_some_and(|at| at <= now) => {
                run.kill_at = None;
                let _ = self.runtime.kill(&self.config.id, libc::SIGKILL, true);
            }
            Phase::RestartDelay { until, .. } if *until <= now => self.start(),
            _ => {}
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        match &self.phase {
            Phase::Running(run) => [run.kill_at, run.settle_at].into_iter().flatten().min(),
            Phase::RestartDelay { until, .. } => Some(*until),
            Phase::AwaitingAttach | Phase::Done => None,
        }
    }

    /// Gives clients a last chance to take their exit frames and answers.
    fn farewell(&mut self) {
        let deadline = Instant::now() + FAREWELL;
        loop {
            for conn in &mut self.conns {
                conn.flush();
            }
            self.conns.retain(|conn| !conn.dead && conn.has_unsent());
            let left = deadline.saturating_duration_since(Instant::now());
            if self.conns.is_empty() || left.is_zero() {
                break;
            }
            let mut fds: Vec<PollFd<'_>> = self
                .conns
                .iter()
                .map(|conn| PollFd::new(conn.stream(), PollFlags::OUT))
                .collect();
            let timeout = Timespec {
                tv_sec: left.as_secs() as i64,
                tv_nsec: i64::from(left.subsec_nanos()),
            };
            let _ = poll(&mut fds, Some(&timeout));
        }
        self.conns.clear();
        self.reaper.reap_orphans(None);
    }
}

impl Supervisor<'_> {
    /// Removes the socket's name, unless the name is no longer this monitor's: once the
    /// container's exit is recorded, a new `start` may launch the container's next monitor,
    /// which binds the name anew while this one is still finishing.
    fn remove_socket(&self) {
        let path = &self.config.socket_path;
        if self.socket_file.is_some() && file_id(path) == self.socket_file && self.listens_at(path)
        {
            let _ = std::fs::remove_file(path);
        }
    }

    /// Whether a connection to `path` reaches this monitor's listener. A file's identity
    /// cannot settle it: a freed inode number goes at once to a name bound anew, and the
    /// change time comes from a coarse clock, so both may match a socket that is not ours.
    /// Clients queued before the probe are told apart by their pid (ours is the probe's).
    fn listens_at(&self, path: &std::path::Path) -> bool {
        let Ok(_probe) = crate::sockpath::connect(path) else {
            return false;
        };
        let me = rustix::process::getpid();
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    let pid = rustix::net::sockopt::socket_peercred(&stream).map(|c| c.pid);
                    if pid.is_ok_and(|pid| pid == me) {
                        return true;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
    }
}

/// A file's identity: the inode number alone may be reused at once for a name bound anew,
/// the change time (in nanoseconds) then tells the two apart.
fn file_id(path: &std::path::Path) -> Option<(u64, u64, i64, i64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path)
        .ok()
        .map(|m| (m.dev(), m.ino(), m.ctime(), m.ctime_nsec()))
}

/// Binds the socket (replacing a stale one), opens the log, watches SIGCHLD.
fn open(config: &MonitorConfig) -> Result<(UnixListener, LogWriter, Reaper)> {
    let path = &config.socket_path;
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(Error::io(format!("removing {}", path.display()), e))
        }
        _ => {}
    }
    let listener = crate::sockpath::bind(path)
        .map_err(|e| Error::io(format!("binding {}", path.display()), e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| Error::io("making the socket non-blocking", e))?;
    let log = LogWriter::open(&config.log_path)?;
    let reaper = Reaper::install()?;
    Ok((listener, log, reaper))
}

/// Output goes to the log and to every attached client that asked for its stream.
fn deliver(log: &mut LogWriter, conns: &mut [Conn], stream: Stream, data: &[u8]) {
    if let Err(err) = log.write(stream, data) {
        tracing::warn!(%err, "writing the log failed");
    }
    for conn in conns {
        conn.output(stream, data);
    }
}

fn error(message: String) -> Response {
    Response::Error { message }
}

fn exited(code: i32, oom_killed: bool) -> Response {
    Response::Exited { code, oom_killed }
}

fn answer_of(result: Result<()>) -> Response {
    match result {
        Ok(()) => Response::Ok,
        Err(err) => error(err.to_string()),
    }
}
