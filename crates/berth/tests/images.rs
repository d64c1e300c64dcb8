//! `import`, `images`, `image inspect`, `tag`, `rmi`, `image prune`, `history` as a user
//! sees them.

mod common;

use std::collections::BTreeSet;

use common::{
    assert_image_id, cells, docker_archive, gzip, sha256, tar_of, tiny_tar, zstd, ArchiveImage,
    Berth, Entry,
};
use serde_json::Value;

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn short(id: &str) -> &str {
    &id[7..19]
}

/// The lines of `images --format TEMPLATE ARGS...`.
fn images_fmt(b: &Berth, template: &str, args: &[&str]) -> Vec<String> {
    let mut a = vec!["images", "--format", template];
    a.extend_from_slice(args);
    b.run(&a).ok().lines().map(str::to_string).collect()
}

// ---- import ----

#[test]
fn import_prints_the_image_id_and_images_lists_it() {
    let b = Berth::new();
    let id = b.busybox("busybox");
    assert_image_id(&id);
    let out = b.run(&["images"]);
    let lines: Vec<&str> = out.ok().lines().collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let header = lines[0];
    let row = lines[1];
    assert_eq!(
        cells(header),
        ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]
    );
    // The first columns have fixed widths (Docker's tabwriter: min width 10, padding 3).
    assert!(
        header.starts_with("REPOSITORY   TAG       IMAGE ID       CREATED"),
        "{header}"
    );
    assert!(
        row.starts_with(&format!("busybox      latest    {}   ", short(&id))),
        "{row}"
    );
    // Each value starts where its heading does.
    let row_cells = cells(row);
    assert_eq!(row_cells.len(), 5, "{row}");
    for (h, v) in ["CREATED", "SIZE"].iter().zip(&row_cells[3..]) {
        assert_eq!(
            header.find(h),
            row.find(v),
            "column {h} misaligned:\n{header}\n{row}"
        );
    }
    assert!(
        row_cells[3].ends_with("ago"),
        "CREATED is relative: {}",
        row_cells[3]
    );
    // busybox-static is about 2 MB; Docker prints 3 significant digits in decimal units.
    assert!(
        row_cells[4].ends_with("MB") && row_cells[4].len() == 6,
        "{}",
        row_cells[4]
    );
}

#[test]
fn import_reads_plain_gzip_and_zstd_tarballs_from_files_and_stdin() {
    let b = Berth::new();
    let plain = tar_of(&[
        Entry::Dir("etc/"),
        Entry::File("etc/hello", b"hello world\n"),
    ]);
    // The layer is named by the digest of the uncompressed tar whatever the compression.
    let diff_id = sha256(&plain);
    let cases: [(&str, Vec<u8>); 3] = [
        ("plain", plain.clone()),
        ("gzip", gzip(&plain)),
        ("zstd", zstd(&plain)),
    ];
    for (kind, bytes) in &cases {
        let file = b.write(&format!("{kind}.tar"), bytes);
        let from_file = b.run(&["import", file.to_str().unwrap(), &format!("file:{kind}")]);
        let from_stdin = b.run_stdin(&["import", "-", &format!("stdin:{kind}")], bytes);
        for (how, out) in [("file", from_file), ("stdin", from_stdin)] {
            let id = out.ok().trim().to_string();
            assert_image_id(&id);
            let img = b.inspect(&format!("{how}:{kind}"));
            assert_eq!(img["Id"], id.as_str());
            assert_eq!(
                img["RootFS"]["Layers"],
                serde_json::json!([diff_id]),
                "{how} {kind}"
            );
            assert_eq!(img["Size"], 12, "{how} {kind}");
        }
    }
    // One layer, unpacked once and shared by all six images.
    assert_eq!(b.entries("layers"), set(&[&diff_id[7..]]));
    let unpacked = b
        .root()
        .join("layers")
        .join(&diff_id[7..])
        .join("diff/etc/hello");
    assert_eq!(std::fs::read(unpacked).unwrap(), b"hello world\n");
    assert_eq!(b.tags().len(), 6);
}

#[test]
fn import_applies_changes_and_message() {
    let b = Berth::new();
    let tar = common::busybox_tar();
    let out = b.run(&[
        "import",
        "-c",
        r#"CMD ["sh"]"#,
        "-c",
        "ENV A=b",
        "--change",
        "LABEL k=v",
        "-c",
        "WORKDIR /srv",
        "-m",
        "my message",
        tar.to_str().unwrap(),
        "cfg:1",
    ]);
    let id = out.ok().trim().to_string();
    let img = b.inspect("cfg:1");
    assert_eq!(img["Id"], id.as_str());
    assert_eq!(img["Comment"], "my message");
    assert_eq!(img["Config"]["Cmd"], serde_json::json!(["sh"]));
    assert_eq!(img["Config"]["Env"], serde_json::json!(["A=b"]));
    assert_eq!(img["Config"]["Labels"], serde_json::json!({"k": "v"}));
    assert_eq!(img["Config"]["WorkingDir"], "/srv");
    assert_eq!(img["RepoTags"], serde_json::json!(["cfg:1"]));
    let fmt = b.run(&["image", "inspect", "-f", "{{.Config.Cmd}}", "cfg:1"]);
    assert_eq!(fmt.ok(), "[sh]\n");
    // The message is the comment of the one history entry, as `docker history` shows it.
    let hist = b.run(&["history", "--format", "{{.Comment}}", "cfg:1"]);
    assert_eq!(hist.ok(), "my message\n");
}

#[test]
fn import_refuses_a_bad_name_or_change_and_stores_nothing() {
    let b = Berth::new();
    let tar = b.write("t.tar", &tiny_tar("x"));
    let t = tar.to_str().unwrap();
    for (args, why) in [
        (vec!["import", t, "Bad:Name"], "must be lowercase"),
        (vec!["import", t, "a:b:c"], "invalid reference format"),
        (vec!["import", t, "name:-tag"], "invalid reference format"),
        (
            vec!["import", "-c", "FROBNICATE x", t, "ok:1"],
            "FROBNICATE is not a valid change command",
        ),
        (
            vec!["import", "-c", "RUN echo hi", t, "ok:1"],
            "RUN is not a valid change command",
        ),
        (
            vec!["import", "-c", "ENV", t, "ok:1"],
            "ENV requires at least one argument",
        ),
        (
            vec!["import", "-c", "WORKDIR", t, "ok:1"],
            "WORKDIR requires exactly one argument",
        ),
        (vec!["import", "-c", "EXPOSE abc", t, "ok:1"], "abc"),
    ] {
        let out = b.run(&args);
        let err = out.fails(1);
        assert!(err.contains(why), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
    }
    assert!(b.listing().is_empty(), "{:?}", b.listing());
    assert!(b.entries("layers").is_empty(), "{:?}", b.entries("layers"));
    assert!(
        b.entries("blobs/sha256").is_empty(),
        "{:?}",
        b.entries("blobs/sha256")
    );
    b.assert_clean();
}

#[test]
fn import_of_a_missing_file_is_an_error() {
    let b = Berth::new();
    let out = b.run(&["import", "/nonexistent/rootfs.tar", "x"]);
    let err = out.fails(1);
    assert!(err.contains("/nonexistent/rootfs.tar"), "{err}");
    assert!(err.contains("no such file or directory"), "{err}");
    assert!(b.listing().is_empty());
}

// ---- images ----

#[test]
fn images_show_dangling_images_as_none() {
    let b = Berth::new();
    let dangling = b.tiny("d", None);
    let named = b.tiny("n", Some("named:v1"));
    let out = b.run(&["images"]);
    let rows: Vec<Vec<String>> = out
        .ok()
        .lines()
        .skip(1)
        .map(|l| cells(l).into_iter().map(str::to_string).collect())
        .collect();
    assert_eq!(rows.len(), 2, "{}", out.stdout);
    // Newest first.
    assert_eq!(rows[0][..3], ["named", "v1", short(&named)]);
    assert_eq!(rows[1][..3], ["<none>", "<none>", short(&dangling)]);
    // -a lists them too.
    let all = b.run(&["images", "-a"]);
    assert!(all
        .ok()
        .contains(&format!("<none>       <none>    {}", short(&dangling))));
}

#[test]
fn images_are_listed_newest_first() {
    let b = Berth::new();
    b.tiny("1", Some("first"));
    b.tiny("2", Some("second"));
    b.tiny("3", Some("third"));
    assert_eq!(
        images_fmt(&b, "{{.Repository}}", &[]),
        ["third", "second", "first"]
    );
}

#[test]
fn images_sizes_use_docker_decimal_units() {
    let b = Berth::new();
    let small = vec![b'a'; 999];
    let kilo = vec![b'b'; 12_345];
    let mega = vec![b'c'; 1_500_000];
    for (name, data, want) in [
        ("small", &small, "999B"),
        ("kilo", &kilo, "12.3kB"),
        ("mega", &mega, "1.5MB"),
    ] {
        let tar = tar_of(&[Entry::File("data", data)]);
        b.run_stdin(&["import", "-", name], &tar).ok();
        assert_eq!(images_fmt(&b, "{{.Size}}", &[name]), [want], "{name}");
        assert_eq!(b.inspect(name)["Size"], data.len() as u64, "{name}");
    }
    // Directories do not count; files in every directory do.
    let tar = tar_of(&[
        Entry::Dir("a/"),
        Entry::Dir("a/b/"),
        Entry::File("a/b/one", b"12345"),
        Entry::File("a/two", b"123"),
        Entry::Symlink("a/link", "two"),
    ]);
    b.run_stdin(&["import", "-", "tree"], &tar).ok();
    assert_eq!(images_fmt(&b, "{{.Size}}", &["tree"]), ["8B"]);
}

#[test]
fn images_quiet_prints_short_ids_and_no_trunc_full_ones() {
    let b = Berth::new();
    let one = b.tiny("1", Some("one"));
    let two = b.tiny("2", None);
    let q = b.run(&["images", "-q"]);
    assert_eq!(q.ok(), format!("{}\n{}\n", short(&two), short(&one)));
    let full = b.run(&["images", "-q", "--no-trunc"]);
    assert_eq!(full.ok(), format!("{two}\n{one}\n"));
    let table = b.run(&["images", "--no-trunc"]);
    let line = table.ok().lines().nth(1).unwrap().to_string();
    assert_eq!(cells(&line)[2], two, "{line}");
}

#[test]
fn images_digests_adds_a_digest_column() {
    let b = Berth::new();
    let id = b.tiny("1", Some("one:v"));
    let out = b.run(&["images", "--digests"]);
    let lines: Vec<&str> = out.ok().lines().collect();
    assert_eq!(
        cells(lines[0]),
        ["REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE"]
    );
    // An imported image has no repo digest.
    assert_eq!(cells(lines[1])[..4], ["one", "v", "<none>", short(&id)]);
}

#[test]
fn images_filter_dangling() {
    let b = Berth::new();
    let dangling = b.tiny("d", None);
    let named = b.tiny("n", Some("named"));
    let q = |f: &str| {
        b.run(&["images", "-q", "--no-trunc", "--filter", f])
            .ok()
            .to_string()
    };
    assert_eq!(q("dangling=true"), format!("{dangling}\n"));
    assert_eq!(q("dangling=false"), format!("{named}\n"));
    let bad = b.run(&["images", "--filter", "dangling=maybe"]);
    assert!(bad.fails(1).contains("dangling"), "{}", bad.stderr);
    let unknown = b.run(&["images", "--filter", "colour=red"]);
    assert!(
        unknown.fails(1).contains("invalid filter 'colour'"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn images_filter_reference_matches_globs() {
    let b = Berth::new();
    b.tiny("1", Some("busybox:1.36"));
    b.tiny("2", Some("alpine:3"));
    b.tiny("3", Some("localhost:5000/team/app:v2"));
    let f = |pat: &str| {
        images_fmt(
            &b,
            "{{.Repository}}:{{.Tag}}",
            &["-f", &format!("reference={pat}")],
        )
    };
    assert_eq!(f("busy*"), ["busybox:1.36"]);
    assert_eq!(f("*:3"), ["alpine:3"]);
    assert_eq!(f("alpine"), ["alpine:3"]);
    assert_eq!(f("localhost:5000/team/*"), ["localhost:5000/team/app:v2"]);
    assert!(f("nomatch*").is_empty());
}

#[test]
fn images_filter_reference_shows_only_the_matching_names_of_an_image() {
    // Docker lists an image under the names the pattern matches, not all its names.
    let b = Berth::new();
    b.tiny("1", Some("busybox:latest"));
    b.run(&["tag", "busybox", "other:v1"]).ok();
    let f = images_fmt(&b, "{{.Repository}}:{{.Tag}}", &["-f", "reference=busy*"]);
    assert_eq!(f, ["busybox:latest"]);
}

#[test]
fn images_reference_argument_selects_repository_and_tag() {
    let b = Berth::new();
    b.tiny("1", Some("app:1"));
    b.tiny("2", Some("app:2"));
    b.tiny("3", Some("tool:1"));
    let rows = |args: &[&str]| images_fmt(&b, "{{.Repository}}:{{.Tag}}", args);
    assert_eq!(rows(&["app"]), ["app:2", "app:1"]);
    assert_eq!(rows(&["app:1"]), ["app:1"]);
    assert_eq!(rows(&["tool"]), ["tool:1"]);
    assert!(rows(&["nothing"]).is_empty());
    // The header is printed even when nothing matches.
    let empty = b.run(&["image", "ls", "nothing"]);
    assert_eq!(
        cells(empty.ok().trim_end()),
        ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]
    );
}

#[test]
fn images_reference_filters_are_alternatives() {
    // Docker lists what matches any of the reference patterns.
    let b = Berth::new();
    b.tiny("1", Some("alpha:1"));
    b.tiny("2", Some("beta:1"));
    b.tiny("3", Some("gamma:1"));
    let rows = images_fmt(
        &b,
        "{{.Repository}}",
        &["-f", "reference=alpha", "-f", "reference=beta"],
    );
    assert_eq!(rows, ["beta", "alpha"]);
}

#[test]
fn images_reference_argument_shows_only_that_name_of_an_image() {
    let b = Berth::new();
    b.tiny("1", Some("app:1"));
    b.run(&["tag", "app:1", "mirror:1"]).ok();
    assert_eq!(
        images_fmt(&b, "{{.Repository}}:{{.Tag}}", &["mirror:1"]),
        ["mirror:1"]
    );
}

#[test]
fn images_filter_label() {
    let b = Berth::new();
    let tar = b.write("t.tar", &tiny_tar("l"));
    let t = tar.to_str().unwrap();
    b.run(&["import", "-c", "LABEL team=red", t, "red"]).ok();
    b.run(&[
        "import",
        "-c",
        "LABEL team=blue",
        "-c",
        "LABEL tier=web",
        t,
        "blue",
    ])
    .ok();
    b.run(&["import", t, "plain"]).ok();
    let f = |filters: &[&str]| {
        let mut args = vec![];
        for x in filters {
            args.push("--filter");
            args.push(x);
        }
        images_fmt(&b, "{{.Repository}}", &args)
    };
    assert_eq!(f(&["label=team"]), ["blue", "red"]);
    assert_eq!(f(&["label=team=red"]), ["red"]);
    assert_eq!(f(&["label=tier"]), ["blue"]);
    assert!(f(&["label=team=green"]).is_empty());
    // Several label filters must all hold.
    assert_eq!(f(&["label=team", "label=tier=web"]), ["blue"]);
    assert_eq!(
        b.inspect("blue")["Config"]["Labels"],
        serde_json::json!({"team": "blue", "tier": "web"})
    );
}

#[test]
fn images_filter_before_and_since_within_one_second() {
    // Docker compares full creation times: three quick imports are still ordered.
    let b = Berth::new();
    let a = b.tiny("a", Some("a"));
    b.tiny("b", Some("b"));
    b.tiny("c", Some("c"));
    let f = |filters: &[&str]| {
        let mut args = vec![];
        for x in filters {
            args.push("-f");
            args.push(x);
        }
        images_fmt(&b, "{{.Repository}}", &args)
    };
    assert_eq!(f(&["before=b"]), ["a"]);
    assert_eq!(f(&["before=c"]), ["b", "a"]);
    assert_eq!(f(&["since=b"]), ["c"]);
    assert_eq!(f(&["since=a", "before=c"]), ["b"]);
    // By ID too.
    assert_eq!(f(&[&format!("since={}", short(&a))]), ["c", "b"]);
    let missing = b.run(&["images", "-f", "since=nosuch"]);
    assert!(
        missing.fails(1).contains("No such image: nosuch"),
        "{}",
        missing.stderr
    );
}

#[test]
fn images_format_go_templates() {
    let b = Berth::new();
    let id = b.tiny("1", Some("app:v1"));
    assert_eq!(images_fmt(&b, "{{.Repository}}:{{.Tag}}", &[]), ["app:v1"]);
    let table = b.run(&["images", "--format", "table {{.ID}}\t{{.Repository}}"]);
    assert_eq!(
        table.ok(),
        format!("IMAGE ID       REPOSITORY\n{}   app\n", short(&id))
    );
    let json = b.run(&["images", "--format", "json"]);
    let lines: Vec<&str> = json.ok().lines().collect();
    assert_eq!(lines.len(), 1, "{}", json.stdout);
    let v: Value = serde_json::from_str(lines[0]).expect("one JSON object per line");
    assert_eq!(v["ID"], short(&id));
    assert_eq!(v["Repository"], "app");
    assert_eq!(v["Tag"], "v1");
    assert_eq!(v["Size"], "1B");
    for k in [
        "Containers",
        "CreatedAt",
        "CreatedSince",
        "Digest",
        "SharedSize",
        "UniqueSize",
        "VirtualSize",
    ] {
        assert!(v.get(k).is_some(), "json row lacks {k}: {v}");
    }
    let bad = b.run(&["images", "--format", "{{.Nope"]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("template"), "{}", bad.stderr);
}

#[test]
fn images_filter_before_and_since() {
    let b = Berth::new();
    let dated = |tag: &'static [&'static str], created: &'static str, seed: &str| ArchiveImage {
        tags: tag,
        created,
        layers: vec![tiny_tar(seed)],
        run_config: serde_json::json!({}),
    };
    let old = dated(&["old:1"], "2015-03-01T10:00:00Z", "old");
    let mid = dated(&["mid:1"], "2019-06-01T10:00:00Z", "mid");
    let new = dated(&["new:1"], "2024-01-01T10:00:00Z", "new");
    let archive = b.write("dated.tar", &docker_archive(&[old, mid, new]));
    b.run(&["load", "-i", archive.to_str().unwrap()]).ok();
    let f = |filters: &[&str]| {
        let mut args = vec![];
        for x in filters {
            args.push("-f");
            args.push(x);
        }
        images_fmt(&b, "{{.Repository}}", &args)
    };
    assert_eq!(f(&[]), ["new", "mid", "old"]);
    assert_eq!(f(&["before=mid:1"]), ["old"]);
    assert_eq!(f(&["before=new:1"]), ["mid", "old"]);
    assert_eq!(f(&["since=mid:1"]), ["new"]);
    assert_eq!(f(&["since=old:1", "before=new:1"]), ["mid"]);
    let old_id = ArchiveImage {
        tags: &[],
        created: "2015-03-01T10:00:00Z",
        layers: vec![tiny_tar("old")],
        run_config: serde_json::json!({}),
    }
    .id();
    assert_eq!(f(&[&format!("since={}", short(&old_id))]), ["new", "mid"]);
    let missing = b.run(&["images", "-f", "since=nosuch"]);
    assert!(
        missing.fails(1).contains("No such image: nosuch"),
        "{}",
        missing.stderr
    );
    // Creation times years back read as Docker writes them.
    assert_eq!(
        images_fmt(&b, "{{.CreatedAt}}", &["old:1"]),
        ["2015-03-01 10:00:00 +0000 UTC"]
    );
    assert!(images_fmt(&b, "{{.CreatedSince}}", &["old:1"])[0].ends_with("years ago"));
}

// ---- inspect ----

#[test]
fn image_inspect_has_dockers_fields() {
    let b = Berth::new();
    let tar = tiny_tar("abcd");
    let id = b
        .run_stdin(
            &[
                "import",
                "-c",
                r#"ENTRYPOINT ["/bin/sh", "-c"]"#,
                "-c",
                "EXPOSE 80/tcp",
                "-c",
                "USER nobody",
                "-c",
                "VOLUME /data",
                "-c",
                "STOPSIGNAL SIGTERM",
                "-",
                "app:v1",
            ],
            &tar,
        )
        .ok()
        .trim()
        .to_string();
    let out = b.run(&["image", "inspect", "app:v1"]);
    let v: Value = serde_json::from_str(out.ok()).unwrap();
    let arr = v.as_array().expect("an array");
    assert_eq!(arr.len(), 1);
    let img = &arr[0];
    for k in [
        "Id",
        "RepoTags",
        "RepoDigests",
        "Parent",
        "Comment",
        "Created",
        "Author",
        "Config",
        "Architecture",
        "Os",
        "Size",
        "GraphDriver",
        "RootFS",
        "Metadata",
    ] {
        assert!(img.get(k).is_some(), "no {k} in {img}");
    }
    assert_eq!(img["Id"], id.as_str());
    assert_eq!(img["RepoTags"], serde_json::json!(["app:v1"]));
    assert_eq!(img["RepoDigests"], serde_json::json!([]));
    assert_eq!(img["Parent"], "");
    assert_eq!(img["Author"], "");
    assert_eq!(img["Os"], "linux");
    assert_eq!(img["Architecture"], common::host_arch());
    assert_eq!(img["Size"], 4);
    let created = img["Created"].as_str().unwrap();
    chrono::DateTime::parse_from_rfc3339(created)
        .unwrap_or_else(|e| panic!("Created {created}: {e}"));
    let cfg = &img["Config"];
    for k in [
        "Env",
        "Cmd",
        "Entrypoint",
        "WorkingDir",
        "ExposedPorts",
        "Labels",
        "User",
        "Volumes",
        "StopSignal",
        "OnBuild",
    ] {
        assert!(cfg.get(k).is_some(), "no Config.{k} in {cfg}");
    }
    assert_eq!(cfg["Entrypoint"], serde_json::json!(["/bin/sh", "-c"]));
    assert_eq!(cfg["ExposedPorts"], serde_json::json!({"80/tcp": {}}));
    assert_eq!(cfg["User"], "nobody");
    assert_eq!(cfg["Volumes"], serde_json::json!({"/data": {}}));
    assert_eq!(cfg["StopSignal"], "SIGTERM");
    assert_eq!(img["GraphDriver"]["Name"], "overlay2");
    let data = img["GraphDriver"]["Data"]
        .as_object()
        .expect("GraphDriver.Data");
    let diff_id = sha256(&tar);
    let layer_dir = b.root().join("layers").join(&diff_id[7..]);
    assert_eq!(data["UpperDir"], layer_dir.join("diff").to_str().unwrap());
    for k in ["MergedDir", "WorkDir"] {
        assert!(data.get(k).is_some(), "no GraphDriver.Data.{k}: {data:?}");
    }
    assert_eq!(img["RootFS"]["Type"], "layers");
    assert_eq!(img["RootFS"]["Layers"], serde_json::json!([diff_id]));
    let tagged = img["Metadata"]["LastTagTime"]
        .as_str()
        .expect("LastTagTime");
    chrono::DateTime::parse_from_rfc3339(tagged)
        .unwrap_or_else(|e| panic!("LastTagTime {tagged}: {e}"));
    // `inspect` on an image prints the same document.
    let generic = b.run(&["inspect", "app:v1"]);
    assert_eq!(generic.ok(), out.stdout);
}

#[test]
fn inspect_format_prints_go_values() {
    let b = Berth::new();
    b.busybox("bb");
    let f = |t: &str| {
        b.run(&["image", "inspect", "--format", t, "bb"])
            .ok()
            .to_string()
    };
    assert_eq!(f("{{.Config.Cmd}}"), "[sh]\n");
    assert_eq!(f("{{json .Config.Cmd}}"), "[\"sh\"]\n");
    assert_eq!(f("{{.Os}}/{{.RootFS.Type}}"), "linux/layers\n");
    assert_eq!(f("{{.Config.Entrypoint}}"), "[]\n");
    assert_eq!(f("{{len .RootFS.Layers}}"), "1\n");
    let id = b.inspect("bb")["Id"].as_str().unwrap().to_string();
    assert_eq!(
        b.run(&["inspect", "-f", "{{.Id}}", "bb"]).ok(),
        format!("{id}\n")
    );
}

#[test]
fn inspect_of_a_missing_image_prints_an_empty_array_and_fails() {
    let b = Berth::new();
    b.busybox("bb");
    let out = b.run(&["image", "inspect", "nosuch"]);
    assert_eq!(
        out.fails(1).trim(),
        "Error response from daemon: No such image: nosuch:latest"
    );
    assert_eq!(out.stdout, "[]\n");
    let out = b.run(&["inspect", "nosuch"]);
    assert_eq!(out.fails(1).trim(), "Error: No such object: nosuch");
    assert_eq!(out.stdout, "[]\n");
    // Found ones are still printed, and the status says something was missing.
    let mixed = b.run(&["image", "inspect", "bb", "nosuch"]);
    assert_eq!(mixed.code, 1);
    let v: Value = serde_json::from_str(&mixed.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert!(
        mixed.stderr.contains("No such image: nosuch"),
        "{}",
        mixed.stderr
    );
}

// ---- tag / rmi ----

#[test]
fn tag_adds_a_name_to_the_same_image() {
    let b = Berth::new();
    let id = b.tiny("1", Some("src"));
    let out = b.run(&["tag", "src", "dst:v2"]);
    assert_eq!(out.ok(), "");
    b.run(&["image", "tag", &id, "third"]).ok();
    assert_eq!(b.tags(), set(&["dst:v2", "src:latest", "third:latest"]));
    assert_eq!(b.inspect("dst:v2")["Id"], id.as_str());
    assert_eq!(
        b.inspect("src")["RepoTags"],
        serde_json::json!(["dst:v2", "src:latest", "third:latest"])
    );
    // Re-pointing a tag moves it.
    let other = b.tiny("2", None);
    b.run(&["tag", &other, "dst:v2"]).ok();
    assert_eq!(b.inspect("dst:v2")["Id"], other.as_str());
    let missing = b.run(&["tag", "nosuch", "x"]);
    assert_eq!(
        missing.fails(1).trim(),
        "Error response from daemon: No such image: nosuch:latest"
    );
    let bad = b.run(&["tag", "src", "Bad"]);
    assert!(
        bad.fails(1).contains("not a valid repository/tag"),
        "{}",
        bad.stderr
    );
}

#[test]
fn rmi_only_untags_while_other_names_remain() {
    let b = Berth::new();
    let id = b.tiny("1", Some("one"));
    b.run(&["tag", "one", "two:t"]).ok();
    let out = b.run(&["rmi", "two:t"]);
    assert_eq!(out.ok(), "Untagged: two:t\n");
    assert_eq!(b.inspect("one")["Id"], id.as_str());
    assert_eq!(b.tags(), set(&["one:latest"]));
}

#[test]
fn rmi_by_id_of_an_image_with_several_names_needs_force() {
    let b = Berth::new();
    let tar = tiny_tar("1");
    let id = b
        .run_stdin(&["import", "-", "one"], &tar)
        .ok()
        .trim()
        .to_string();
    b.run(&["tag", "one", "two"]).ok();
    let out = b.run(&["rmi", short(&id)]);
    assert_eq!(
        out.fails(1).trim(),
        format!(
            "Error response from daemon: conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
            short(&id)
        )
    );
    assert_eq!(b.tags(), set(&["one:latest", "two:latest"]));
    let layer = sha256(&tar);
    let out = b.run(&["rmi", "-f", short(&id)]);
    assert_eq!(
        out.ok(),
        format!("Untagged: one:latest\nUntagged: two:latest\nDeleted: {id}\nDeleted: {layer}\n")
    );
    assert!(b.listing().is_empty());
    assert!(b.entries("layers").is_empty(), "{:?}", b.entries("layers"));
    assert!(
        b.entries("blobs/sha256").is_empty(),
        "{:?}",
        b.entries("blobs/sha256")
    );
    b.assert_clean();
}

#[test]
fn rmi_deletes_unused_layers_and_keeps_shared_ones() {
    let b = Berth::new();
    let tar = b.write("shared.tar", &tiny_tar("shared"));
    let layer = sha256(&std::fs::read(&tar).unwrap());
    let a = b
        .run(&["import", tar.to_str().unwrap(), "a"])
        .ok()
        .trim()
        .to_string();
    let c = b
        .run(&["import", tar.to_str().unwrap(), "c"])
        .ok()
        .trim()
        .to_string();
    assert_ne!(a, c, "two imports are two images");
    let own = b.tiny("own", Some("own"));
    let own_layer = sha256(&tiny_tar("own"));
    assert_eq!(b.entries("layers"), set(&[&layer[7..], &own_layer[7..]]));

    let out = b.run(&["rmi", "a"]);
    assert_eq!(out.ok(), format!("Untagged: a:latest\nDeleted: {a}\n"));
    assert!(
        b.root()
            .join("layers")
            .join(&layer[7..])
            .join("diff/seed")
            .is_file(),
        "a layer still in use was deleted"
    );

    let out = b.run(&["rmi", "c"]);
    assert_eq!(
        out.ok(),
        format!("Untagged: c:latest\nDeleted: {c}\nDeleted: {layer}\n")
    );
    assert_eq!(b.entries("layers"), set(&[&own_layer[7..]]));
    assert_eq!(b.inspect("own")["Id"], own.as_str());
    b.assert_clean();
}

#[test]
fn rmi_of_several_images_reports_each_and_fails_for_missing_ones() {
    let b = Berth::new();
    let one = b.tiny("1", Some("one"));
    let out = b.run(&["rmi", "nosuch", "one"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains(&format!("Deleted: {one}")),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.stderr.trim(),
        "Error response from daemon: No such image: nosuch:latest"
    );
    assert!(b.listing().is_empty());
}

#[test]
fn rmi_of_a_dangling_image_by_id() {
    let b = Berth::new();
    let id = b.tiny("x", None);
    let out = b.run(&["image", "rm", &id[7..10]]);
    assert_eq!(
        out.ok(),
        format!("Deleted: {id}\nDeleted: {}\n", sha256(&tiny_tar("x")))
    );
    assert!(b.listing().is_empty());
}

// ---- prune ----

fn reclaimed_line(out: &str) -> &str {
    let last = out.lines().last().unwrap_or_default();
    let size = last
        .strip_prefix("Total reclaimed space: ")
        .unwrap_or_else(|| panic!("no reclaimed line in {out:?}"));
    let digits = size.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    assert!(
        digits.parse::<f64>().is_ok() && ["B", "kB", "MB", "GB"].contains(&&size[digits.len()..]),
        "not a Docker size: {size}"
    );
    size
}

#[test]
fn image_prune_removes_dangling_images_only() {
    let b = Berth::new();
    let dangling = b.tiny("d", None);
    let named = b.tiny("n", Some("named"));
    let out = b.run(&["image", "prune", "-f"]);
    let text = out.ok();
    assert!(
        text.starts_with(&format!(
            "Deleted Images:\ndeleted: {dangling}\ndeleted: {}\n\n",
            sha256(&tiny_tar("d"))
        )),
        "{text}"
    );
    assert_ne!(reclaimed_line(text), "0B");
    assert_eq!(
        b.run(&["images", "-q", "-a", "--no-trunc"]).ok(),
        format!("{named}\n")
    );
    // Nothing left to prune.
    let again = b.run(&["image", "prune", "--force"]);
    assert_eq!(again.ok(), "Total reclaimed space: 0B\n");
}

#[test]
fn image_prune_all_removes_every_unused_image() {
    let b = Berth::new();
    let one = b.tiny("1", Some("one"));
    b.tiny("2", None);
    let out = b.run(&["image", "prune", "-a", "-f"]);
    let text = out.ok();
    assert!(
        text.contains(&format!("untagged: one:latest\ndeleted: {one}\n")),
        "{text}"
    );
    reclaimed_line(text);
    assert!(b.listing().is_empty());
    assert!(b.entries("layers").is_empty());
    b.assert_clean();
}

#[test]
fn image_prune_filters_by_label_and_until() {
    let b = Berth::new();
    let t = b.write("t.tar", &tiny_tar("t"));
    let t = t.to_str().unwrap();
    let keep = b
        .run(&["import", "-c", "LABEL keep=yes", t, "keep"])
        .ok()
        .trim()
        .to_string();
    b.run(&["import", "-c", "LABEL keep=no", t, "drop"]).ok();
    let out = b.run(&["image", "prune", "-a", "-f", "--filter", "label=keep=no"]);
    assert!(out.ok().contains("untagged: drop:latest"), "{}", out.stdout);
    assert_eq!(b.tags(), set(&["keep:latest"]));
    // Nothing is older than an hour.
    let out = b.run(&["image", "prune", "-a", "-f", "--filter", "until=1h"]);
    assert_eq!(out.ok(), "Total reclaimed space: 0B\n");
    assert_eq!(b.inspect("keep")["Id"], keep.as_str());
    let bad = b.run(&["image", "prune", "-f", "--filter", "colour=red"]);
    assert!(
        bad.fails(1).contains("invalid filter 'colour'"),
        "{}",
        bad.stderr
    );
}

#[test]
fn image_prune_without_force_asks_and_a_no_keeps_everything() {
    let b = Berth::new();
    b.tiny("d", None);
    let out = b.run_stdin(&["image", "prune"], b"n\n");
    assert_eq!(out.ok(), "");
    assert!(
        out.stderr
            .contains("WARNING! This will remove all dangling images."),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("Are you sure you want to continue? [y/N]"),
        "{}",
        out.stderr
    );
    assert_eq!(b.listing().len(), 1);
    let yes = b.run_stdin(&["image", "prune"], b"y\n");
    assert!(
        yes.ok().contains("Total reclaimed space:"),
        "{}",
        yes.stdout
    );
    assert!(b.listing().is_empty());
}

// ---- history ----

#[test]
fn history_shows_the_imported_layer() {
    let b = Berth::new();
    let tar = b.write("t.tar", &tar_of(&[Entry::File("f", &[b'x'; 2_000])]));
    let id = b
        .run(&["import", "-m", "from a test", tar.to_str().unwrap(), "h"])
        .ok()
        .trim()
        .to_string();
    let out = b.run(&["history", "h"]);
    let lines: Vec<&str> = out.ok().lines().collect();
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    assert_eq!(
        cells(lines[0]),
        ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"]
    );
    let row = cells(lines[1]);
    assert_eq!(row[0], short(&id));
    assert!(row[1].ends_with("ago"), "{}", lines[1]);
    assert_eq!(row[2..], ["2kB", "from a test"]);
    let q = b.run(&["history", "-q", "--no-trunc", "h"]);
    assert_eq!(q.ok(), format!("{id}\n"));
    let missing = b.run(&["history", "nosuch"]);
    assert_eq!(
        missing.fails(1).trim(),
        "Error response from daemon: No such image: nosuch:latest"
    );
}

#[test]
fn history_without_human_units_prints_bytes_and_times() {
    let b = Berth::new();
    let tar = tar_of(&[Entry::File("f", &[b'x'; 2_000])]);
    b.run_stdin(&["import", "-", "h"], &tar).ok();
    let out = b.run(&[
        "history",
        "--human=false",
        "--format",
        "{{.Size}}|{{.CreatedSince}}",
        "h",
    ]);
    let line = out.ok().trim().to_string();
    let (size, created) = line.split_once('|').unwrap();
    assert_eq!(size, "2000");
    chrono::DateTime::parse_from_rfc3339(created).unwrap_or_else(|e| panic!("{created}: {e}"));
}

#[test]
fn history_without_human_units_writes_times_as_go_does() {
    // Go's time.RFC3339 layout writes a UTC time with a Z.
    let b = Berth::new();
    b.tiny("x", Some("h"));
    let out = b
        .command()
        .env("TZ", "UTC")
        .args(["history", "-H=false", "--format", "{{.CreatedSince}}", "h"])
        .output()
        .unwrap();
    let created = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(created.ends_with('Z'), "{created}");
}

#[test]
fn image_prune_until_removes_only_older_images() {
    let b = Berth::new();
    let archive = docker_archive(&[ArchiveImage {
        tags: &["old:1"],
        created: "2015-03-01T10:00:00Z",
        layers: vec![tiny_tar("old")],
        run_config: serde_json::json!({}),
    }]);
    b.run_stdin(&["load"], &archive).ok();
    let fresh = b.tiny("fresh", Some("fresh:1"));
    let out = b.run(&["image", "prune", "-a", "-f", "--filter", "until=24h"]);
    assert!(
        out.ok().starts_with("Deleted Images:\nuntagged: old:1\n"),
        "{}",
        out.stdout
    );
    assert_eq!(
        b.run(&["images", "-aq", "--no-trunc"]).ok(),
        format!("{fresh}\n")
    );
    let out = b.run(&[
        "image",
        "prune",
        "-a",
        "-f",
        "--filter",
        "until=2016-01-01T00:00:00Z",
    ]);
    assert_eq!(out.ok(), "Total reclaimed space: 0B\n");
}

#[test]
fn command_aliases_and_inspect_type() {
    let b = Berth::new();
    let id = b.tiny("x", Some("x:1"));
    let q = |args: &[&str]| b.run(args).ok().to_string();
    assert_eq!(q(&["image", "ls", "-q"]), q(&["image", "list", "-q"]));
    assert_eq!(q(&["images", "-q"]), format!("{}\n", short(&id)));
    assert_eq!(
        q(&["inspect", "--type", "image", "-f", "{{.Id}}", "x:1"]),
        format!("{id}\n")
    );
    let bad = b.run(&["inspect", "--type", "gadget", "x:1"]);
    assert!(
        bad.fails(1)
            .contains("\"gadget\" is not a valid value for --type"),
        "{}",
        bad.stderr
    );
    // `--format table` alone is the default table (asked twice: CREATED may tick over a
    // second boundary between two commands).
    let same = (0..2).any(|_| {
        let table = b.run(&["images", "--format", "table"]);
        table.ok() == b.run(&["images"]).ok()
    });
    assert!(same, "images --format table differs from images");
    let one = b.run(&["images", "--format", "{{json .}}"]);
    let v: Value = serde_json::from_str(one.ok().trim()).unwrap();
    assert_eq!(v["Repository"], "x");
}
