//! Writing upperdirs as OCI layer tars and trees as plain tars, and reading them back.

mod common;

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;

use berth_archive::{unpack_layer, write_diff, write_tree, TreeOptions, UnpackOptions};
use common::{list_tar, names, snapshot, Raw, RawTar, Sandbox};
use rustix::fs::{FileType, Mode};
use tar::EntryType;

fn mknod(path: &Path, kind: FileType, major: u32, minor: u32) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        kind,
        Mode::from_raw_mode(0o644),
        rustix::fs::makedev(major, minor),
    )
    .unwrap();
}

fn set_xattr(path: &Path, key: &str, value: &[u8]) {
    rustix::fs::lsetxattr(path, key, value, rustix::fs::XattrFlags::empty()).unwrap();
}

fn chown(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid)).unwrap();
}

/// An upperdir as overlay leaves it after a few changes.
fn sample_upper(root: &Path) {
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::write(root.join("etc/passwd"), b"root:x:0:0\n").unwrap();
    chown(&root.join("etc/passwd"), 1000, 2000);
    fs::set_permissions(root.join("etc/passwd"), fs::Permissions::from_mode(0o4751)).unwrap();
    mknod(&root.join("etc/shadow"), FileType::CharacterDevice, 0, 0);
    fs::create_dir(root.join("opaque")).unwrap();
    set_xattr(&root.join("opaque"), "trusted.overlay.opaque", b"y");
    set_xattr(&root.join("opaque"), "user.kept", b"1");
    fs::write(root.join("opaque/new"), b"n").unwrap();
    fs::write(root.join("a"), b"linked").unwrap();
    fs::hard_link(root.join("a"), root.join("z-link")).unwrap();
    symlink("/bin/busybox", root.join("sh")).unwrap();
    mknod(&root.join("null"), FileType::CharacterDevice, 1, 3);
    set_xattr(&root.join("a"), "trusted.overlay.origin", b"whatever");
    set_xattr(&root.join("a"), "security.capability", &cap());
}

fn cap() -> Vec<u8> {
    let mut v = Vec::new();
    for word in [0x0200_0001u32, 1 << 10, 0, 0, 0] {
        v.extend_from_slice(&word.to_le_bytes());
    }
    v
}

#[test]
fn an_upperdir_becomes_an_oci_layer() {
    let upper = tempfile::tempdir().unwrap();
    sample_upper(upper.path());
    let mut out = Vec::new();
    let stats = write_diff(upper.path(), &mut out).unwrap();
    let entries = list_tar(&out);
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "a",
            "etc/",
            "etc/passwd",
            "etc/.wh.shadow",
            "null",
            "opaque/",
            "opaque/.wh..wh..opq",
            "opaque/new",
            "sh",
            "z-link",
        ]
    );
    assert_eq!(stats.entries, 10);
    assert_eq!(stats.size, 6 + 11 + 1);

    let get = |n: &str| entries.iter().find(|e| e.name == n).unwrap();
    let passwd = get("etc/passwd");
    assert_eq!((passwd.mode, passwd.uid, passwd.gid), (0o4751, 1000, 2000));
    assert_eq!(passwd.data, b"root:x:0:0\n");
    let wh = get("etc/.wh.shadow");
    assert_eq!((wh.kind, wh.size, wh.mode), (EntryType::Regular, 0, 0o600));
    let opq = get("opaque/.wh..wh..opq");
    assert_eq!((opq.kind, opq.size), (EntryType::Regular, 0));
    // Overlay's attributes stay out, everything else is kept.
    assert_eq!(
        get("opaque/").xattrs,
        [("user.kept".to_string(), b"1".to_vec())]
    );
    assert_eq!(
        get("a").xattrs,
        [("security.capability".to_string(), cap())]
    );
    let link = get("z-link");
    assert_eq!((link.kind, link.link.as_str()), (EntryType::Link, "a"));
    let sh = get("sh");
    assert_eq!(
        (sh.kind, sh.link.as_str()),
        (EntryType::Symlink, "/bin/busybox")
    );
    assert_eq!(get("null").kind, EntryType::Char);
}

#[test]
fn the_same_tree_gives_the_same_bytes() {
    let upper = tempfile::tempdir().unwrap();
    sample_upper(upper.path());
    let (mut one, mut two) = (Vec::new(), Vec::new());
    write_diff(upper.path(), &mut one).unwrap();
    write_diff(upper.path(), &mut two).unwrap();
    assert_eq!(one, two);
}

#[test]
fn long_names_targets_and_large_ids_use_pax_records() {
    let upper = tempfile::tempdir().unwrap();
    let dir = upper.path().join("d".repeat(200));
    fs::create_dir(&dir).unwrap();
    let file = dir.join("f".repeat(200));
    fs::write(&file, b"x").unwrap();
    chown(&file, 3_000_000, 4_000_000);
    let target = "t/".repeat(150);
    symlink(&target, dir.join("l")).unwrap();

    let mut out = Vec::new();
    write_diff(upper.path(), &mut out).unwrap();
    let entries = list_tar(&out);
    let f = entries
        .iter()
        .find(|e| e.name.ends_with(&"f".repeat(200)))
        .unwrap();
    assert_eq!(f.name, format!("{}/{}", "d".repeat(200), "f".repeat(200)));
    assert_eq!((f.uid, f.gid), (3_000_000, 4_000_000));
    let l = entries.iter().find(|e| e.name.ends_with("/l")).unwrap();
    assert_eq!(l.link, target);
    // PAX, not GNU extensions: no `././@LongLink` members.
    assert!(!out.windows(13).any(|w| w == b"././@LongLink"));
}

#[test]
fn unpack_then_write_diff_then_unpack_gives_the_same_tree() {
    let cap = cap();
    let long = format!("{}/{}", "l".repeat(90), "m".repeat(90));
    let tar = RawTar::new()
        .entry(Raw {
            mode: 0o750,
            uid: 10,
            gid: 20,
            mtime: 1_000_000_000,
            ..Raw::new("etc/", EntryType::Directory)
        })
        .entry(Raw {
            data: b"passwd",
            mode: 0o640,
            uid: 1,
            gid: 2,
            pax: vec![
                ("SCHILY.xattr.user.a", b"1"),
                ("SCHILY.xattr.security.capability", &cap),
            ],
            ..Raw::new("etc/passwd", EntryType::Regular)
        })
        .hardlink("etc/passwd-", "etc/passwd")
        .entry(Raw {
            mode: 0o4755,
            data: b"su",
            ..Raw::new("bin/su", EntryType::Regular)
        })
        .symlink("bin/sh", "busybox")
        .entry(Raw {
            device: (1, 5),
            mode: 0o666,
            ..Raw::new("dev/zero", EntryType::Char)
        })
        .entry(Raw {
            device: (8, 1),
            ..Raw::new("dev/sda1", EntryType::Block)
        })
        .entry(Raw::new("run/pipe", EntryType::Fifo))
        .file("gone/.wh.file", b"")
        .file("opaque/.wh..wh..opq", b"")
        .file("opaque/inside", b"i")
        .entry(Raw {
            data: b"long",
            pax: vec![("path", long.as_bytes())],
            ..Raw::new("short", EntryType::Regular)
        })
        .entry(Raw {
            mode: 0o1777,
            mtime: 1_100_000_000,
            ..Raw::new("tmp/", EntryType::Directory)
        })
        .finish();
    let first = Sandbox::new();
    first.unpack(&tar).unwrap();
    let mut diff = Vec::new();
    write_diff(&first.dest(), &mut diff).unwrap();
    let second = Sandbox::new();
    second.unpack(&diff).unwrap();
    let (a, b) = (snapshot(&first.dest()), snapshot(&second.dest()));
    assert_eq!(a, b);
    // And the tree has what the tar said, so the comparison is not of two empty trees.
    assert_eq!(b.get("gone/file").kind, "char");
    assert_eq!(b.get("etc/passwd-").same_as.as_deref(), Some("etc/passwd"));
    assert_eq!(b.get(&long).content, b"long");
    assert_eq!(
        common::xattr_get(&second.dest().join("opaque"), "trusted.overlay.opaque"),
        Some(b"y".to_vec())
    );
    assert_eq!(b.0.len(), 18);
}

#[test]
fn write_tree_exports_a_whole_tree_without_whiteout_conversion() {
    let root = tempfile::tempdir().unwrap();
    sample_upper(root.path());
    let mut out = Vec::new();
    write_tree(root.path(), &mut out, &TreeOptions::default()).unwrap();
    let entries = list_tar(&out);
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "a",
            "etc/",
            "etc/passwd",
            "etc/shadow",
            "null",
            "opaque/",
            "opaque/new",
            "sh",
            "z-link"
        ]
    );
    assert_eq!(entries[3].kind, EntryType::Char);
}

#[test]
fn write_tree_of_one_path_uses_its_name_or_the_one_given() {
    let root = tempfile::tempdir().unwrap();
    sample_upper(root.path());

    let tar = |path: &str, name: Option<&str>| {
        let mut out = Vec::new();
        let opts = TreeOptions {
            path: Some(path.into()),
            name: name.map(str::to_string),
        };
        write_tree(root.path(), &mut out, &opts).unwrap();
        names(&out)
    };
    assert_eq!(tar("/etc", None), ["etc/", "etc/passwd", "etc/shadow"]);
    assert_eq!(
        tar("/etc", Some("config")),
        ["config/", "config/passwd", "config/shadow"]
    );
    assert_eq!(tar("/etc", Some("")), ["passwd", "shadow"]);
    assert_eq!(tar("etc/passwd", None), ["passwd"]);
    assert_eq!(tar("/etc/passwd", Some("pw")), ["pw"]);
    assert_eq!(tar("/sh", None), ["sh"]);
    assert_eq!(tar("/", None).len(), 9);
}

#[test]
fn write_tree_resolves_symlinks_inside_the_root_not_on_the_host() {
    let root = tempfile::tempdir().unwrap();
    fs::create_dir(root.path().join("etc")).unwrap();
    fs::write(root.path().join("etc/hostname"), b"container\n").unwrap();
    // Both point at the host's /etc if followed naively.
    symlink("/etc", root.path().join("abs")).unwrap();
    symlink("../../../../../../etc", root.path().join("rel")).unwrap();
    for path in ["/abs/hostname", "/rel/hostname", "/../../etc/hostname"] {
        let mut out = Vec::new();
        let opts = TreeOptions {
            path: Some(path.into()),
            name: None,
        };
        write_tree(root.path(), &mut out, &opts).unwrap();
        let entries = list_tar(&out);
        assert_eq!(entries.len(), 1, "{path}");
        assert_eq!(entries[0].data, b"container\n", "{path}");
    }
}

#[test]
fn a_missing_path_is_an_error() {
    let root = tempfile::tempdir().unwrap();
    let opts = TreeOptions {
        path: Some("/nope/x".into()),
        name: None,
    };
    assert!(write_tree(root.path(), &mut Vec::new(), &opts).is_err());
    let opts = TreeOptions {
        path: Some("/nope".into()),
        name: None,
    };
    assert!(write_tree(root.path(), &mut Vec::new(), &opts).is_err());
}

#[test]
fn a_tree_written_by_write_tree_unpacks_to_the_same_tree() {
    let root = tempfile::tempdir().unwrap();
    sample_upper(root.path());
    fs::remove_file(root.path().join("etc/shadow")).unwrap();
    let mut out = Vec::new();
    write_tree(root.path(), &mut out, &TreeOptions::default()).unwrap();
    let sb = Sandbox::new();
    unpack_layer(&out[..], &sb.dest(), &UnpackOptions::default()).unwrap();
    let mut want = snapshot(root.path());
    let mut got = snapshot(&sb.dest());
    // Overlay's own attributes are never carried over.
    for t in [&mut want, &mut got] {
        for d in t.0.values_mut() {
            d.xattrs.retain(|(k, _)| !k.starts_with("trusted.overlay."));
        }
    }
    assert_eq!(want, got);
    assert_eq!(
        fs::metadata(sb.dest().join("etc/passwd")).unwrap().mode() & 0o7777,
        0o4751
    );
}

#[test]
fn sockets_are_left_out_even_when_linked_twice() {
    let upper = tempfile::tempdir().unwrap();
    let _listener = std::os::unix::net::UnixListener::bind(upper.path().join("sock")).unwrap();
    fs::hard_link(upper.path().join("sock"), upper.path().join("sock2")).unwrap();
    fs::write(upper.path().join("file"), b"f").unwrap();
    let mut out = Vec::new();
    write_diff(upper.path(), &mut out).unwrap();
    assert_eq!(names(&out), ["file"]);
    // And the tar unpacks: no hardlink points at a socket that was never written.
    let sb = Sandbox::new();
    sb.unpack(&out).unwrap();
}
