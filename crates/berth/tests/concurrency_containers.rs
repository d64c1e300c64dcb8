//! Many container commands at once on one store: every container is made and listed once with
//! its own name, and removing them all at once leaves nothing behind.

mod common;

use std::collections::BTreeSet;

use common::{cgroup_dirs, Berth, Spawned, DEADLINE};

const N: usize = 50;

#[test]
fn fifty_runs_and_fifty_removals_at_once() {
    fifty(&["--network", "none"]);
}

#[test]
fn fifty_runs_and_fifty_removals_at_once_on_the_bridge() {
    fifty(&[]);
}

fn fifty(network: &[&str]) {
    let b = Berth::new();
    b.busybox("busybox");
    let mut args = vec!["run", "-d"];
    args.extend(network);
    args.extend(["busybox", "sleep", "1000"]);
    let mut runs: Vec<Spawned> = (0..N).map(|_| b.spawn(&args)).collect();
    let mut ids = BTreeSet::new();
    for r in &mut runs {
        let out = r.wait_within(DEADLINE * 2).expect("run -d ended");
        let id = out.ok().trim().to_string();
        assert!(common::is_hex64(&id), "{out:?}");
        ids.insert(id);
    }
    assert_eq!(ids.len(), N);

    let out = b.run_t(&[
        "ps",
        "--no-trunc",
        "--format",
        "{{.ID}} {{.Names}} {{.State}}",
    ]);
    let lines: Vec<&str> = out.ok().lines().collect();
    assert_eq!(lines.len(), N, "{out:?}");
    let mut names = BTreeSet::new();
    for l in &lines {
        let f: Vec<&str> = l.split(' ').collect();
        assert!(ids.contains(f[0]), "{l}");
        assert_eq!(f[2], "running", "{l}");
        names.insert(f[1].to_string());
    }
    assert_eq!(names.len(), N, "names are not unique: {lines:?}");
    assert_eq!(b.monitors().len(), N);

    let mut rms: Vec<Spawned> = ids.iter().map(|id| b.spawn(&["rm", "-f", id])).collect();
    for r in &mut rms {
        let out = r.wait_within(DEADLINE * 2).expect("rm -f ended");
        out.ok();
    }
    assert_eq!(b.run_t(&["ps", "-aq"]).ok(), "");
    let root = b.root();
    let mounts: Vec<_> = common::mount_points()
        .into_iter()
        .filter(|m| m.starts_with(&root))
        .collect();
    assert!(mounts.is_empty(), "mounts left: {mounts:?}");
    let netns: Vec<_> = common::mount_points()
        .into_iter()
        .filter(|m| {
            ids.iter()
                .any(|id| m.to_string_lossy().contains(id.as_str()))
        })
        .collect();
    assert!(netns.is_empty(), "namespaces left mounted: {netns:?}");
    let cgroups: Vec<_> = ids.iter().flat_map(|id| cgroup_dirs(id)).collect();
    assert!(cgroups.is_empty(), "cgroups left: {cgroups:?}");
    assert!(b.monitors().is_empty(), "monitors left: {:?}", b.monitors());
    assert!(
        b.container_dirs().is_empty(),
        "container dirs left: {:?}",
        b.container_dirs()
    );
    let in_cgroups: Vec<_> = common::processes()
        .into_iter()
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{}/cgroup", p.pid))
                .is_ok_and(|c| ids.iter().any(|id| c.contains(id.as_str())))
        })
        .collect();
    assert!(
        in_cgroups.is_empty(),
        "container processes left: {in_cgroups:?}"
    );
}

#[test]
fn concurrent_names_conflict_cleanly() {
    let b = Berth::new();
    b.busybox("busybox");
    let mut runs: Vec<Spawned> = (0..10)
        .map(|_| b.spawn(&["run", "-d", "--name", "only", "busybox", "sleep", "1000"]))
        .collect();
    let mut won = 0;
    for r in &mut runs {
        let out = r.wait_within(DEADLINE).expect("run -d ended");
        match out.code {
            0 => won += 1,
            125 => assert!(
                out.stderr
                    .contains("The container name \"/only\" is already in use"),
                "{out:?}"
            ),
            _ => panic!("{out:?}"),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(b.container_ids().len(), 1);
    assert_eq!(b.monitors().len(), 1);
    // The losers left nothing half-made.
    assert_eq!(b.container_dirs().len(), 1, "{:?}", b.container_dirs());
    let merged: Vec<_> = b
        .mounts()
        .into_iter()
        .filter(|m| m.ends_with("merged"))
        .collect();
    assert_eq!(merged.len(), 1, "{merged:?}");
}
