//! The main paths of a container's life with each runtime: the embedded one (the default)
//! and Debian's runc (`--runtime runc`).

mod common;

use common::{eventually, Berth, DEADLINE};

/// The `run`/`create` flags that choose the runtime.
fn flags(runtime: &str) -> Vec<&str> {
    match runtime {
        "embedded" => vec![],
        other => vec!["--runtime", other],
    }
}

fn store(runtime: &str) -> Berth {
    if runtime == "runc" {
        assert!(
            std::path::Path::new("/usr/sbin/runc").exists(),
            "/usr/sbin/runc is missing: install Debian's runc (scripts/deps.sh does)"
        );
    }
    let b = Berth::new();
    b.busybox("busybox");
    b
}

fn run_attached(runtime: &str) {
    let b = store(runtime);
    let mut args = vec!["run", "--name", "cc"];
    args.extend(flags(runtime));
    args.extend([
        "busybox",
        "sh",
        "-c",
        "echo out; echo err >&2; grep CapEff /proc/self/status; exit 3",
    ]);
    let out = b.run_t(&args);
    assert_eq!(out.code, 3, "{out:?}");
    assert_eq!(out.stdout, "out\nCapEff:\t00000000a80425fb\n");
    assert_eq!(out.stderr, "err\n");
    let expected = if runtime == "embedded" {
        "berth"
    } else {
        runtime
    };
    assert_eq!(
        b.field("cc", "{{.HostConfig.Runtime}} {{.State.ExitCode}}"),
        format!("{expected} 3")
    );
    let mut args = vec!["run", "--rm"];
    args.extend(flags(runtime));
    args.extend(["busybox", "nothere"]);
    let err = b.run_t(&args).fails(127).to_string();
    assert!(
        err.contains(r#"exec: "nothere": executable file not found in $PATH"#),
        "{err}"
    );
}

fn detached_exec_stop(runtime: &str) {
    let b = store(runtime);
    let mut args = vec!["--name", "cc", "-h", "box"];
    args.extend(flags(runtime));
    args.extend([
        "busybox",
        "sh",
        "-c",
        r#"trap "exit 0" TERM; echo up; while :; do sleep 0.1; done"#,
    ]);
    let id = b.detach(&args);
    assert!(eventually(DEADLINE, || b.run_t(&["logs", "cc"]).stdout == "up\n"));
    let out = b.run_t(&[
        "exec",
        "-e",
        "V=1",
        "-w",
        "/tmp",
        "cc",
        "sh",
        "-c",
        "echo $V; pwd; hostname; exit 4",
    ]);
    assert_eq!(out.code, 4, "{out:?}");
    assert_eq!(out.stdout, "1\n/tmp\nbox\n");
    assert_eq!(out.stderr, "", "{out:?}");
    let out = b.run_t_stdin(&["exec", "-i", "cc", "cat"], b"in\n");
    assert_eq!(out.ok(), "in\n");
    b.run_t(&["pause", "cc"]).ok();
    assert_eq!(b.status("cc"), "paused");
    b.run_t(&["unpause", "cc"]).ok();
    assert_eq!(b.run_t(&["stop", "cc"]).ok(), "cc\n");
    assert_eq!(
        b.field("cc", "{{.State.Status}} {{.State.ExitCode}}"),
        "exited 0"
    );
    assert!(
        eventually(DEADLINE, || common::cgroup_dirs(&id).is_empty()),
        "{:?}",
        common::cgroup_dirs(&id)
    );
    b.run_t(&["start", "cc"]).ok();
    assert_eq!(b.status("cc"), "running");
    b.run_t(&["kill", "cc"]).ok();
    assert_eq!(b.run_t(&["wait", "cc"]).ok(), "137\n");
    b.run_t(&["rm", "cc"]).ok();
    assert!(
        b.mounts()
            .iter()
            .all(|m| !m.to_string_lossy().contains(&id)),
        "{:?}",
        b.mounts()
    );
}

fn terminal(runtime: &str) {
    let b = store(runtime);
    let mut args = vec!["run", "-it", "--name", "tt"];
    args.extend(flags(runtime));
    args.extend(["busybox", "sh"]);
    let mut t = b.pty(&args, 24, 80);
    t.send(b"tty; stty size; echo $((3*3))q\r");
    t.expect("9q");
    assert!(
        t.screen().contains("/dev/pts/0") && t.screen().contains("24 80"),
        "{}",
        t.screen()
    );
    t.send(b"exit 2\r");
    assert_eq!(t.finish(), 2, "{}", t.screen());
}

#[test]
fn run_attached_with_embedded() {
    run_attached("embedded");
}

#[test]
fn run_attached_with_runc() {
    run_attached("runc");
}

#[test]
fn detached_exec_stop_with_embedded() {
    detached_exec_stop("embedded");
}

#[test]
fn detached_exec_stop_with_runc() {
    detached_exec_stop("runc");
}

#[test]
fn terminal_with_embedded() {
    terminal("embedded");
}

#[test]
fn terminal_with_runc() {
    terminal("runc");
}

#[test]
fn an_unknown_runtime_is_an_engine_error() {
    let b = store("embedded");
    let err = b
        .run_t(&["run", "--runtime", "/no/such/runtime", "busybox", "true"])
        .fails(125)
        .to_string();
    assert!(err.contains("/no/such/runtime"), "{err}");
}
