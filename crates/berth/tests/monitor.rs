//! The per-container monitor: it outlives the CLI, records how the container ended, leaves no
//! zombie, and a monitor killed with SIGKILL does not leave a container "Up" forever.

mod common;

use std::time::Duration;

use common::{cgroup_dirs, eventually, processes, Berth, DEADLINE};

#[test]
fn the_monitor_outlives_the_cli_and_records_the_end() {
    let b = Berth::new();
    b.busybox("busybox");
    // From a shell that exits at once, as a user's would.
    let berth = env!("CARGO_BIN_EXE_berth");
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c")
        .arg(format!("{berth} run -d busybox sleep 1000; exit 0"))
        .env("BERTH_ROOT", b.root())
        .env("BERTH_RUNROOT", b.runroot())
        .stdin(std::process::Stdio::null());
    let out: common::Run = sh.output().expect("sh").into();
    let id = out.ok().trim().to_string();
    assert!(common::is_hex64(&id), "{out:?}");

    let monitor = b.monitor_of(&id).expect("a monitor runs");
    let me = std::process::id() as i32;
    let parent = processes()
        .into_iter()
        .find(|p| p.pid == monitor)
        .map(|p| p.ppid);
    assert_ne!(parent, Some(me), "the monitor is still our child");
    let out = b.run_t(&["ps", "--format", "{{.ID}} {{.Status}}"]);
    let line = out.ok().trim().to_string();
    assert!(
        line.starts_with(&id[..12]) && line.contains(" Up "),
        "{line}"
    );

    b.run_t(&["stop", "-t", "1", &id]).ok();
    assert_eq!(
        b.field(
            &id,
            "{{.State.Status}} {{.State.ExitCode}} {{.State.Running}} {{.State.Pid}}"
        ),
        "exited 137 false 0"
    );
    let started = b.field(&id, "{{.State.StartedAt}}");
    let finished = b.field(&id, "{{.State.FinishedAt}}");
    assert!(
        !finished.starts_with("0001") && finished > started,
        "{started} {finished}"
    );
    // The monitor goes with its container, leaving no zombie and no process in the cgroup.
    assert!(
        eventually(DEADLINE, || b.monitor_of(&id).is_none()),
        "the monitor stayed"
    );
    let zombies: Vec<_> = processes()
        .into_iter()
        .filter(|p| p.ppid == monitor && p.state == 'Z')
        .collect();
    assert!(zombies.is_empty(), "{zombies:?}");
    assert!(processes()
        .iter()
        .all(|p| p.args != ["sleep", "1000"] || !in_cgroup_of(p.pid, &id)));
}

/// Whether process `pid` is in a cgroup of container `id`.
fn in_cgroup_of(pid: i32, id: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup")).is_ok_and(|c| c.contains(id))
}

#[test]
fn the_exit_of_a_detached_container_is_recorded_without_a_cli() {
    let b = Berth::new();
    b.busybox("busybox");
    let id = b.detach(&["busybox", "sh", "-c", "sleep 0.3; exit 9"]);
    assert!(eventually(DEADLINE, || b.status(&id) == "exited"));
    assert_eq!(b.field(&id, "{{.State.ExitCode}}"), "9");
    let out = b.run_t(&["ps", "-a", "--format", "{{.Status}}"]);
    assert!(out.ok().starts_with("Exited (9) "), "{out:?}");
    assert!(
        eventually(DEADLINE, || b.monitor_of(&id).is_none()),
        "the monitor stayed"
    );
    assert!(
        eventually(DEADLINE, || cgroup_dirs(&id).is_empty()),
        "cgroups left: {:?}",
        cgroup_dirs(&id)
    );
}

#[test]
fn a_killed_monitor_leaves_an_exited_container_that_rm_cleans() {
    let b = Berth::new();
    b.busybox("busybox");
    let id = b.detach(&["busybox", "sleep", "1000"]);
    let pid: i32 = b.field(&id, "{{.State.Pid}}").parse().expect("a pid");
    let monitor = b.monitor_of(&id).expect("a monitor runs");
    common::kill(monitor, libc::SIGKILL);
    assert!(eventually(DEADLINE, || b.monitor_of(&id).is_none()));

    // Not "Up" forever: once the dead monitor is noticed, the container is exited.
    let mut last = String::new();
    let exited = eventually(DEADLINE, || {
        last = b
            .run_t(&["ps", "-a", "--format", "{{.Status}}"])
            .ok()
            .to_string();
        last.starts_with("Exited ")
    });
    assert!(exited, "not exited after its monitor died: {last}");
    assert_eq!(b.field(&id, "{{.State.Running}}"), "false");
    assert_eq!(b.run_t(&["ps", "-q"]).ok(), "");

    b.run_t(&["rm", &id]).ok();
    assert!(b.container_ids().is_empty());
    assert!(!b.root().join("containers").join(&id).exists());
    assert!(
        b.mounts()
            .iter()
            .all(|m| !m.to_string_lossy().contains(&id)),
        "{:?}",
        b.mounts()
    );
    assert!(
        eventually(Duration::from_secs(10), || cgroup_dirs(&id).is_empty()),
        "cgroups left: {:?}",
        cgroup_dirs(&id)
    );
    // The container's process did not survive its monitor's death either.
    assert!(
        eventually(Duration::from_secs(10), || !in_cgroup_of(pid, &id)),
        "pid {pid} is still in the container's cgroup"
    );
}

#[test]
fn a_monitor_serves_many_execs_and_attaches_without_leaking() {
    let b = Berth::new();
    b.busybox("busybox");
    let id = b.detach(&[
        "busybox",
        "sh",
        "-c",
        "while :; do echo tick; sleep 0.2; done",
    ]);
    let monitor = b.monitor_of(&id).expect("a monitor");
    for _ in 0..3 {
        let a = b.spawn(&["attach", "--no-stdin", &id]);
        assert!(a.stdout_has("tick", DEADLINE), "{:?}", a.output());
        drop(a);
        b.run_t(&["exec", &id, "true"]).ok();
    }
    assert_eq!(b.status(&id), "running");
    let fds = || {
        std::fs::read_dir(format!("/proc/{monitor}/fd"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    let before = fds();
    for _ in 0..5 {
        let a = b.spawn(&["attach", "--no-stdin", &id]);
        assert!(a.stdout_has("tick", DEADLINE));
        drop(a);
        b.run_t(&["exec", &id, "true"]).ok();
    }
    // Closed attach and exec connections are let go.
    assert!(
        eventually(Duration::from_secs(10), || fds() <= before),
        "monitor fds grew from {before} to {}",
        fds()
    );
    let zombies: Vec<_> = processes()
        .into_iter()
        .filter(|p| p.ppid == monitor && p.state == 'Z')
        .collect();
    assert!(zombies.is_empty(), "{zombies:?}");
}
