//! The monitor as the engine runs it: this test binary plays the engine. Each test
//! re-executes it as `monitor_process` (an ignored test that only acts when told to),
//! which daemonizes and runs the monitor with hooks that write what they are told to a
//! file; the test then acts as the CLI: it reads the readiness pipe, attaches, sends
//! requests, and reads the log. Needs root, cgroups, busybox-static and runc.

mod support;

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use berth_runtime::attach::{
    request, AttachClient, Frame, MonitorState, PumpEnd, Request, Response, Streams,
};
use berth_runtime::logs::{read_logs, LogOptions, Stream};
use berth_runtime::monitor::{
    self, Decision, ExitInfo, MonitorConfig, MonitorHooks, ReadyEvent, ReadyReader, RuntimeChoice,
};
use berth_runtime::spec::{NamespaceMode, Resources};
use berth_runtime::ContainerSpec;
use serde::{Deserialize, Serialize};
use support::{new_id, Workdir};

const PLAN_VAR: &str = "BERTH_TEST_MONITOR_PLAN";
const READY_VAR: &str = "BERTH_TEST_MONITOR_READY_FD";
const RUNC: &str = "/usr/sbin/runc";
/// How long anything may take before a test gives up (a bound for failures, not a
/// measure of speed).
const PATIENCE: Duration = Duration::from_secs(60);

/// What the monitor process is to do: its config and how its hooks answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Plan {
    id: String,
    bundle: PathBuf,
    runc: bool,
    state_dir: PathBuf,
    terminal: bool,
    open_stdin: bool,
    stdin_once: bool,
    log_path: PathBuf,
    socket_path: PathBuf,
    wait_for_attach: bool,
    initial_size: Option<(u16, u16)>,
    /// Where the hooks write one line per call.
    events_path: PathBuf,
    /// How many exits the hooks answer with a restart, after how long.
    restarts: u32,
    restart_delay: Duration,
    auto_remove: bool,
    /// The hooks note at each exit whether the runtime still has the container.
    note_runtime_state: bool,
}

impl Plan {
    fn new(work: &Workdir, spec: &ContainerSpec, id: &str) -> Self {
        let dir = work.dir.path();
        Self {
            id: id.to_string(),
            bundle: work.bundle(spec),
            runc: false,
            state_dir: work.state_dir(),
            terminal: spec.terminal,
            open_stdin: false,
            stdin_once: false,
            log_path: dir.join("container-json.log"),
            socket_path: dir.join("monitor.sock"),
            wait_for_attach: false,
            initial_size: None,
            events_path: dir.join("hooks"),
            restarts: 0,
            restart_delay: Duration::from_millis(10),
            auto_remove: false,
            note_runtime_state: false,
        }
    }

    fn config(&self) -> MonitorConfig {
        let runtime = if self.runc {
            RuntimeChoice::Binary {
                path: RUNC.into(),
                state_dir: self.state_dir.clone(),
            }
        } else {
            RuntimeChoice::Embedded {
                state_dir: self.state_dir.clone(),
            }
        };
        MonitorConfig {
            id: self.id.clone(),
            bundle: self.bundle.clone(),
            runtime,
            terminal: self.terminal,
            open_stdin: self.open_stdin,
            stdin_once: self.stdin_once,
            log_path: self.log_path.clone(),
            socket_path: self.socket_path.clone(),
            wait_for_attach: self.wait_for_attach,
            initial_size: self.initial_size,
            auto_remove: self.auto_remove,
            first_netns: false,
        }
    }
}

/// The engine's hooks, reduced to a diary.
struct DiaryHooks {
    diary: File,
    restarts_left: u32,
    restart_delay: Duration,
    /// The runtime's directory of the container, when its presence is to be noted.
    runtime_state: Option<PathBuf>,
}

impl DiaryHooks {
    fn note(&mut self, line: String) {
        let _ = writeln!(self.diary, "{line}");
    }
}

impl MonitorHooks for DiaryHooks {
    fn prepare(&mut self) -> berth_runtime::Result<()> {
        self.note("prepare".into());
        Ok(())
    }

    fn started(&mut self, pid: i32) -> berth_runtime::Result<()> {
        self.note(format!("started {pid}"));
        Ok(())
    }

    fn start_failed(&mut self, error: &berth_runtime::Error) {
        self.note(format!("start_failed {} {error}", error.docker_exit_code()));
    }

    fn exited(&mut self, exit: &ExitInfo) -> Decision {
        self.note(format!(
            "exited code={} signal={:?} oom={} manual={}",
            exit.code, exit.signal, exit.oom_killed, exit.manually_stopped
        ));
        if let Some(dir) = &self.runtime_state {
            let kept = if dir.exists() { "kept" } else { "gone" };
            self.note(format!("runtime state {kept}"));
        }
        if self.restarts_left > 0 {
            self.restarts_left -= 1;
            Decision::Restart {
                delay: self.restart_delay,
            }
        } else {
            Decision::Finish
        }
    }

    fn restart_cancelled(&mut self) {
        self.note("restart_cancelled".into());
    }

    fn finished(&mut self) {
        self.note("finished".into());
    }
}

/// The engine's side: runs only when a test launched this binary for it.
#[test]
#[ignore = "the monitor process of the other tests; does nothing when run alone"]
fn monitor_process() {
    let (Ok(plan), Ok(ready_fd)) = (std::env::var(PLAN_VAR), std::env::var(READY_VAR)) else {
        return;
    };
    let plan: Plan = serde_json::from_str(&plan).expect("plan");
    let ready_fd: i32 = ready_fd.parse().expect("ready fd");
    // SAFETY: the launching test made this fd inheritable for this process alone and
    // nothing else here owns it.
    let ready = unsafe { OwnedFd::from_raw_fd(ready_fd) };
    // The harness's main thread idles in a channel receive, holding no lock the forked
    // child needs; the child then has this thread alone.
    monitor::daemonize().expect("daemonize");
    let mut hooks = DiaryHooks {
        diary: File::options()
            .create(true)
            .append(true)
            .open(&plan.events_path)
            .expect("diary"),
        restarts_left: plan.restarts,
        restart_delay: plan.restart_delay,
        runtime_state: plan
            .note_runtime_state
            .then(|| plan.state_dir.join(&plan.id)),
    };
    let result = monitor::run(plan.config(), &mut hooks, ready);
    hooks.note(format!(
        "run returned {}",
        if result.is_ok() { "ok" } else { "err" }
    ));
    // SAFETY: ends this detached copy of the test binary without returning into the
    // test harness, whose other threads do not exist in it.
    unsafe { libc::_exit(0) }
}

/// A launched monitor, as the CLI knows it.
struct Launched {
    plan: Plan,
    /// The CLI's end of the readiness pipe, until it lets go of it.
    ready: Option<ReadyReader>,
    monitor_pid: i32,
    reaped: bool,
}

impl Launched {
    /// Starts the monitor process for `plan` and reads its `listening` event.
    fn start(plan: Plan) -> Self {
        // The daemonized monitor is re-parented to this process, which then reaps it.
        berth_runtime::become_subreaper().expect("subreaper");
        let (read, write) =
            rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).expect("pipe");
        let write_fd = write.as_raw_fd();
        let mut command = Command::new(std::env::current_exe().expect("test binary"));
        command
            .args(["--exact", "monitor_process", "--ignored", "--nocapture"])
            .env(PLAN_VAR, serde_json::to_string(&plan).expect("plan json"))
            .env(READY_VAR, write_fd.to_string());
        // SAFETY: fcntl(2) in the forked child before exec, on an fd it holds.
        unsafe {
            command.pre_exec(move || {
                if libc::fcntl(write_fd, libc::F_SETFD, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let status = command.status().expect("launch the monitor");
        drop(write);
        assert!(status.success(), "the launcher exits 0 at once: {status}");
        let mut ready = ReadyReader::new(read);
        let monitor_pid = match ready.next() {
            Some(Ok(ReadyEvent::Listening { monitor_pid })) => monitor_pid,
            other => panic!("expected listening first, got {other:?}"),
        };
        Self {
            plan,
            ready: Some(ready),
            monitor_pid,
            reaped: false,
        }
    }

    fn next_ready(&mut self) -> Option<ReadyEvent> {
        self.ready
            .as_mut()?
            .next()
            .map(|event| event.expect("readiness line"))
    }

    /// Waits until the hooks wrote a line starting with `prefix`.
    fn await_diary(&self, prefix: &str) {
        let deadline = Instant::now() + PATIENCE;
        while !self.diary().iter().any(|line| line.starts_with(prefix)) {
            assert!(
                Instant::now() < deadline,
                "no {prefix:?} in {:?}",
                self.diary()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn socket(&self) -> &Path {
        &self.plan.socket_path
    }

    fn attach(&self, stdin: bool) -> AttachClient {
        AttachClient::connect(
            self.socket(),
            Streams {
                stdin,
                stdout: true,
                stderr: true,
            },
        )
        .expect("attach")
    }

    /// Waits for the monitor to end, and returns what its hooks wrote.
    fn finish(&mut self) -> Vec<String> {
        let pid = rustix::process::Pid::from_raw(self.monitor_pid).expect("pid");
        let deadline = Instant::now() + PATIENCE;
        loop {
            match rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::NOHANG) {
                Ok(Some(_)) => break,
                Ok(None) => {
                    assert!(Instant::now() < deadline, "the monitor did not end");
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(err) => panic!("waiting for the monitor: {err}"),
            }
        }
        self.reaped = true;
        self.diary()
    }

    fn diary(&self) -> Vec<String> {
        std::fs::read_to_string(&self.plan.events_path)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn log_entries(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.plan.log_path)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON log line"))
            .collect()
    }

    /// Waits until the log holds an entry with `text`.
    fn await_log(&self, text: &str) {
        let deadline = Instant::now() + PATIENCE;
        while !self
            .log_entries()
            .iter()
            .any(|e| e["log"].as_str().unwrap_or("").contains(text))
        {
            assert!(Instant::now() < deadline, "no {text:?} in the log");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Launched {
    /// A failed test must not leave its container running.
    fn drop(&mut self) {
        if !self.reaped {
            let _ = request(
                self.socket(),
                Request::Stop {
                    timeout: Duration::ZERO,
                    signal: libc::SIGKILL,
                },
            );
            if let Some(pid) = rustix::process::Pid::from_raw(self.monitor_pid) {
                let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
            }
        }
    }
}

/// A file to pump output into, read back as text.
struct Sink {
    file: File,
    path: PathBuf,
}

impl Sink {
    fn new(dir: &Path, name: &str) -> Self {
        let path = dir.join(name);
        Self {
            file: File::create(&path).expect("sink"),
            path,
        }
    }

    fn text(&self) -> String {
        std::fs::read_to_string(&self.path).expect("sink text")
    }
}

fn container(work: &Workdir, id: &str, args: &[&str]) -> ContainerSpec {
    work.spec(id, args)
}

/// The time format of json-file: RFC 3339, UTC, up to nine fraction digits.
fn is_log_time(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| bytes[range].iter().all(u8::is_ascii_digit);
    text.len() >= 20
        && digits(0..4)
        && bytes[4] == b'-'
        && bytes[10] == b'T'
        && text.ends_with('Z')
        && match text[19..text.len() - 1].strip_prefix('.') {
            None => text.len() == 20,
            Some(fraction) => {
                (1..=9).contains(&fraction.len()) && fraction.bytes().all(|b| b.is_ascii_digit())
            }
        }
}

fn output_reaches_the_log_and_the_attached_client(runc: bool) {
    let work = Workdir::new();
    let id = new_id();
    let spec = container(&work, &id, &["sh", "-c", "echo hi; echo oops >&2; exit 3"]);
    let mut plan = Plan::new(&work, &spec, &id);
    plan.runc = runc;
    plan.wait_for_attach = true;
    let mut monitor = Launched::start(plan);

    // `run` without -d: attach before the container exists, so nothing is lost.
    let mut client = monitor.attach(false);
    let started = monitor.next_ready();
    assert!(
        matches!(started, Some(ReadyEvent::Started { .. })),
        "{started:?}"
    );
    assert_eq!(
        monitor.next_ready(),
        None,
        "the pipe closes after the start"
    );
    let (out, err) = (
        Sink::new(work.dir.path(), "out"),
        Sink::new(work.dir.path(), "err"),
    );
    let end = client
        .pump(None, out.file.as_fd(), err.file.as_fd(), None)
        .expect("pump");
    assert_eq!(end, PumpEnd::Exited(3));
    assert_eq!(out.text(), "hi\n");
    assert_eq!(err.text(), "oops\n");

    // No `prepare` before the first start: the starting CLI mounted and wrote the bundle.
    let diary = monitor.finish();
    assert!(diary[0].starts_with("started "), "{diary:?}");
    assert_eq!(
        diary[1..],
        [
            "exited code=3 signal=None oom=false manual=false",
            "finished",
            "run returned ok"
        ]
    );

    let raw = std::fs::read_to_string(&monitor.plan.log_path).expect("log");
    let mut lines = raw.lines();
    for (log, stream) in [("hi\\n", "stdout"), ("oops\\n", "stderr")] {
        let line = lines.next().expect("a log line");
        let prefix = format!(r#"{{"log":"{log}","stream":"{stream}","time":""#);
        let time = line
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix("\"}"))
            .unwrap_or_else(|| panic!("not Docker's format: {line}"));
        assert!(is_log_time(time), "bad time in {line}");
    }
    assert_eq!(lines.next(), None);
    assert!(
        !monitor.socket().exists(),
        "the socket is removed at the end"
    );
}

#[test]
fn output_reaches_the_log_and_the_attached_client_embedded() {
    output_reaches_the_log_and_the_attached_client(false);
}

#[test]
fn output_reaches_the_log_and_the_attached_client_runc() {
    output_reaches_the_log_and_the_attached_client(true);
}

fn stop_escalates_to_sigkill(runc: bool) {
    let work = Workdir::new();
    let id = new_id();
    let script = "trap '' TERM; echo ready; while true; do sleep 1; done";
    let spec = container(&work, &id, &["sh", "-c", script]);
    let mut plan = Plan::new(&work, &spec, &id);
    plan.runc = runc;
    let mut monitor = Launched::start(plan);
    assert!(matches!(
        monitor.next_ready(),
        Some(ReadyEvent::Started { .. })
    ));
    monitor.await_log("ready");

    let answer = request(
        monitor.socket(),
        Request::Stop {
            timeout: Duration::from_millis(300),
            signal: libc::SIGTERM,
        },
    )
    .expect("stop");
    assert_eq!(
        answer,
        Response::Exited {
            code: 137,
            oom_killed: false
        }
    );
    let diary = monitor.finish();
    assert!(
        diary.contains(&"exited code=137 signal=Some(9) oom=false manual=true".to_string()),
        "{diary:?}"
    );
}

#[test]
fn stop_escalates_to_sigkill_for_a_command_ignoring_sigterm_embedded() {
    stop_escalates_to_sigkill(false);
}

#[test]
fn stop_escalates_to_sigkill_for_a_command_ignoring_sigterm_runc() {
    stop_escalates_to_sigkill(true);
}

#[test]
fn stop_sends_the_stop_signal_first() {
    let work = Workdir::new();
    let id = new_id();
    let script = "trap 'echo bye; exit 42' TERM; echo ready; while true; do sleep 1; done";
    let spec = container(&work, &id, &["sh", "-c", script]);
    let mut monitor = Launched::start(Plan::new(&work, &spec, &id));
    monitor.await_log("ready");
    let answer = request(
        monitor.socket(),
        Request::Stop {
            timeout: Duration::from_secs(30),
            signal: libc::SIGTERM,
        },
    )
    .expect("stop");
    assert_eq!(
        answer,
        Response::Exited {
            code: 42,
            oom_killed: false
        }
    );
    monitor.finish();
    assert!(monitor.log_entries().iter().any(|e| e["log"] == "bye\n"));
}

#[test]
fn stdin_through_attach_reaches_cat() {
    let work = Workdir::new();
    let id = new_id();
    let spec = container(&work, &id, &["cat"]);
    let mut plan = Plan::new(&work, &spec, &id);
    plan.open_stdin = true;
    plan.stdin_once = true;
    plan.wait_for_attach = true;
    let mut monitor = Launched::start(plan);
    let mut client = monitor.attach(true);
    assert!(matches!(
        monitor.next_ready(),
        Some(ReadyEvent::Started { .. })
    ));

    // The user's input: two lines, then EOF (the end of a pipe into `berth run -i`).
    let (input_r, input_w) = rustix::pipe::pipe().expect("pipe");
    let mut input_w = File::from(input_w);
    input_w.write_all(b"hello\nworld\n").expect("input");
    drop(input_w);
    let out = Sink::new(work.dir.path(), "out");
    let err = Sink::new(work.dir.path(), "err");
    let end = client
        .pump(
            Some(input_r.as_fd()),
            out.file.as_fd(),
            err.file.as_fd(),
            None,
        )
        .expect("pump");
    // stdin_once: the client's EOF closed cat's stdin, so cat ended by itself.
    assert_eq!(end, PumpEnd::Exited(0));
    assert_eq!(out.text(), "hello\nworld\n");
    monitor.finish();
}

#[test]
fn tty_has_a_pty_with_the_initial_size_then_a_resize() {
    let work = Workdir::new();
    let id = new_id();
    let mut spec = container(
        &work,
        &id,
        &["sh", "-c", "tty; stty size; read line; stty size"],
    );
    spec.terminal = true;
    let mut plan = Plan::new(&work, &spec, &id);
    plan.open_stdin = true;
    plan.wait_for_attach = true;
    plan.initial_size = Some((30, 100));
    let mut monitor = Launched::start(plan);
    let mut client = monitor.attach(true);
    assert!(matches!(
        monitor.next_ready(),
        Some(ReadyEvent::Started { .. })
    ));

    let mut seen = Vec::new();
    let mut resized = false;
    let code = loop {
        match client.recv().expect("frame") {
            Some(Frame::Stdout(data)) => seen.extend_from_slice(&data),
            Some(Frame::Exit(code)) => break code,
            other => panic!("unexpected {other:?}"),
        }
        if !resized && String::from_utf8_lossy(&seen).contains("30 100\r\n") {
            client.resize(40, 120).expect("resize");
            client.send_stdin(b"go\r").expect("stdin");
            resized = true;
        }
    };
    assert_eq!(code, 0);
    let text = String::from_utf8_lossy(&seen);
    assert!(text.starts_with("/dev/pts/0\r\n30 100\r\n"), "{text:?}");
    assert!(text.ends_with("40 120\r\n"), "{text:?}");
    // A tty's output is logged as stdout.
    let entries = monitor.log_entries();
    assert_eq!(entries[0]["log"], "/dev/pts/0\r\n");
    assert!(entries.iter().all(|e| e["stream"] == "stdout"));
    monitor.finish();
}

#[test]
fn detach_keys_end_the_session_but_not_the_container() {
    let work = Workdir::new();
    let id = new_id();
    let spec = container(&work, &id, &["cat"]);
    let mut plan = Plan::new(&work, &spec, &id);
    plan.open_stdin = true;
    plan.wait_for_attach = true;
    let mut monitor = Launched::start(plan);
    let mut first = monitor.attach(true);
    assert!(matches!(
        monitor.next_ready(),
        Some(ReadyEvent::Started { .. })
    ));

    // Typed: a line, then ctrl-p ctrl-q. The input stays open, as a terminal's does.
    let (input_r, input_w) = rustix::pipe::pipe().expect("pipe");
    let mut input_w = File::from(input_w);
    input_w
        .write_all(b"before detach\n\x10\x11")
        .expect("input");
    let out = Sink::new(work.dir.path(), "out");
    let end = first
        .pump(
            Some(input_r.as_fd()),
            out.file.as_fd(),
            out.file.as_fd(),
            None,
        )
        .expect("pump");
    assert_eq!(end, PumpEnd::Detached);
    drop(first);

    let pong = request(monitor.socket(), Request::Ping).expect("ping");
    assert!(
        matches!(
            pong,
            Response::Pong {
                state: MonitorState::Running,
                pid: Some(_)
            }
        ),
        "{pong:?}"
    );
    monitor.await_log("before detach");

    // Another client takes over the same container.
    let mut second = monitor.attach(true);
    second.send_stdin(b"after detach\n").expect("stdin");
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("after detach\n") {
        match second.recv().expect("frame") {
            Some(Frame::Stdout(data)) => seen.extend_from_slice(&data),
            other => panic!("unexpected {other:?}"),
        }
    }
    let answer = request(
        monitor.socket(),
        Request::Kill {
            signal: libc::SIGKILL,
        },
    )
    .expect("kill");
    assert_eq!(answer, Response::Ok);
    assert_eq!(second.recv().expect("frame"), Some(Frame::Exit(137)));
    monitor.finish();
    drop(input_w);
}

#[test]
fn missing_command_is_reported_with_127() {
    let work = Workdir::new();
    let id = new_id();
    let spec = container(&work, &id, &["no-such-command"]);
    let mut plan = Plan::new(&work, &spec, &id);
    plan.wait_for_attach = true;
    let mut monitor = Launched::start(plan);
    let mut client = monitor.attach(false);
    let message = "exec: \"no-such-command\": executable file not found in $PATH";
    assert_eq!(
        monitor.next_ready(),
        Some(ReadyEvent::Error {
            code: 127,
            message: message.into()
        })
    );
    let sink = Sink::new(work.dir.path(), "out");
    let end = client
        .pump(None, sink.file.as_fd(), sink.file.as_fd(), None)
        .expect("pump");
    assert_eq!(
        end,
        PumpEnd::Failed {
            code: 127,
            message: message.into()
        }
    );
    assert_eq!(
        monitor.finish(),
        [
            format!("start_failed 127 {message}"),
            "finished".into(),
            "run returned ok".into()
        ]
    );
}

#[test]
fn a_restart_runs_the_container_again_with_the_same_log() {
    let work = Workdir::new();
    let id = new_id();
    let spec = container(&work, &id, &["sh", "-c", "echo run; exit 1"]);
    let mut plan = Plan::new(&work, &spec, &id);
    plan.restarts = 2;
    let mut monitor = Launched::start(plan);
    let diary = monitor.finish();
    let exits = diary
        .iter()
        .filter(|l| l.starts_with("exited code=1 "))
        .count();
    let starts = diary.iter().filter(|l| l.starts_with("started ")).count();
    assert_eq!((starts, exits), (3, 3), "{diary:?}");
    // Each restart prepares again (the first start's preparation is the CLI's).
    let prepares = diary.iter().filter(|l| *l == "prepare").count();
    assert_eq!(prepares, 2, "{diary:?}");
    assert_eq!(diary.last().map(String::as_str), Some("run returned ok"));
    let runs: Vec<_> = monitor
        .log_entries()
        .into_iter()
        .map(|e| e["log"].clone())
        .collect();
    assert_eq!(runs, ["run\n", "run\n", "run\n"]);
}

#[test]
fn ping_pause_and_resume() {
    let work = Workdir::new();
    let id = new_id();
    let script = "trap 'exit 7' TERM; echo ready; while true; do sleep 1; done";
    let spec = container(&work, &id, &["sh", "-c", script]);
    let mut monitor = Launched::start(Plan::new(&work, &spec, &id));
    let Some(ReadyEvent::Started { pid }) = monitor.next_ready() else {
        panic!("not started");
    };
    monitor.await_log("ready");
    let ping = || request(monitor.socket(), Request::Ping).expect("ping");
    assert_eq!(
        ping(),
        Response::Pong {
            pid: Some(pid),
            state: MonitorState::Running
        }
    );
    assert_eq!(
        request(monitor.socket(), Request::Pause).expect("pause"),
        Response::Ok
    );
    assert_eq!(
        ping(),
        Response::Pong {
            pid: Some(pid),
            state: MonitorState::Paused
        }
    );
    assert_eq!(
        request(monitor.socket(), Request::Resume).expect("resume"),
        Response::Ok
    );
    assert_eq!(
        ping(),
        Response::Pong {
            pid: Some(pid),
            state: MonitorState::Running
        }
    );
    // A stop of a paused container thaws it, so the stop signal is handled.
    assert_eq!(
        request(monitor.socket(), Request::Pause).expect("pause"),
        Response::Ok
    );
    let answer = request(
        monitor.socket(),
        Request::Stop {
            timeout: Duration::from_secs(30),
            signal: libc::SIGTERM,
        },
    )
    .expect("stop");
    assert_eq!(
        answer,
        Response::Exited {
            code: 7,
            oom_killed: false
        }
    );
    monitor.finish();
}

/// The monitor's children that are zombies.
fn zombie_children(pid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let child: i32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let (_, tail) = stat.rsplit_once(')')?;
            let mut fields = tail.split_whitespace();
            let state = fields.next()?;
            let ppid: i32 = fields.next()?.parse().ok()?;
            (ppid == pid && state == "Z").then_some(child)
        })
        .collect()
}

#[test]
fn orphans_of_the_container_are_reaped() {
    let work = Workdir::new();
    let id = new_id();
    // In the host's pid namespace an orphan of the container is re-parented to the
    // monitor (the subreaper), not to a pid 1 of the container.
    let script = "(sleep 0.2 & echo orphan $!); sleep 1000";
    let mut spec = container(&work, &id, &["sh", "-c", script]);
    spec.namespaces.pid = NamespaceMode::Host;
    let mut monitor = Launched::start(Plan::new(&work, &spec, &id));
    monitor.await_log("orphan ");
    let orphan: i32 = monitor
        .log_entries()
        .iter()
        .find_map(|e| {
            e["log"]
                .as_str()?
                .strip_prefix("orphan ")?
                .trim()
                .parse()
                .ok()
        })
        .expect("the orphan's pid");
    let deadline = Instant::now() + PATIENCE;
    while Path::new(&format!("/proc/{orphan}")).exists() {
        assert!(
            Instant::now() < deadline,
            "orphan {orphan} was not reaped; zombies of the monitor: {:?}",
            zombie_children(monitor.monitor_pid)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(zombie_children(monitor.monitor_pid), Vec::<i32>::new());
    request(
        monitor.socket(),
        Request::Stop {
            timeout: Duration::ZERO,
            signal: libc::SIGTERM,
        },
    )
    .expect("stop");
    monitor.finish();
}

#[test]
fn an_oom_kill_is_reported() {
    let work = Workdir::new();
    let id = new_id();
    // busybox tail keeps a line whole in memory: 256 MiB without a newline.
    let mut spec = container(
        &work,
        &id,
        &["sh", "-c", "head -c 268435456 /dev/zero | tail -n 1"],
    );
    spec.resources = Resources {
        memory: Some(32 * 1024 * 1024),
        memory_swap: Some(32 * 1024 * 1024),
        ..Default::default()
    };
    let mut monitor = Launched::start(Plan::new(&work, &spec, &id));
    let diary = monitor.finish();
    let exit = diary
        .iter()
        .find(|l| l.starts_with("exited "))
        .unwrap_or_else(|| panic!("no exit in {diary:?}"));
    assert!(exit.contains("oom=true"), "{exit}");
}

/// The runtime's state of a container that is going away (`--rm`) is deleted after the
/// attached client has the exit code; any other container's before the exit is recorded,
/// so that it may be started again at once.
fn runtime_state_at_the_exit(auto_remove: bool) -> Vec<String> {
    let work = Workdir::new();
    let id = new_id();
    let spec = container(&work, &id, &["sh", "-c", "exit 3"]);
    let mut plan = Plan::new(&work, &spec, &id);
    plan.wait_for_attach = true;
    plan.auto_remove = auto_remove;
    plan.note_runtime_state = true;
    let mut monitor = Launched::start(plan);
    let mut client = monitor.attach(false);
    let (out, err) = (
        Sink::new(work.dir.path(), "out"),
        Sink::new(work.dir.path(), "err"),
    );
    let end = client
        .pump(None, out.file.as_fd(), err.file.as_fd(), None)
        .expect("pump");
    assert_eq!(end, PumpEnd::Exited(3));
    let diary = monitor.finish();
    assert!(
        !work.state_dir().join(&id).exists(),
        "the runtime's state outlived the monitor"
    );
    diary
}

#[test]
fn an_auto_removed_container_keeps_its_runtime_state_until_the_answer() {
    let diary = runtime_state_at_the_exit(true);
    assert!(
        diary.contains(&"runtime state kept".to_string()),
        "{diary:?}"
    );
}

#[test]
fn a_container_that_stays_has_its_runtime_state_deleted_before_the_exit_is_recorded() {
    let diary = runtime_state_at_the_exit(false);
    assert!(
        diary.contains(&"runtime state gone".to_string()),
        "{diary:?}"
    );
}

#[test]
fn wait_is_answered_at_the_exit() {
    let work = Workdir::new();
    let id = new_id();
    let spec = container(&work, &id, &["sleep", "1000"]);
    let mut monitor = Launched::start(Plan::new(&work, &spec, &id));
    assert!(matches!(
        monitor.next_ready(),
        Some(ReadyEvent::Started { .. })
    ));
    // `berth wait`, by hand: the header line, then the answer when the container exits.
    let mut waiter = std::os::unix::net::UnixStream::connect(monitor.socket()).expect("connect");
    waiter.write_all(b"\"wait\"\n").expect("wait request");
    // Connections are served in order: once a later ping is answered, the wait is
    // registered, and the kill cannot overtake it.
    let pong = request(monitor.socket(), Request::Ping).expect("ping");
    assert!(matches!(pong, Response::Pong { .. }), "{pong:?}");
    let killed = request(
        monitor.socket(),
        Request::Kill {
            signal: libc::SIGKILL,
        },
    );
    assert_eq!(killed.expect("kill"), Response::Ok);
    let mut answer = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(&waiter), &mut answer)
        .expect("wait answer");
    assert_eq!(answer, "{\"exited\":{\"code\":137,\"oom_killed\":false}}\n");
    let diary = monitor.finish();
    assert!(
        diary.contains(&"exited code=137 signal=Some(9) oom=false manual=true".to_string()),
        "{diary:?}"
    );
}

#[test]
fn a_stop_during_the_restart_delay_cancels_the_restart() {
    let work = Workdir::new();
    let id = new_id();
    let spec = container(&work, &id, &["sh", "-c", "exit 1"]);
    let mut plan = Plan::new(&work, &spec, &id);
    plan.restarts = 1;
    plan.restart_delay = Duration::from_secs(600);
    let mut monitor = Launched::start(plan);
    monitor.await_diary("exited ");

    assert_eq!(
        request(monitor.socket(), Request::Ping).expect("ping"),
        Response::Pong {
            pid: None,
            state: MonitorState::Restarting
        }
    );
    let refused = AttachClient::connect(monitor.socket(), Streams::default());
    assert!(
        matches!(&refused, Err(berth_runtime::Error::Monitor(m)) if m.contains("restarting")),
        "{refused:?}"
    );
    let exited = Response::Exited {
        code: 1,
        oom_killed: false,
    };
    assert_eq!(
        request(monitor.socket(), Request::Wait).expect("wait"),
        exited
    );
    let stop = Request::Stop {
        timeout: Duration::from_secs(10),
        signal: libc::SIGTERM,
    };
    assert_eq!(request(monitor.socket(), stop).expect("stop"), exited);
    let diary = monitor.finish();
    assert_eq!(
        diary.iter().filter(|l| l.starts_with("started ")).count(),
        1,
        "{diary:?}"
    );
    assert_eq!(
        diary[diary.len() - 3..],
        ["restart_cancelled", "finished", "run returned ok"]
    );
}

#[test]
fn a_cli_gone_before_attaching_leaves_the_container_created() {
    let work = Workdir::new();
    let id = new_id();
    let spec = container(&work, &id, &["echo", "never"]);
    let mut plan = Plan::new(&work, &spec, &id);
    plan.wait_for_attach = true;
    let mut monitor = Launched::start(plan);
    monitor.ready = None;
    assert_eq!(monitor.finish(), ["run returned ok"]);
    assert!(!monitor.socket().exists());
    assert!(monitor.log_entries().is_empty());
    assert!(
        !work.state_dir().join(&id).exists(),
        "the runtime created the container"
    );
}

/// The container's next monitor (a new `start` while this one finishes) binds the socket's
/// name anew: the finishing monitor leaves that name alone.
#[test]
fn a_monitor_leaves_a_socket_name_bound_anew_alone() {
    let work = Workdir::new();
    let id = new_id();
    let spec = container(&work, &id, &["echo", "never"]);
    let mut plan = Plan::new(&work, &spec, &id);
    plan.wait_for_attach = true;
    let mut monitor = Launched::start(plan);
    let next = monitor.socket().to_path_buf();
    std::fs::remove_file(&next).expect("the first monitor's socket");
    let listener = std::os::unix::net::UnixListener::bind(&next).expect("bound anew");
    monitor.ready = None;
    assert_eq!(monitor.finish(), ["run returned ok"]);
    assert!(next.exists(), "the first monitor removed the new socket");
    std::os::unix::net::UnixStream::connect(&next).expect("the new socket answers");
    drop(listener);
}

#[test]
fn logs_follow_a_running_container_to_its_end() {
    let work = Workdir::new();
    let id = new_id();
    let spec = container(&work, &id, &["sh", "-c", "echo one; read go; echo two >&2"]);
    let mut plan = Plan::new(&work, &spec, &id);
    plan.open_stdin = true;
    let mut monitor = Launched::start(plan);
    assert!(matches!(
        monitor.next_ready(),
        Some(ReadyEvent::Started { .. })
    ));
    monitor.await_log("one");

    // `berth logs -f`: the container runs while its monitor's socket is there.
    let log_path = monitor.plan.log_path.clone();
    let socket = monitor.socket().to_path_buf();
    let follower = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let options = LogOptions {
            follow: true,
            ..Default::default()
        };
        read_logs(
            &log_path,
            &options,
            &|| socket.exists(),
            &mut |stream, bytes| {
                seen.push((stream, String::from_utf8_lossy(bytes).into_owned()));
                Ok(())
            },
        )
        .expect("follow");
        seen
    });
    let mut client = monitor.attach(true);
    client.send_stdin(b"go\n").expect("stdin");
    assert_eq!(
        follower.join().expect("follower"),
        [
            (Stream::Stdout, "one\n".to_string()),
            (Stream::Stderr, "two\n".to_string())
        ]
    );
    monitor.finish();
}
