//! `cp`, `diff`, `commit` and `export` as a user sees them — above all, that no path in a
//! container ever leads `cp` to the host's files.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::{symlink, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use common::{tar_members, tar_of, Berth, Entry};

/// The busybox image's /etc/passwd (common/mod.rs writes it).
const PASSWD: &str =
    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";

/// A store with the busybox image and a created (never started) container `ctr`.
fn store_with_container(extra: &[&str]) -> (Berth, String) {
    let b = Berth::new();
    b.busybox("busybox");
    let mut args = vec!["create", "--name", "ctr"];
    args.extend_from_slice(extra);
    args.extend(["busybox", "sh"]);
    let id = b.run(&args).ok().trim().to_string();
    (b, id)
}

/// The container's own layer: what it wrote (overlay's upperdir).
fn upper(b: &Berth, id: &str) -> PathBuf {
    b.root().join("containers").join(id).join("upper")
}

/// Plants, in the container's layer, the symlinks a hostile container would make:
/// `ln -s / /hostroot`, `ln -s ../../../../etc /up`, `ln -s /etc /etclink`.
fn plant_escape_links(b: &Berth, id: &str) {
    let up = upper(b, id);
    symlink("/", up.join("hostroot")).unwrap();
    symlink("../../../../etc", up.join("up")).unwrap();
    symlink("/etc", up.join("etclink")).unwrap();
}

/// A name no host directory holds.
fn unique(tag: &str) -> String {
    format!("berth-transfer-{tag}-{}", std::process::id())
}

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

/// A file of the container, read back through `cp CONTAINER:PATH -`.
fn container_file(b: &Berth, container: &str, path: &str) -> String {
    let (code, tar, stderr) = b.run_raw(&["cp", &format!("{container}:{path}"), "-"]);
    assert_eq!(code, 0, "cp {path} -: {stderr}");
    let members = tar_members(&tar);
    assert_eq!(members.len(), 1, "{:?}", members.keys());
    String::from_utf8(members.into_values().next().unwrap()).unwrap()
}

// ---- cp: the container's symlinks never reach the host ----

#[test]
fn reads_through_symlinks_stay_inside_the_container() {
    let (b, id) = store_with_container(&[]);
    plant_escape_links(&b, &id);
    assert!(Path::new("/etc/debian_version").exists() || Path::new("/etc/os-release").exists());
    let out = b.path("out");
    for src in [
        "ctr:/hostroot/etc/passwd",
        "ctr:/up/passwd",
        "ctr:/etclink/passwd",
        "ctr:/../../../../etc/passwd",
        "ctr:/hostroot/../../etc/passwd",
    ] {
        let _ = fs::remove_file(&out);
        b.run(&["cp", src, out.to_str().unwrap()]).ok();
        assert_eq!(read(&out), PASSWD, "{src} must be the container's passwd");
    }
    // Files the host has and the container does not stay out of reach.
    for host_only in [
        "/etc/debian_version",
        "/etc/os-release",
        "/etc/shadow",
        "/etc/issue",
    ] {
        for via in ["/hostroot", "/up/..", "/etclink/.."] {
            let src = format!("ctr:{via}{host_only}");
            let err = b
                .run(&["cp", &src, out.to_str().unwrap()])
                .fails(1)
                .to_string();
            assert_eq!(
                err,
                format!("Error response from daemon: Could not find the file {via}{host_only} in container ctr\n"),
                "{src}"
            );
        }
    }
}

#[test]
fn a_directory_read_through_a_root_symlink_is_the_containers() {
    let (b, id) = store_with_container(&[]);
    plant_escape_links(&b, &id);
    let out = b.path("etc-copy");
    // A trailing slash follows the link, inside the container.
    b.run(&["cp", "ctr:/hostroot/etc/", out.to_str().unwrap()])
        .ok();
    let names: BTreeSet<String> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    // The image's files, and the mount points of the init layer, as in Docker.
    assert_eq!(
        names,
        BTreeSet::from(
            [
                "group",
                "hostname",
                "hosts",
                "mtab",
                "passwd",
                "resolv.conf"
            ]
            .map(String::from)
        )
    );
}

#[test]
fn a_symlink_source_is_copied_as_a_link_unless_followed() {
    let (b, id) = store_with_container(&[]);
    plant_escape_links(&b, &id);
    let link = b.path("link");
    b.run(&["cp", "ctr:/etclink", link.to_str().unwrap()]).ok();
    assert_eq!(fs::read_link(&link).unwrap(), Path::new("/etc"));

    let followed = b.path("followed");
    b.run(&["cp", "-L", "ctr:/etclink", followed.to_str().unwrap()])
        .ok();
    assert!(followed.is_dir());
    assert_eq!(read(&followed.join("passwd")), PASSWD);

    // Into an existing directory, a followed link keeps the link's name.
    let dir = b.path("dir");
    fs::create_dir(&dir).unwrap();
    b.run(&["cp", "-L", "ctr:/etclink", dir.to_str().unwrap()])
        .ok();
    assert_eq!(read(&dir.join("etclink/passwd")), PASSWD);

    // The container's whole root holds `/up`, a link that climbs out of any directory it is
    // copied to: refused, as Docker refuses it, and nothing is written through it.
    let err = b
        .run(&["cp", "-L", "ctr:/hostroot", dir.to_str().unwrap()])
        .fails(1)
        .to_string();
    assert!(err.contains("\"../../../../etc\" escapes"), "{err}");
    assert!(fs::symlink_metadata(dir.join("hostroot/up")).is_err());
    assert!(!dir.join("hostroot/etc/debian_version").exists());
}

#[test]
fn writes_through_symlinks_land_in_the_container() {
    let (b, id) = store_with_container(&[]);
    plant_escape_links(&b, &id);
    let name = unique("write");
    let src = b.write(&name, b"planted\n");
    let up = upper(&b, &id);
    for (i, dest) in [
        "ctr:/etclink/",
        "ctr:/hostroot/etc/",
        "ctr:/up/",
        "ctr:/etclink",
        "ctr:/../../etc/",
    ]
    .iter()
    .enumerate()
    {
        b.run(&["cp", src.to_str().unwrap(), dest]).ok();
        assert_eq!(read(&up.join("etc").join(&name)), "planted\n", "{dest}");
        assert!(
            !Path::new("/etc").join(&name).exists(),
            "{dest} wrote the host's /etc"
        );
        fs::remove_file(up.join("etc").join(&name)).unwrap();
        let _ = i;
    }
    // A new name under a link to a directory.
    b.run(&[
        "cp",
        src.to_str().unwrap(),
        &format!("ctr:/hostroot/etc/{name}.new"),
    ])
    .ok();
    assert_eq!(
        read(&up.join("etc").join(format!("{name}.new"))),
        "planted\n"
    );
    assert!(!Path::new("/etc").join(format!("{name}.new")).exists());
    // A link to a file is followed to the container's file.
    symlink("/etc/passwd", up.join("pw")).unwrap();
    b.run(&["cp", src.to_str().unwrap(), "ctr:/pw"]).ok();
    assert_eq!(container_file(&b, "ctr", "/etc/passwd"), "planted\n");
    assert_ne!(read(Path::new("/etc/passwd")), "planted\n");
}

#[test]
fn a_hostile_tar_on_stdin_writes_nothing_outside_the_container() {
    let (b, id) = store_with_container(&[]);
    plant_escape_links(&b, &id);
    let name = unique("tar");
    let climbing = format!("../../../../../../tmp/{name}");
    let tar = tar_of(&[Entry::File(&climbing, b"evil")]);
    let err = b
        .run_stdin(&["cp", "-", "ctr:/tmp"], &tar)
        .fails(1)
        .to_string();
    assert!(err.starts_with("Error response from daemon: "), "{err}");
    assert!(!Path::new("/tmp").join(&name).exists());

    let through = format!("etclink/{name}");
    let tar = tar_of(&[Entry::File(&through, b"evil")]);
    b.run_stdin(&["cp", "-", "ctr:/"], &tar).fails(1);
    assert!(!Path::new("/etc").join(&name).exists());
    assert!(!upper(&b, &id).join("etc").join(&name).exists());
}

#[test]
fn a_bind_mount_is_written_through_but_its_symlinks_stay_in_the_container() {
    let b = Berth::new();
    b.busybox("busybox");
    let data = b.path("data");
    fs::create_dir(&data).unwrap();
    symlink("/etc", data.join("etclink")).unwrap();
    let ro = b.path("ro");
    fs::create_dir(&ro).unwrap();
    let id = b
        .run(&[
            "create",
            "--name",
            "ctr",
            "-v",
            &format!("{}:/data", data.display()),
            "-v",
            &format!("{}:/ro:ro", ro.display()),
            "busybox",
            "sh",
        ])
        .ok()
        .trim()
        .to_string();
    let name = unique("bind");
    let src = b.write(&name, b"to the volume\n");
    b.run(&["cp", src.to_str().unwrap(), "ctr:/data/"]).ok();
    assert_eq!(read(&data.join(&name)), "to the volume\n");
    assert!(!upper(&b, &id).join("data").join(&name).exists());
    // And back out of it.
    assert_eq!(
        container_file(&b, "ctr", &format!("/data/{name}")),
        "to the volume\n"
    );

    // A symlink inside the bind source is the container's symlink.
    b.run(&["cp", src.to_str().unwrap(), "ctr:/data/etclink/"])
        .ok();
    assert_eq!(
        read(&upper(&b, &id).join("etc").join(&name)),
        "to the volume\n"
    );
    assert!(!Path::new("/etc").join(&name).exists());

    let err = b
        .run(&["cp", src.to_str().unwrap(), "ctr:/ro/"])
        .fails(1)
        .to_string();
    assert_eq!(
        err,
        "Error response from daemon: mounted volume is marked read-only\n"
    );
    assert!(!ro.join(&name).exists());
}

#[test]
fn a_read_only_rootfs_refuses_copies_outside_volumes() {
    let (b, _) = store_with_container(&["--read-only"]);
    let src = b.write("f", b"x");
    let err = b
        .run(&["cp", src.to_str().unwrap(), "ctr:/tmp/"])
        .fails(1)
        .to_string();
    assert_eq!(
        err,
        "Error response from daemon: container rootfs is marked read-only\n"
    );
}

// ---- cp: Docker's placement rules ----

#[test]
fn a_file_goes_into_a_directory_onto_a_file_or_to_a_new_name() {
    let (b, id) = store_with_container(&[]);
    let src = b.write("note", b"hello\n");
    let s = src.to_str().unwrap();
    let up = upper(&b, &id);
    b.run(&["cp", s, "ctr:/tmp"]).ok();
    assert_eq!(read(&up.join("tmp/note")), "hello\n");
    b.run(&["cp", s, "ctr:/tmp/renamed"]).ok();
    assert_eq!(read(&up.join("tmp/renamed")), "hello\n");
    b.run(&["cp", s, "ctr:/etc/group"]).ok();
    assert_eq!(read(&up.join("etc/group")), "hello\n");
    // Container paths are relative to its root.
    b.run(&["cp", s, "ctr:root"]).ok();
    assert_eq!(read(&up.join("root/note")), "hello\n");

    let err = b.run(&["cp", s, "ctr:/tmp/missing/"]).fails(1).to_string();
    assert_eq!(err, "no such directory\n");
    let err = b.run(&["cp", s, "ctr:/missing/file"]).fails(1).to_string();
    assert_eq!(
        err,
        "Error response from daemon: Could not find the file /missing in container ctr\n"
    );
}

#[test]
fn a_directory_is_copied_whole_or_by_content() {
    let (b, id) = store_with_container(&[]);
    let dir = b.path("tree");
    fs::create_dir_all(dir.join("sub")).unwrap();
    fs::write(dir.join("sub/leaf"), "leaf\n").unwrap();
    let d = dir.to_str().unwrap();
    let up = upper(&b, &id);

    b.run(&["cp", d, "ctr:/tmp"]).ok();
    assert_eq!(read(&up.join("tmp/tree/sub/leaf")), "leaf\n");
    b.run(&["cp", &format!("{d}/."), "ctr:/root"]).ok();
    assert_eq!(read(&up.join("root/sub/leaf")), "leaf\n");
    b.run(&["cp", d, "ctr:/newdir"]).ok();
    assert_eq!(read(&up.join("newdir/sub/leaf")), "leaf\n");

    let err = b.run(&["cp", d, "ctr:/etc/passwd"]).fails(1).to_string();
    assert_eq!(err, "cannot copy directory\n");
}

#[test]
fn nothing_replaces_a_directory_with_a_file_or_the_reverse() {
    let (b, _) = store_with_container(&[]);
    let src = b.write("etc", b"not a directory\n");
    let err = b
        .run(&["cp", src.to_str().unwrap(), "ctr:/"])
        .fails(1)
        .to_string();
    assert_eq!(
        err,
        "Error response from daemon: cannot overwrite directory \"/etc\" with non-directory \"/\"\n"
    );
    assert_eq!(container_file(&b, "ctr", "/etc/passwd"), PASSWD);

    // From the container, onto the host.
    let dest = b.path("dest");
    fs::create_dir_all(dest.join("etc/passwd")).unwrap();
    let err = b
        .run(&["cp", "ctr:/etc", dest.to_str().unwrap()])
        .fails(1)
        .to_string();
    assert!(err.starts_with("cannot overwrite directory"), "{err}");
    assert!(dest.join("etc/passwd").is_dir());
}

#[test]
fn copies_out_of_a_container_follow_dockers_rules() {
    let (b, _) = store_with_container(&[]);
    let out = b.path("out");
    fs::create_dir(&out).unwrap();
    let o = out.to_str().unwrap();

    b.run(&["cp", "ctr:/etc/passwd", o]).ok();
    assert_eq!(read(&out.join("passwd")), PASSWD);
    b.run(&["cp", "ctr:/etc", o]).ok();
    assert_eq!(
        read(&out.join("etc/group")),
        "root:x:0:\nnogroup:x:65534:\n"
    );
    b.run(&["cp", "ctr:/etc/.", o]).ok();
    assert_eq!(read(&out.join("group")), "root:x:0:\nnogroup:x:65534:\n");
    b.run(&["cp", "ctr:/etc", &format!("{o}/fresh")]).ok();
    assert_eq!(read(&out.join("fresh/passwd")), PASSWD);
    fs::write(out.join("existing"), "old").unwrap();
    b.run(&["cp", "ctr:/etc/passwd", &format!("{o}/existing")])
        .ok();
    assert_eq!(read(&out.join("existing")), PASSWD);

    let err = b
        .run(&["cp", "ctr:/etc", &format!("{o}/existing")])
        .fails(1)
        .to_string();
    assert_eq!(err, "cannot copy directory\n");
    let err = b
        .run(&["cp", "ctr:/etc/passwd", &format!("{o}/nodir/")])
        .fails(1)
        .to_string();
    assert_eq!(err, "no such directory\n");
    let err = b
        .run(&["cp", "ctr:/etc/passwd", &format!("{o}/a/b/c")])
        .fails(1)
        .to_string();
    assert_eq!(
        err,
        format!("invalid output path: directory \"{o}/a/b\" does not exist\n")
    );
}

#[test]
fn a_tar_stream_goes_to_stdout_and_comes_from_stdin() {
    let (b, id) = store_with_container(&[]);
    let (code, tar, err) = b.run_raw(&["cp", "ctr:/etc", "-"]);
    assert_eq!(code, 0, "{err}");
    let members = tar_members(&tar);
    let names: Vec<&str> = members.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        // Regular files only (etc/mtab is a symlink).
        [
            "etc/group",
            "etc/hostname",
            "etc/hosts",
            "etc/passwd",
            "etc/resolv.conf"
        ]
    );

    let tar = tar_of(&[Entry::Dir("a/"), Entry::File("a/b", b"from stdin\n")]);
    b.run_stdin(&["cp", "-", "ctr:/tmp"], &tar).ok();
    assert_eq!(read(&upper(&b, &id).join("tmp/a/b")), "from stdin\n");
    // Compressed streams are fine too.
    let tar = common::gzip(&tar_of(&[Entry::File("gz", b"zipped\n")]));
    b.run_stdin(&["cp", "-", "ctr:/tmp"], &tar).ok();
    assert_eq!(read(&upper(&b, &id).join("tmp/gz")), "zipped\n");

    let err = b
        .run_stdin(&["cp", "-", "ctr:/etc/passwd"], &tar)
        .fails(1)
        .to_string();
    assert_eq!(err, "destination \"ctr:/etc/passwd\" must be a directory\n");
}

#[test]
fn owners_are_root_in_the_container_and_the_caller_on_the_host_unless_archived() {
    let (b, id) = store_with_container(&[]);
    let src = b.write("owned", b"x");
    std::os::unix::fs::chown(&src, Some(1234), Some(2345)).unwrap();
    fs::set_permissions(&src, fs::Permissions::from_mode(0o640)).unwrap();
    let up = upper(&b, &id);

    b.run(&["cp", src.to_str().unwrap(), "ctr:/tmp/plain"]).ok();
    let m = fs::metadata(up.join("tmp/plain")).unwrap();
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (0, 0, 0o640));
    b.run(&["cp", "-a", src.to_str().unwrap(), "ctr:/tmp/kept"])
        .ok();
    let m = fs::metadata(up.join("tmp/kept")).unwrap();
    assert_eq!((m.uid(), m.gid()), (1234, 2345));

    let back = b.path("back");
    b.run(&["cp", "ctr:/tmp/kept", back.to_str().unwrap()]).ok();
    let m = fs::metadata(&back).unwrap();
    assert_eq!(
        (m.uid(), m.gid()),
        (
            rustix::process::geteuid().as_raw(),
            rustix::process::getegid().as_raw()
        )
    );
    let kept = b.path("kept");
    b.run(&["cp", "-a", "ctr:/tmp/kept", kept.to_str().unwrap()])
        .ok();
    let m = fs::metadata(&kept).unwrap();
    assert_eq!((m.uid(), m.gid()), (1234, 2345));
}

#[test]
fn missing_containers_and_paths_are_reported_as_docker_reports_them() {
    let (b, _) = store_with_container(&[]);
    let out = b.path("out");
    let o = out.to_str().unwrap();
    let err = b.run(&["cp", "nope:/etc/passwd", o]).fails(1).to_string();
    assert_eq!(err, "Error response from daemon: No such container: nope\n");
    let err = b.run(&["cp", "ctr:/x", o]).fails(1).to_string();
    assert_eq!(
        err,
        "Error response from daemon: Could not find the file /x in container ctr\n"
    );
    let err = b
        .run(&["cp", "/definitely/missing", "ctr:/tmp"])
        .fails(1)
        .to_string();
    assert_eq!(err, "lstat /definitely: no such file or directory\n");
    let err = b.run(&["cp", o, "/tmp"]).fails(1).to_string();
    assert_eq!(err, "must specify at least one container source\n");
    let err = b.run(&["cp", "ctr:/etc", "ctr:/tmp"]).fails(1).to_string();
    assert_eq!(err, "copying between containers is not supported\n");
}

#[test]
fn container_subcommands_and_id_prefixes_work_too() {
    let (b, id) = store_with_container(&[]);
    let out = b.path("passwd");
    b.run(&[
        "container",
        "cp",
        &format!("{}:/etc/passwd", &id[..12]),
        out.to_str().unwrap(),
    ])
    .ok();
    assert_eq!(read(&out), PASSWD);
}

// ---- diff ----

/// Changes a container's layer as a shell in it would: a new file, an edited one, a removed
/// one (an overlay whiteout in the layer).
fn make_changes(b: &Berth, id: &str) {
    let note = b.write("new", b"new file\n");
    b.run(&["cp", note.to_str().unwrap(), "ctr:/tmp/new"]).ok();
    let edited = b.write("passwd", b"root:x:0:0:root:/root:/bin/sh\n");
    b.run(&["cp", edited.to_str().unwrap(), "ctr:/etc/passwd"])
        .ok();
    let up = upper(b, id);
    fs::create_dir_all(up.join("bin")).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        up.join("bin/vi").as_path(),
        rustix::fs::FileType::CharacterDevice,
        rustix::fs::Mode::empty(),
        0,
    )
    .unwrap();
}

#[test]
fn diff_lists_additions_changes_and_deletions_in_dockers_order() {
    let (b, id) = store_with_container(&[]);
    assert_eq!(b.run(&["diff", "ctr"]).ok(), "");
    make_changes(&b, &id);
    assert_eq!(
        b.run(&["diff", "ctr"]).ok(),
        "C /bin\nD /bin/vi\nC /etc\nC /etc/passwd\nC /tmp\nA /tmp/new\n"
    );
    assert_eq!(
        b.run(&["container", "diff", "ctr"]).ok(),
        b.run(&["diff", "ctr"]).ok()
    );
    let err = b.run(&["diff", "nope"]).fails(1).to_string();
    assert_eq!(err, "Error response from daemon: No such container: nope\n");
}

// ---- commit ----

/// Every path in an unpacked layer directory, as `/a/b`.
fn layer_paths(dir: &Path) -> BTreeSet<String> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeSet<String>) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let path = format!("{prefix}/{}", e.file_name().to_string_lossy());
            out.insert(path.clone());
            if e.file_type().unwrap().is_dir() {
                walk(&e.path(), &path, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, "", &mut out);
    out
}

#[test]
fn commit_makes_the_containers_layer_the_new_top_layer() {
    let (b, id) = store_with_container(&[]);
    make_changes(&b, &id);
    let diff: BTreeSet<String> = b
        .run(&["diff", "ctr"])
        .ok()
        .lines()
        .map(|l| l[2..].to_string())
        .collect();
    let layers_before = b.entries("layers");
    let image = b
        .run(&[
            "commit",
            "-a",
            "Ann Author",
            "-m",
            "a message",
            "-c",
            "ENV MARK=1",
            "ctr",
            "snap:1",
        ])
        .ok()
        .trim()
        .to_string();
    common::assert_image_id(&image);

    // The one new layer holds exactly what `diff` listed, the deletion as a whiteout.
    let new_layers: Vec<String> = b
        .entries("layers")
        .difference(&layers_before)
        .cloned()
        .collect();
    assert_eq!(new_layers.len(), 1, "{new_layers:?}");
    let layer = b.root().join("layers").join(&new_layers[0]).join("diff");
    assert_eq!(layer_paths(&layer), diff);
    assert!(fs::symlink_metadata(layer.join("bin/vi"))
        .unwrap()
        .file_type()
        .is_char_device());
    assert_eq!(read(&layer.join("tmp/new")), "new file\n");

    let inspect = b.inspect("snap:1");
    assert_eq!(inspect["Id"], image.as_str());
    assert_eq!(inspect["Author"], "Ann Author");
    assert_eq!(inspect["RootFS"]["Layers"].as_array().unwrap().len(), 2);
    assert_eq!(inspect["Config"]["Cmd"], serde_json::json!(["sh"]));
    let env: Vec<&str> = inspect["Config"]["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(env.contains(&"MARK=1"), "{env:?}");
    let history = b.run(&[
        "history",
        "--no-trunc",
        "--format",
        "{{.CreatedBy}}|{{.Comment}}",
        "snap:1",
    ]);
    assert_eq!(history.ok().lines().next(), Some("sh|a message"));

    // A container of the new image sees the container's files, and not the removed one.
    b.run(&["create", "--name", "ctr2", "snap:1"]).ok();
    assert_eq!(container_file(&b, "ctr2", "/tmp/new"), "new file\n");
    assert_eq!(
        container_file(&b, "ctr2", "/etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\n"
    );
    let err = b.run(&["cp", "ctr2:/bin/vi", "-"]).fails(1).to_string();
    assert_eq!(
        err,
        "Error response from daemon: Could not find the file /bin/vi in container ctr2\n"
    );
    assert_eq!(b.run(&["diff", "ctr2"]).ok(), "");
}

#[test]
fn commit_of_an_unchanged_container_adds_no_layer() {
    let (b, _) = store_with_container(&[]);
    let base = b.inspect("busybox");
    let image = b.run(&["commit", "ctr"]).ok().trim().to_string();
    let inspect = b.inspect(&image);
    assert_eq!(inspect["RootFS"]["Layers"], base["RootFS"]["Layers"]);
    assert_ne!(inspect["Id"], base["Id"]);
    let err = b.run(&["commit", "nope"]).fails(1).to_string();
    assert_eq!(err, "Error response from daemon: No such container: nope\n");
    let err = b
        .run(&["commit", "-c", "RUN true", "ctr"])
        .fails(1)
        .to_string();
    assert!(err.contains("RUN is not a valid change command"), "{err}");
}

// ---- export ----

#[test]
fn export_writes_the_merged_filesystem() {
    let (b, id) = store_with_container(&[]);
    make_changes(&b, &id);
    let (code, tar, err) = b.run_raw(&["export", "ctr"]);
    assert_eq!(code, 0, "{err}");
    let members = tar_members(&tar);
    assert_eq!(members["tmp/new"], b"new file\n");
    assert_eq!(members["etc/passwd"], b"root:x:0:0:root:/root:/bin/sh\n");
    assert!(members.contains_key("bin/busybox"));
    let mut names = Vec::new();
    let mut a = tar::Archive::new(&tar[..]);
    for e in a.entries().unwrap() {
        names.push(e.unwrap().path().unwrap().to_string_lossy().into_owned());
    }
    assert!(
        !names.iter().any(|n| n == "bin/vi"),
        "a removed file was exported"
    );
    assert!(names.iter().any(|n| n == "bin/sh"));

    let file = b.path("c.tar");
    b.run(&["export", "-o", file.to_str().unwrap(), "ctr"]).ok();
    assert_eq!(fs::read(&file).unwrap(), tar);
    let err = b.run(&["export", "nope"]).fails(1).to_string();
    assert_eq!(err, "Error response from daemon: No such container: nope\n");
}

// ---- at a terminal ----

/// A pseudo-terminal's slave side, to stand for a user's terminal on stdout.
fn terminal() -> (rustix::fd::OwnedFd, fs::File) {
    use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let slave = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(name.to_str().unwrap())
        .unwrap();
    (master, slave)
}

#[test]
fn export_refuses_a_terminal_and_cp_reports_what_it_copied_to_one() {
    let (b, _) = store_with_container(&[]);
    let run_at_terminal = |args: &[&str]| {
        let (_master, slave) = terminal();
        let out = b
            .command()
            .args(args)
            .stdout(slave)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(
        run_at_terminal(&["export", "ctr"]),
        (
            Some(1),
            "cowardly refusing to save to a terminal. Use the -o flag or redirect\n".to_string()
        )
    );
    let src = b.write("six", b"6bytes");
    assert_eq!(
        run_at_terminal(&["cp", src.to_str().unwrap(), "ctr:/tmp"]),
        (Some(0), "Successfully copied 6B to ctr:/tmp\n".to_string())
    );
    let out = b.path("back");
    assert_eq!(
        run_at_terminal(&["cp", "ctr:/tmp/six", out.to_str().unwrap()]),
        (
            Some(0),
            format!("Successfully copied 6B to {}\n", out.display())
        )
    );
    assert_eq!(
        run_at_terminal(&["cp", "-q", "ctr:/tmp/six", out.to_str().unwrap()]),
        (Some(0), String::new())
    );
}

// ---- a running container ----

/// A container's rootfs mounted as its runtime mounts it while it runs (the engine then uses
/// that live mount); unmounted when dropped.
struct LiveRootfs {
    merged: PathBuf,
}

impl LiveRootfs {
    fn mount(b: &Berth, id: &str) -> LiveRootfs {
        let layers = b.entries("layers");
        assert_eq!(layers.len(), 1, "{layers:?}");
        let lower = b
            .root()
            .join("layers")
            .join(layers.iter().next().unwrap())
            .join("diff");
        let dir = b.root().join("containers").join(id);
        let merged = dir.join("merged");
        let options = format!(
            "lowerdir={},upperdir={},workdir={}",
            lower.display(),
            dir.join("upper").display(),
            dir.join("work").display()
        );
        let status = std::process::Command::new("mount")
            .args(["-t", "overlay", "overlay", "-o", &options])
            .arg(&merged)
            .status()
            .unwrap();
        assert!(status.success());
        LiveRootfs { merged }
    }

    fn is_mounted(&self) -> bool {
        let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
        let want = self.merged.to_string_lossy().into_owned();
        mounts
            .lines()
            .any(|l| l.split(' ').nth(4) == Some(want.as_str()))
    }
}

impl Drop for LiveRootfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.merged)
            .status();
    }
}

#[test]
fn a_live_rootfs_is_used_as_it_is_and_stays_mounted() {
    let (b, id) = store_with_container(&[]);
    let live = LiveRootfs::mount(&b, &id);
    let src = b.write("hello", b"to a running container\n");
    b.run(&["cp", src.to_str().unwrap(), "ctr:/tmp/"]).ok();
    // The container's processes see it at once, through their mount.
    assert_eq!(
        read(&live.merged.join("tmp/hello")),
        "to a running container\n"
    );
    fs::write(live.merged.join("tmp/written-inside"), "by the container\n").unwrap();
    assert_eq!(
        container_file(&b, "ctr", "/tmp/written-inside"),
        "by the container\n"
    );
    assert!(
        live.is_mounted(),
        "cp unmounted a running container's rootfs"
    );
    assert_eq!(
        b.run(&["diff", "ctr"]).ok(),
        "C /tmp\nA /tmp/hello\nA /tmp/written-inside\n"
    );
}

#[test]
fn a_named_volume_receives_what_is_copied_under_its_destination() {
    let (b, id) = store_with_container(&["-v", "vol:/vol"]);
    let src = b.write("in-volume", b"kept in the volume\n");
    b.run(&["cp", src.to_str().unwrap(), "ctr:/vol/"]).ok();
    let data = b.root().join("volumes/vol/_data");
    assert_eq!(read(&data.join("in-volume")), "kept in the volume\n");
    assert!(!upper(&b, &id).join("vol/in-volume").exists());
    assert_eq!(
        container_file(&b, "ctr", "/vol/in-volume"),
        "kept in the volume\n"
    );
    // Export leaves volumes out, as Docker's does.
    let (code, tar, err) = b.run_raw(&["export", "ctr"]);
    assert_eq!(code, 0, "{err}");
    assert!(!tar_members(&tar).contains_key("vol/in-volume"));
}
