//! Unpacking well-formed layers: every entry kind and its metadata, whiteouts, replacement rules.

mod common;

use std::fs;
use std::io::Read;
use std::os::unix::fs::MetadataExt;

use berth_archive::{decompress, decompress_detected, unpack_layer, Compression, UnpackOptions};
use common::{snapshot, xattr_get, Raw, RawTar, Sandbox};
use tar::EntryType;

/// A valid VFS v2 file capability granting CAP_NET_BIND_SERVICE (effective + permitted).
fn cap_net_bind() -> Vec<u8> {
    let mut v = Vec::new();
    for word in [0x0200_0001u32, 1 << 10, 0, 0, 0] {
        v.extend_from_slice(&word.to_le_bytes());
    }
    v
}

#[test]
fn every_entry_kind_is_unpacked_with_its_metadata() {
    let cap = cap_net_bind();
    let tar = RawTar::new()
        .entry(Raw {
            mode: 0o750,
            uid: 1000,
            gid: 2000,
            mtime: 1_500_000_000,
            ..Raw::new("etc/", EntryType::Directory)
        })
        .entry(Raw {
            data: b"root:x:0:0\n",
            mode: 0o640,
            uid: 1000,
            gid: 2000,
            mtime: 1_400_000_000,
            pax: vec![("atime", b"1400000100.25"), ("mtime", b"1400000000.5")],
            ..Raw::new("etc/passwd", EntryType::Regular)
        })
        .entry(Raw {
            data: b"#!/bin/sh\n",
            mode: 0o4755,
            ..Raw::new("bin/su", EntryType::Regular)
        })
        .entry(Raw {
            data: b"x",
            mode: 0o2711,
            gid: 42,
            ..Raw::new("bin/wall", EntryType::Regular)
        })
        .entry(Raw {
            mode: 0o1777,
            ..Raw::new("tmp/", EntryType::Directory)
        })
        .entry(Raw {
            data: b"ping",
            mode: 0o755,
            pax: vec![
                ("SCHILY.xattr.security.capability", &cap),
                ("SCHILY.xattr.user.note", b"hi"),
            ],
            ..Raw::new("bin/ping", EntryType::Regular)
        })
        .entry(Raw {
            link: b"/bin/busybox",
            mode: 0o777,
            uid: 7,
            gid: 8,
            mtime: 1_300_000_000,
            ..Raw::new("bin/sh", EntryType::Symlink)
        })
        .hardlink("bin/ping6", "bin/ping")
        .entry(Raw {
            device: (1, 3),
            mode: 0o666,
            ..Raw::new("dev/null", EntryType::Char)
        })
        .entry(Raw {
            device: (7, 0),
            mode: 0o660,
            gid: 6,
            ..Raw::new("dev/loop0", EntryType::Block)
        })
        .entry(Raw {
            mode: 0o600,
            ..Raw::new("run/fifo", EntryType::Fifo)
        })
        .finish();
    let sb = Sandbox::new();
    let stats = sb.unpack(&tar).unwrap();
    assert_eq!(stats.entries, 11);
    assert_eq!(stats.size, 11 + 10 + 1 + 4);

    let d = sb.dest();
    let etc = fs::metadata(d.join("etc")).unwrap();
    assert!(etc.is_dir());
    assert_eq!(
        (etc.mode() & 0o7777, etc.uid(), etc.gid()),
        (0o750, 1000, 2000)
    );
    // Set after etc/passwd was created in it.
    assert_eq!(etc.mtime(), 1_500_000_000);

    let passwd = fs::metadata(d.join("etc/passwd")).unwrap();
    assert_eq!(fs::read(d.join("etc/passwd")).unwrap(), b"root:x:0:0\n");
    assert_eq!(
        (passwd.mode() & 0o7777, passwd.uid(), passwd.gid()),
        (0o640, 1000, 2000)
    );
    assert_eq!(
        (passwd.mtime(), passwd.mtime_nsec()),
        (1_400_000_000, 500_000_000)
    );
    assert_eq!(
        (passwd.atime(), passwd.atime_nsec()),
        (1_400_000_100, 250_000_000)
    );

    assert_eq!(
        fs::metadata(d.join("bin/su")).unwrap().mode() & 0o7777,
        0o4755
    );
    let wall = fs::metadata(d.join("bin/wall")).unwrap();
    assert_eq!((wall.mode() & 0o7777, wall.gid()), (0o2711, 42));
    assert_eq!(fs::metadata(d.join("tmp")).unwrap().mode() & 0o7777, 0o1777);

    assert_eq!(
        xattr_get(&d.join("bin/ping"), "security.capability"),
        Some(cap.clone())
    );
    assert_eq!(
        xattr_get(&d.join("bin/ping"), "user.note"),
        Some(b"hi".to_vec())
    );

    let sh = fs::symlink_metadata(d.join("bin/sh")).unwrap();
    assert!(sh.file_type().is_symlink());
    assert_eq!(
        fs::read_link(d.join("bin/sh")).unwrap().to_str(),
        Some("/bin/busybox")
    );
    assert_eq!((sh.uid(), sh.gid(), sh.mtime()), (7, 8, 1_300_000_000));

    let ping = fs::metadata(d.join("bin/ping")).unwrap();
    let ping6 = fs::metadata(d.join("bin/ping6")).unwrap();
    assert_eq!((ping.ino(), ping.nlink()), (ping6.ino(), 2));

    let null = fs::metadata(d.join("dev/null")).unwrap();
    assert_eq!(
        (null.rdev(), null.mode() & 0o7777),
        (rustix::fs::makedev(1, 3), 0o666)
    );
    let lo = snapshot(&d);
    assert_eq!(lo.get("dev/loop0").kind, "block");
    assert_eq!(lo.get("dev/loop0").rdev, rustix::fs::makedev(7, 0));
    assert_eq!(
        (lo.get("dev/loop0").mode, lo.get("dev/loop0").gid),
        (0o660, 6)
    );
    assert_eq!(lo.get("run/fifo").kind, "fifo");
    assert_eq!(lo.get("run/fifo").mode, 0o600);
}

#[test]
fn missing_parents_are_created_root_owned_0755() {
    let tar = RawTar::new().file("usr/share/doc/x", b"x").finish();
    let sb = Sandbox::new();
    sb.unpack(&tar).unwrap();
    for dir in ["usr", "usr/share", "usr/share/doc"] {
        let md = fs::metadata(sb.dest().join(dir)).unwrap();
        assert_eq!(
            (md.mode() & 0o7777, md.uid(), md.gid()),
            (0o755, 0, 0),
            "{dir}"
        );
    }
}

#[test]
fn names_are_cleaned_and_absolute_names_land_inside() {
    let sb = Sandbox::new();
    let abs = format!("{}/abs", sb.outside().display());
    let tar = RawTar::new()
        .file("./a", b"1")
        .file("b//c", b"2")
        .file(&abs, b"3")
        .file("d/../e", b"4")
        .finish();
    let before = sb.around_dest();
    sb.unpack(&tar).unwrap();
    let d = sb.dest();
    assert_eq!(fs::read(d.join("a")).unwrap(), b"1");
    assert_eq!(fs::read(d.join("b/c")).unwrap(), b"2");
    assert_eq!(fs::read(d.join(abs.trim_start_matches('/'))).unwrap(), b"3");
    assert_eq!(fs::read(d.join("e")).unwrap(), b"4");
    assert_eq!(
        sb.around_dest(),
        before,
        "an absolute name wrote outside dest"
    );
}

#[test]
fn gnu_and_pax_long_names_are_unpacked() {
    let long_dir = "d".repeat(120);
    let gnu_name = format!("{long_dir}/{}", "g".repeat(150));
    let pax_name = format!("{long_dir}/{}", "p".repeat(200));
    let link_target = format!("/{}", "t".repeat(180));
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(3);
    h.set_mode(0o644);
    b.append_data(&mut h, &gnu_name, &b"gnu"[..]).unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(EntryType::Symlink);
    h.set_size(0);
    b.append_link(&mut h, format!("{long_dir}/link"), &link_target)
        .unwrap();
    let mut bytes = b.into_inner().unwrap();
    // Strip the end-of-archive blocks and append a PAX-named entry.
    bytes.truncate(bytes.len() - 1024);
    let pax = RawTar::new()
        .entry(Raw {
            data: b"pax",
            pax: vec![("path", pax_name.as_bytes())],
            ..Raw::new("short-pax", EntryType::Regular)
        })
        .finish();
    bytes.extend_from_slice(&pax);

    let sb = Sandbox::new();
    sb.unpack(&bytes).unwrap();
    let d = sb.dest();
    assert_eq!(fs::read(d.join(&gnu_name)).unwrap(), b"gnu");
    assert_eq!(fs::read(d.join(&pax_name)).unwrap(), b"pax");
    assert_eq!(
        fs::read_link(d.join(format!("{long_dir}/link")))
            .unwrap()
            .to_str(),
        Some(link_target.as_str())
    );
    assert!(!d.join("short-pax").exists());
}

#[test]
fn whiteouts_become_overlay_whiteouts() {
    let tar = RawTar::new()
        .dir("etc/")
        .entry(Raw {
            uid: 5,
            gid: 6,
            ..Raw::new("etc/.wh.shadow", EntryType::Regular)
        })
        .file(".wh.gone", b"")
        .file("var/cache/.wh..wh..opq", b"")
        .file("var/cache/kept", b"k")
        .file(".wh..wh.plnk/12.34", b"aufs")
        .file(".wh..wh.aufs", b"")
        .finish();
    let sb = Sandbox::new();
    let stats = sb.unpack(&tar).unwrap();
    assert_eq!(stats.entries, 5, "AUFS bookkeeping is not counted");
    let t = snapshot(&sb.dest());
    let shadow = t.get("etc/shadow");
    assert_eq!(
        (shadow.kind, shadow.rdev, shadow.uid, shadow.gid),
        ("char", 0, 5, 6)
    );
    assert_eq!((t.get("gone").kind, t.get("gone").rdev), ("char", 0));
    assert!(!t.0.contains_key("etc/.wh.shadow"));
    assert_eq!(
        xattr_get(&sb.dest().join("var/cache"), "trusted.overlay.opaque"),
        Some(b"y".to_vec())
    );
    assert_eq!(t.get("var/cache/kept").content, b"k");
    assert!(!t.0.contains_key("var/cache/.wh..wh..opq"));
    assert!(
        !t.0.keys().any(|k| k.contains(".wh..wh.")),
        "{:?}",
        t.0.keys()
    );
}

#[test]
fn whiteouts_are_kept_as_files_when_asked() {
    let tar = RawTar::new()
        .file("a/.wh.b", b"")
        .file("a/.wh..wh..opq", b"")
        .finish();
    let sb = Sandbox::new();
    let opts = UnpackOptions {
        overlay_whiteouts: false,
        ..Default::default()
    };
    unpack_layer(&tar[..], &sb.dest(), &opts).unwrap();
    let t = snapshot(&sb.dest());
    assert_eq!(t.get("a/.wh.b").kind, "file");
    assert_eq!(t.get("a/.wh..wh..opq").kind, "file");
    assert_eq!(
        xattr_get(&sb.dest().join("a"), "trusted.overlay.opaque"),
        None
    );
}

#[test]
fn a_whiteout_does_not_delete_an_entry_of_the_same_layer() {
    let tar = RawTar::new().file("a", b"mine").file(".wh.a", b"").finish();
    let sb = Sandbox::new();
    sb.unpack(&tar).unwrap();
    assert_eq!(fs::read(sb.dest().join("a")).unwrap(), b"mine");
}

#[test]
fn a_directory_recreated_after_its_whiteout_is_opaque() {
    let tar = RawTar::new()
        .file(".wh.a", b"")
        .dir("a/")
        .file("a/new", b"n")
        .file(".wh.b", b"")
        .file("b/implied/x", b"x")
        .finish();
    let sb = Sandbox::new();
    sb.unpack(&tar).unwrap();
    let d = sb.dest();
    for dir in ["a", "b"] {
        assert!(fs::symlink_metadata(d.join(dir)).unwrap().is_dir());
        assert_eq!(
            xattr_get(&d.join(dir), "trusted.overlay.opaque"),
            Some(b"y".to_vec()),
            "{dir}"
        );
    }
    assert_eq!(fs::read(d.join("a/new")).unwrap(), b"n");
    assert_eq!(fs::read(d.join("b/implied/x")).unwrap(), b"x");
    assert_eq!(
        xattr_get(&d.join("b/implied"), "trusted.overlay.opaque"),
        None
    );
}

#[test]
fn overlay_metadata_in_a_tar_is_not_applied() {
    let tar = RawTar::new()
        .entry(Raw {
            pax: vec![
                ("SCHILY.xattr.trusted.overlay.redirect", b"/elsewhere"),
                ("SCHILY.xattr.trusted.overlay.opaque", b"y"),
                ("SCHILY.xattr.user.keep", b"1"),
            ],
            ..Raw::new("d/", EntryType::Directory)
        })
        .finish();
    let sb = Sandbox::new();
    sb.unpack(&tar).unwrap();
    let names: Vec<String> = common::xattrs_of(&sb.dest().join("d"))
        .into_iter()
        .map(|x| x.0)
        .collect();
    assert_eq!(names, ["user.keep"]);
}

#[test]
fn later_entries_replace_earlier_ones() {
    let tar = RawTar::new()
        .file("f", b"old")
        .file("f", b"new")
        .symlink("s", "/target")
        .file("s", b"file now")
        .dir("d/")
        .file("d/sub/deep", b"x")
        .file("d", b"a file over a dir")
        .entry(Raw {
            mode: 0o700,
            ..Raw::new("m/", EntryType::Directory)
        })
        .file("m/kept", b"k")
        .entry(Raw {
            mode: 0o711,
            ..Raw::new("m/", EntryType::Directory)
        })
        .file("l", b"")
        .dir("l/")
        .file("l/inside", b"i")
        .finish();
    let sb = Sandbox::new();
    sb.unpack(&tar).unwrap();
    let t = snapshot(&sb.dest());
    assert_eq!(t.get("f").content, b"new");
    assert_eq!(
        (t.get("s").kind, t.get("s").content.as_slice()),
        ("file", &b"file now"[..])
    );
    assert_eq!(
        (t.get("d").kind, t.get("d").content.as_slice()),
        ("file", &b"a file over a dir"[..])
    );
    assert!(!t.0.contains_key("d/sub/deep"));
    assert_eq!((t.get("m").kind, t.get("m").mode), ("dir", 0o711));
    assert_eq!(t.get("m/kept").content, b"k");
    assert_eq!(t.get("l").kind, "dir");
    assert_eq!(t.get("l/inside").content, b"i");
}

#[test]
fn entries_after_a_replaced_directory_go_into_the_new_one() {
    // The unpacker keeps the last directory open; replacing that directory must not leave later
    // entries in the removed one.
    let tar = RawTar::new()
        .file("a/b/one", b"1")
        .file("a", b"file")
        .dir("a/")
        .file("a/b/two", b"2")
        .finish();
    let sb = Sandbox::new();
    sb.unpack(&tar).unwrap();
    let t = snapshot(&sb.dest());
    assert!(!t.0.contains_key("a/b/one"));
    assert_eq!(t.get("a/b/two").content, b"2");
}

#[test]
fn the_root_entry_sets_the_metadata_of_dest() {
    let tar = RawTar::new()
        .entry(Raw {
            mode: 0o751,
            mtime: 1_234_567_890,
            ..Raw::new("./", EntryType::Directory)
        })
        .file("./x", b"")
        .finish();
    let sb = Sandbox::new();
    sb.unpack(&tar).unwrap();
    let md = fs::metadata(sb.dest()).unwrap();
    assert_eq!((md.mode() & 0o7777, md.mtime()), (0o751, 1_234_567_890));
}

#[test]
fn gzip_and_zstd_layers_are_detected_and_unpacked() {
    let tar = RawTar::new().file("hello", b"world").finish();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    let gz = gz.finish().unwrap();
    let zst = zstd::encode_all(&tar[..], 3).unwrap();

    for (blob, kind) in [
        (&gz, Compression::Gzip),
        (&zst, Compression::Zstd),
        (&tar, Compression::None),
    ] {
        let (found, _) = decompress_detected(&blob[..]).unwrap();
        assert_eq!(found, kind);
        let sb = Sandbox::new();
        unpack_layer(
            decompress(&blob[..]).unwrap(),
            &sb.dest(),
            &UnpackOptions::default(),
        )
        .unwrap();
        assert_eq!(
            fs::read(sb.dest().join("hello")).unwrap(),
            b"world",
            "{kind:?}"
        );
    }
}

#[test]
fn the_whole_stream_is_read_so_a_digest_around_it_is_complete() {
    let mut tar = RawTar::new().file("a", b"a").finish();
    // Writers pad tars past the end marker (to 10 KiB records, say).
    tar.extend_from_slice(&[0u8; 8192]);
    struct Counting<'a>(&'a [u8], usize);
    impl Read for Counting<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.read(buf)?;
            self.1 += n;
            Ok(n)
        }
    }
    let mut input = Counting(&tar, 0);
    let sb = Sandbox::new();
    unpack_layer(&mut input, &sb.dest(), &UnpackOptions::default()).unwrap();
    assert_eq!(input.1, tar.len());
}

#[test]
fn a_truncated_stream_is_an_error() {
    let tar = RawTar::new().file("big", &[7u8; 4096]).finish();
    let sb = Sandbox::new();
    let err = sb.unpack(&tar[..512 + 1000]).unwrap_err();
    assert!(
        matches!(err, berth_archive::ArchiveError::Read(_)),
        "{err:?}"
    );
}

#[test]
fn owner_can_be_overridden() {
    let tar = RawTar::new()
        .entry(Raw {
            uid: 1,
            gid: 1,
            data: b"x",
            ..Raw::new("f", EntryType::Regular)
        })
        .finish();
    let sb = Sandbox::new();
    let opts = UnpackOptions {
        owner: Some((33, 44)),
        ..Default::default()
    };
    unpack_layer(&tar[..], &sb.dest(), &opts).unwrap();
    let md = fs::metadata(sb.dest().join("f")).unwrap();
    assert_eq!((md.uid(), md.gid()), (33, 44));
}

#[test]
fn unsupported_entry_types_and_bad_hardlinks_are_clear_errors() {
    let sb = Sandbox::new();
    let tar = RawTar::new().hardlink("h", "nowhere").finish();
    let err = sb.unpack(&tar).unwrap_err().to_string();
    assert_eq!(
        err,
        r#"invalid tar entry "h": hardlink target "nowhere" is not in this layer"#
    );

    let sb = Sandbox::new();
    let tar = RawTar::new().dir("d/").hardlink("h", "d").finish();
    let err = sb.unpack(&tar).unwrap_err().to_string();
    assert_eq!(err, r#"invalid tar entry "h": hardlink to a directory"#);

    let sb = Sandbox::new();
    let tar = RawTar::new().file("f", b"").file("f/x", b"").finish();
    let err = sb.unpack(&tar).unwrap_err().to_string();
    assert_eq!(err, r#"invalid tar entry "f/x": "f" is not a directory"#);
}

#[test]
fn a_pre_posix_directory_marked_by_a_slash_is_a_directory() {
    let tar = RawTar::new()
        .entry(Raw {
            mode: 0o700,
            ..Raw::new("old/", EntryType::Regular)
        })
        .file("old/f", b"f")
        .finish();
    let sb = Sandbox::new();
    sb.unpack(&tar).unwrap();
    let md = fs::symlink_metadata(sb.dest().join("old")).unwrap();
    assert!(md.is_dir());
    assert_eq!(md.mode() & 0o7777, 0o700);
}

#[test]
fn a_layer_decoded_in_the_background_unpacks_the_same() {
    let tar = RawTar::new()
        .file("big", &vec![3u8; 3 << 20])
        .file("small", b"s")
        .finish();
    let zst = zstd::encode_all(&tar[..], 3).unwrap();
    let sb = Sandbox::new();
    let mut r = berth_archive::decompress_in_background(std::io::Cursor::new(zst.clone())).unwrap();
    assert_eq!(r.compression(), Compression::Zstd);
    let stats = unpack_layer(&mut r, &sb.dest(), &UnpackOptions::default()).unwrap();
    assert_eq!(stats.size, (3 << 20) + 1);
    let input = r.finish().unwrap();
    assert_eq!(input.position() as usize, zst.len());
    assert_eq!(fs::read(sb.dest().join("small")).unwrap(), b"s");
}
