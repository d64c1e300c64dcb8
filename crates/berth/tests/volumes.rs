//! Binds, named and anonymous volumes, `--mount`, `--tmpfs`, `--read-only`, and the
//! `volume` commands.

mod common;

use common::{cells, is_hex64, Berth};

#[test]
fn a_bind_is_shared_with_the_host_and_ro_refuses_writes() {
    let b = Berth::new();
    b.busybox("busybox");
    let host = b.path("shared");
    std::fs::create_dir(&host).expect("mkdir");
    std::fs::write(host.join("from-host"), "hello\n").expect("write");
    let spec = format!("{}:/h", host.display());
    let out = b.run_t(&[
        "run",
        "--rm",
        "-v",
        &spec,
        "busybox",
        "sh",
        "-c",
        "cat /h/from-host; echo back > /h/from-ctr",
    ]);
    assert_eq!(out.ok(), "hello\n");
    assert_eq!(
        std::fs::read_to_string(host.join("from-ctr")).expect("written through"),
        "back\n"
    );

    let ro = format!("{}:/h:ro", host.display());
    let out = b.run_t(&[
        "run",
        "--rm",
        "-v",
        &ro,
        "busybox",
        "sh",
        "-c",
        "cat /h/from-host; echo no > /h/x",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stdout, "hello\n");
    assert!(out.stderr.contains("Read-only file system"), "{out:?}");
    assert!(!host.join("x").exists());

    // A missing host directory is created, as Docker's -v does.
    let fresh = b.path("fresh");
    let spec = format!("{}:/f", fresh.display());
    b.run_t(&["run", "--rm", "-v", &spec, "busybox", "touch", "/f/made"])
        .ok();
    assert!(fresh.join("made").exists());
}

#[test]
fn a_named_volume_outlives_its_containers() {
    let b = Berth::new();
    b.busybox("busybox");
    b.run_t(&[
        "run",
        "--rm",
        "-v",
        "data:/d",
        "busybox",
        "sh",
        "-c",
        "echo kept > /d/f",
    ])
    .ok();
    assert_eq!(b.run_t(&["volume", "ls", "-q"]).ok(), "data\n");
    let out = b.run_t(&[
        "run",
        "--rm",
        "-v",
        "data:/other",
        "busybox",
        "cat",
        "/other/f",
    ]);
    assert_eq!(out.ok(), "kept\n");
    let mountpoint = b
        .run_t(&["volume", "inspect", "-f", "{{.Mountpoint}}", "data"])
        .ok()
        .trim()
        .to_string();
    assert_eq!(
        std::fs::read_to_string(format!("{mountpoint}/f")).expect("on the host"),
        "kept\n"
    );

    let id = b
        .run_t(&["create", "-v", "data:/d:ro", "busybox"])
        .ok()
        .trim()
        .to_string();
    let mounts = b.container(&id)["Mounts"].clone();
    assert_eq!(mounts[0]["Type"], "volume", "{mounts}");
    assert_eq!(mounts[0]["Name"], "data", "{mounts}");
    assert_eq!(mounts[0]["Destination"], "/d", "{mounts}");
    assert_eq!(mounts[0]["RW"], false, "{mounts}");
    assert_eq!(mounts[0]["Source"], mountpoint.as_str(), "{mounts}");
}

#[test]
fn an_image_volume_gets_an_anonymous_volume_that_rm_v_removes() {
    let b = Berth::new();
    b.busybox_with("withvol", &["VOLUME /data"]);
    b.run_t(&[
        "run",
        "--name",
        "aa",
        "withvol",
        "sh",
        "-c",
        "echo x > /data/x",
    ])
    .ok();
    let vols = b.run_t(&["volume", "ls", "-q"]).ok().to_string();
    let name = vols.trim();
    assert!(is_hex64(name), "{vols}");
    let mounts = b.container("aa")["Mounts"].clone();
    assert_eq!(mounts[0]["Name"], name, "{mounts}");
    assert_eq!(mounts[0]["Destination"], "/data", "{mounts}");
    b.run_t(&["rm", "-v", "aa"]).ok();
    assert_eq!(b.run_t(&["volume", "ls", "-q"]).ok(), "");

    // Without -v it stays, dangling, until a prune.
    b.run_t(&["run", "--name", "bb", "withvol", "true"]).ok();
    b.run_t(&["rm", "bb"]).ok();
    let left = b
        .run_t(&["volume", "ls", "-q", "--filter", "dangling=true"])
        .ok()
        .to_string();
    assert_eq!(left.lines().count(), 1, "{left}");
    let out = b.run_t(&["volume", "prune", "-f"]);
    let text = out.ok();
    assert!(text.starts_with("Deleted Volumes:\n"), "{text}");
    assert!(text.contains(left.trim()), "{text}");
    assert!(text.contains("Total reclaimed space: "), "{text}");
    assert_eq!(b.run_t(&["volume", "ls", "-q"]).ok(), "");

    // --rm removes the anonymous volume with the container.
    b.run_t(&["run", "--rm", "withvol", "true"]).ok();
    assert_eq!(b.run_t(&["volume", "ls", "-q"]).ok(), "");
}

#[test]
fn volume_commands_print_and_refuse_as_dockers() {
    let b = Berth::new();
    b.busybox("busybox");
    assert_eq!(b.run_t(&["volume", "create", "v1"]).ok(), "v1\n");
    // Creating it again is not an error.
    assert_eq!(b.run_t(&["volume", "create", "v1"]).ok(), "v1\n");
    assert_eq!(
        b.run_t(&["volume", "create", "--label", "k=v", "v2"]).ok(),
        "v2\n"
    );
    let generated = b.run_t(&["volume", "create"]).ok().trim().to_string();
    assert!(is_hex64(&generated), "{generated}");

    let out = b.run_t(&["volume", "ls"]);
    let text = out.ok();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(cells(lines[0]), ["DRIVER", "VOLUME NAME"], "{text}");
    let rows: Vec<Vec<&str>> = lines[1..].iter().map(|l| cells(l)).collect();
    assert!(
        rows.contains(&vec!["local", "v1"]) && rows.contains(&vec!["local", "v2"]),
        "{text}"
    );
    assert_eq!(
        b.run_t(&["volume", "ls", "-q", "--filter", "label=k=v"])
            .ok(),
        "v2\n"
    );
    assert_eq!(
        b.run_t(&[
            "volume",
            "ls",
            "--format",
            "{{.Name}} {{.Driver}}",
            "--filter",
            "name=v1"
        ])
        .ok(),
        "v1 local\n"
    );

    let v: serde_json::Value =
        serde_json::from_str(b.run_t(&["volume", "inspect", "v2"]).ok()).expect("JSON");
    let v = &v[0];
    assert_eq!(v["Name"], "v2");
    assert_eq!(v["Driver"], "local");
    assert_eq!(v["Scope"], "local");
    assert_eq!(v["Labels"]["k"], "v");
    let mp = v["Mountpoint"].as_str().expect("Mountpoint");
    assert!(
        mp.ends_with("/volumes/v2/_data") && std::path::Path::new(mp).is_dir(),
        "{v}"
    );
    assert!(
        v["CreatedAt"].as_str().is_some_and(|t| t.contains('T')),
        "{v}"
    );
    let err = b
        .run_t(&["volume", "inspect", "nosuch"])
        .fails(1)
        .to_string();
    assert!(err.contains("no such volume"), "{err}");

    // In use: refused, with the container's ID.
    let id = b.detach(&["-v", "v1:/d", "busybox", "sleep", "1000"]);
    let err = b.run_t(&["volume", "rm", "v1"]).fails(1).to_string();
    assert!(
        err.contains(&format!(
            "Error response from daemon: remove v1: volume is in use - [{id}]"
        )),
        "{err}"
    );
    // Even a stopped container holds it.
    b.run_t(&["stop", "-t", "0", &id]).ok();
    b.run_t(&["volume", "rm", "v1"]).fails(1);
    b.run_t(&["rm", &id]).ok();
    assert_eq!(b.run_t(&["volume", "rm", "v1"]).ok(), "v1\n");
    let err = b.run_t(&["volume", "rm", "v1"]).fails(1).to_string();
    assert!(
        err.contains("Error response from daemon: get v1: no such volume"),
        "{err}"
    );

    // prune keeps named volumes unless -a.
    b.run_t(&["volume", "prune", "-f"]).ok();
    assert!(b.run_t(&["volume", "ls", "-q"]).ok().contains("v2\n"));
    b.run_t(&["volume", "prune", "-a", "-f"]).ok();
    assert_eq!(b.run_t(&["volume", "ls", "-q"]).ok(), "");
}

#[test]
fn mount_takes_binds_volumes_and_tmpfs() {
    let b = Berth::new();
    b.busybox("busybox");
    let host = b.path("h");
    std::fs::create_dir(&host).expect("mkdir");
    std::fs::write(host.join("f"), "on host\n").expect("write");
    let bind = format!("type=bind,source={},target=/h,readonly", host.display());
    let out = b.run_t(&[
        "run",
        "--rm",
        "--mount",
        &bind,
        "busybox",
        "sh",
        "-c",
        "cat /h/f; touch /h/g",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stdout, "on host\n");
    assert!(out.stderr.contains("Read-only file system"), "{out:?}");

    b.run_t(&[
        "run",
        "--rm",
        "--mount",
        "type=volume,source=mv,target=/m",
        "busybox",
        "touch",
        "/m/x",
    ])
    .ok();
    assert_eq!(b.run_t(&["volume", "ls", "-q"]).ok(), "mv\n");
    let out = b.run_t(&[
        "run",
        "--rm",
        "--mount",
        "source=mv,target=/m",
        "busybox",
        "ls",
        "/m",
    ]);
    assert_eq!(out.ok(), "x\n");

    let out = b.run_t(&[
        "run",
        "--rm",
        "--mount",
        "type=tmpfs,destination=/t",
        "busybox",
        "sh",
        "-c",
        "grep ' /t ' /proc/self/mountinfo",
    ]);
    assert!(out.ok().contains(" - tmpfs "), "{out:?}");

    // A bind of a missing source is refused (unlike -v).
    let missing = format!("type=bind,source={},target=/x", b.path("missing").display());
    let err = b
        .run_t(&["run", "--rm", "--mount", &missing, "busybox", "true"])
        .fails(125)
        .to_string();
    assert!(err.contains("bind source path does not exist"), "{err}");
    let err = b
        .run_t(&[
            "run",
            "--rm",
            "--mount",
            "type=bogus,target=/x",
            "busybox",
            "true",
        ])
        .fails(125)
        .to_string();
    assert!(err.contains("bogus"), "{err}");
}

#[test]
fn tmpfs_mounts_a_private_tmpfs_of_the_size_given() {
    let b = Berth::new();
    b.busybox("busybox");
    let out = b.run_t(&[
        "run",
        "--rm",
        "--tmpfs",
        "/run:size=1m",
        "busybox",
        "sh",
        "-c",
        "grep ' /run ' /proc/self/mountinfo; dd if=/dev/zero of=/run/big bs=1k count=2000",
    ]);
    assert!(
        out.stdout.contains(" - tmpfs ") && out.stdout.contains("size=1024k"),
        "{out:?}"
    );
    assert_eq!(
        out.code, 1,
        "writing 2 MB to a 1 MiB tmpfs must fail: {out:?}"
    );
    assert!(out.stderr.contains("No space left on device"), "{out:?}");
}

#[test]
fn read_only_refuses_writes_except_to_tmpfs_and_volumes() {
    let b = Berth::new();
    b.busybox("busybox");
    let out = b.run_t(&[
        "run",
        "--rm",
        "--read-only",
        "--tmpfs",
        "/tmp",
        "-v",
        "rw:/vol",
        "busybox",
        "sh",
        "-c",
        "touch /x 2>&1; echo tmp > /tmp/t && cat /tmp/t; echo vol > /vol/v && cat /vol/v",
    ]);
    assert_eq!(out.ok(), "touch: /x: Read-only file system\ntmp\nvol\n");
    let id = b
        .run_t(&["create", "--read-only", "busybox"])
        .ok()
        .trim()
        .to_string();
    assert_eq!(b.field(&id, "{{.HostConfig.ReadonlyRootfs}}"), "true");
}

#[test]
fn a_new_volume_starts_with_the_images_files() {
    let b = Berth::new();
    b.busybox_plus(
        "seeded",
        &["VOLUME /data"],
        &[("data/seed", b"from image\n")],
    );
    // The anonymous volume of the image's VOLUME.
    let out = b.run_t(&["run", "--rm", "seeded", "cat", "/data/seed"]);
    assert_eq!(out.ok(), "from image\n");
    // A new, empty named volume mounted there is filled the same way.
    let out = b.run_t(&[
        "run",
        "--rm",
        "-v",
        "fresh:/data",
        "seeded",
        "cat",
        "/data/seed",
    ]);
    assert_eq!(out.ok(), "from image\n");
    // But not a bind: it shows the host's directory as it is.
    let host = b.path("empty");
    std::fs::create_dir(&host).expect("mkdir");
    let spec = format!("{}:/data", host.display());
    let out = b.run_t(&["run", "--rm", "-v", &spec, "seeded", "ls", "/data"]);
    assert_eq!(out.ok(), "");
}

#[test]
fn rm_v_keeps_named_volumes() {
    let b = Berth::new();
    b.busybox("busybox");
    let id = b
        .run_t(&["create", "-v", "named:/n", "-v", "/anon", "busybox"])
        .ok()
        .trim()
        .to_string();
    let vols = b.run_t(&["volume", "ls", "-q"]).ok().to_string();
    assert_eq!(vols.lines().count(), 2, "{vols}");
    b.run_t(&["rm", "-v", &id]).ok();
    assert_eq!(b.run_t(&["volume", "ls", "-q"]).ok(), "named\n");
}
