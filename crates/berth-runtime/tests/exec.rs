//! `Runtime::exec` (and pause/resume) with both runtimes: a process joins a running
//! container as `berth exec` does. Needs root, cgroups, busybox-static and runc.

mod support;

use std::fs::File;
use std::io::Read;
use std::os::fd::AsFd;
use std::path::Path;

use berth_runtime::attach::{pump_process, ProcessStdio, PumpEnd, UserIo};
use berth_runtime::spec::User;
use berth_runtime::{
    build_spec, exec_process, Embedded, Error, ExecOptions, ExitStatus, InitProcess, OciBinary,
    Runtime, Status, Stdio,
};
use support::{new_id, pipe, Workdir};

const RUNC: &str = "/usr/sbin/runc";
/// Docker's default capability set as /proc/<pid>/status prints it.
const DOCKER_CAP_EFF: &str = "00000000a80425fb";

/// A running `sleep` container to exec into; killed and removed on drop.
struct Running<'a> {
    runtime: &'a dyn Runtime,
    id: String,
    init: InitProcess,
    spec: oci_spec::runtime::Spec,
}

impl<'a> Running<'a> {
    fn start(runtime: &'a dyn Runtime, work: &Workdir) -> Self {
        let id = new_id();
        let container = work.spec(&id, &["sleep", "1000"]);
        let spec = build_spec(&container).expect("spec");
        let bundle = work.bundle(&container);
        let pid = runtime
            .create(&id, &bundle, Stdio::null().expect("null stdio"))
            .expect("create");
        let init = InitProcess::open(pid).expect("pidfd");
        runtime.start(&id).expect("start");
        Self {
            runtime,
            id,
            init,
            spec,
        }
    }

    /// Runs `options` in the container to its end, with its output through pipes.
    fn exec(&self, options: ExecOptions) -> Result<(ExitStatus, String, String), Error> {
        let process = exec_process(&self.spec, &options).expect("exec process");
        let (mut out_r, out_w) = pipe();
        let (mut err_r, err_w) = pipe();
        let stdin = std::fs::File::open("/dev/null").expect("open /dev/null");
        let pid = self.runtime.exec(
            &self.id,
            process,
            Stdio::Fds {
                stdin: stdin.into(),
                stdout: out_w,
                stderr: err_w,
            },
        )?;
        let status = InitProcess::open(pid)
            .expect("pidfd of the exec")
            .wait()
            .expect("wait");
        let (mut stdout, mut stderr) = (String::new(), String::new());
        out_r.read_to_string(&mut stdout).expect("read stdout");
        err_r.read_to_string(&mut stderr).expect("read stderr");
        Ok((status, stdout, stderr))
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let _ = self.runtime.kill(&self.id, libc::SIGKILL, true);
        let _ = self.init.wait();
        let _ = self.runtime.delete(&self.id, true);
    }
}

fn command(args: &[&str]) -> ExecOptions {
    ExecOptions {
        args: args.iter().map(|a| a.to_string()).collect(),
        ..Default::default()
    }
}

fn env_cwd_and_user_apply(runtime: &dyn Runtime, work: &Workdir) {
    let running = Running::start(runtime, work);
    let mut options = command(&["sh", "-c", "echo $GREETING; pwd; id -u; id -g"]);
    options.env = vec!["GREETING=hello from exec".into()];
    options.cwd = Some("/etc".into());
    options.user = Some(User {
        uid: 1000,
        gid: 1001,
        additional_gids: vec![],
    });
    let (status, stdout, stderr) = running.exec(options).expect("exec");
    assert_eq!(status, ExitStatus::Exited(0), "stderr {stderr:?}");
    assert_eq!(stdout, "hello from exec\n/etc\n1000\n1001\n");
}

fn exit_code_is_the_commands(runtime: &dyn Runtime, work: &Workdir) {
    let running = Running::start(runtime, work);
    let (status, _, _) = running
        .exec(command(&["sh", "-c", "exit 7"]))
        .expect("exec");
    assert_eq!(status.code(), 7);
}

fn missing_command_is_not_found(runtime: &dyn Runtime, work: &Workdir) {
    let running = Running::start(runtime, work);
    let err = running
        .exec(command(&["no-such-command"]))
        .expect_err("a missing command cannot run");
    assert!(matches!(err, Error::CommandNotFound { .. }), "got {err:?}");
    assert_eq!(err.docker_exit_code(), 127);
    // The container is unharmed.
    assert_eq!(
        runtime.state(&running.id).expect("state").status,
        Status::Running
    );
    let (status, stdout, _) = running
        .exec(command(&["echo", "still here"]))
        .expect("exec");
    assert_eq!((status.code(), stdout.as_str()), (0, "still here\n"));
}

/// The exec sees the container's processes, hostname and cgroup.
fn joins_the_containers_namespaces_and_cgroup(runtime: &dyn Runtime, work: &Workdir) {
    let running = Running::start(runtime, work);
    let script = "cat /proc/1/cmdline | tr '\\0' ' '; echo; grep -c /berth-test/ /proc/self/cgroup";
    let (status, stdout, stderr) = running.exec(command(&["sh", "-c", script])).expect("exec");
    assert_eq!(status.code(), 0, "stderr {stderr:?}");
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("sleep 1000 "));
    let in_cgroup: usize = lines.next().unwrap_or("0").parse().expect("a count");
    assert!(in_cgroup > 0, "not in the container's cgroup: {stdout:?}");
    let cgroup_procs = std::fs::read_to_string(format!(
        "/sys/fs/cgroup/pids/{}/{}/cgroup.procs",
        support::CGROUP_PARENT,
        running.id
    ))
    .unwrap_or_default();
    assert!(
        !cgroup_procs.is_empty(),
        "the container's cgroup is missing"
    );
}

/// Docker's capabilities, the default seccomp filter and no ignored signals (whatever
/// the caller ignores), as for the container's own command.
fn has_the_containers_security(runtime: &dyn Runtime, work: &Workdir) {
    let running = Running::start(runtime, work);
    let (_, status, _) = running
        .exec(command(&["cat", "/proc/self/status"]))
        .expect("exec");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {name} in {status:?}"))
            .to_string()
    };
    assert_eq!(field("CapEff:"), DOCKER_CAP_EFF);
    assert_eq!(field("Seccomp:"), "2");
    assert_eq!(field("NoNewPrivs:"), "0");
    // Signals 1 to 31; glibc's internal real-time signals above are not ours to judge.
    let standard = |name: &str| u64::from_str_radix(&field(name), 16).expect("hex") & 0x7fff_ffff;
    assert_eq!(standard("SigIgn:"), 0, "ignored signals");
    assert_eq!(standard("SigBlk:"), 0, "blocked signals");
    let (status, _, stderr) = running
        .exec(command(&["unshare", "-U", "true"]))
        .expect("exec");
    assert_ne!(status.code(), 0, "unshare must be refused");
    assert!(
        stderr.contains("Operation not permitted"),
        "stderr {stderr:?}"
    );
}

fn terminal_comes_through_the_console_socket(runtime: &dyn Runtime, work: &Workdir) {
    let running = Running::start(runtime, work);
    let mut options = command(&["sh", "-c", "tty; stty size; echo $TERM"]);
    options.terminal = true;
    let process = exec_process(&running.spec, &options).expect("exec process");
    let socket = berth_runtime::ConsoleSocket::bind(work.dir.path().join("exec-console.sock"))
        .expect("console socket");
    let pid = runtime
        .exec(
            &running.id,
            process,
            Stdio::Console(socket.path().to_path_buf()),
        )
        .expect("exec");
    let exec = InitProcess::open(pid).expect("pidfd");
    let master = socket.receive_master().expect("pty master");
    berth_runtime::set_window_size(&master, 30, 100).expect("window size");
    // The command may have asked for the size before it was set; only a tty matters
    // then. Read until the pty closes (EIO once the command exited).
    let mut text = String::new();
    let _ = std::fs::File::from(master).read_to_string(&mut text);
    assert_eq!(exec.wait().expect("wait"), ExitStatus::Exited(0));
    assert!(text.starts_with("/dev/pts/0\r\n"), "output {text:?}");
    assert!(text.ends_with("\r\nxterm\r\n"), "output {text:?}");
}

fn pause_freezes_and_resume_thaws(runtime: &dyn Runtime, work: &Workdir) {
    let running = Running::start(runtime, work);
    runtime.pause(&running.id).expect("pause");
    assert_eq!(
        runtime.state(&running.id).expect("state").status,
        Status::Paused
    );
    let freezer = Path::new("/sys/fs/cgroup/freezer")
        .join(support::CGROUP_PARENT)
        .join(&running.id)
        .join("freezer.state");
    if freezer.exists() {
        assert_eq!(
            std::fs::read_to_string(&freezer).expect("freezer").trim(),
            "FROZEN"
        );
    }
    runtime.resume(&running.id).expect("resume");
    assert_eq!(
        runtime.state(&running.id).expect("state").status,
        Status::Running
    );
    let (status, stdout, _) = running.exec(command(&["echo", "thawed"])).expect("exec");
    assert_eq!((status.code(), stdout.as_str()), (0, "thawed\n"));
}

/// `berth exec -i` with pipes: the user's input reaches the process, its output and exit
/// code come back.
fn a_session_with_pipes(runtime: &dyn Runtime, work: &Workdir) {
    let running = Running::start(runtime, work);
    let script = "read x; echo got $x; echo err >&2; exit 5";
    let process = exec_process(&running.spec, &command(&["sh", "-c", script])).expect("process");
    let (in_r, in_w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).expect("pipe");
    let (out_r, out_w) = pipe();
    let (err_r, err_w) = pipe();
    let pid = runtime
        .exec(
            &running.id,
            process,
            Stdio::Fds {
                stdin: in_r,
                stdout: out_w,
                stderr: err_w,
            },
        )
        .expect("exec");
    let exec = InitProcess::open(pid).expect("pidfd");
    // The user types a line and ends the input.
    let (user_in, typed) = pipe();
    std::io::Write::write_all(&mut File::from(typed), b"hello\n").expect("type");
    let (out, err) = (Sink::new(work, "out"), Sink::new(work, "err"));
    let end = pump_process(
        &exec,
        ProcessStdio::Pipes {
            stdin: Some(in_w),
            stdout: out_r.into(),
            stderr: err_r.into(),
        },
        UserIo {
            stdin: Some(user_in.as_fd()),
            stdout: out.file.as_fd(),
            stderr: err.file.as_fd(),
            detach_keys: None,
            resize: None,
        },
    )
    .expect("session");
    assert_eq!(end, PumpEnd::Exited(5));
    assert_eq!(out.text(), "got hello\n");
    assert_eq!(err.text(), "err\n");
}

/// `berth exec -it`: the process gets a pty; what the user types is echoed and read.
fn a_session_with_a_pty(runtime: &dyn Runtime, work: &Workdir) {
    let running = Running::start(runtime, work);
    let mut options = command(&["sh", "-c", "tty; read x; echo got $x"]);
    options.terminal = true;
    let process = exec_process(&running.spec, &options).expect("process");
    let socket = berth_runtime::ConsoleSocket::bind(work.dir.path().join("session.sock"))
        .expect("console socket");
    let pid = runtime
        .exec(
            &running.id,
            process,
            Stdio::Console(socket.path().to_path_buf()),
        )
        .expect("exec");
    let exec = InitProcess::open(pid).expect("pidfd");
    let master = socket.receive_master().expect("pty master");
    let (user_in, typed) = pipe();
    std::io::Write::write_all(&mut File::from(typed), b"hi\n").expect("type");
    let out = Sink::new(work, "out");
    let end = pump_process(
        &exec,
        ProcessStdio::Pty(master),
        UserIo {
            stdin: Some(user_in.as_fd()),
            stdout: out.file.as_fd(),
            stderr: out.file.as_fd(),
            detach_keys: None,
            resize: None,
        },
    )
    .expect("session");
    assert_eq!(end, PumpEnd::Exited(0));
    let text = out.text();
    // The pty echoes the typed line whenever it arrives, maybe before `tty` ran.
    assert!(text.contains("/dev/pts/0\r\n"), "{text:?}");
    assert!(text.ends_with("got hi\r\n"), "{text:?}");
}

/// A file to copy output into, read back as text.
struct Sink {
    file: File,
    path: std::path::PathBuf,
}

impl Sink {
    fn new(work: &Workdir, name: &str) -> Self {
        let path = work.dir.path().join(name);
        Self {
            file: File::create(&path).expect("sink"),
            path,
        }
    }

    fn text(&self) -> String {
        std::fs::read_to_string(&self.path).expect("sink text")
    }
}

fn embedded(state_dir: std::path::PathBuf) -> Embedded {
    Embedded::new(state_dir)
}

/// `runc exec -d` exits before the process does; the test process adopts it.
fn runc(state_dir: std::path::PathBuf) -> OciBinary {
    berth_runtime::become_subreaper().expect("become subreaper");
    OciBinary::new(RUNC, state_dir)
}

macro_rules! exec_cases {
    ($($case:ident),* $(,)?) => {
        mod with_embedded {
            $(
                #[test]
                fn $case() {
                    let _guard = super::support::serial();
                    let work = super::support::Workdir::new();
                    super::$case(&super::embedded(work.state_dir()), &work);
                }
            )*
        }
        mod with_runc {
            $(
                #[test]
                fn $case() {
                    let _guard = super::support::serial();
                    let work = super::support::Workdir::new();
                    super::$case(&super::runc(work.state_dir()), &work);
                }
            )*
        }
    };
}

exec_cases!(
    env_cwd_and_user_apply,
    exit_code_is_the_commands,
    missing_command_is_not_found,
    joins_the_containers_namespaces_and_cgroup,
    has_the_containers_security,
    terminal_comes_through_the_console_socket,
    pause_freezes_and_resume_thaws,
    a_session_with_pipes,
    a_session_with_a_pty,
);
