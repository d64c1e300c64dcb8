//! Hostile and corrupt input: layer tars that try to escape the root, tampered and broken
//! archives. Each is refused with an error that says what was wrong, and the store is left
//! exactly as it was, with nothing half-written and no host file touched.
//!
//! The escape attempts aim at a sentinel file next to the store (not at /etc) so that a
//! regression shows up as a changed sentinel instead of a damaged test machine.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use common::{
    docker_archive, gzip, tar_files, tar_members, tar_of, tiny_tar, ArchiveImage, Berth, Entry,
};

const SENTINEL: &str = "sentinel";
const SENTINEL_TEXT: &[u8] = b"untouched\n";

/// A relative name that climbs from wherever berth unpacks (however deep) to the host's
/// `path`: more `..` than any directory has parents, then the absolute path.
fn escape(path: &Path) -> String {
    let abs = path.to_str().unwrap().trim_start_matches('/');
    format!("{}{abs}", "../".repeat(16))
}

/// What must not change when berth refuses input.
struct Snapshot {
    listing: BTreeSet<String>,
    layers: BTreeSet<String>,
    blobs: BTreeSet<String>,
    test_dir: BTreeSet<String>,
}

fn hostile_store() -> Berth {
    let b = Berth::new();
    b.busybox("base");
    fs::write(b.path(SENTINEL), SENTINEL_TEXT).unwrap();
    b
}

fn snapshot(b: &Berth) -> Snapshot {
    Snapshot {
        listing: b.listing(),
        layers: b.entries("layers"),
        blobs: b.entries("blobs/sha256"),
        test_dir: fs::read_dir(b.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
    }
}

#[track_caller]
fn assert_unchanged(b: &Berth, before: &Snapshot, what: &str) {
    assert_eq!(b.listing(), before.listing, "{what}: images changed");
    assert_eq!(b.entries("layers"), before.layers, "{what}: layers changed");
    assert_eq!(
        b.entries("blobs/sha256"),
        before.blobs,
        "{what}: blobs changed"
    );
    let sentinel = b.path(SENTINEL);
    assert_eq!(
        fs::read(&sentinel).unwrap(),
        SENTINEL_TEXT,
        "{what}: the host file was written"
    );
    assert_eq!(
        fs::metadata(&sentinel).unwrap().nlink(),
        1,
        "{what}: the host file was linked"
    );
    let now: BTreeSet<String> = fs::read_dir(b.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        now, before.test_dir,
        "{what}: files appeared next to the store"
    );
    b.assert_clean();
}

/// Imports `tar` from stdin and from a file; both must be refused with an error that names
/// `names`, and leave everything as it was.
#[track_caller]
fn assert_import_refused(b: &Berth, tar: &[u8], names: &str, what: &str) {
    let before = snapshot(b);
    let out = b.run_stdin(&["import", "-", "evil:1"], tar);
    assert_ne!(out.code, 0, "{what}: import accepted: {out:?}");
    assert!(out.stdout.is_empty(), "{what}: {}", out.stdout);
    assert!(
        out.stderr.contains(names),
        "{what}: the error does not name {names:?}: {}",
        out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{what}: {}", out.stderr);
    assert_unchanged(b, &before, what);

    let file = b.path("evil.tar");
    fs::write(&file, tar).unwrap();
    let before = snapshot(b);
    let out = b.run(&["import", file.to_str().unwrap(), "evil:2"]);
    assert_ne!(out.code, 0, "{what}: import from a file accepted: {out:?}");
    assert!(out.stderr.contains(names), "{what}: {}", out.stderr);
    assert_unchanged(b, &before, what);
    fs::remove_file(file).unwrap();
}

#[test]
fn dot_dot_names_are_refused() {
    let b = hostile_store();
    let name = escape(&b.path(SENTINEL));
    assert_import_refused(
        &b,
        &tar_of(&[Entry::File(&name, b"owned")]),
        SENTINEL,
        "../ name",
    );
    let name = format!("etc/{}", escape(&b.path(SENTINEL)));
    assert_import_refused(
        &b,
        &tar_of(&[Entry::Dir("etc/"), Entry::File(&name, b"owned")]),
        SENTINEL,
        "../ inside a name",
    );
    let name = format!("{}/", escape(&b.path("escaped-dir")));
    assert_import_refused(
        &b,
        &tar_of(&[Entry::Dir(&name)]),
        "escaped-dir",
        "../ directory",
    );
    assert_import_refused(
        &b,
        &tar_of(&[Entry::File("../x", b"x")]),
        "../x",
        "one level up",
    );
}

#[test]
fn writing_through_an_absolute_symlink_is_refused() {
    // `link -> /etc` then `link/passwd`, aimed at the sentinel's directory.
    let b = hostile_store();
    let dir = b.dir.path().to_str().unwrap().to_string();
    let through = format!("link/{SENTINEL}");
    let tar = tar_of(&[
        Entry::Symlink("link", &dir),
        Entry::File(&through, b"owned"),
    ]);
    assert_import_refused(&b, &tar, "link", "write through an absolute symlink");
    let tar = tar_of(&[
        Entry::Symlink("link", &dir),
        Entry::File("link/new-file", b"owned"),
    ]);
    assert_import_refused(&b, &tar, "link", "create through an absolute symlink");
    let tar = tar_of(&[Entry::Symlink("link", &dir), Entry::Dir("link/new-dir/")]);
    assert_import_refused(&b, &tar, "link", "mkdir through an absolute symlink");
}

#[test]
fn hardlinks_out_of_the_root_are_refused() {
    let b = hostile_store();
    let target = escape(&b.path(SENTINEL));
    assert_import_refused(
        &b,
        &tar_of(&[Entry::Hardlink("h", &target)]),
        "h",
        "hardlink to ../",
    );
    assert_import_refused(
        &b,
        &tar_of(&[Entry::Hardlink("h", "../../etc/passwd")]),
        "h",
        "hardlink to ../../etc/passwd",
    );
    // A hardlink through a symlink that points out.
    let dir = b.dir.path().to_str().unwrap().to_string();
    let via = format!("s/{SENTINEL}");
    assert_import_refused(
        &b,
        &tar_of(&[Entry::Symlink("s", &dir), Entry::Hardlink("h", &via)]),
        "h",
        "hardlink through a symlink",
    );
}

#[test]
fn an_absolute_hardlink_target_does_not_reach_the_host() {
    // Docker resolves an absolute link name inside the root; here that file does not
    // exist, so the import fails; the host file must never gain a link.
    let b = hostile_store();
    let sentinel = b.path(SENTINEL);
    let before = snapshot(&b);
    let out = b.run_stdin(
        &["import", "-", "evil"],
        &tar_of(&[Entry::Hardlink("h", sentinel.to_str().unwrap())]),
    );
    assert_ne!(out.code, 0, "{out:?}");
    assert_unchanged(&b, &before, "absolute hardlink");
}

#[test]
fn relative_symlinks_that_escape_are_refused() {
    let b = hostile_store();
    assert_import_refused(
        &b,
        &tar_of(&[Entry::Symlink("esc", "../../..")]),
        "esc",
        "symlink to ../../..",
    );
    let through = format!("esc/{SENTINEL}");
    let up = escape(b.dir.path());
    assert_import_refused(
        &b,
        &tar_of(&[Entry::Symlink("esc", &up), Entry::File(&through, b"owned")]),
        "esc",
        "write through a ../ symlink",
    );
    assert_import_refused(
        &b,
        &tar_of(&[
            Entry::Dir("a/"),
            Entry::Dir("a/b/"),
            Entry::Symlink("a/b/up", "../../../x"),
        ]),
        "a/b/up",
        "nested symlink escaping by one level",
    );
}

#[test]
fn symlinks_that_stay_inside_are_kept() {
    // Absolute symlinks are resolved inside the container's root: they are normal in
    // images (/etc/localtime), as are relative ones that stay inside.
    let b = Berth::new();
    let tar = tar_of(&[
        Entry::Dir("etc/"),
        Entry::Symlink("etc/localtime", "/usr/share/zoneinfo/UTC"),
        Entry::Dir("a/"),
        Entry::Dir("a/b/"),
        Entry::Symlink("a/b/top", "../.."),
        Entry::Symlink("a/b/sib", "../c"),
        Entry::File("a/c", b"c"),
    ]);
    let id = b
        .run_stdin(&["import", "-", "links"], &tar)
        .ok()
        .trim()
        .to_string();
    let layer = b.inspect(&id)["RootFS"]["Layers"][0].as_str().unwrap()[7..].to_string();
    let diff = b.root().join("layers").join(layer).join("diff");
    assert_eq!(
        fs::read_link(diff.join("etc/localtime")).unwrap().to_str(),
        Some("/usr/share/zoneinfo/UTC")
    );
    assert_eq!(
        fs::read_link(diff.join("a/b/top")).unwrap().to_str(),
        Some("../..")
    );
    assert_eq!(
        fs::read_link(diff.join("a/b/sib")).unwrap().to_str(),
        Some("../c")
    );
    b.assert_clean();
}

#[test]
fn a_load_with_a_hostile_layer_is_refused() {
    let b = hostile_store();
    let before = snapshot(&b);
    let name = escape(&b.path("escaped"));
    let archive = docker_archive(&[ArchiveImage {
        tags: &["evil:1"],
        created: "2020-01-01T00:00:00Z",
        layers: vec![tiny_tar("fine"), tar_of(&[Entry::File(&name, b"x")])],
        run_config: serde_json::json!({}),
    }]);
    let out = b.run_stdin(&["load"], &archive);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("escaped"), "{}", out.stderr);
    assert_unchanged(&b, &before, "hostile layer in load");
}

// ---- corrupt archives ----

/// A docker-archive of `base` saved by berth itself.
fn saved(b: &Berth) -> Vec<u8> {
    let (code, archive, err) = b.run_raw(&["save", "base"]);
    assert_eq!(code, 0, "{err}");
    archive
}

/// Rewrites an archive, passing each member through `edit` (None drops it).
fn rewrite(archive: &[u8], edit: impl Fn(&str, &[u8]) -> Option<Vec<u8>>) -> Vec<u8> {
    let members = tar_members(archive);
    let kept: Vec<(String, Vec<u8>)> = members
        .iter()
        .filter_map(|(n, d)| edit(n, d).map(|d| (n.clone(), d)))
        .collect();
    let refs: Vec<(&str, &[u8])> = kept
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    tar_files(&refs)
}

fn layer_member(archive: &[u8]) -> String {
    let members = tar_members(archive);
    let manifest: serde_json::Value = serde_json::from_slice(&members["manifest.json"]).unwrap();
    manifest[0]["Layers"][0].as_str().unwrap().to_string()
}

/// Loads `archive` into a fresh store holding another image, expecting a refusal whose
/// message contains `says`.
#[track_caller]
fn assert_load_refused(archive: &[u8], says: &str, what: &str) {
    let b = hostile_store();
    let before = snapshot(&b);
    let out = b.run_stdin(&["load"], archive);
    assert_eq!(out.code, 1, "{what}: {out:?}");
    assert!(
        out.stderr.contains(says),
        "{what}: the error does not say {says:?}: {}",
        out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{what}: {}", out.stderr);
    assert!(out.stdout.is_empty(), "{what}: {}", out.stdout);
    assert_unchanged(&b, &before, what);
}

#[test]
fn a_tampered_layer_blob_is_refused_by_load() {
    let source = Berth::new();
    source.busybox("base");
    let archive = saved(&source);
    let layer = layer_member(&archive);
    let tampered = rewrite(&archive, |n, d| {
        let mut d = d.to_vec();
        if n == layer {
            // A byte inside busybox's file data, past the first tar header.
            let i = d.len() / 2;
            d[i] ^= 0x01;
        }
        Some(d)
    });
    assert_load_refused(&tampered, "digest", "flipped byte in a layer");
}

#[test]
fn a_tampered_config_is_refused_by_load() {
    let source = Berth::new();
    source.busybox("base");
    let archive = saved(&source);
    let tampered = rewrite(&archive, |n, d| {
        let s = String::from_utf8_lossy(d);
        if s.contains("\"rootfs\"") && n != "manifest.json" {
            return Some(s.replace("\"sh\"", "\"rm\"").into_bytes());
        }
        Some(d.to_vec())
    });
    assert_load_refused(&tampered, "digest", "edited config");
}

#[test]
fn an_archive_without_a_manifest_is_refused() {
    let source = Berth::new();
    source.busybox("base");
    let archive = saved(&source);
    let stripped = rewrite(&archive, |n, d| {
        (n != "manifest.json" && n != "index.json").then(|| d.to_vec())
    });
    assert_load_refused(&stripped, "manifest.json", "no manifest");
    assert_load_refused(
        &tar_files(&[("hello.txt", b"hi")]),
        "manifest.json",
        "not an image archive",
    );
}

#[test]
fn an_archive_missing_a_layer_is_refused() {
    let source = Berth::new();
    source.busybox("base");
    let archive = saved(&source);
    let layer = layer_member(&archive);
    let without = rewrite(&archive, |n, d| (n != layer).then(|| d.to_vec()));
    assert_load_refused(&without, "missing", "layer missing");
}

#[test]
fn truncated_and_garbage_input_is_refused() {
    let source = Berth::new();
    source.busybox("base");
    let archive = saved(&source);
    let half = &archive[..archive.len() / 2];
    let b = hostile_store();
    let before = snapshot(&b);
    let out = b.run_stdin(&["load"], half);
    assert_eq!(out.code, 1, "{out:?}");
    assert_unchanged(&b, &before, "truncated archive");

    let rootfs = fs::read(common::busybox_tar()).unwrap();
    let gz = gzip(&rootfs);
    for (what, bytes) in [
        ("truncated tar", &rootfs[..rootfs.len() / 2]),
        ("truncated gzip", &gz[..gz.len() / 2]),
        (
            "garbage",
            &b"this is not a tar archive at all, not even close to one"[..],
        ),
    ] {
        let out = b.run_stdin(&["import", "-", "broken"], bytes);
        assert_eq!(out.code, 1, "{what}: {out:?}");
        assert!(!out.stderr.is_empty(), "{what}");
        assert_unchanged(&b, &before, what);
    }
}
