//! What an imported layer holds on disk: modes, owners, times, xattrs, hardlinks, device
//! nodes, FIFOs, and OCI whiteouts turned into overlayfs ones (`<root>/layers/<id>/diff`
//! is an overlay lowerdir).

mod common;

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::PathBuf;

use common::{sha256, Berth};

/// One member with full control over its header.
struct Member<'a> {
    name: &'a str,
    kind: tar::EntryType,
    mode: u32,
    uid: u64,
    gid: u64,
    data: &'a [u8],
    link: Option<&'a str>,
    device: Option<(u32, u32)>,
    /// PAX records (`SCHILY.xattr.user.note` = `hello`).
    pax: &'a [(&'a str, &'a [u8])],
}

fn member(name: &str, kind: tar::EntryType) -> Member<'_> {
    Member {
        name,
        kind,
        mode: 0o644,
        uid: 0,
        gid: 0,
        data: &[],
        link: None,
        device: None,
        pax: &[],
    }
}

fn tar_with(members: &[Member]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for m in members {
        if !m.pax.is_empty() {
            b.append_pax_extensions(m.pax.iter().copied()).expect("pax");
        }
        let mut h = tar::Header::new_ustar();
        h.set_path(m.name).expect("name");
        h.set_entry_type(m.kind);
        h.set_mode(m.mode);
        h.set_uid(m.uid);
        h.set_gid(m.gid);
        h.set_mtime(1_600_000_000);
        if let Some(l) = m.link {
            h.set_link_name(l).expect("link name");
        }
        if let Some((major, minor)) = m.device {
            h.set_device_major(major).expect("major");
            h.set_device_minor(minor).expect("minor");
        }
        h.set_size(m.data.len() as u64);
        h.set_cksum();
        b.append(&h, m.data).expect("append");
    }
    b.into_inner().expect("finish")
}

/// Imports `tar` and returns the layer's unpacked directory.
fn import_layer(b: &Berth, tar: &[u8]) -> PathBuf {
    let out = b.run_stdin(&["import", "-", "layer"], tar);
    out.ok();
    b.root().join("layers").join(&sha256(tar)[7..]).join("diff")
}

fn xattr(path: &std::path::Path, name: &str) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    match rustix::fs::lgetxattr(path, name, &mut buf) {
        Ok(n) => Some(buf[..n].to_vec()),
        Err(_) => None,
    }
}

#[test]
fn modes_owners_times_and_xattrs_are_kept() {
    use tar::EntryType::{Directory, Regular};
    let b = Berth::new();
    let tar = tar_with(&[
        Member {
            mode: 0o750,
            uid: 1000,
            gid: 2000,
            ..member("d/", Directory)
        },
        Member {
            mode: 0o4755,
            data: b"#!/bin/sh\n",
            ..member("d/suid", Regular)
        },
        Member {
            mode: 0o2711,
            data: b"g",
            ..member("d/sgid", Regular)
        },
        Member {
            mode: 0o1777,
            ..member("sticky/", Directory)
        },
        Member {
            mode: 0o600,
            uid: 1234,
            gid: 5678,
            data: b"secret",
            ..member("owned", Regular)
        },
        Member {
            data: b"x",
            pax: &[
                ("SCHILY.xattr.user.note", b"hello"),
                (
                    "SCHILY.xattr.security.capability",
                    &[
                        1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                    ],
                ),
            ],
            ..member("with-xattr", Regular)
        },
    ]);
    let diff = import_layer(&b, &tar);
    let meta = |p: &str| fs::symlink_metadata(diff.join(p)).unwrap();
    assert_eq!(meta("d").mode() & 0o7777, 0o750);
    assert_eq!((meta("d").uid(), meta("d").gid()), (1000, 2000));
    assert_eq!(meta("d/suid").mode() & 0o7777, 0o4755);
    assert_eq!(meta("d/sgid").mode() & 0o7777, 0o2711);
    assert_eq!(meta("sticky").mode() & 0o7777, 0o1777);
    assert_eq!(meta("owned").mode() & 0o7777, 0o600);
    assert_eq!((meta("owned").uid(), meta("owned").gid()), (1234, 5678));
    assert_eq!(fs::read(diff.join("owned")).unwrap(), b"secret");
    assert_eq!(meta("owned").mtime(), 1_600_000_000);
    assert_eq!(
        meta("d").mtime(),
        1_600_000_000,
        "directory times are set after their contents"
    );
    assert_eq!(
        xattr(&diff.join("with-xattr"), "user.note").as_deref(),
        Some(&b"hello"[..])
    );
    assert!(
        xattr(&diff.join("with-xattr"), "security.capability").is_some(),
        "file capabilities are kept"
    );
}

#[test]
fn hardlinks_devices_and_fifos_are_kept() {
    use tar::EntryType::{Block, Char, Directory, Fifo, Link, Regular};
    let b = Berth::new();
    let tar = tar_with(&[
        member("bin/", Directory),
        Member {
            mode: 0o755,
            data: b"shared",
            ..member("bin/one", Regular)
        },
        Member {
            link: Some("bin/one"),
            ..member("bin/two", Link)
        },
        member("dev/", Directory),
        Member {
            mode: 0o666,
            device: Some((1, 3)),
            ..member("dev/null", Char)
        },
        Member {
            mode: 0o660,
            device: Some((7, 9)),
            ..member("dev/loop9", Block)
        },
        Member {
            mode: 0o600,
            ..member("fifo", Fifo)
        },
    ]);
    let diff = import_layer(&b, &tar);
    let one = fs::metadata(diff.join("bin/one")).unwrap();
    let two = fs::metadata(diff.join("bin/two")).unwrap();
    assert_eq!(one.ino(), two.ino(), "a hardlink stays one inode");
    assert_eq!(one.nlink(), 2);
    let null = fs::symlink_metadata(diff.join("dev/null")).unwrap();
    assert!(null.file_type().is_char_device());
    assert_eq!(null.rdev(), rustix::fs::makedev(1, 3));
    let lp = fs::symlink_metadata(diff.join("dev/loop9")).unwrap();
    assert!(lp.file_type().is_block_device());
    assert_eq!(lp.rdev(), rustix::fs::makedev(7, 9));
    assert!(fs::symlink_metadata(diff.join("fifo"))
        .unwrap()
        .file_type()
        .is_fifo());
    // Sizes count a hardlinked file once, as Docker does.
    assert_eq!(b.inspect("layer")["Size"], 6);
}

#[test]
fn oci_whiteouts_become_overlay_whiteouts() {
    use tar::EntryType::{Directory, Regular};
    let b = Berth::new();
    let tar = tar_with(&[
        member("etc/", Directory),
        member("etc/.wh.removed", Regular),
        Member {
            mode: 0o755,
            ..member("opaque/", Directory)
        },
        member("opaque/.wh..wh..opq", Regular),
        Member {
            data: b"new",
            ..member("opaque/kept", Regular)
        },
    ]);
    let diff = import_layer(&b, &tar);
    let wh = fs::symlink_metadata(diff.join("etc/removed")).unwrap();
    assert!(
        wh.file_type().is_char_device(),
        "a whiteout is a 0/0 character device"
    );
    assert_eq!(wh.rdev(), 0);
    assert!(
        !diff.join("etc/.wh.removed").exists(),
        "the marker itself is not unpacked"
    );
    assert_eq!(
        xattr(&diff.join("opaque"), "trusted.overlay.opaque").as_deref(),
        Some(&b"y"[..])
    );
    assert!(!diff.join("opaque/.wh..wh..opq").exists());
    assert_eq!(fs::read(diff.join("opaque/kept")).unwrap(), b"new");
    // And back: save writes the OCI markers again, so the layer's digest holds.
    let (code, archive, err) = b.run_raw(&["save", "layer"]);
    assert_eq!(code, 0, "{err}");
    let members = common::tar_members(&archive);
    assert!(members.contains_key(&format!("blobs/sha256/{}", &sha256(&tar)[7..])));
    b.assert_clean();
}
