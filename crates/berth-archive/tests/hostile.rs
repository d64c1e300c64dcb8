//! Tars built to write outside the destination: every one is refused, and nothing next to the
//! destination (sentinel files, a directory, their modes and link counts) changes.

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;

use berth_archive::{ArchiveError, EscapeReason};
use common::{Raw, RawTar, Sandbox};
use tar::EntryType;

/// Unpacks `tar` in a fresh sandbox, expects an escape refusal, and checks the surroundings.
fn refused(build: impl FnOnce(&Sandbox) -> Vec<u8>) -> (Sandbox, ArchiveError) {
    let sb = Sandbox::new();
    let tar = build(&sb);
    let before = sb.around_dest();
    let err = sb.unpack(&tar).expect_err("a hostile tar was unpacked");
    assert_eq!(sb.around_dest(), before, "something outside dest changed");
    (sb, err)
}

fn reason(err: &ArchiveError) -> &EscapeReason {
    match err {
        ArchiveError::Escape { reason, .. } => reason,
        other => panic!("expected an escape refusal, got {other:?}"),
    }
}

#[test]
fn dot_dot_names_are_refused() {
    for name in [
        "../outside/pwned",
        "a/../../outside/pwned",
        "/../outside/pwned",
        "./../x",
        "..",
    ] {
        let (_, err) = refused(|_| RawTar::new().file(name, b"pwned").finish());
        assert_eq!(reason(&err), &EscapeReason::OutsideRoot, "{name}");
    }
}

#[test]
fn the_refusal_names_the_entry() {
    let (_, err) = refused(|_| RawTar::new().file("../etc/passwd", b"").finish());
    assert_eq!(
        err.to_string(),
        r#"refusing to unpack "../etc/passwd": path escapes the layer root"#
    );
}

#[test]
fn writing_through_a_symlink_is_refused() {
    // An absolute target is fine as a symlink; writing through it is not.
    let (_, err) = refused(|sb| {
        let target = sb.outside().display().to_string();
        RawTar::new()
            .symlink("a", &target)
            .file("a/pwned", b"x")
            .finish()
    });
    assert_eq!(
        reason(&err),
        &EscapeReason::ThroughSymlink {
            symlink: "a".into()
        }
    );
    assert_eq!(
        err.to_string(),
        r#"refusing to unpack "a/pwned": path goes through the symlink "a""#
    );
}

#[test]
fn a_symlink_deeper_in_the_path_is_refused_too() {
    let (_, err) = refused(|sb| {
        let target = sb.outside().display().to_string();
        RawTar::new()
            .dir("usr/")
            .symlink("usr/lib", &target)
            .file("usr/lib/dir/pwned", b"x")
            .finish()
    });
    assert_eq!(
        reason(&err),
        &EscapeReason::ThroughSymlink {
            symlink: "usr/lib".into()
        }
    );
}

#[test]
fn a_relative_symlink_into_the_layer_is_also_not_written_through() {
    let (sb, err) = refused(|_| {
        RawTar::new()
            .dir("real/")
            .symlink("alias", "real")
            .file("alias/x", b"x")
            .finish()
    });
    assert!(matches!(reason(&err), EscapeReason::ThroughSymlink { .. }));
    assert!(!sb.dest().join("real/x").exists());
}

#[test]
fn whiteouts_and_opaque_markers_through_a_symlink_are_refused() {
    let (sb, err) = refused(|sb| {
        let target = sb.outside().display().to_string();
        RawTar::new()
            .symlink("s", &target)
            .file("s/.wh.file", b"")
            .finish()
    });
    assert!(matches!(reason(&err), EscapeReason::ThroughSymlink { .. }));
    assert_eq!(fs::read(sb.outside().join("file")).unwrap(), b"sentinel");

    let (sb, err) = refused(|sb| {
        let target = sb.outside().display().to_string();
        RawTar::new()
            .symlink("s", &target)
            .file("s/.wh..wh..opq", b"")
            .finish()
    });
    assert!(matches!(reason(&err), EscapeReason::ThroughSymlink { .. }));
    assert_eq!(
        common::xattr_get(&sb.outside(), "trusted.overlay.opaque"),
        None
    );
}

#[test]
fn relative_symlinks_climbing_out_are_refused() {
    for (name, target) in [
        ("a", "../outside"),
        ("a/b/c", "../../../outside/file"),
        ("x", "y/../../z"),
        ("deep/l", "../../../../../../../../etc/shadow"),
    ] {
        let (_, err) = refused(|_| RawTar::new().symlink(name, target).finish());
        assert_eq!(
            reason(&err),
            &EscapeReason::SymlinkOutsideRoot {
                target: target.into()
            },
            "{name} -> {target}"
        );
    }
}

#[test]
fn symlinks_that_stay_inside_are_created_as_is() {
    let sb = Sandbox::new();
    let tar = RawTar::new()
        .symlink("a/b/up", "../../top")
        .symlink("bin/sh", "/bin/busybox")
        .symlink("abs-up", "/../../etc/passwd")
        .finish();
    sb.unpack(&tar).unwrap();
    assert_eq!(
        fs::read_link(sb.dest().join("a/b/up")).unwrap().to_str(),
        Some("../../top")
    );
    assert_eq!(
        fs::read_link(sb.dest().join("abs-up")).unwrap().to_str(),
        Some("/../../etc/passwd")
    );
}

#[test]
fn hardlinks_out_of_the_root_are_refused() {
    let (sb, err) = refused(|_| RawTar::new().hardlink("h", "../outside/file").finish());
    assert_eq!(
        reason(&err),
        &EscapeReason::HardlinkOutsideRoot {
            target: "../outside/file".into()
        }
    );
    assert_eq!(fs::metadata(sb.outside().join("file")).unwrap().nlink(), 1);
}

#[test]
fn an_absolute_hardlink_target_is_looked_up_inside_the_root() {
    let sb = Sandbox::new();
    let abs = format!("{}/file", sb.outside().display());
    let tar = RawTar::new().hardlink("h", &abs).finish();
    let before = sb.around_dest();
    let err = sb.unpack(&tar).unwrap_err();
    assert!(matches!(err, ArchiveError::InvalidEntry { .. }), "{err:?}");
    assert_eq!(fs::metadata(sb.outside().join("file")).unwrap().nlink(), 1);
    assert_eq!(sb.around_dest(), before);
}

#[test]
fn hardlinks_through_a_symlink_are_refused() {
    let (sb, err) = refused(|sb| {
        let target = sb.outside().display().to_string();
        RawTar::new()
            .symlink("s", &target)
            .hardlink("h", "s/file")
            .finish()
    });
    assert_eq!(
        reason(&err),
        &EscapeReason::HardlinkThroughSymlink {
            target: "s/file".into()
        }
    );
    assert_eq!(fs::metadata(sb.outside().join("file")).unwrap().nlink(), 1);
}

#[test]
fn a_hardlink_to_a_symlink_links_the_symlink_not_its_target() {
    let sb = Sandbox::new();
    let target = format!("{}/file", sb.outside().display());
    let tar = RawTar::new()
        .symlink("s", &target)
        .hardlink("h", "s")
        .finish();
    let before = sb.around_dest();
    sb.unpack(&tar).unwrap();
    assert!(fs::symlink_metadata(sb.dest().join("h"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::metadata(sb.outside().join("file")).unwrap().nlink(), 1);
    assert_eq!(sb.around_dest(), before);
}

#[test]
fn entries_over_a_symlink_replace_it_instead_of_following_it() {
    let sb = Sandbox::new();
    let file = format!("{}/file", sb.outside().display());
    let dir = format!("{}/dir", sb.outside().display());
    let tar = RawTar::new()
        .symlink("f", &file)
        .file("f", b"replaced")
        .symlink("d", &dir)
        .entry(Raw {
            mode: 0o777,
            uid: 1234,
            ..Raw::new("d/", EntryType::Directory)
        })
        .symlink("n", &file)
        .entry(Raw {
            device: (1, 3),
            ..Raw::new("n", EntryType::Char)
        })
        .symlink("w", &file)
        .entry(Raw {
            pax: vec![("SCHILY.xattr.user.x", b"1")],
            ..Raw::new("w", EntryType::Fifo)
        })
        .finish();
    let before = sb.around_dest();
    sb.unpack(&tar).unwrap();
    assert_eq!(sb.around_dest(), before);
    let t = common::snapshot(&sb.dest());
    assert_eq!(t.get("f").content, b"replaced");
    assert_eq!((t.get("d").kind, t.get("d").uid), ("dir", 1234));
    assert_eq!(t.get("n").kind, "char");
    assert_eq!(t.get("w").kind, "fifo");
}

#[test]
fn odd_whiteout_names_are_refused() {
    for name in ["a/.wh...", "a/.wh..", ".wh."] {
        let sb = Sandbox::new();
        let before = sb.around_dest();
        let err = sb
            .unpack(&RawTar::new().file(name, b"").finish())
            .unwrap_err();
        assert!(
            matches!(err, ArchiveError::InvalidEntry { .. }),
            "{name}: {err:?}"
        );
        assert_eq!(sb.around_dest(), before);
    }
}

#[test]
fn the_root_cannot_be_replaced_by_a_symlink_or_file() {
    let sb = Sandbox::new();
    for tar in [
        RawTar::new().symlink("./", "/").finish(),
        RawTar::new().file(".", b"x").finish(),
    ] {
        let err = sb.unpack(&tar).unwrap_err();
        assert!(matches!(err, ArchiveError::InvalidEntry { .. }), "{err:?}");
        assert!(fs::symlink_metadata(sb.dest()).unwrap().is_dir());
    }
}

#[test]
fn a_pax_name_cannot_smuggle_a_nul() {
    let sb = Sandbox::new();
    let tar = RawTar::new()
        .entry(Raw {
            pax: vec![("path", b"ok\0/../../outside/pwned")],
            ..Raw::new("x", EntryType::Regular)
        })
        .finish();
    let before = sb.around_dest();
    assert!(sb.unpack(&tar).is_err());
    assert_eq!(sb.around_dest(), before);
}

/// Every short combination of `..`, `.`, empty, a name and a leading `/`: a file entry either lands
/// exactly where the name, cleaned lexically, says (inside dest), or is refused as an escape.
#[test]
fn any_combination_of_dots_and_slashes_stays_inside_or_is_refused() {
    let parts = ["..", ".", "", "a", "b"];
    let mut names = Vec::new();
    for len in 1..=4usize {
        for mut code in 0..parts.len().pow(len as u32) {
            let mut comps = Vec::new();
            for _ in 0..len {
                comps.push(parts[code % parts.len()]);
                code /= parts.len();
            }
            let name = comps.join("/");
            names.push(name.clone());
            names.push(format!("/{name}"));
        }
    }
    let sb = Sandbox::new();
    let before = sb.around_dest();
    for name in names {
        fs::remove_dir_all(sb.dest()).unwrap();
        fs::create_dir(sb.dest()).unwrap();
        // What the name means: `..` above the root is an escape.
        let mut clean: Vec<&str> = Vec::new();
        let mut escapes = false;
        for c in name.split('/') {
            match c {
                "" | "." => {}
                ".." => escapes |= clean.pop().is_none(),
                c => clean.push(c),
            }
        }
        let result = sb.unpack(&RawTar::new().file(&name, b"payload").finish());
        assert_eq!(
            sb.around_dest(),
            before,
            "{name:?} changed something outside dest"
        );
        match result {
            Err(ArchiveError::Escape { .. }) => assert!(escapes, "{name:?} refused"),
            Err(ArchiveError::InvalidEntry { .. }) => {
                // Only the root itself, which a file cannot be.
                assert!(clean.is_empty() && !escapes, "{name:?}");
            }
            Err(other) => panic!("{name:?}: {other}"),
            Ok(_) => {
                assert!(!escapes, "{name:?} was unpacked");
                let landed = sb.dest().join(clean.join("/"));
                if name.ends_with('/') {
                    // An old-style tar marks directories by the slash alone.
                    assert!(fs::symlink_metadata(&landed).unwrap().is_dir(), "{name:?}");
                } else {
                    assert_eq!(fs::read(&landed).unwrap(), b"payload", "{name:?}");
                }
            }
        }
    }
}

#[test]
fn an_oversized_pax_header_is_refused_before_it_is_read_whole() {
    // 64 MiB of PAX records compress to almost nothing: a memory bomb if read whole.
    let big = vec![b'a'; 64 << 20];
    let tar = RawTar::new()
        .entry(Raw {
            pax: vec![("comment", &big)],
            ..Raw::new("f", EntryType::Regular)
        })
        .finish();
    let sb = Sandbox::new();
    let err = sb.unpack(&tar).unwrap_err();
    assert!(matches!(err, ArchiveError::Read(_)), "{err:?}");
    assert!(!sb.dest().join("f").exists());
}

#[test]
fn ordinary_pax_headers_and_skipped_data_fit_the_header_budget() {
    // As large as Go's archive/tar accepts; ext4 holds attribute values up to a block.
    let comment = vec![b'c'; 1 << 20];
    let value = vec![b'v'; 3000];
    let data = vec![b'd'; 8 << 20];
    let tar = RawTar::new()
        .entry(Raw {
            pax: vec![("comment", &comment), ("SCHILY.xattr.user.big", &value)],
            data: &data,
            ..Raw::new("f", EntryType::Regular)
        })
        // AUFS bookkeeping with data: skipped, its data is not header.
        .file(".wh..wh.plnk/1.2", &data)
        .file("g", b"g")
        .finish();
    let sb = Sandbox::new();
    sb.unpack(&tar).unwrap();
    assert_eq!(
        common::xattr_get(&sb.dest().join("f"), "user.big"),
        Some(value)
    );
    assert_eq!(fs::read(sb.dest().join("g")).unwrap(), b"g");
}
