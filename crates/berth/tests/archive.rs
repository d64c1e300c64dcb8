//! `save` and `load`: docker-archive and OCI layout, files and pipes, round trips, and
//! interop with Debian's skopeo in both directions.

mod common;

use common::{
    docker_archive, gzip, sha256, skopeo, tar_dir, tar_members, tiny_tar, ArchiveImage, Berth,
};
use serde_json::Value;

/// A store with the busybox image as `app:v1` (CMD sh, a label) and a second name.
fn store_with_app() -> (Berth, String) {
    let b = Berth::new();
    let tar = common::busybox_tar();
    let id = b
        .run(&[
            "import",
            "-c",
            r#"CMD ["sh"]"#,
            "-c",
            "LABEL made=test",
            tar.to_str().unwrap(),
            "app:v1",
        ])
        .ok()
        .trim()
        .to_string();
    b.run(&["tag", "app:v1", "localhost:5000/team/app:v2"]).ok();
    (b, id)
}

fn diff_ids(b: &Berth, name: &str) -> Value {
    b.inspect(name)["RootFS"]["Layers"].clone()
}

#[test]
fn save_to_a_file_and_load_it_keeps_ids_and_tags() {
    let (b, id) = store_with_app();
    let file = b.path("app.tar");
    let out = b.run(&[
        "save",
        "-o",
        file.to_str().unwrap(),
        "app:v1",
        "localhost:5000/team/app:v2",
    ]);
    assert_eq!(out.ok(), "");
    let members = tar_members(&std::fs::read(&file).unwrap());
    assert!(
        members.contains_key("manifest.json"),
        "{:?}",
        members.keys()
    );
    let manifest: Value = serde_json::from_slice(&members["manifest.json"]).unwrap();
    let mut tags: Vec<&str> = manifest[0]["RepoTags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    tags.sort();
    assert_eq!(tags, ["app:v1", "localhost:5000/team/app:v2"]);
    // The config member is the config blob itself: its digest is the image ID.
    let config = &members[manifest[0]["Config"].as_str().unwrap()];
    assert_eq!(sha256(config), id);

    let other = Berth::new();
    let out = other.run(&["load", "-i", file.to_str().unwrap()]);
    let mut lines: Vec<&str> = out.ok().lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "Loaded image: app:v1",
            "Loaded image: localhost:5000/team/app:v2"
        ]
    );
    let img = other.inspect("app:v1");
    assert_eq!(img["Id"], id.as_str());
    assert_eq!(img["Config"]["Cmd"], serde_json::json!(["sh"]));
    assert_eq!(img["Config"]["Labels"], serde_json::json!({"made": "test"}));
    assert_eq!(img["RootFS"]["Layers"], diff_ids(&b, "app:v1"));
    assert_eq!(other.listing(), b.listing());
    // The layer is unpacked again, file for file.
    let layer = &img["RootFS"]["Layers"][0].as_str().unwrap()[7..];
    let busybox = other
        .root()
        .join("layers")
        .join(layer)
        .join("diff/bin/busybox");
    assert_eq!(
        std::fs::metadata(&busybox).unwrap().len(),
        std::fs::metadata("/bin/busybox").unwrap().len()
    );
    other.assert_clean();
}

#[test]
fn save_to_stdout_and_load_from_stdin() {
    let (b, id) = store_with_app();
    let (code, archive, err) = b.run_raw(&["save", "app:v1"]);
    assert_eq!(code, 0, "{err}");
    assert!(tar_members(&archive).contains_key("manifest.json"));
    let other = Berth::new();
    let out = other.run_stdin(&["load"], &archive);
    assert_eq!(out.ok(), "Loaded image: app:v1\n");
    assert_eq!(other.inspect("app:v1")["Id"], id.as_str());
    // Loading the same archive again changes nothing.
    let again = other.run_stdin(&["image", "load", "-q"], &archive);
    assert_eq!(again.ok(), "");
    assert_eq!(
        other.listing(),
        [format!("{id} app:v1")].into_iter().collect()
    );
    other.assert_clean();
}

#[test]
fn save_in_oci_layout_and_load_it() {
    let (b, id) = store_with_app();
    let file = b.path("app-oci.tar");
    b.run(&[
        "save",
        "--format",
        "oci",
        "-o",
        file.to_str().unwrap(),
        "app:v1",
    ])
    .ok();
    let members = tar_members(&std::fs::read(&file).unwrap());
    let layout: Value = serde_json::from_slice(&members["oci-layout"]).unwrap();
    assert_eq!(layout["imageLayoutVersion"], "1.0.0");
    let index: Value = serde_json::from_slice(&members["index.json"]).unwrap();
    assert_eq!(index["schemaVersion"], 2);
    let desc = &index["manifests"][0];
    let manifest_digest = desc["digest"].as_str().unwrap();
    let manifest_bytes = &members[&format!("blobs/sha256/{}", &manifest_digest[7..])];
    assert_eq!(
        sha256(manifest_bytes),
        manifest_digest,
        "manifest blob digest"
    );
    let manifest: Value = serde_json::from_slice(manifest_bytes).unwrap();
    assert_eq!(manifest["config"]["digest"], id.as_str());
    // Every blob is named by its digest.
    for (name, data) in &members {
        if let Some(hex) = name.strip_prefix("blobs/sha256/") {
            assert_eq!(sha256(data), format!("sha256:{hex}"), "{name}");
        }
    }

    let other = Berth::new();
    let out = other.run(&["load", "-i", file.to_str().unwrap()]);
    assert_eq!(out.ok(), "Loaded image: app:v1\n");
    assert_eq!(other.inspect("app:v1")["Id"], id.as_str());
    other.assert_clean();
    // And through a pipe.
    let (code, piped, err) = b.run_raw(&["image", "save", "--format", "oci", "app:v1"]);
    assert_eq!(code, 0, "{err}");
    let third = Berth::new();
    assert_eq!(
        third.run_stdin(&["load"], &piped).ok(),
        "Loaded image: app:v1\n"
    );
    assert_eq!(third.inspect("app:v1")["Id"], id.as_str());
}

#[test]
fn save_of_an_untagged_image_loads_by_id() {
    let b = Berth::new();
    let id = b.tiny("untagged", None);
    let (code, archive, err) = b.run_raw(&["save", &id[7..19]]);
    assert_eq!(code, 0, "{err}");
    let other = Berth::new();
    assert_eq!(
        other.run_stdin(&["load"], &archive).ok(),
        format!("Loaded image ID: {id}\n")
    );
    assert_eq!(
        other.listing(),
        [format!("{id} <none>:<none>")].into_iter().collect()
    );
}

#[test]
fn save_of_several_images_and_a_shared_layer() {
    let b = Berth::new();
    let tar = b.write("shared.tar", &tiny_tar("shared"));
    let one = b
        .run(&["import", tar.to_str().unwrap(), "one"])
        .ok()
        .trim()
        .to_string();
    let two = b
        .run(&["import", "-c", "ENV X=1", tar.to_str().unwrap(), "two"])
        .ok()
        .trim()
        .to_string();
    let (code, archive, err) = b.run_raw(&["save", "one", "two"]);
    assert_eq!(code, 0, "{err}");
    let other = Berth::new();
    let out = other.run_stdin(&["load"], &archive);
    let mut lines: Vec<&str> = out.ok().lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        ["Loaded image: one:latest", "Loaded image: two:latest"]
    );
    assert_eq!(other.inspect("one")["Id"], one.as_str());
    assert_eq!(other.inspect("two")["Id"], two.as_str());
    assert_eq!(
        other.entries("layers").len(),
        1,
        "the shared layer is unpacked once"
    );
}

#[test]
fn save_of_a_missing_image_fails_and_writes_nothing() {
    let (b, _) = store_with_app();
    let file = b.path("nothing.tar");
    let out = b.run(&["save", "-o", file.to_str().unwrap(), "app:v1", "nosuch"]);
    assert!(
        out.fails(1).contains("No such image: nosuch"),
        "{}",
        out.stderr
    );
    assert!(!file.exists(), "a failed save left {}", file.display());
    let leftovers: Vec<_> = std::fs::read_dir(b.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "root" && n != "run")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn load_reads_a_classic_docker_archive_and_compressed_archives() {
    let b = Berth::new();
    let img = ArchiveImage {
        tags: &["classic:1"],
        created: "2021-05-05T05:05:05Z",
        layers: vec![tiny_tar("base"), tiny_tar("top")],
        run_config: serde_json::json!({"Cmd": ["/seed"], "Env": ["A=1"]}),
    };
    let archive = docker_archive(&[img]);
    let id = ArchiveImage {
        tags: &[],
        created: "2021-05-05T05:05:05Z",
        layers: vec![tiny_tar("base"), tiny_tar("top")],
        run_config: serde_json::json!({"Cmd": ["/seed"], "Env": ["A=1"]}),
    }
    .id();
    assert_eq!(
        b.run_stdin(&["load"], &archive).ok(),
        "Loaded image: classic:1\n"
    );
    let v = b.inspect("classic:1");
    assert_eq!(v["Id"], id.as_str());
    assert_eq!(v["Created"], "2021-05-05T05:05:05Z");
    assert_eq!(v["Config"]["Env"], serde_json::json!(["A=1"]));
    assert_eq!(
        v["RootFS"]["Layers"],
        serde_json::json!([sha256(&tiny_tar("base")), sha256(&tiny_tar("top"))])
    );
    // Two layers stack: each directory is named by its chain ID (OCI image spec), and
    // the top one's overlay lowerdir is the base's diff.
    let base = sha256(&tiny_tar("base"));
    let top_chain = sha256(format!("{base} {}", sha256(&tiny_tar("top"))).as_bytes());
    let layers = b.root().join("layers");
    let data = &v["GraphDriver"]["Data"];
    assert_eq!(
        data["LowerDir"],
        layers.join(&base[7..]).join("diff").to_str().unwrap()
    );
    assert_eq!(
        data["UpperDir"],
        layers.join(&top_chain[7..]).join("diff").to_str().unwrap()
    );
    assert_eq!(
        b.entries("layers"),
        [base[7..].to_string(), top_chain[7..].to_string()]
            .into_iter()
            .collect()
    );
    let hist = b.run(&["history", "--format", "{{.ID}} {{.CreatedBy}}", "classic:1"]);
    // Only the top entry has an image ID, as Docker shows a loaded image's history.
    assert_eq!(
        hist.ok(),
        format!("{} test layer\n<missing> test layer\n", &id[7..19])
    );

    // rmi deletes the image, then its layers top first.
    let other = Berth::new();
    other.run_stdin(&["load"], &archive).ok();
    assert_eq!(
        other.run(&["rmi", "classic:1"]).ok(),
        format!("Untagged: classic:1\nDeleted: {id}\nDeleted: {top_chain}\nDeleted: {base}\n")
    );
    assert!(other.entries("layers").is_empty());

    // docker load takes gzip-compressed archives too.
    let other = Berth::new();
    assert_eq!(
        other.run_stdin(&["load"], &gzip(&archive)).ok(),
        "Loaded image: classic:1\n"
    );
    assert_eq!(other.inspect("classic:1")["Id"], id.as_str());
}

#[test]
fn load_of_a_missing_file_or_empty_input_fails() {
    let b = Berth::new();
    let out = b.run(&["load", "-i", "/nonexistent/archive.tar"]);
    let err = out.fails(1);
    assert!(
        err.contains("/nonexistent/archive.tar") && err.contains("no such file or directory"),
        "{err}"
    );
    let out = b.run_stdin(&["load"], b"");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(!out.stderr.is_empty());
    assert!(b.listing().is_empty());
    b.assert_clean();
}

// ---- skopeo ----

#[test]
fn skopeo_inspects_what_berth_saves() {
    let (b, id) = store_with_app();
    let docker = b.path("docker.tar");
    b.run(&["save", "-o", docker.to_str().unwrap(), "app:v1"])
        .ok();
    let out = skopeo(&["inspect", &format!("docker-archive:{}", docker.display())]);
    let v: Value = serde_json::from_str(out.ok()).expect("skopeo prints JSON");
    assert_eq!(v["Architecture"], common::host_arch());
    assert_eq!(v["Os"], "linux");
    assert_eq!(v["Labels"], serde_json::json!({"made": "test"}));
    assert_eq!(v["Layers"], diff_ids(&b, "app:v1"));
    let config = skopeo(&[
        "inspect",
        "--config",
        "--raw",
        &format!("docker-archive:{}", docker.display()),
    ]);
    assert_eq!(
        sha256(config.ok().as_bytes()),
        id,
        "skopeo reads the very config bytes"
    );

    let oci = b.path("oci.tar");
    b.run(&[
        "save",
        "--format",
        "oci",
        "-o",
        oci.to_str().unwrap(),
        "app:v1",
    ])
    .ok();
    let out = skopeo(&["inspect", &format!("oci-archive:{}", oci.display())]);
    let v: Value = serde_json::from_str(out.ok()).expect("skopeo prints JSON");
    assert_eq!(v["Layers"], diff_ids(&b, "app:v1"));
}

#[test]
fn skopeo_copies_to_an_oci_directory_that_berth_loads() {
    let (b, _) = store_with_app();
    let saved = b.path("app.tar");
    b.run(&["save", "-o", saved.to_str().unwrap(), "app:v1"])
        .ok();
    let dir = b.path("oci-dir");
    skopeo(&[
        "copy",
        &format!("docker-archive:{}", saved.display()),
        &format!("oci:{}:mytag", dir.display()),
    ])
    .ok();
    assert!(dir.join("index.json").is_file());
    let archive = tar_dir(&dir);
    let other = Berth::new();
    let out = other.run_stdin(&["load"], &archive);
    let text = out.ok();
    let id = text
        .strip_prefix("Loaded image ID: ")
        .or_else(|| text.strip_prefix("Loaded image: "))
        .unwrap_or_else(|| panic!("{text}"))
        .trim();
    // skopeo rewrote the config in OCI form: a new ID, the same filesystem and command.
    let img = other.inspect(id);
    assert_eq!(img["RootFS"]["Layers"], diff_ids(&b, "app:v1"));
    assert_eq!(img["Config"]["Cmd"], serde_json::json!(["sh"]));
    other.assert_clean();
}

#[test]
fn skopeo_copies_to_a_named_docker_archive_that_berth_loads() {
    let (b, id) = store_with_app();
    let saved = b.path("app.tar");
    b.run(&["save", "-o", saved.to_str().unwrap(), "app:v1"])
        .ok();
    let copy = b.path("copy.tar");
    skopeo(&[
        "copy",
        &format!("docker-archive:{}", saved.display()),
        &format!("docker-archive:{}:copied/name:t1", copy.display()),
    ])
    .ok();
    let other = Berth::new();
    let out = other.run(&["load", "-i", copy.to_str().unwrap()]);
    assert_eq!(out.ok(), "Loaded image: copied/name:t1\n");
    // docker-archive to docker-archive keeps the config bytes, so the ID too.
    assert_eq!(other.inspect("copied/name:t1")["Id"], id.as_str());
    other.assert_clean();
}

#[test]
fn skopeo_copies_to_an_oci_archive_that_berth_loads() {
    let (b, _) = store_with_app();
    let saved = b.path("app.tar");
    b.run(&["save", "-o", saved.to_str().unwrap(), "app:v1"])
        .ok();
    let copy = b.path("copy-oci.tar");
    skopeo(&[
        "copy",
        &format!("docker-archive:{}", saved.display()),
        &format!("oci-archive:{}:t3", copy.display()),
    ])
    .ok();
    let other = Berth::new();
    let out = other.run(&["load", "-i", copy.to_str().unwrap()]);
    assert!(out.ok().starts_with("Loaded image"), "{}", out.stdout);
    let ids = other.run(&["images", "-aq", "--no-trunc"]);
    let id = ids.ok().trim();
    assert_eq!(diff_ids(&other, id), diff_ids(&b, "app:v1"));
    other.assert_clean();
}

#[test]
fn skopeo_reads_back_what_berth_loaded_from_skopeo() {
    // berth -> skopeo (oci) -> berth -> save -> skopeo inspect: the chain holds.
    let (b, _) = store_with_app();
    let saved = b.path("app.tar");
    b.run(&["save", "-o", saved.to_str().unwrap(), "app:v1"])
        .ok();
    let oci = b.path("copy-oci.tar");
    skopeo(&[
        "copy",
        &format!("docker-archive:{}", saved.display()),
        &format!("oci-archive:{}:t3", oci.display()),
    ])
    .ok();
    let other = Berth::new();
    other.run(&["load", "-i", oci.to_str().unwrap()]).ok();
    let id = other
        .run(&["images", "-aq", "--no-trunc"])
        .ok()
        .trim()
        .to_string();
    other.run(&["tag", &id, "again:1"]).ok();
    let resaved = other.path("again.tar");
    other
        .run(&["save", "-o", resaved.to_str().unwrap(), "again:1"])
        .ok();
    let out = skopeo(&["inspect", &format!("docker-archive:{}", resaved.display())]);
    let v: Value = serde_json::from_str(out.ok()).unwrap();
    assert_eq!(v["Layers"], diff_ids(&b, "app:v1"));
}

#[test]
fn load_moves_a_tag_that_named_another_image() {
    let b = Berth::new();
    let first = b.tiny("first", Some("app:1"));
    let (code, archive, err) = b.run_raw(&["save", "app:1"]);
    assert_eq!(code, 0, "{err}");
    let second = b.tiny("second", None);
    b.run(&["tag", &second, "app:1"]).ok();
    let out = b.run_stdin(&["load"], &archive);
    assert!(
        out.ok().ends_with("Loaded image: app:1\n"),
        "{}",
        out.stdout
    );
    assert_eq!(b.inspect("app:1")["Id"], first.as_str());
    // The image that lost the name is dangling now.
    let dangling = b.run(&["images", "-q", "--no-trunc", "-f", "dangling=true"]);
    assert_eq!(dangling.ok(), format!("{second}\n"));
}

#[test]
fn load_says_when_it_takes_a_tag_from_another_image() {
    let b = Berth::new();
    b.tiny("first", Some("app:1"));
    let (code, archive, err) = b.run_raw(&["save", "app:1"]);
    assert_eq!(code, 0, "{err}");
    let second = b.tiny("second", None);
    b.run(&["tag", &second, "app:1"]).ok();
    let out = b.run_stdin(&["load"], &archive);
    assert_eq!(
        out.ok(),
        format!(
            "The image app:1 already exists, renaming the old one with ID {second} to empty string\nLoaded image: app:1\n"
        )
    );
}
