//! `berth run`: attached and detached runs, exit codes, stdin and terminals, signals, and the
//! options that shape the container's process (names, environment, user, entrypoint, ...).

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{is_hex64, Berth, DEADLINE};

#[test]
fn an_attached_run_streams_both_outputs_and_exits_with_the_containers_code() {
    let b = Berth::new();
    b.busybox("busybox");
    let out = b.run_t(&[
        "run",
        "busybox",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ]);
    assert_eq!(out.code, 3, "{out:?}");
    assert_eq!(out.stdout, "out\n");
    assert_eq!(out.stderr, "err\n");
    let ok = b.run_t(&["run", "busybox", "true"]);
    assert_eq!(ok.code, 0, "{ok:?}");
    assert_eq!(ok.stdout, "");
}

#[test]
fn engine_errors_exit_125_and_commands_that_cannot_run_126_or_127() {
    let b = Berth::new();
    b.busybox("busybox");

    let err = b.run_t(&["run", "nosuch"]).fails(125).to_string();
    assert!(
        err.contains("Unable to find image 'nosuch:latest' locally"),
        "{err}"
    );

    let err = b
        .run_t(&["run", "--bogus", "busybox"])
        .fails(125)
        .to_string();
    assert!(err.contains("--bogus"), "{err}");

    let err = b
        .run_t(&["run", "busybox", "/etc/passwd"])
        .fails(126)
        .to_string();
    assert!(
        err.contains(r#"exec: "/etc/passwd": permission denied"#),
        "{err}"
    );

    let err = b
        .run_t(&["run", "busybox", "nothere"])
        .fails(127)
        .to_string();
    assert!(
        err.contains(r#"exec: "nothere": executable file not found in $PATH"#),
        "{err}"
    );
}

#[test]
fn a_missing_command_path_is_no_such_file_127() {
    let b = Berth::new();
    b.busybox("busybox");
    // runc (so Docker) says: exec: "/no/such": stat /no/such: no such file or directory.
    let err = b
        .run_t(&["run", "busybox", "/no/such"])
        .fails(127)
        .to_string();
    assert!(
        err.contains(r#"exec: "/no/such": stat /no/such: no such file or directory"#),
        "{err}"
    );
}

#[test]
fn a_detached_run_prints_the_full_id_and_leaves_the_container_up() {
    let b = Berth::new();
    b.busybox("busybox");
    let out = b.run_t(&["run", "-d", "busybox", "sleep", "1000"]);
    let id = out.ok().trim_end_matches('\n');
    assert!(is_hex64(id), "{out:?}");
    assert_eq!(out.stdout, format!("{id}\n"));
    assert_eq!(b.status(id), "running");
    let listed = b.run_t(&["ps", "-q", "--no-trunc"]);
    assert_eq!(listed.ok(), format!("{id}\n"));
}

#[test]
fn stdin_reaches_the_container_with_i_only() {
    let b = Berth::new();
    b.busybox("busybox");
    let out = b.run_t_stdin(&["run", "-i", "busybox", "cat"], b"hi\nthere\n");
    assert_eq!(out.ok(), "hi\nthere\n");
    // Without -i the container's stdin is empty, as Docker's.
    let out = b.run_t_stdin(&["run", "busybox", "cat"], b"hi\n");
    assert_eq!(out.ok(), "");
    // And the input is counted, byte for byte.
    let big = vec![b'x'; 300_000];
    let out = b.run_t_stdin(&["run", "-i", "busybox", "wc", "-c"], &big);
    assert_eq!(out.ok().trim(), "300000");
}

#[test]
fn t_gives_the_container_a_terminal_and_no_t_none() {
    let b = Berth::new();
    b.busybox("busybox");
    let mut t = b.pty(&["run", "-t", "busybox", "tty"], 24, 80);
    assert_eq!(t.finish(), 0, "{}", t.screen());
    assert!(t.screen().contains("/dev/pts/0"), "{:?}", t.screen());

    let out = b.run_t(&["run", "busybox", "tty"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stdout, "not a tty\n");
}

#[test]
fn an_interactive_shell_on_a_terminal_follows_the_window_size() {
    let b = Berth::new();
    b.busybox("busybox");
    let mut t = b.pty(&["run", "-it", "--name", "shell", "busybox", "sh"], 33, 91);
    t.send(b"echo $((6*7))x\r");
    t.expect("42x");
    t.send(b"stty size\r");
    t.expect("33 91");
    t.resize(40, 120);
    // The new size reaches the container's terminal; ask until it shows (SIGWINCH is async).
    let mut shown = false;
    for _ in 0..50 {
        t.send(b"stty size\r");
        if common::eventually(Duration::from_millis(200), || t.screen().contains("40 120")) {
            shown = true;
            break;
        }
    }
    assert!(shown, "window size never followed: {:?}", t.screen());
    t.send(b"exit 5\r");
    assert_eq!(t.finish(), 5, "{}", t.screen());
    assert_eq!(b.field("shell", "{{.State.ExitCode}}"), "5");
}

#[test]
fn ctrl_p_ctrl_q_detaches_and_the_container_keeps_running() {
    let b = Berth::new();
    b.busybox("busybox");
    let mut t = b.pty(&["run", "-it", "--name", "kept", "busybox", "sh"], 24, 80);
    t.send(b"echo ready$((1+1))\r");
    t.expect("ready2");
    t.send(b"\x10\x11");
    assert_eq!(t.finish(), 0, "{}", t.screen());
    assert_eq!(b.status("kept"), "running");

    // Attach again: the same shell answers; a detach key of our choosing leaves it again.
    let mut t = b.pty(&["attach", "--detach-keys", "ctrl-x", "kept"], 24, 80);
    t.send(b"echo again$((2+1))\r");
    t.expect("again3");
    t.send(b"\x18");
    assert_eq!(t.finish(), 0, "{}", t.screen());
    assert_eq!(b.status("kept"), "running");
}

#[test]
fn a_signal_to_an_attached_run_reaches_the_container() {
    let b = Berth::new();
    b.busybox("busybox");
    let mut run = b.spawn(&[
        "run",
        "busybox",
        "sh",
        "-c",
        r#"trap 'echo got INT; exit 3' INT; echo ready; while :; do sleep 0.1; done"#,
    ]);
    assert!(run.stdout_has("ready", DEADLINE), "{:?}", run.output());
    run.signal(libc::SIGINT);
    let out = run.finish();
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stdout.contains("got INT"), "{out:?}");
}

#[test]
fn ctrl_c_ends_an_attached_run_with_an_init_with_130() {
    // Docker's sig-proxy sends SIGINT to the container; `sleep` as PID 1 would ignore it (the
    // kernel drops default-action signals to a namespace's init), so Docker's own advice is
    // --init: the init passes it on and exits 128+2.
    let b = Berth::new();
    b.busybox("busybox");
    let mut run = b.spawn(&["run", "--init", "--name", "cc", "busybox", "sleep", "100"]);
    b.wait_status("cc", "running");
    // The CLI sets its forwarder up once attached; send until it is taken.
    let mut out = None;
    for _ in 0..100 {
        run.signal(libc::SIGINT);
        if let Some(o) = run.wait_within(Duration::from_millis(300)) {
            out = Some(o);
            break;
        }
    }
    let out = out.expect("SIGINT never ended the run");
    assert_eq!(out.code, 130, "{out:?}");
    assert_eq!(b.field("cc", "{{.State.ExitCode}}"), "130");
}

#[test]
fn without_sig_proxy_ctrl_c_leaves_the_container_running() {
    let b = Berth::new();
    b.busybox("busybox");
    let mut run = b.spawn(&[
        "run",
        "--sig-proxy=false",
        "--name",
        "cc",
        "busybox",
        "sh",
        "-c",
        r#"trap 'echo got INT' INT; echo ready; while :; do sleep 0.1; done"#,
    ]);
    assert!(run.stdout_has("ready", DEADLINE), "{:?}", run.output());
    run.signal(libc::SIGINT);
    let out = run.finish();
    assert_eq!(out.code, 130, "the CLI dies of SIGINT: {out:?}");
    assert!(!out.stdout.contains("got INT"), "{out:?}");
    assert_eq!(b.status("cc"), "running");
}

#[test]
fn rm_removes_the_container_when_it_ends_attached_detached_or_stopped() {
    let b = Berth::new();
    b.busybox("busybox");
    let out = b.run_t(&["run", "--rm", "busybox", "sh", "-c", "echo bye; exit 4"]);
    assert_eq!(out.code, 4, "{out:?}");
    assert_eq!(out.stdout, "bye\n");
    assert!(b.container_ids().is_empty());

    let id = b.detach(&["--rm", "busybox", "sh", "-c", "sleep 0.2"]);
    let gone = common::eventually(DEADLINE, || b.container_ids().is_empty());
    assert!(gone, "{id} was not removed after it exited");

    let id = b.detach(&["--rm", "busybox", "sleep", "1000"]);
    b.run_t(&["kill", &id]).ok();
    let gone = common::eventually(DEADLINE, || b.container_ids().is_empty());
    assert!(gone, "{id} was not removed after kill");
    assert!(!b.root().join("containers").join(&id).exists());
}

#[test]
fn stop_of_an_rm_container_succeeds_and_removes_it() {
    let b = Berth::new();
    b.busybox("busybox");
    let id = b.detach(&["--rm", "busybox", "sleep", "1000"]);
    assert_eq!(b.run_t(&["stop", "-t", "0", &id]).ok(), format!("{id}\n"));
    let gone = common::eventually(DEADLINE, || b.container_ids().is_empty());
    assert!(gone, "{id} was not removed after stop");
    assert!(!b.root().join("containers").join(&id).exists());
}

#[test]
fn names_are_unique_and_generated_when_absent() {
    let b = Berth::new();
    b.busybox("busybox");
    let id = b
        .run_t(&["create", "--name", "web", "busybox"])
        .ok()
        .trim()
        .to_string();
    assert_eq!(b.field("web", "{{.Name}}"), "/web");
    let err = b
        .run_t(&["run", "--name", "web", "busybox", "true"])
        .fails(125)
        .to_string();
    assert!(
        err.contains(&format!(
            "Conflict. The container name \"/web\" is already in use by container \"{id}\". \
             You have to remove (or rename) that container to be able to reuse that name."
        )),
        "{err}"
    );
    // Docker's pattern: at least two characters, the first alphanumeric.
    for bad in ["x", "-x", "a b", "a/b"] {
        let err = b
            .run_t(&["create", &format!("--name={bad}"), "busybox"])
            .fails(125)
            .to_string();
        assert!(
            err.contains(&format!(
                "Invalid container name ({bad}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )),
            "{err}"
        );
    }
    let mut names = BTreeSet::new();
    for _ in 0..6 {
        let id = b.run_t(&["create", "busybox"]).ok().trim().to_string();
        let name = b.field(&id, "{{.Name}}");
        let name = name
            .strip_prefix('/')
            .expect("name starts with /")
            .to_string();
        let (adj, who) = name.split_once('_').expect("adjective_name");
        assert!(
            !adj.is_empty()
                && !who.is_empty()
                && name
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c == b'_' || c.is_ascii_digit()),
            "{name}"
        );
        names.insert(name);
    }
    assert_eq!(names.len(), 6, "{names:?}");
}

#[test]
fn env_env_file_workdir_user_hostname_and_labels_apply() {
    let b = Berth::new();
    b.busybox("busybox");
    let env_file = b.write("env", b"# a comment\nA=1\nB=two words\n\nC\n");
    let out = b
        .command()
        .env("C", "from-host")
        .env("D", "also-host")
        .args(["run", "--rm", "-e", "X=y", "-e", "D", "--env-file"])
        .arg(&env_file)
        .args(["busybox", "sh", "-c", r#"echo "$A|$B|$C|$D|$X""#])
        .output()
        .expect("run berth");
    let out: common::Run = out.into();
    assert_eq!(out.ok(), "1|two words|from-host|also-host|y\n");

    let out = b.run_t(&[
        "run",
        "--rm",
        "-w",
        "/tmp",
        "-u",
        "65534:65534",
        "-h",
        "myhost",
        "busybox",
        "sh",
        "-c",
        "pwd; id; hostname",
    ]);
    assert_eq!(
        out.ok(),
        "/tmp\nuid=65534(nobody) gid=65534(nogroup)\nmyhost\n"
    );

    let out = b.run_t(&["run", "--rm", "-u", "nobody", "busybox", "id"]);
    assert_eq!(out.ok(), "uid=65534(nobody) gid=65534(nogroup)\n");
    let out = b.run_t(&[
        "run",
        "--rm",
        "-u",
        "1234:5678",
        "busybox",
        "sh",
        "-c",
        "id -u; id -g",
    ]);
    assert_eq!(out.ok(), "1234\n5678\n");
    let err = b
        .run_t(&["run", "--rm", "-u", "nosuchuser", "busybox", "id"])
        .stderr;
    assert!(
        err.contains("unable to find user nosuchuser: no matching entries in passwd file"),
        "{err}"
    );

    b.run_t(&[
        "create", "--name", "ll", "-l", "tier=web", "--label", "flag", "busybox",
    ])
    .ok();
    assert_eq!(
        b.field("ll", "{{json .Config.Labels}}"),
        r#"{"flag":"","tier":"web"}"#
    );
}

#[test]
fn a_missing_workdir_is_created() {
    let b = Berth::new();
    b.busybox("busybox");
    let out = b.run_t(&["run", "--rm", "-w", "/new/dir", "busybox", "pwd"]);
    assert_eq!(out.ok(), "/new/dir\n");
    b.busybox_with("wd", &["WORKDIR /work"]);
    let out = b.run_t(&["run", "--rm", "wd", "pwd"]);
    assert_eq!(out.ok(), "/work\n");
}

#[test]
fn entrypoint_and_cmd_combine_as_dockers() {
    let b = Berth::new();
    b.busybox("busybox");
    b.busybox_with(
        "ep",
        &[r#"ENTRYPOINT ["echo", "pre"]"#, r#"CMD ["default"]"#],
    );

    assert_eq!(b.run_t(&["run", "--rm", "ep"]).ok(), "pre default\n");
    assert_eq!(b.run_t(&["run", "--rm", "ep", "given"]).ok(), "pre given\n");
    // --entrypoint replaces the image's and drops its Cmd.
    assert_eq!(
        b.run_t(&["run", "--rm", "--entrypoint", "echo", "ep"]).ok(),
        "\n"
    );
    assert_eq!(
        b.run_t(&["run", "--rm", "--entrypoint", "echo", "ep", "x", "y"])
            .ok(),
        "x y\n"
    );
    // --entrypoint "" clears it: the command runs alone.
    assert_eq!(
        b.run_t(&[
            "run",
            "--rm",
            "--entrypoint",
            "",
            "ep",
            "sh",
            "-c",
            "echo none"
        ])
        .ok(),
        "none\n"
    );
    let c = b
        .run_t(&["create", "--entrypoint", "echo", "busybox", "a"])
        .ok()
        .trim()
        .to_string();
    assert_eq!(b.field(&c, "{{.Path}} {{json .Args}}"), r#"echo ["a"]"#);
}

#[test]
fn the_images_env_workdir_and_user_apply_unless_overridden() {
    let b = Berth::new();
    b.busybox_with(
        "conf",
        &[
            "ENV FOO=bar",
            "ENV PATH=/usr/bin:/bin:/opt/bin",
            "WORKDIR /tmp",
            "USER nobody",
        ],
    );
    let script = r#"echo "$FOO"; echo "$PATH"; pwd; id -u"#;
    let out = b.run_t(&["run", "--rm", "conf", "sh", "-c", script]);
    assert_eq!(out.ok(), "bar\n/usr/bin:/bin:/opt/bin\n/tmp\n65534\n");
    let out = b.run_t(&[
        "run", "--rm", "-e", "FOO=mine", "-w", "/", "-u", "0", "conf", "sh", "-c", script,
    ]);
    assert_eq!(out.ok(), "mine\n/usr/bin:/bin:/opt/bin\n/\n0\n");
}

#[test]
fn large_output_arrives_whole_and_the_hostname_is_the_short_id() {
    let b = Berth::new();
    b.busybox("busybox");
    let (code, out, err) = b.run_raw(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "head -c 3000000 /dev/zero | tr '\\0' x",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.len(), 3_000_000);
    assert!(out.iter().all(|c| *c == b'x'));

    let id = b
        .run_t(&[
            "create",
            "busybox",
            "sh",
            "-c",
            "hostname; cat /etc/hostname",
        ])
        .ok()
        .trim()
        .to_string();
    let out = b.run_t(&["start", "-a", &id]);
    assert_eq!(out.ok(), format!("{0}\n{0}\n", &id[..12]));
    assert_eq!(b.field(&id, "{{.Config.Hostname}}"), &id[..12]);
}

#[test]
fn ctrl_c_is_ignored_by_a_pid_1_without_a_handler_as_dockers_is() {
    // Docker's documented behaviour: the signal is proxied, and the kernel drops it because
    // `sleep` runs as the namespace's PID 1 with no handler; the run goes on.
    let b = Berth::new();
    b.busybox("busybox");
    let mut run = b.spawn(&["run", "--name", "one", "busybox", "sleep", "1000"]);
    b.wait_status("one", "running");
    for _ in 0..5 {
        run.signal(libc::SIGINT);
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(run.running(), "{:?}", run.output());
    assert_eq!(b.status("one"), "running");
    b.run_t(&["kill", "one"]).ok();
    let out = run.finish();
    assert_eq!(out.code, 137, "{out:?}");
}

#[test]
fn domainname_sets_the_nis_domain() {
    let b = Berth::new();
    b.busybox("busybox");
    let out = b.run_t(&[
        "run",
        "--rm",
        "--domainname",
        "example.org",
        "busybox",
        "cat",
        "/proc/sys/kernel/domainname",
    ]);
    assert_eq!(out.ok(), "example.org\n");
}
