//! `berth exec`: a process in a running container's namespaces and cgroup, with its own
//! environment, directory, user and terminal.

mod common;

use std::time::Duration;

use common::{eventually, Berth, DEADLINE};

#[test]
fn exec_joins_the_containers_namespaces_and_cgroup() {
    let b = Berth::new();
    b.busybox("busybox");
    let id = b.detach(&[
        "--name",
        "cc",
        "-h",
        "box",
        "busybox",
        "sh",
        "-c",
        "echo mark > /tmp/mark; exec sleep 1000",
    ]);
    assert!(eventually(DEADLINE, || b
        .run_t(&["exec", "cc", "cat", "/tmp/mark"])
        .stdout
        == "mark\n"));
    let out = b.run_t(&[
        "exec",
        "cc",
        "sh",
        "-c",
        "hostname; ps -o pid,args; cat /proc/self/cgroup",
    ]);
    let text = out.ok();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("box"));
    // The container's PID namespace: its process 1 is the container's command.
    let ps: Vec<&str> = text
        .lines()
        .skip(1)
        .take_while(|l| !l.contains(':'))
        .collect();
    assert!(
        ps.iter()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["1", "sleep", "1000"]),
        "{text}"
    );
    assert!(ps.len() <= 4, "more processes than the container's: {text}");
    // The same cgroup as the container's.
    let cgroups: Vec<&str> = text.lines().filter(|l| l.contains(':')).collect();
    assert!(
        cgroups.iter().any(|l| l.ends_with(&format!("/berth/{id}"))),
        "{text}"
    );
}

#[test]
fn exec_takes_env_workdir_and_user_and_returns_the_code() {
    let b = Berth::new();
    b.busybox_with("conf", &["ENV FROM_IMAGE=yes"]);
    b.detach(&[
        "--name",
        "cc",
        "-e",
        "FROM_RUN=yes",
        "conf",
        "sleep",
        "1000",
    ]);
    let out = b.run_t(&[
        "exec",
        "-e",
        "MINE=1",
        "-w",
        "/tmp",
        "-u",
        "65534:65534",
        "cc",
        "sh",
        "-c",
        "echo $MINE $FROM_IMAGE $FROM_RUN; pwd; id",
    ]);
    assert_eq!(
        out.ok(),
        "1 yes yes\n/tmp\nuid=65534(nobody) gid=65534(nogroup)\n"
    );
    let out = b.run_t(&["exec", "-u", "nobody", "cc", "id", "-u"]);
    assert_eq!(out.ok(), "65534\n");

    let out = b.run_t(&["exec", "cc", "sh", "-c", "echo partial; exit 7"]);
    assert_eq!(out.code, 7, "{out:?}");
    assert_eq!(out.stdout, "partial\n");

    let err = b.run_t(&["exec", "cc", "nothere"]).fails(127).to_string();
    assert!(
        err.contains(r#"exec: "nothere": executable file not found in $PATH"#),
        "{err}"
    );
    let out = b.run_t_stdin(&["exec", "-i", "cc", "cat"], b"via stdin\n");
    assert_eq!(out.ok(), "via stdin\n");
}

#[test]
fn exec_d_leaves_the_process_running_in_the_container() {
    let b = Berth::new();
    b.busybox("busybox");
    b.detach(&["--name", "cc", "busybox", "sleep", "1000"]);
    let out = b.run_t(&[
        "exec",
        "-d",
        "cc",
        "sh",
        "-c",
        "sleep 0.2; echo done > /tmp/bg; exec sleep 999",
    ]);
    assert_eq!(out.ok(), "");
    assert!(eventually(DEADLINE, || b
        .run_t(&["exec", "cc", "cat", "/tmp/bg"])
        .stdout
        == "done\n"));
    let ps = b.run_t(&["exec", "cc", "ps", "-o", "args"]);
    assert!(ps.ok().lines().any(|l| l.trim() == "sleep 999"), "{ps:?}");
}

#[test]
fn exec_it_gives_a_terminal() {
    let b = Berth::new();
    b.busybox("busybox");
    b.detach(&["--name", "cc", "busybox", "sleep", "1000"]);
    let mut t = b.pty(&["exec", "-it", "cc", "sh"], 21, 77);
    t.send(b"tty; stty size; echo $((40+2))z\r");
    t.expect("42z");
    let screen = t.screen();
    assert!(screen.contains("/dev/pts/"), "{screen}");
    assert!(screen.contains("21 77"), "{screen}");
    t.send(b"exit 3\r");
    assert_eq!(t.finish(), 3, "{}", t.screen());
    // The container goes on.
    assert_eq!(b.status("cc"), "running");
}

#[test]
fn exec_refuses_a_container_that_is_not_running() {
    let b = Berth::new();
    b.busybox("busybox");
    let id = b
        .run_t(&["create", "--name", "cc", "busybox", "sleep", "1000"])
        .ok()
        .trim()
        .to_string();
    let err = b.run_t(&["exec", "cc", "true"]).fails(1).to_string();
    assert!(
        err.contains(&format!("container {id} is not running")),
        "{err}"
    );
    let err = b.run_t(&["exec", "nosuch", "true"]).fails(1).to_string();
    assert!(err.contains("No such container: nosuch"), "{err}");
}

#[test]
fn a_finished_exec_leaves_no_process_behind() {
    let b = Berth::new();
    b.busybox("busybox");
    let id = b.detach(&["--name", "cc", "busybox", "sleep", "1000"]);
    for i in 0..5 {
        assert_eq!(
            b.run_t(&["exec", "cc", "echo", &i.to_string()]).ok(),
            format!("{i}\n")
        );
    }
    let monitor = b.monitor_of(&id).expect("a monitor");
    let settled = eventually(Duration::from_secs(10), || {
        common::processes()
            .iter()
            .all(|p| !(p.ppid == monitor && p.state == 'Z'))
    });
    assert!(
        settled,
        "zombies under the monitor: {:?}",
        common::processes()
            .into_iter()
            .filter(|p| p.ppid == monitor)
            .collect::<Vec<_>>()
    );
    let ps = b.run_t(&["exec", "cc", "ps", "-o", "pid,stat,args"]);
    assert_eq!(ps.ok().lines().count(), 3, "{ps:?}");
}

#[test]
fn exec_as_another_user_gets_that_users_home() {
    let b = Berth::new();
    b.busybox("busybox");
    b.detach(&["--name", "ctr", "busybox", "sleep", "1000"]);
    // As `run -u nobody` does (it prints /nonexistent).
    let out = b.run_t(&[
        "run",
        "--rm",
        "-u",
        "nobody",
        "busybox",
        "sh",
        "-c",
        "echo $HOME",
    ]);
    assert_eq!(out.ok(), "/nonexistent\n");
    let out = b.run_t(&["exec", "-u", "nobody", "ctr", "sh", "-c", "echo $HOME"]);
    assert_eq!(out.ok(), "/nonexistent\n");
}
