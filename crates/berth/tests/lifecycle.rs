//! The life of a container after `run`: create/start, stop, restart, kill, wait, pause, rm,
//! prune, rename, attach and inspect, as a user sees them.

mod common;

use std::time::Duration;

use common::{eventually, Berth, DEADLINE};

#[test]
fn create_then_start_runs_the_container_and_start_a_attaches() {
    let b = Berth::new();
    b.busybox("busybox");
    let id = b
        .run_t(&[
            "create",
            "--name",
            "cc",
            "busybox",
            "sh",
            "-c",
            "echo started; exit 2",
        ])
        .ok()
        .trim()
        .to_string();
    assert!(common::is_hex64(&id), "{id}");
    assert_eq!(b.status("cc"), "created");
    assert_eq!(
        b.field("cc", "{{.State.StartedAt}}"),
        "0001-01-01T00:00:00Z"
    );

    // `start` prints the name as the user gave it and returns.
    assert_eq!(b.run_t(&["start", "cc"]).ok(), "cc\n");
    assert_eq!(b.run_t(&["wait", "cc"]).ok(), "2\n");
    assert_eq!(b.run_t(&["logs", "cc"]).ok(), "started\n");

    // `start -a` streams and exits with the container's code.
    let out = b.run_t(&["start", "-a", "cc"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.stdout, "started\n");
    assert_eq!(b.run_t(&["logs", "cc"]).ok(), "started\nstarted\n");

    // `start -ai` gives it our stdin.
    b.run_t(&["create", "-i", "--name", "cat", "busybox", "cat"])
        .ok();
    let out = b.run_t_stdin(&["start", "-ai", "cat"], b"piped\n");
    assert_eq!(out.ok(), "piped\n");

    let err = b.run_t(&["start", "nosuch"]).stderr;
    assert!(err.contains("No such container: nosuch"), "{err}");
}

#[test]
fn stop_sends_sigterm_then_sigkill_after_the_timeout() {
    let b = Berth::new();
    b.busybox("busybox");
    // Ignores TERM: killed after the timeout, 128+9.
    b.detach(&[
        "--name",
        "stubborn",
        "busybox",
        "sh",
        "-c",
        r#"trap "" TERM; echo up; while :; do sleep 0.1; done"#,
    ]);
    assert!(eventually(DEADLINE, || b
        .run_t(&["logs", "stubborn"])
        .stdout
        == "up\n"));
    assert_eq!(b.run_t(&["stop", "-t", "1", "stubborn"]).ok(), "stubborn\n");
    assert_eq!(
        b.field("stubborn", "{{.State.Status}} {{.State.ExitCode}}"),
        "exited 137"
    );

    // Dies of TERM (an init passes it to the process): 128+15.
    b.detach(&["--init", "--name", "polite", "busybox", "sleep", "1000"]);
    assert_eq!(b.run_t(&["stop", "-t", "30", "polite"]).ok(), "polite\n");
    assert_eq!(
        b.field("polite", "{{.State.Status}} {{.State.ExitCode}}"),
        "exited 143"
    );
    let finished = b.field("polite", "{{.State.FinishedAt}}");
    assert!(!finished.starts_with("0001"), "{finished}");

    // Stopping a stopped container is not an error.
    assert_eq!(b.run_t(&["stop", "polite"]).ok(), "polite\n");
}

#[test]
fn the_stop_signal_and_stop_timeout_are_the_containers_own() {
    let b = Berth::new();
    b.busybox("busybox");
    b.detach(&[
        "--name",
        "usr1",
        "--stop-signal",
        "USR1",
        "--stop-timeout",
        "30",
        "busybox",
        "sh",
        "-c",
        r#"trap "exit 10" USR1; echo up; while :; do sleep 0.1; done"#,
    ]);
    assert_eq!(
        b.field("usr1", "{{.Config.StopSignal}} {{.Config.StopTimeout}}"),
        "USR1 30"
    );
    assert!(eventually(DEADLINE, || b.run_t(&["logs", "usr1"]).stdout == "up\n"));
    b.run_t(&["stop", "usr1"]).ok();
    assert_eq!(b.field("usr1", "{{.State.ExitCode}}"), "10");

    // `stop -s` overrides it.
    b.detach(&[
        "--name",
        "ss",
        "busybox",
        "sh",
        "-c",
        r#"trap "exit 11" HUP; echo up; while :; do sleep 0.1; done"#,
    ]);
    assert!(eventually(DEADLINE, || b.run_t(&["logs", "ss"]).stdout == "up\n"));
    b.run_t(&["stop", "-s", "HUP", "ss"]).ok();
    assert_eq!(b.field("ss", "{{.State.ExitCode}}"), "11");
}

#[test]
fn restart_gives_a_new_process_and_starts_an_exited_container() {
    let b = Berth::new();
    b.busybox("busybox");
    b.detach(&[
        "--name",
        "rr",
        "busybox",
        "sh",
        "-c",
        "echo run; exec sleep 1000",
    ]);
    let pid = b.field("rr", "{{.State.Pid}}");
    let started = b.field("rr", "{{.State.StartedAt}}");
    assert_eq!(b.run_t(&["restart", "-t", "0", "rr"]).ok(), "rr\n");
    assert_eq!(b.status("rr"), "running");
    assert_ne!(b.field("rr", "{{.State.Pid}}"), pid);
    assert_ne!(b.field("rr", "{{.State.StartedAt}}"), started);
    assert!(eventually(DEADLINE, || b.run_t(&["logs", "rr"]).stdout == "run\nrun\n"));
    // A user's restart is not a policy restart.
    assert_eq!(b.field("rr", "{{.RestartCount}}"), "0");

    b.run_t(&["create", "--name", "ee", "busybox", "sleep", "1000"])
        .ok();
    b.run_t(&["restart", "ee"]).ok();
    assert_eq!(b.status("ee"), "running");
}

#[test]
fn kill_sends_sigkill_or_the_signal_given() {
    let b = Berth::new();
    b.busybox("busybox");
    b.detach(&["--name", "kk", "busybox", "sleep", "1000"]);
    assert_eq!(b.run_t(&["kill", "kk"]).ok(), "kk\n");
    assert_eq!(b.run_t(&["wait", "kk"]).ok(), "137\n");

    b.detach(&[
        "--name",
        "uu",
        "busybox",
        "sh",
        "-c",
        r#"trap "exit 12" USR2; echo up; while :; do sleep 0.1; done"#,
    ]);
    assert!(eventually(DEADLINE, || b.run_t(&["logs", "uu"]).stdout == "up\n"));
    b.run_t(&["kill", "-s", "USR2", "uu"]).ok();
    assert_eq!(b.run_t(&["wait", "uu"]).ok(), "12\n");
    b.detach(&[
        "--name",
        "nn",
        "busybox",
        "sh",
        "-c",
        r#"trap "exit 13" TERM; echo up; while :; do sleep 0.1; done"#,
    ]);
    assert!(eventually(DEADLINE, || b.run_t(&["logs", "nn"]).stdout == "up\n"));
    b.run_t(&["kill", "-s", "15", "nn"]).ok();
    assert_eq!(b.run_t(&["wait", "nn"]).ok(), "13\n");

    let id = b
        .run_t(&["inspect", "-f", "{{.Id}}", "kk"])
        .ok()
        .trim()
        .to_string();
    let out = b.run_t(&["kill", "kk"]);
    let err = out.fails(1);
    assert!(
        err.contains(&format!(
            "Error response from daemon: cannot kill container: kk: container {id} is not running"
        )),
        "{err}"
    );
}

#[test]
fn wait_prints_each_exit_code_once_the_containers_end() {
    let b = Berth::new();
    b.busybox("busybox");
    b.detach(&["--name", "aa", "busybox", "sh", "-c", "sleep 0.5; exit 5"]);
    b.detach(&["--name", "zz", "busybox", "sh", "-c", "exit 0"]);
    let out = b.run_t(&["wait", "aa", "zz"]);
    assert_eq!(out.ok(), "5\n0\n");
    // A container that already ended answers at once.
    assert_eq!(b.run_t(&["wait", "aa"]).ok(), "5\n");
    let err = b.run_t(&["wait", "nosuch"]).stderr;
    assert!(err.contains("No such container: nosuch"), "{err}");
}

#[test]
fn pause_freezes_the_container_until_unpause() {
    let b = Berth::new();
    b.busybox("busybox");
    let id = b.detach(&[
        "--name",
        "pp",
        "busybox",
        "sh",
        "-c",
        // Written aside and renamed, so a reader never sees a half-written count.
        "i=0; while :; do i=$((i+1)); echo $i > /tmp/c; mv /tmp/c /tmp/count; sleep 0.05; done",
    ]);
    let count = || {
        let out = b.run_t(&["exec", "pp", "cat", "/tmp/count"]);
        out.stdout.trim().parse::<u64>().ok()
    };
    let mut first = None;
    assert!(eventually(DEADLINE, || {
        first = count();
        first.is_some()
    }));
    assert!(
        eventually(DEADLINE, || count() > first),
        "the counter never advanced"
    );

    assert_eq!(b.run_t(&["pause", "pp"]).ok(), "pp\n");
    assert_eq!(
        b.field(
            "pp",
            "{{.State.Status}} {{.State.Paused}} {{.State.Running}}"
        ),
        "paused true true"
    );
    let ps = b.run_t(&["ps", "--format", "{{.Status}}"]);
    assert!(ps.ok().trim_end().ends_with("(Paused)"), "{ps:?}");
    // The frozen counter, read from the host through the container's layer.
    let file = b
        .root()
        .join("containers")
        .join(&id)
        .join("upper/tmp/count");
    let frozen = std::fs::read_to_string(&file).expect("count file");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(std::fs::read_to_string(&file).expect("count file"), frozen);

    let err = b.run_t(&["pause", "pp"]).fails(1).to_string();
    assert!(
        err.contains(&format!("Container {id} is already paused")),
        "{err}"
    );
    let err = b.run_t(&["exec", "pp", "true"]).stderr;
    assert!(
        err.contains(&format!(
            "Container {id} is paused, unpause the container before exec"
        )),
        "{err}"
    );

    assert_eq!(b.run_t(&["unpause", "pp"]).ok(), "pp\n");
    assert_eq!(b.status("pp"), "running");
    let frozen: Option<u64> = frozen.trim().parse().ok();
    assert!(frozen.is_some());
    assert!(
        eventually(DEADLINE, || count() > frozen),
        "the counter never moved again"
    );
    let err = b.run_t(&["unpause", "pp"]).fails(1).to_string();
    assert!(
        err.contains(&format!("Container {id} is not paused")),
        "{err}"
    );

    // A paused container can still be removed by force.
    b.run_t(&["pause", "pp"]).ok();
    b.run_t(&["rm", "-f", "pp"]).ok();
    assert!(b.container_ids().is_empty());
}

#[test]
fn rm_refuses_a_running_container_without_force() {
    let b = Berth::new();
    b.busybox("busybox");
    let id = b.detach(&["--name", "busy", "busybox", "sleep", "1000"]);
    let err = b.run_t(&["rm", "busy"]).fails(1).to_string();
    assert!(
        err.contains(
            "Error response from daemon: cannot remove container \"/busy\": container is running: \
             stop the container before removing or force remove"
        ),
        "{err}"
    );
    assert_eq!(b.status("busy"), "running");
    assert_eq!(b.run_t(&["rm", "-f", "busy"]).ok(), "busy\n");
    assert!(b.container_ids().is_empty());
    assert!(!b.root().join("containers").join(&id).exists());

    let err = b.run_t(&["rm", "nosuch"]).fails(1).to_string();
    assert!(
        err.contains("Error response from daemon: No such container: nosuch"),
        "{err}"
    );

    // By ID prefix, and a stopped one without -f.
    let id = b.run_t(&["create", "busybox"]).ok().trim().to_string();
    assert_eq!(b.run_t(&["rm", &id[..12]]).ok(), format!("{}\n", &id[..12]));
    assert!(b.container_ids().is_empty());
}

#[test]
fn container_prune_removes_stopped_containers_only() {
    let b = Berth::new();
    b.busybox("busybox");
    let up = b.detach(&["busybox", "sleep", "1000"]);
    let exited = b
        .run_t(&["run", "-d", "busybox", "true"])
        .ok()
        .trim()
        .to_string();
    b.run_t(&["wait", &exited]).ok();
    let created = b.run_t(&["create", "busybox"]).ok().trim().to_string();
    let out = b.run_t(&["container", "prune", "-f"]);
    let text = out.ok();
    assert!(text.starts_with("Deleted Containers:\n"), "{text}");
    assert!(
        text.contains(&format!("\n{exited}\n")) && text.contains(&format!("\n{created}\n")),
        "{text}"
    );
    assert!(!text.contains(&up), "{text}");
    assert!(text.contains("\nTotal reclaimed space: "), "{text}");
    assert_eq!(b.container_ids(), vec![up]);
}

#[test]
fn rename_changes_the_name_and_refuses_a_taken_one() {
    let b = Berth::new();
    b.busybox("busybox");
    b.detach(&["--name", "old", "busybox", "sleep", "1000"]);
    let other = b
        .run_t(&["create", "--name", "other", "busybox"])
        .ok()
        .trim()
        .to_string();
    b.run_t(&["rename", "old", "new"]).ok();
    assert_eq!(b.field("new", "{{.Name}}"), "/new");
    assert_eq!(b.status("new"), "running");
    let err = b.run_t(&["inspect", "old"]).stderr;
    assert!(err.contains("No such object: old"), "{err}");
    let err = b.run_t(&["rename", "new", "other"]).fails(1).to_string();
    assert!(
        err.contains(&format!(
            "The container name \"/other\" is already in use by container \"{other}\""
        )),
        "{err}"
    );
}

#[test]
fn attach_streams_a_running_container_and_ends_with_it() {
    let b = Berth::new();
    b.busybox("busybox");
    b.detach(&[
        "--name",
        "talk",
        "busybox",
        "sh",
        "-c",
        r#"trap 'echo got INT; exit 7' INT; i=0; while [ $i -lt 100000 ]; do i=$((i+1)); echo tick$i; sleep 0.1; done"#,
    ]);
    let mut a = b.spawn(&["attach", "--no-stdin", "talk"]);
    // What comes after the attach, not the log before it.
    let seen = eventually(DEADLINE, || a.output().stdout.contains("tick"));
    assert!(seen, "{:?}", a.output());
    // The signal goes through to the container (sig-proxy is the default).
    let mut out = None;
    for _ in 0..100 {
        a.signal(libc::SIGINT);
        if let Some(o) = a.wait_within(Duration::from_millis(300)) {
            out = Some(o);
            break;
        }
    }
    let out = out.expect("attach never ended");
    assert_eq!(out.code, 7, "{out:?}");
    assert!(out.stdout.contains("got INT"), "{out:?}");
    assert_eq!(b.field("talk", "{{.State.ExitCode}}"), "7");

    // `attach` to a stopped container is refused as Docker refuses it.
    let err = b.run_t(&["attach", "talk"]).fails(1).to_string();
    assert!(
        err.contains("You cannot attach to a stopped container, start it first"),
        "{err}"
    );
}

#[test]
fn attach_with_stdin_feeds_the_container() {
    let b = Berth::new();
    b.busybox("busybox");
    b.detach(&[
        "-i",
        "--name",
        "cat",
        "busybox",
        "sh",
        "-c",
        r#"while read l; do [ "$l" = quit ] && break; echo got:$l; done; echo done"#,
    ]);
    let mut a = b.spawn_stdin(&["attach", "cat"]);
    // Input sent before the attach is set up may be lost: send until a line comes back.
    let mut answered = false;
    for i in 0..100 {
        a.send(format!("line{i}\n").as_bytes());
        if a.stdout_has("got:line", Duration::from_millis(200)) {
            answered = true;
            break;
        }
    }
    assert!(answered, "{:?}", a.output());
    // The end of our input does not end the container (Docker keeps its stdin open for
    // other attaches); a line it understands does.
    a.send(b"quit\n");
    let out = a.finish();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.ends_with("done\n"), "{out:?}");
}

#[test]
fn inspect_shows_dockers_fields() {
    let b = Berth::new();
    let image = b.busybox("busybox");
    let id = b.detach(&[
        "--name", "insp", "-l", "a=b", "-e", "K=V", "busybox", "sleep", "1000",
    ]);
    let v = b.container("insp");
    for key in [
        "Id",
        "Created",
        "Path",
        "Args",
        "State",
        "Image",
        "Name",
        "RestartCount",
        "HostConfig",
        "GraphDriver",
        "Mounts",
        "Config",
        "NetworkSettings",
        "LogPath",
    ] {
        assert!(v.get(key).is_some(), "no {key} in {v}");
    }
    for key in [
        "Status",
        "Running",
        "Paused",
        "Restarting",
        "OOMKilled",
        "Dead",
        "Pid",
        "ExitCode",
        "Error",
        "StartedAt",
        "FinishedAt",
    ] {
        assert!(v["State"].get(key).is_some(), "no State.{key} in {v}");
    }
    assert_eq!(v["Id"], id.as_str());
    assert_eq!(v["Name"], "/insp");
    assert_eq!(v["Path"], "sleep");
    assert_eq!(v["Args"], serde_json::json!(["1000"]));
    assert_eq!(v["Image"], image.as_str());
    assert_eq!(v["State"]["Status"], "running");
    assert_eq!(v["State"]["Running"], true);
    assert!(v["State"]["Pid"].as_i64().unwrap_or(0) > 0, "{v}");
    assert_eq!(v["Config"]["Image"], "busybox");
    assert_eq!(v["Config"]["Cmd"], serde_json::json!(["sleep", "1000"]));
    assert_eq!(v["Config"]["Labels"]["a"], "b");
    assert!(
        v["Config"]["Env"]
            .as_array()
            .is_some_and(|e| e.contains(&serde_json::json!("K=V"))),
        "{v}"
    );
    assert_eq!(v["GraphDriver"]["Name"], "overlay2");
    let log = v["LogPath"].as_str().expect("LogPath");
    assert!(std::path::Path::new(log).is_file(), "{log}");
    assert!(chrono_like(v["Created"].as_str().unwrap_or("")), "{v}");

    // Templates.
    assert_eq!(
        b.field("insp", "{{.Name}} {{.State.Running}} {{.RestartCount}}"),
        "/insp true 0"
    );
    assert_eq!(
        b.field("insp", "{{json .Config.Cmd}}"),
        r#"["sleep","1000"]"#
    );
    assert_eq!(b.field("insp", r#"{{index .Config.Labels "a"}}"#), "b");
    assert_eq!(
        b.field(&id[..12], "{{.HostConfig.RestartPolicy.Name}}"),
        "no"
    );
    // Several containers, one line each; a missing one fails the command but not the others.
    let out = b.run_t(&["inspect", "-f", "{{.Name}}", "insp", "nosuch"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stdout, "/insp\n");
    assert!(out.stderr.contains("No such object: nosuch"), "{out:?}");
}

/// Whether `s` looks like an RFC 3339 UTC time with nanoseconds, as Docker writes them.
fn chrono_like(s: &str) -> bool {
    s.len() > 20 && s.as_bytes()[4] == b'-' && s.as_bytes()[10] == b'T' && s.ends_with('Z')
}

#[test]
fn top_lists_the_containers_processes_and_stats_its_usage() {
    let b = Berth::new();
    b.busybox("busybox");
    b.detach(&["--name", "tt", "busybox", "sleep", "1000"]);
    let out = b.run_t(&["top", "tt"]);
    let text = out.ok();
    let mut lines = text.lines();
    let header = common::cells(lines.next().expect("header"));
    assert_eq!(
        header,
        ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    );
    assert!(lines.any(|l| l.ends_with("sleep 1000")), "{text}");

    let out = b.run_t(&["stats", "--no-stream", "tt"]);
    let text = out.ok();
    let mut lines = text.lines();
    let header = common::cells(lines.next().expect("header"));
    assert_eq!(
        header,
        [
            "CONTAINER ID",
            "NAME",
            "CPU %",
            "MEM USAGE / LIMIT",
            "MEM %",
            "NET I/O",
            "BLOCK I/O",
            "PIDS"
        ]
    );
    let row = common::cells(lines.next().expect("a row"));
    assert_eq!(row[1], "tt", "{text}");
    assert_eq!(row[7], "1", "{text}");
    let err = b.run_t(&["top", "nosuch"]).stderr;
    assert!(err.contains("No such container: nosuch"), "{err}");
}

#[test]
fn attach_without_sig_proxy_leaves_the_container_on_ctrl_c() {
    let b = Berth::new();
    b.busybox("busybox");
    b.detach(&[
        "--name",
        "talk",
        "busybox",
        "sh",
        "-c",
        r#"trap 'echo got INT' INT; i=0; while [ $i -lt 100000 ]; do i=$((i+1)); echo tick$i; sleep 0.1; done"#,
    ]);
    let mut a = b.spawn(&["attach", "--no-stdin", "--sig-proxy=false", "talk"]);
    assert!(a.stdout_has("tick", DEADLINE), "{:?}", a.output());
    a.signal(libc::SIGINT);
    let out = a.finish();
    assert_eq!(out.code, 130, "the CLI dies of SIGINT: {out:?}");
    assert_eq!(b.status("talk"), "running");
    assert!(!b.run_t(&["logs", "talk"]).ok().contains("got INT"));
}

#[test]
fn start_of_a_running_container_and_kill_of_a_bad_signal() {
    let b = Berth::new();
    b.busybox("busybox");
    let id = b.detach(&["--name", "up", "busybox", "sleep", "1000"]);
    let pid = b.field("up", "{{.State.Pid}}");
    assert_eq!(b.run_t(&["start", "up"]).ok(), "up\n");
    assert_eq!(
        b.field("up", "{{.State.Pid}}"),
        pid,
        "start restarted a running container"
    );
    let err = b.run_t(&["kill", "-s", "FOO", "up"]).fails(1).to_string();
    assert!(err.contains("Invalid signal: FOO"), "{err}");
    assert_eq!(b.status(&id), "running");
}

#[test]
fn wait_and_start_a_follow_rm_containers_to_their_end() {
    let b = Berth::new();
    b.busybox("busybox");
    // `wait` gets the code even though the container is removed as it ends.
    let id = b.detach(&["--rm", "busybox", "sh", "-c", "sleep 0.5; exit 4"]);
    assert_eq!(b.run_t(&["wait", &id]).ok(), "4\n");
    assert!(eventually(DEADLINE, || b.container_ids().is_empty()));

    let id = b
        .run_t(&["create", "--rm", "busybox", "sh", "-c", "echo hi; exit 6"])
        .ok()
        .trim()
        .to_string();
    let out = b.run_t(&["start", "-a", &id]);
    assert_eq!(out.code, 6, "{out:?}");
    assert_eq!(out.stdout, "hi\n");
    assert!(eventually(DEADLINE, || b.container_ids().is_empty()));
}

#[test]
fn a_paused_container_can_be_stopped_and_restarted() {
    let b = Berth::new();
    b.busybox("busybox");
    b.detach(&["--name", "frozen", "busybox", "sleep", "1000"]);
    b.run_t(&["pause", "frozen"]).ok();
    assert_eq!(b.run_t(&["stop", "-t", "1", "frozen"]).ok(), "frozen\n");
    assert_eq!(
        b.field(
            "frozen",
            "{{.State.Status}} {{.State.Paused}} {{.State.ExitCode}}"
        ),
        "exited false 137"
    );
    b.run_t(&["restart", "-t", "1", "frozen"]).ok();
    assert_eq!(
        b.field("frozen", "{{.State.Status}} {{.State.Paused}}"),
        "running false"
    );
}

#[test]
fn container_subcommands_are_the_same_commands() {
    let b = Berth::new();
    b.busybox("busybox");
    let id = b
        .run_t(&[
            "container",
            "create",
            "--name",
            "sub",
            "busybox",
            "sh",
            "-c",
            "echo x > /x; exec sleep 1000",
        ])
        .ok()
        .trim()
        .to_string();
    assert_eq!(b.run_t(&["container", "start", "sub"]).ok(), "sub\n");
    assert_eq!(
        b.run_t(&["container", "ls", "--format", "{{.Names}}"]).ok(),
        "sub\n"
    );
    assert_eq!(
        b.run_t(&["container", "ps", "-q", "--no-trunc"]).ok(),
        format!("{id}\n")
    );
    assert_eq!(
        b.run_t(&["container", "exec", "sub", "cat", "/x"]).ok(),
        "x\n"
    );
    assert_eq!(
        b.run_t(&["container", "inspect", "-f", "{{.Name}}", "sub"])
            .ok(),
        "/sub\n"
    );
    // -s adds the sizes: the container layer's few bytes, the whole filesystem's more.
    let sizes = b.run_t(&["inspect", "-s", "-f", "{{.SizeRw}} {{.SizeRootFs}}", "sub"]);
    let (rw, root) = sizes.ok().trim().split_once(' ').expect("two sizes");
    let (rw, root): (u64, u64) = (
        rw.parse().expect("SizeRw"),
        root.parse().expect("SizeRootFs"),
    );
    assert!(rw >= 2 && root > 1_000_000 && root > rw, "{sizes:?}");
    assert_eq!(
        b.run_t(&["container", "stop", "-t", "0", "sub"]).ok(),
        "sub\n"
    );
    assert_eq!(b.run_t(&["container", "rm", "sub"]).ok(), "sub\n");
    assert!(b.container_ids().is_empty());
}
