//! Twenty `import`/`tag`/`rmi` commands at once on one store: each succeeds or fails
//! cleanly (a status and Docker's message), "database is locked" never reaches the user, no
//! tag is lost, and the store is whole afterwards.

mod common;

use std::collections::BTreeSet;
use std::process::Stdio;

use common::{tiny_tar, Berth, Run};

/// Starts every command, then waits for all of them.
fn run_all(b: &Berth, commands: &[Vec<String>]) -> Vec<Run> {
    let children: Vec<_> = commands
        .iter()
        .map(|args| {
            b.command()
                .args(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn berth")
        })
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait berth").into())
        .collect()
}

fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|s| s.to_string()).collect()
}

#[track_caller]
fn assert_no_lock_errors(commands: &[Vec<String>], results: &[Run]) {
    for (c, r) in commands.iter().zip(results) {
        let err = r.stderr.to_lowercase();
        assert!(
            !err.contains("locked") && !err.contains("busy") && !err.contains("panicked"),
            "{c:?}: {}",
            r.stderr
        );
    }
}

fn set<I: IntoIterator<Item = String>>(items: I) -> BTreeSet<String> {
    items.into_iter().collect()
}

#[test]
fn twenty_independent_commands_all_succeed() {
    for round in 0..3 {
        let b = Berth::new();
        b.tiny("keep", Some("a:keep"));
        for i in 0..5 {
            b.run(&["tag", "a:keep", &format!("a:r{i}")]).ok();
        }
        // An image whose layer the concurrent `share:*` imports need while rmi deletes it.
        // (busybox: big enough that unpacking it overlaps the rmi.)
        let shared = common::busybox_tar().to_str().unwrap().to_string();
        b.run(&["import", &shared, "gone:1"]).ok();

        let mut commands = Vec::new();
        for i in 0..8 {
            let f = b.write(
                &format!("imp{i}.tar"),
                &tiny_tar(&format!("imp-{round}-{i}")),
            );
            commands.push(args(&["import", f.to_str().unwrap(), &format!("imp:{i}")]));
        }
        for i in 0..2 {
            commands.push(args(&["import", &shared, &format!("share:{i}")]));
        }
        for i in 0..5 {
            commands.push(args(&["tag", "a:keep", &format!("t:{i}")]));
        }
        for i in 0..4 {
            commands.push(args(&["rmi", &format!("a:r{i}")]));
        }
        commands.push(args(&["rmi", "gone:1"]));
        assert_eq!(commands.len(), 20);

        let results = run_all(&b, &commands);
        assert_no_lock_errors(&commands, &results);
        for (c, r) in commands.iter().zip(&results) {
            assert_eq!(r.code, 0, "round {round}: {c:?} failed: {}", r.stderr);
            match c[0].as_str() {
                "import" => common::assert_image_id(r.stdout.trim()),
                "tag" => assert_eq!(r.stdout, ""),
                _ => {}
            }
        }
        assert!(
            results[15].stdout.starts_with("Untagged: a:r0\n"),
            "{:?}",
            results[15]
        );

        let mut want: BTreeSet<String> = set((0..8).map(|i| format!("imp:{i}")));
        want.extend((0..2).map(|i| format!("share:{i}")));
        want.extend((0..5).map(|i| format!("t:{i}")));
        want.insert("a:keep".into());
        want.insert("a:r4".into());
        assert_eq!(b.tags(), want, "round {round}");
        // Each imported image is what its command printed, and whole.
        for (i, r) in results.iter().enumerate().take(10) {
            let name = &commands[i][2];
            assert_eq!(b.inspect(name)["Id"], r.stdout.trim(), "{name}");
        }
        let layer = b.inspect("share:0")["RootFS"]["Layers"][0]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            b.root()
                .join("layers")
                .join(&layer[7..])
                .join("diff/bin/busybox")
                .is_file(),
            "round {round}: a layer in use was deleted by the concurrent rmi"
        );
        let (code, _, err) = b.run_raw(&["save", "share:0", "share:1"]);
        assert_eq!(code, 0, "{err}");
        b.assert_clean();
    }
}

#[test]
fn conflicting_commands_fail_cleanly_and_lose_nothing() {
    let b = Berth::new();
    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(b.tiny(&format!("src-{i}"), Some(&format!("src:{i}"))));
    }
    b.run(&["tag", "src:0", "dup:x"]).ok();
    let victim = b.tiny("victim", Some("victim:1"));
    b.run(&["tag", "victim:1", "victim:2"]).ok();

    let mut commands = Vec::new();
    // Ten sources race for one tag.
    for i in 0..10 {
        commands.push(args(&["tag", &format!("src:{i}"), "race:last"]));
    }
    // Five remove the same name: one untags it, the others find it gone.
    for _ in 0..5 {
        commands.push(args(&["rmi", "dup:x"]));
    }
    // Five force-remove the same image by ID: one deletes it.
    for _ in 0..5 {
        commands.push(args(&["rmi", "-f", &victim[7..19]]));
    }
    let results = run_all(&b, &commands);
    assert_no_lock_errors(&commands, &results);

    for (c, r) in commands.iter().zip(&results).take(10) {
        assert_eq!(r.code, 0, "{c:?}: {}", r.stderr);
    }
    let winner = b.inspect("race:last")["Id"].as_str().unwrap().to_string();
    assert!(ids.contains(&winner), "race:last names {winner}");

    let untag: Vec<&Run> = results[10..15].iter().collect();
    let ok: Vec<&&Run> = untag.iter().filter(|r| r.code == 0).collect();
    assert_eq!(ok.len(), 1, "{untag:?}");
    assert_eq!(ok[0].stdout, "Untagged: dup:x\n");
    for r in untag.iter().filter(|r| r.code != 0) {
        assert_eq!(r.code, 1, "{r:?}");
        assert_eq!(
            r.stderr.trim(),
            "Error response from daemon: No such image: dup:x",
            "{r:?}"
        );
    }

    let delete: Vec<&Run> = results[15..].iter().collect();
    let ok: Vec<&&Run> = delete.iter().filter(|r| r.code == 0).collect();
    assert_eq!(ok.len(), 1, "{delete:?}");
    assert!(
        ok[0].stdout.contains(&format!("Deleted: {victim}\n")),
        "{}",
        ok[0].stdout
    );
    for r in delete.iter().filter(|r| r.code != 0) {
        assert_eq!(r.code, 1, "{r:?}");
        assert!(r.stderr.contains("No such image"), "{r:?}");
    }

    let mut want: BTreeSet<String> = set((0..10).map(|i| format!("src:{i}")));
    want.insert("race:last".into());
    assert_eq!(b.tags(), want);
    b.assert_clean();
}

#[test]
fn imports_of_one_tarball_at_once_share_one_layer() {
    let b = Berth::new();
    let tar = b.write("same.tar", &tiny_tar("same"));
    let commands: Vec<Vec<String>> = (0..20)
        .map(|i| args(&["import", tar.to_str().unwrap(), &format!("same:{i}")]))
        .collect();
    let results = run_all(&b, &commands);
    assert_no_lock_errors(&commands, &results);
    for (c, r) in commands.iter().zip(&results) {
        assert_eq!(r.code, 0, "{c:?}: {}", r.stderr);
    }
    assert_eq!(b.tags().len(), 20);
    let layer = common::sha256(&tiny_tar("same"));
    assert_eq!(b.entries("layers"), set([layer[7..].to_string()]));
    b.assert_clean();
}
