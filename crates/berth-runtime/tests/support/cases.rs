//! The behaviours every runtime must show, each a function of the runtime under test.
//! `runtime_cases!` turns them into `#[test]`s for one runtime.

use std::io::{BufRead, BufReader, Read};

use berth_runtime::spec::Seccomp;
use berth_runtime::{Error, ExitStatus, InitProcess, Runtime, Status, Stdio};

use super::*;

/// Docker's default capability set as /proc/<pid>/status prints it.
const DOCKER_CAP_EFF: &str = "00000000a80425fb";

pub fn true_exits_zero(runtime: &dyn Runtime, work: &Workdir) {
    let id = new_id();
    let out = run_spec(runtime, work, &id, &work.spec(&id, &["true"]));
    assert_eq!(out.status, ExitStatus::Exited(0));
}

pub fn exit_code_is_reported(runtime: &dyn Runtime, work: &Workdir) {
    let id = new_id();
    let out = run_spec(runtime, work, &id, &work.spec(&id, &["sh", "-c", "exit 3"]));
    assert_eq!(out.status, ExitStatus::Exited(3));
    assert_eq!(out.status.code(), 3);
}

pub fn stdout_and_stderr_reach_the_given_fds(runtime: &dyn Runtime, work: &Workdir) {
    let id = new_id();
    let spec = work.spec(&id, &["sh", "-c", "echo to-out; echo to-err >&2"]);
    let out = run_spec(runtime, work, &id, &spec);
    assert_eq!(out.stdout, "to-out\n");
    assert_eq!(out.stderr, "to-err\n");
}

pub fn environment_and_cwd_are_applied(runtime: &dyn Runtime, work: &Workdir) {
    let id = new_id();
    let mut spec = work.spec(&id, &["sh", "-c", "echo $GREETING; pwd"]);
    spec.env = vec!["GREETING=hello".into()];
    spec.cwd = "/etc".into();
    let out = run_spec(runtime, work, &id, &spec);
    assert_eq!(out.stdout, "hello\n/etc\n");
}

pub fn missing_command_is_not_found(runtime: &dyn Runtime, work: &Workdir) {
    let id = new_id();
    let bundle = work.bundle(&work.spec(&id, &["no-such-command"]));
    let err = run(runtime, &id, &bundle).expect_err("a missing command cannot start");
    assert!(matches!(err, Error::CommandNotFound { .. }), "got {err:?}");
    assert_eq!(err.docker_exit_code(), 127);
    // Nothing is left behind: the id is free again.
    assert!(
        matches!(runtime.state(&id), Err(Error::NoSuchContainer(_))),
        "state remains"
    );
    assert!(
        cgroup_dirs_of(&id).is_empty(),
        "cgroups remain: {:?}",
        cgroup_dirs_of(&id)
    );
}

pub fn missing_absolute_command_is_not_found(runtime: &dyn Runtime, work: &Workdir) {
    let id = new_id();
    let bundle = work.bundle(&work.spec(&id, &["/bin/no-such-command"]));
    let err = run(runtime, &id, &bundle).expect_err("a missing command cannot start");
    assert_eq!(err.docker_exit_code(), 127, "got {err:?}");
}

pub fn non_executable_command_is_permission_denied(runtime: &dyn Runtime, work: &Workdir) {
    let id = new_id();
    let bundle = work.bundle(&work.spec(&id, &["/etc/passwd"]));
    let err = run(runtime, &id, &bundle).expect_err("a non-executable file cannot start");
    assert!(
        matches!(err, Error::CommandNotExecutable { .. }),
        "got {err:?}"
    );
    assert_eq!(err.docker_exit_code(), 126);
}

pub fn default_profile_refuses_namespaces_and_mounts(runtime: &dyn Runtime, work: &Workdir) {
    for args in [
        &["unshare", "-U", "true"][..],
        &["mount", "-t", "tmpfs", "x", "/mnt"][..],
    ] {
        let id = new_id();
        let out = run_spec(runtime, work, &id, &work.spec(&id, args));
        assert_ne!(
            out.status,
            ExitStatus::Exited(0),
            "{args:?} must be refused"
        );
        // EPERM, in busybox's words for each applet.
        assert!(
            out.stderr.contains("Operation not permitted")
                || out.stderr.contains("permission denied"),
            "{args:?}: stderr {:?}",
            out.stderr
        );
    }
}

/// With no-new-privileges the filter needs no capability to load: it still holds, and
/// the process keeps exactly Docker's capabilities.
pub fn no_new_privileges_keeps_the_filter(runtime: &dyn Runtime, work: &Workdir) {
    let id = new_id();
    let mut spec = work.spec(
        &id,
        &[
            "sh",
            "-c",
            "grep -E 'NoNewPrivs|Seccomp:|CapPrm' /proc/self/status; unshare -U true",
        ],
    );
    spec.no_new_privileges = true;
    let out = run_spec(runtime, work, &id, &spec);
    assert_ne!(out.status, ExitStatus::Exited(0), "unshare must be refused");
    assert_eq!(
        out.stdout,
        format!("CapPrm:\t{DOCKER_CAP_EFF}\nNoNewPrivs:\t1\nSeccomp:\t2\n"),
        "stderr {:?}",
        out.stderr
    );
}

/// A container with a network namespace of its own has `lo`, up (as under Docker with
/// `--network none`): 127.0.0.1 answers.
pub fn loopback_is_up_in_a_new_network_namespace(runtime: &dyn Runtime, work: &Workdir) {
    let id = new_id();
    let spec = work.spec(
        &id,
        &["sh", "-c", "cat /sys/class/net/lo/flags; ls /sys/class/net"],
    );
    let out = run_spec(runtime, work, &id, &spec);
    assert_eq!(out.stdout, "0x9\nlo\n", "stderr {:?}", out.stderr);
}

pub fn privileged_allows_namespaces_and_mounts(runtime: &dyn Runtime, work: &Workdir) {
    for args in [
        &["unshare", "-U", "true"][..],
        &["mount", "-t", "tmpfs", "x", "/mnt"][..],
    ] {
        let id = new_id();
        let mut spec = work.spec(&id, args);
        spec.privileged = true;
        let out = run_spec(runtime, work, &id, &spec);
        assert_eq!(
            out.status,
            ExitStatus::Exited(0),
            "{args:?}: stderr {:?}",
            out.stderr
        );
    }
}

pub fn unconfined_seccomp_with_sys_admin_allows_mount(runtime: &dyn Runtime, work: &Workdir) {
    let id = new_id();
    let mut spec = work.spec(&id, &["mount", "-t", "tmpfs", "x", "/mnt"]);
    spec.seccomp = Seccomp::Unconfined;
    spec.cap_add = vec!["SYS_ADMIN".into()];
    let out = run_spec(runtime, work, &id, &spec);
    assert_eq!(out.status, ExitStatus::Exited(0), "stderr {:?}", out.stderr);
}

/// This kernel has no /proc/kcore; /proc/keys, /proc/timer_list and /sys/firmware are
/// masked paths that exist here. A masked file is /dev/null bound over it, a masked
/// directory an empty read-only tmpfs.
pub fn masked_paths_are_hidden(runtime: &dyn Runtime, work: &Workdir) {
    let script = "for f in /proc/keys /proc/timer_list; do test -c $f && echo masked $f; done; \
                  ls -A /sys/firmware | wc -l";
    let id = new_id();
    let out = run_spec(runtime, work, &id, &work.spec(&id, &["sh", "-c", script]));
    assert_eq!(
        out.stdout, "masked /proc/keys\nmasked /proc/timer_list\n0\n",
        "stderr {:?}",
        out.stderr
    );

    // Privileged containers see them as they are.
    let id = new_id();
    let mut spec = work.spec(&id, &["sh", "-c", script]);
    spec.privileged = true;
    let out = run_spec(runtime, work, &id, &spec);
    assert!(!out.stdout.contains("masked"), "stdout {:?}", out.stdout);
    assert_ne!(
        out.stdout.trim(),
        "0",
        "/sys/firmware is empty when privileged"
    );
}

pub fn proc_sys_is_read_only(runtime: &dyn Runtime, work: &Workdir) {
    let script = "echo berth > /proc/sys/kernel/hostname";
    let id = new_id();
    let out = run_spec(runtime, work, &id, &work.spec(&id, &["sh", "-c", script]));
    assert_ne!(out.status, ExitStatus::Exited(0));
    assert!(
        out.stderr.contains("Read-only file system"),
        "stderr {:?}",
        out.stderr
    );

    // The same write is fine when /proc/sys is writable (privileged; own UTS namespace).
    let id = new_id();
    let mut spec = work.spec(&id, &["sh", "-c", &format!("{script} && hostname")]);
    spec.privileged = true;
    let out = run_spec(runtime, work, &id, &spec);
    assert_eq!(out.stdout, "berth\n", "stderr {:?}", out.stderr);
}

pub fn capabilities_are_dockers_default(runtime: &dyn Runtime, work: &Workdir) {
    let id = new_id();
    let out = run_spec(
        runtime,
        work,
        &id,
        &work.spec(&id, &["grep", "Cap", "/proc/self/status"]),
    );
    let line = |name: &str| {
        out.stdout
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {name} in {:?}", out.stdout))
            .to_string()
    };
    assert_eq!(line("CapEff:"), DOCKER_CAP_EFF);
    assert_eq!(line("CapPrm:"), DOCKER_CAP_EFF);
    assert_eq!(line("CapBnd:"), DOCKER_CAP_EFF);
    assert_eq!(line("CapInh:"), "0000000000000000");
}

pub fn cap_drop_and_add_change_the_set(runtime: &dyn Runtime, work: &Workdir) {
    let id = new_id();
    let mut spec = work.spec(&id, &["grep", "CapEff", "/proc/self/status"]);
    spec.cap_drop = vec!["NET_RAW".into()];
    spec.cap_add = vec!["CAP_NET_ADMIN".into()];
    let out = run_spec(runtime, work, &id, &spec);
    // Default set less NET_RAW (bit 13) plus NET_ADMIN (bit 12).
    let expected = 0xa80425fb_u64 & !(1 << 13) | (1 << 12);
    assert_eq!(out.stdout.trim(), format!("CapEff:\t{expected:016x}"));
}

pub fn non_root_user_has_no_effective_capabilities(runtime: &dyn Runtime, work: &Workdir) {
    let id = new_id();
    let mut spec = work.spec(
        &id,
        &["sh", "-c", "id -u; id -g; grep CapEff /proc/self/status"],
    );
    spec.user.uid = 1000;
    spec.user.gid = 1000;
    let out = run_spec(runtime, work, &id, &spec);
    assert_eq!(
        out.stdout, "1000\n1000\nCapEff:\t0000000000000000\n",
        "stderr {:?}",
        out.stderr
    );
}

pub fn memory_limit_is_in_the_cgroup(runtime: &dyn Runtime, work: &Workdir) {
    let id = new_id();
    let mut spec = work.spec(&id, &["true"]);
    spec.resources.memory = Some(64 * 1024 * 1024);
    spec.resources.pids_limit = Some(50);
    let bundle = work.bundle(&spec);
    let pid = runtime
        .create(&id, &bundle, Stdio::null().expect("null stdio"))
        .expect("create");
    let init = InitProcess::open(pid).expect("pidfd");
    let read = |controller: &str, file: &str| {
        let path = format!("/sys/fs/cgroup/{controller}/{CGROUP_PARENT}/{id}/{file}");
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    assert_eq!(read("memory", "memory.limit_in_bytes").trim(), "67108864");
    assert_eq!(read("pids", "pids.max").trim(), "50");
    let procs = read("memory", "cgroup.procs");
    assert!(
        procs.lines().any(|p| p == pid.to_string()),
        "init {pid} not in {procs:?}"
    );
    runtime.start(&id).expect("start");
    assert_eq!(init.wait().expect("wait"), ExitStatus::Exited(0));
    runtime.delete(&id, false).expect("delete");
    assert!(
        cgroup_dirs_of(&id).is_empty(),
        "cgroups remain: {:?}",
        cgroup_dirs_of(&id)
    );
}

pub fn oom_score_adj_is_the_containers_alone(runtime: &dyn Runtime, work: &Workdir) {
    let own = || std::fs::read_to_string("/proc/self/oom_score_adj").expect("own score");
    let before = own();
    let id = new_id();
    let mut spec = work.spec(&id, &["true"]);
    spec.oom_score_adj = Some(789);
    let bundle = work.bundle(&spec);
    let pid = runtime
        .create(&id, &bundle, Stdio::null().expect("null stdio"))
        .expect("create");
    let init = InitProcess::open(pid).expect("pidfd");
    let theirs = std::fs::read_to_string(format!("/proc/{pid}/oom_score_adj")).expect("init score");
    assert_eq!(theirs.trim(), "789");
    assert_eq!(own(), before, "the caller's score changed");
    runtime.start(&id).expect("start");
    assert_eq!(init.wait().expect("wait"), ExitStatus::Exited(0));
    runtime.delete(&id, false).expect("delete");
}

pub fn sigterm_reaches_a_trapping_init(runtime: &dyn Runtime, work: &Workdir) {
    let id = new_id();
    let script = "trap 'exit 42' TERM; echo ready; sleep 1000 & wait";
    let bundle = work.bundle(&work.spec(&id, &["sh", "-c", script]));
    let (out_r, out_w) = pipe();
    let null = || {
        std::fs::File::open("/dev/null")
            .expect("open /dev/null")
            .into()
    };
    let stdio = Stdio::Fds {
        stdin: null(),
        stdout: out_w,
        stderr: null(),
    };
    let pid = runtime.create(&id, &bundle, stdio).expect("create");
    let init = InitProcess::open(pid).expect("pidfd");
    runtime.start(&id).expect("start");
    assert_eq!(runtime.state(&id).expect("state").status, Status::Running);
    let mut lines = BufReader::new(out_r);
    let mut ready = String::new();
    lines.read_line(&mut ready).expect("read ready");
    assert_eq!(ready, "ready\n");
    runtime.kill(&id, libc::SIGTERM, false).expect("kill");
    assert_eq!(init.wait().expect("wait"), ExitStatus::Exited(42));
    assert_eq!(runtime.state(&id).expect("state").status, Status::Stopped);
    runtime.delete(&id, false).expect("delete");
    assert!(matches!(runtime.state(&id), Err(Error::NoSuchContainer(_))));
}

pub fn sigkill_ends_the_container(runtime: &dyn Runtime, work: &Workdir) {
    let id = new_id();
    let bundle = work.bundle(&work.spec(&id, &["sleep", "1000"]));
    let pid = runtime
        .create(&id, &bundle, Stdio::null().expect("null stdio"))
        .expect("create");
    let init = InitProcess::open(pid).expect("pidfd");
    runtime.start(&id).expect("start");
    assert_eq!(
        init.try_wait().expect("try_wait"),
        None,
        "sleep ended early"
    );
    runtime.kill(&id, libc::SIGKILL, true).expect("kill");
    let status = init.wait().expect("wait");
    assert_eq!(status, ExitStatus::Signaled(libc::SIGKILL));
    assert_eq!(status.code(), 137);
    runtime.delete(&id, false).expect("delete");
    assert!(
        cgroup_dirs_of(&id).is_empty(),
        "cgroups remain: {:?}",
        cgroup_dirs_of(&id)
    );
}

pub fn force_delete_removes_a_running_container(runtime: &dyn Runtime, work: &Workdir) {
    let id = new_id();
    let bundle = work.bundle(&work.spec(&id, &["sleep", "1000"]));
    let pid = runtime
        .create(&id, &bundle, Stdio::null().expect("null stdio"))
        .expect("create");
    let init = InitProcess::open(pid).expect("pidfd");
    runtime.start(&id).expect("start");
    assert!(
        runtime.delete(&id, false).is_err(),
        "a running container needs force"
    );
    runtime.delete(&id, true).expect("force delete");
    assert_eq!(
        init.wait().expect("wait"),
        ExitStatus::Signaled(libc::SIGKILL)
    );
    assert!(matches!(runtime.state(&id), Err(Error::NoSuchContainer(_))));
    assert!(
        cgroup_dirs_of(&id).is_empty(),
        "cgroups remain: {:?}",
        cgroup_dirs_of(&id)
    );
}

pub fn unknown_containers_are_reported_as_such(runtime: &dyn Runtime, _work: &Workdir) {
    let id = new_id();
    assert!(matches!(runtime.state(&id), Err(Error::NoSuchContainer(_))));
    assert!(matches!(runtime.start(&id), Err(Error::NoSuchContainer(_))));
    assert!(matches!(
        runtime.kill(&id, libc::SIGTERM, false),
        Err(Error::NoSuchContainer(_))
    ));
    assert!(matches!(
        runtime.delete(&id, true),
        Err(Error::NoSuchContainer(_))
    ));
}

pub fn tmpfs_and_bind_mounts_are_visible(runtime: &dyn Runtime, work: &Workdir) {
    let host_dir = work.dir.path().join("shared");
    std::fs::create_dir_all(&host_dir).expect("mkdir");
    std::fs::write(host_dir.join("greeting"), "from the host\n").expect("write");
    let id = new_id();
    let mut spec = work.spec(
        &id,
        &[
            "sh",
            "-c",
            "cat /mnt/greeting; echo x > /tmp/f && cat /tmp/f; echo y > /mnt/f",
        ],
    );
    spec.mounts = vec![
        berth_runtime::spec::Mount::Bind {
            source: host_dir.clone(),
            destination: "/mnt".into(),
            readonly: true,
        },
        berth_runtime::spec::Mount::Tmpfs {
            destination: "/tmp".into(),
            options: vec!["size=1m".into()],
        },
    ];
    let out = run_spec(runtime, work, &id, &spec);
    assert_eq!(out.stdout, "from the host\nx\n");
    assert!(
        out.stderr.contains("Read-only file system"),
        "stderr {:?}",
        out.stderr
    );
    assert!(!host_dir.join("f").exists());
}

pub fn terminal_is_a_pty_from_the_console_socket(runtime: &dyn Runtime, work: &Workdir) {
    let id = new_id();
    let mut spec = work.spec(&id, &["sh", "-c", "tty; stty size; echo $TERM"]);
    spec.terminal = true;
    let bundle = work.bundle(&spec);
    let socket = berth_runtime::ConsoleSocket::bind(work.dir.path().join("console.sock"))
        .expect("console socket");
    let pid = runtime
        .create(&id, &bundle, Stdio::Console(socket.path().to_path_buf()))
        .expect("create");
    let init = InitProcess::open(pid).expect("pidfd");
    let master = socket.receive_master().expect("pty master");
    berth_runtime::set_window_size(&master, 30, 100).expect("window size");
    runtime.start(&id).expect("start");
    let status = init.wait().expect("wait");
    let mut text = String::new();
    // The slave is closed once the init exits: reading ends with EIO after the output.
    let _ = std::fs::File::from(master).read_to_string(&mut text);
    runtime.delete(&id, false).expect("delete");
    assert_eq!(status, ExitStatus::Exited(0));
    assert_eq!(text, "/dev/pts/0\r\n30 100\r\nxterm\r\n");
}

/// Declares one `#[test]` per case for the runtime `$make` returns (given a state dir).
#[macro_export]
macro_rules! runtime_cases {
    ($make:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let _guard = support::serial();
                let work = support::Workdir::new();
                let runtime = $make(work.state_dir());
                support::cases::$case(&runtime, &work);
            }
        )*
    };
}
