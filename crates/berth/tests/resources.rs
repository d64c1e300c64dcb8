//! Limits in the container's cgroup (-m, --cpus, -c, --pids-limit), the OOM killer, restart
//! policies and `--init`.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{cgroup_dirs, eventually, Berth, DEADLINE};

/// The value of a cgroup file of container `id` as the host sees it: the v1 controller's
/// file if the host has that hierarchy, else the unified one's.
fn cgroup_file(id: &str, v1: (&str, &str), v2: &str) -> String {
    let dirs = cgroup_dirs(id);
    let v1_dir = dirs
        .iter()
        .find(|d| d.starts_with(Path::new("/sys/fs/cgroup").join(v1.0)));
    let path = match v1_dir {
        Some(d) => d.join(v1.1),
        None => dirs
            .iter()
            .map(|d| d.join(v2))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("no cgroup file {v2} for {id}: {dirs:?}")),
    };
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_string()
}

#[test]
fn memory_cpu_and_pids_limits_are_in_the_containers_cgroup() {
    let b = Berth::new();
    b.busybox("busybox");
    let id = b.detach(&[
        "-m",
        "64m",
        "--cpus",
        "0.5",
        "-c",
        "512",
        "--pids-limit",
        "20",
        "busybox",
        "sleep",
        "1000",
    ]);
    assert_eq!(
        cgroup_file(&id, ("memory", "memory.limit_in_bytes"), "memory.max"),
        "67108864"
    );
    assert_eq!(cgroup_file(&id, ("pids", "pids.max"), "pids.max"), "20");
    let v1 = Path::new("/sys/fs/cgroup/cpu/berth").join(&id).is_dir();
    if v1 {
        assert_eq!(cgroup_file(&id, ("cpu", "cpu.cfs_quota_us"), ""), "50000");
        assert_eq!(cgroup_file(&id, ("cpu", "cpu.cfs_period_us"), ""), "100000");
        assert_eq!(cgroup_file(&id, ("cpu", "cpu.shares"), ""), "512");
    } else {
        assert_eq!(cgroup_file(&id, ("cpu", ""), "cpu.max"), "50000 100000");
    }
    // The container sees its own limit too.
    let out = b.run_t(&[
        "exec",
        &id,
        "sh",
        "-c",
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max",
    ]);
    assert_eq!(out.ok(), "67108864\n");
    assert_eq!(
        b.field(
            &id,
            "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}"
        ),
        "67108864 500000000 20"
    );
}

#[test]
fn the_pids_limit_stops_forks() {
    let b = Berth::new();
    b.busybox("busybox");
    let out = b.run_t(&[
        "run",
        "--rm",
        "--pids-limit",
        "5",
        "busybox",
        "sh",
        "-c",
        "for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait",
    ]);
    assert!(out.stderr.contains("can't fork"), "{out:?}");
}

#[test]
fn past_its_memory_limit_a_container_is_oom_killed() {
    let b = Berth::new();
    b.busybox("busybox");
    let out = b.run_t(&[
        "run",
        "--name",
        "hog",
        "-m",
        "64m",
        "busybox",
        "sh",
        "-c",
        r#"x=$(head -c 200m /dev/zero | tr '\0' a); echo survived"#,
    ]);
    assert_eq!(out.code, 137, "{out:?}");
    assert!(!out.stdout.contains("survived"), "{out:?}");
    assert_eq!(
        b.field(
            "hog",
            "{{.State.OOMKilled}} {{.State.ExitCode}} {{.State.Status}}"
        ),
        "true 137 exited"
    );

    // A container that stays under it is not marked.
    b.run_t(&[
        "run",
        "--name",
        "fine",
        "-m",
        "64m",
        "busybox",
        "sh",
        "-c",
        "x=$(head -c 1m /dev/zero | tr '\\0' a)",
    ])
    .ok();
    assert_eq!(b.field("fine", "{{.State.OOMKilled}}"), "false");
}

#[test]
fn on_failure_restarts_up_to_the_count() {
    let b = Berth::new();
    b.busybox("busybox");
    b.detach(&[
        "--name",
        "rr",
        "--restart",
        "on-failure:2",
        "busybox",
        "sh",
        "-c",
        "echo run; exit 1",
    ]);
    let done = eventually(DEADLINE, || {
        b.field("rr", "{{.RestartCount}} {{.State.Status}}") == "2 exited"
    });
    assert!(
        done,
        "{}",
        b.field("rr", "{{.RestartCount}} {{.State.Status}}")
    );
    assert_eq!(b.run_t(&["wait", "rr"]).ok(), "1\n");
    assert_eq!(b.run_t(&["logs", "rr"]).ok(), "run\nrun\nrun\n");
    assert_eq!(
        b.field(
            "rr",
            "{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}"
        ),
        "on-failure 2"
    );

    // Success is not a failure: no restart.
    b.detach(&[
        "--name",
        "ok",
        "--restart",
        "on-failure",
        "busybox",
        "sh",
        "-c",
        "echo once",
    ]);
    assert_eq!(b.run_t(&["wait", "ok"]).ok(), "0\n");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        b.field("ok", "{{.RestartCount}} {{.State.Status}}"),
        "0 exited"
    );
    assert_eq!(b.run_t(&["logs", "ok"]).ok(), "once\n");
}

fn restarts_until_stopped(policy: &str) {
    let b = Berth::new();
    b.busybox("busybox");
    b.detach(&[
        "--name",
        "rr",
        "--restart",
        policy,
        "busybox",
        "sh",
        "-c",
        "echo run; sleep 0.2",
    ]);
    let count = || {
        b.field("rr", "{{.RestartCount}}")
            .parse::<u32>()
            .expect("a count")
    };
    assert!(
        eventually(DEADLINE, || count() >= 2),
        "never restarted twice"
    );
    assert_eq!(b.run_t(&["stop", "-t", "1", "rr"]).ok(), "rr\n");
    assert_eq!(b.status("rr"), "exited");
    let after = count();
    // A stopped container stays stopped.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(b.status("rr"), "exited");
    assert_eq!(count(), after);
    let runs = b.run_t(&["logs", "rr"]).ok().lines().count() as u32;
    // A stop during the back-off before a restart counts that restart without its run, as
    // Docker's does.
    assert!(runs >= after, "{runs} runs logged for {after} restarts");
    // And a start brings the policy back.
    b.run_t(&["start", "rr"]).ok();
    assert!(
        eventually(DEADLINE, || count() > after),
        "no restart after start"
    );
}

#[test]
fn always_restarts_after_exit_but_not_after_stop() {
    restarts_until_stopped("always");
}

#[test]
fn unless_stopped_restarts_after_exit_but_not_after_stop() {
    restarts_until_stopped("unless-stopped");
}

#[test]
fn restart_and_rm_conflict() {
    let b = Berth::new();
    b.busybox("busybox");
    let err = b
        .run_t(&["run", "--rm", "--restart", "always", "busybox", "true"])
        .fails(125)
        .to_string();
    // Docker's CLI says "conflicting options: cannot specify both --restart and --rm"; its
    // daemon, "can't create 'AutoRemove' container with restart policy".
    assert!(
        err.contains("--restart and --rm")
            || err.contains("can't create 'AutoRemove' container with restart policy"),
        "{err}"
    );
    assert!(b.container_ids().is_empty());
}

#[test]
fn an_unknown_restart_policy_is_a_usage_error() {
    let b = Berth::new();
    b.busybox("busybox");
    let err = b
        .run_t(&["run", "--restart", "sometimes", "busybox", "true"])
        .fails(125)
        .to_string();
    assert!(err.contains("sometimes"), "{err}");
    assert!(b.container_ids().is_empty());
}

fn assert_tini() {
    assert!(
        Path::new("/usr/bin/tini-static").exists(),
        "/usr/bin/tini-static is missing: --init needs Debian's tini package (scripts/deps.sh installs it)"
    );
}

#[test]
fn init_runs_as_pid_1_and_reaps_orphans() {
    assert_tini();
    let b = Berth::new();
    b.busybox("busybox");
    // An orphan is left to PID 1 when its parent exits; PID 1 must reap it once it ends.
    let script = r#"sh -c "sleep 0.3 &"; exec sleep 1000"#;
    b.detach(&["--init", "--name", "init", "busybox", "sh", "-c", script]);
    assert_eq!(b.field("init", "{{.HostConfig.Init}}"), "true");
    let ps = |c: &str| {
        b.run_t(&["exec", c, "ps", "-o", "pid,stat,args"])
            .ok()
            .to_string()
    };
    let first = ps("init");
    let pid1 = first
        .lines()
        .find(|l| l.split_whitespace().next() == Some("1"))
        .expect("a pid 1")
        .to_string();
    // Docker's place and name for it.
    assert!(
        pid1.contains(" /sbin/docker-init -- sh -c "),
        "pid 1 is not the init: {first}"
    );
    assert!(first.lines().any(|l| l.ends_with("sleep 1000")), "{first}");
    let reaped = eventually(DEADLINE, || {
        let now = ps("init");
        !now.lines()
            .any(|l| l.ends_with(" sleep 0.3") || l.split_whitespace().nth(1) == Some("Z"))
    });
    assert!(reaped, "the orphan was not reaped: {}", ps("init"));

    // Without an init the same orphan stays a zombie under `sleep`, which never waits.
    b.detach(&["--name", "bare", "busybox", "sh", "-c", script]);
    let zombie = eventually(DEADLINE, || {
        ps("bare")
            .lines()
            .any(|l| l.split_whitespace().nth(1) == Some("Z"))
    });
    assert!(zombie, "expected a zombie without --init: {}", ps("bare"));
}

#[test]
fn rm_f_ends_a_restart_loop_for_good() {
    let b = Berth::new();
    b.busybox("busybox");
    let id = b.detach(&["--restart", "always", "busybox", "sh", "-c", "exit 1"]);
    let count = || {
        b.field(&id, "{{.RestartCount}}")
            .parse::<u32>()
            .unwrap_or(0)
    };
    assert!(eventually(DEADLINE, || count() >= 1), "never restarted");
    b.run_t(&["rm", "-f", &id]).ok();
    assert!(b.container_ids().is_empty());
    assert!(
        eventually(DEADLINE, || b.monitors().is_empty()),
        "monitors left: {:?}",
        b.monitors()
    );
    std::thread::sleep(Duration::from_millis(1000));
    assert!(b.container_ids().is_empty(), "the container came back");
    assert!(b.container_dirs().is_empty(), "{:?}", b.container_dirs());
    assert!(cgroup_dirs(&id).is_empty(), "{:?}", cgroup_dirs(&id));
}

#[test]
fn a_memory_limit_below_dockers_minimum_is_refused() {
    let b = Berth::new();
    b.busybox("busybox");
    let err = b
        .run_t(&["run", "--rm", "-m", "4m", "busybox", "true"])
        .fails(125)
        .to_string();
    assert!(err.contains("Minimum memory limit allowed is 6MB"), "{err}");
    assert!(b.container_ids().is_empty());
}

#[test]
fn cpus_beyond_the_hosts_are_refused() {
    let b = Berth::new();
    b.busybox("busybox");
    let n = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let err = b
        .run_t(&["run", "--rm", "--cpus", "100", "busybox", "true"])
        .fails(125)
        .to_string();
    assert!(
        err.contains(&format!(
            "Range of CPUs is from 0.01 to {n}.00, as there are only {n} CPUs available"
        )),
        "{err}"
    );
}
