//! `kill -9` in the middle of `import` and `load`: afterwards `system check --repair` leaves
//! nothing to report, and every image listed before is still listed and whole (inspect and
//! save work). Kills land at several points: after fixed delays (wherever the work is by
//! then) and after a fixed number of input bytes fed through a pipe (deterministic).

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::thread::sleep;
use std::time::Duration;

use common::{cached_file, Berth};

const MB: usize = 1 << 20;

/// A ~100 MB rootfs of incompressible files, made once per test run.
fn big_rootfs() -> PathBuf {
    cached_file("big-rootfs.tar", |tmp| {
        let mut b = tar::Builder::new(std::fs::File::create(tmp).expect("create big tar"));
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for i in 0..48 {
            let mut data = Vec::with_capacity(2 * MB);
            while data.len() < 2 * MB {
                // xorshift64: fast, and random enough that nothing compresses it.
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                data.extend_from_slice(&state.to_le_bytes());
            }
            let mut h = tar::Header::new_gnu();
            h.set_mode(0o644);
            h.set_size(data.len() as u64);
            b.append_data(&mut h, format!("data/{i:02}.bin"), data.as_slice())
                .expect("append");
        }
        b.into_inner().expect("finish").sync_all().expect("sync");
    })
}

/// `big_rootfs` imported and saved by berth as a docker-archive, made once per test run.
fn big_archive() -> PathBuf {
    cached_file("big-archive.tar", |tmp| {
        let b = Berth::new();
        let rootfs = big_rootfs();
        b.run(&["import", rootfs.to_str().unwrap(), "big:saved"])
            .ok();
        b.run(&["save", "-o", tmp.to_str().unwrap(), "big:saved"])
            .ok();
    })
}

/// A store with images that must survive every crash.
fn store_with_survivors() -> (Berth, BTreeSet<String>) {
    let b = Berth::new();
    b.busybox("base");
    b.tiny("one", Some("small:1"));
    b.tiny("dangling", None);
    let listing = b.listing();
    (b, listing)
}

fn spawn(b: &Berth, args: &[&str], stdin: bool) -> Child {
    b.command()
        .args(args)
        .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn berth")
}

/// SIGKILL, then reap. Returns whether the command had already finished on its own.
fn kill_9(mut child: Child) -> bool {
    let done_before = child.try_wait().expect("try_wait").is_some();
    let _ = child.kill();
    let status = child.wait().expect("wait");
    done_before || status.success()
}

/// Feeds `limit` bytes of `file` to the child's stdin (all of it when None, but without
/// closing the pipe), then kills it.
fn kill_after_bytes(mut child: Child, file: &Path, limit: usize) {
    let data = std::fs::read(file).expect("read input");
    let mut stdin = child.stdin.take().expect("stdin");
    let n = limit.min(data.len());
    // berth may stop reading (and exit) first; then the write fails, which is fine.
    let _ = stdin.write_all(&data[..n]);
    let _ = stdin.flush();
    kill_9(child);
    drop(stdin);
}

/// After a crash: repair, then nothing to report, and the survivors are whole.
#[track_caller]
fn assert_recovers(b: &Berth, survivors: &BTreeSet<String>, what: &str) {
    let repair = b.run(&["system", "check", "--repair"]);
    assert_eq!(repair.code, 0, "{what}: repair left problems: {repair:?}");
    let check = b.run(&["system", "check"]);
    assert_eq!(check.stdout, "No problems found\n", "{what}: {check:?}");
    b.assert_clean();
    let now = b.listing();
    assert!(
        now.is_superset(survivors),
        "{what}: lost images: {:?}",
        survivors.difference(&now).collect::<Vec<_>>()
    );
    for line in survivors {
        let id = line.split(' ').next().unwrap();
        let inspect = b.run(&["image", "inspect", "-f", "{{.Id}}", id]);
        assert_eq!(inspect.stdout.trim(), id, "{what}: {inspect:?}");
        let (code, archive, err) = b.run_raw(&["save", id]);
        assert_eq!(code, 0, "{what}: save of {id}: {err}");
        assert!(
            common::tar_members(&archive).contains_key("manifest.json"),
            "{what}"
        );
    }
    // Whatever the interrupted command finished is whole too; remove it for the next round.
    for extra in now.difference(survivors) {
        let id = extra.split(' ').next().unwrap();
        b.run(&["image", "inspect", id]).ok();
        b.run(&["rmi", "-f", id]).ok();
    }
    assert_eq!(&b.listing(), survivors, "{what}");
}

const DELAYS_MS: [u64; 7] = [0, 20, 50, 100, 200, 350, 600];

#[test]
fn kill_9_during_import_leaves_a_repairable_store() {
    let rootfs = big_rootfs();
    let (b, survivors) = store_with_survivors();
    for (i, ms) in DELAYS_MS.iter().enumerate() {
        let name = format!("big:t{i}");
        let child = spawn(&b, &["import", rootfs.to_str().unwrap(), &name], false);
        sleep(Duration::from_millis(*ms));
        kill_9(child);
        assert_recovers(&b, &survivors, &format!("import killed after {ms} ms"));
    }
}

#[test]
fn kill_9_during_import_from_a_pipe_leaves_a_repairable_store() {
    let rootfs = big_rootfs();
    let (b, survivors) = store_with_survivors();
    for limit in [0, MB, 30 * MB, 90 * MB, usize::MAX] {
        let child = spawn(&b, &["import", "-", "big:piped"], true);
        kill_after_bytes(child, &rootfs, limit);
        assert_recovers(
            &b,
            &survivors,
            &format!("import killed after {limit} input bytes"),
        );
    }
}

#[test]
fn kill_9_during_load_leaves_a_repairable_store() {
    let archive = big_archive();
    let (b, survivors) = store_with_survivors();
    for ms in DELAYS_MS {
        let child = spawn(&b, &["load", "-i", archive.to_str().unwrap()], false);
        sleep(Duration::from_millis(ms));
        kill_9(child);
        assert_recovers(&b, &survivors, &format!("load killed after {ms} ms"));
    }
}

#[test]
fn kill_9_during_load_from_a_pipe_leaves_a_repairable_store() {
    let archive = big_archive();
    let (b, survivors) = store_with_survivors();
    for limit in [0, 512, MB, 50 * MB, usize::MAX] {
        let child = spawn(&b, &["load"], true);
        kill_after_bytes(child, &archive, limit);
        assert_recovers(
            &b,
            &survivors,
            &format!("load killed after {limit} input bytes"),
        );
    }
}

#[test]
fn an_import_after_a_crash_works_and_reuses_nothing_half_written() {
    let rootfs = big_rootfs();
    let (b, survivors) = store_with_survivors();
    let child = spawn(&b, &["import", "-", "big:first"], true);
    kill_after_bytes(child, &rootfs, 60 * MB);
    // No repair in between: the next command must cope with the leftovers itself.
    let id = b
        .run(&["import", rootfs.to_str().unwrap(), "big:second"])
        .ok()
        .trim()
        .to_string();
    assert_eq!(b.inspect("big:second")["Size"], 48 * 2 * MB as u64);
    let repair = b.run(&["system", "check", "--repair"]);
    assert_eq!(repair.code, 0, "{repair:?}");
    b.assert_clean();
    assert!(b.listing().is_superset(&survivors));
    let (code, archive, err) = b.run_raw(&["save", &id]);
    assert_eq!(code, 0, "{err}");
    let other = Berth::new();
    assert_eq!(
        other.run_stdin(&["load"], &archive).ok(),
        format!("Loaded image ID: {id}\n")
    );
}
