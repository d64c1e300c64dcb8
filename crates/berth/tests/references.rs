//! Image references as every command takes them: IDs, ID prefixes, names, normalised names,
//! registries with ports, digests; ambiguous and invalid ones.

mod common;

use std::collections::BTreeMap;

use common::{tiny_tar, Berth};

fn inspect_id(b: &Berth, reference: &str) -> String {
    let out = b.run(&["image", "inspect", "--format", "{{.Id}}", reference]);
    assert_eq!(out.code, 0, "{reference}: {out:?}");
    out.stdout.trim().to_string()
}

#[test]
fn every_form_of_reference_names_the_same_image() {
    let b = Berth::new();
    let id = b.tiny("target", Some("app:v1"));
    b.tiny("other", Some("other:v1"));
    b.run(&["tag", "app:v1", "app"]).ok();
    b.run(&["tag", "app:v1", "localhost:5000/a/b:c"]).ok();
    b.run(&["tag", "app:v1", "example.com/team/app:2"]).ok();
    let hex = &id[7..];
    for r in [
        id.as_str(),
        hex,
        &hex[..12],
        &hex[..3],
        "app",
        "app:latest",
        "app:v1",
        "docker.io/library/app:v1",
        "docker.io/library/app",
        "docker.io/app:v1",
        "library/app:v1",
        "index.docker.io/library/app:v1",
        "localhost:5000/a/b:c",
        "example.com/team/app:2",
        &format!("app@{id}"),
    ] {
        assert_eq!(inspect_id(&b, r), id, "{r}");
    }
}

#[test]
fn a_sha256_prefixed_short_id_names_the_image() {
    // Docker looks `sha256:` followed by a short ID up in its ID set as well.
    let b = Berth::new();
    let id = b.tiny("target", Some("app:v1"));
    assert_eq!(inspect_id(&b, &id[..19]), id);
    assert_eq!(inspect_id(&b, &id[..10]), id);
}

#[test]
fn names_are_listed_in_their_familiar_form() {
    let b = Berth::new();
    b.tiny("x", Some("docker.io/library/app:v1"));
    b.run(&["tag", "app:v1", "index.docker.io/user/tool"]).ok();
    b.run(&["tag", "app:v1", "localhost:5000/a/b:c"]).ok();
    let out = b.run(&[
        "image",
        "inspect",
        "--format",
        "{{json .RepoTags}}",
        "app:v1",
    ]);
    assert_eq!(
        out.ok(),
        // Sorted by the full name, as Docker's reference store sorts them.
        "[\"app:v1\",\"user/tool:latest\",\"localhost:5000/a/b:c\"]\n"
    );
    let rows = b.run(&["images", "--format", "{{.Repository}} {{.Tag}}"]);
    let mut rows: Vec<&str> = rows.ok().lines().collect();
    rows.sort();
    assert_eq!(rows, ["app v1", "localhost:5000/a/b c", "user/tool latest"]);
    // `images` matches its argument against the familiar form, as Docker does.
    let tool = b.tiny("tool", Some("index.docker.io/user/tool:v9"));
    let familiar = b.run(&["images", "-q", "--no-trunc", "user/tool:v9"]);
    assert_eq!(familiar.ok(), format!("{tool}\n"));
}

#[test]
fn commands_accept_an_id_prefix() {
    let b = Berth::new();
    let id = b.tiny("p", Some("p:1"));
    let prefix = &id[7..11];
    let hist = b.run(&["history", "-q", "--no-trunc", prefix]);
    assert_eq!(hist.ok(), format!("{id}\n"));
    b.run(&["tag", prefix, "q:2"]).ok();
    assert_eq!(inspect_id(&b, "q:2"), id);
    let saved = b.path("p.tar");
    b.run(&["save", "-o", saved.to_str().unwrap(), prefix]).ok();
    assert!(saved.metadata().unwrap().len() > 0);
    let out = b.run(&["rmi", "-f", prefix]);
    assert!(
        out.ok().contains(&format!("Deleted: {id}")),
        "{}",
        out.stdout
    );
    assert!(b.listing().is_empty());
}

#[test]
fn a_name_wins_over_an_id_prefix() {
    // Docker looks a word up as a name first, then as an ID prefix.
    let b = Berth::new();
    let first = b.tiny("first", None);
    let second = b.tiny("second", None);
    let prefix = &first[7..11];
    b.run(&["tag", &second, prefix]).ok();
    assert_eq!(inspect_id(&b, prefix), second);
    assert_eq!(inspect_id(&b, &first[7..15]), first);
}

/// Imports tiny images until two IDs share their first hex digit; returns that digit and
/// the IDs that start with it.
fn two_ids_sharing_a_digit(b: &Berth) -> (String, Vec<String>) {
    let mut by_digit: BTreeMap<char, Vec<String>> = BTreeMap::new();
    for i in 0..17 {
        // 16 digits: by the 17th import two IDs must share one.
        let id = b.tiny(&format!("seed-{i}"), Some(&format!("img:{i}")));
        let d = id.chars().nth(7).unwrap();
        let ids = by_digit.entry(d).or_default();
        ids.push(id);
        if ids.len() == 2 {
            return (d.to_string(), ids.clone());
        }
    }
    unreachable!("17 IDs over 16 digits always collide");
}

#[test]
fn an_ambiguous_prefix_is_a_clear_error() {
    let b = Berth::new();
    let (digit, ids) = two_ids_sharing_a_digit(&b);
    let before = b.listing();
    let out = b.run(&["image", "inspect", &digit]);
    let err = out.fails(1);
    assert!(
        err.contains(&digit) && (err.contains("multiple") || err.contains("ambiguous")),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    let rmi = b.run(&["rmi", &digit]);
    let err = rmi.fails(1);
    assert!(
        err.contains("multiple") || err.contains("ambiguous"),
        "{err}"
    );
    assert_eq!(b.listing(), before, "an ambiguous rmi removed something");
    let tag = b.run(&["tag", &digit, "x"]);
    assert_eq!(tag.code, 1, "{tag:?}");
    // A longer prefix that tells them apart works.
    for id in &ids {
        let unique = (8..71)
            .map(|n| &id[7..n])
            .find(|p| ids.iter().filter(|o| o[7..].starts_with(p)).count() == 1)
            .unwrap();
        assert_eq!(inspect_id(&b, unique), *id);
    }
}

#[test]
fn invalid_references_are_refused_clearly() {
    let b = Berth::new();
    b.tiny("x", Some("ok"));
    for bad in [
        "Bad:Name",
        "a:b:c",
        "app:-x",
        "a//b",
        "trail-",
        "app@sha256:1234",
    ] {
        let out = b.run(&["image", "inspect", bad]);
        let err = out.fails(1);
        assert!(err.contains("invalid reference format"), "{bad}: {err}");
        assert!(!out.stdout.contains('{'), "{bad}: {}", out.stdout);
        let rmi = b.run(&["rmi", bad]);
        assert!(
            rmi.fails(1).contains("invalid reference format"),
            "{bad}: {rmi:?}"
        );
    }
    let out = b.run(&["tag", "ok", "UPPER"]);
    assert_eq!(
        out.fails(1).trim(),
        "Error parsing reference: \"UPPER\" is not a valid repository/tag: invalid reference format: repository name (library/UPPER) must be lowercase"
    );
    let out = b.run(&[
        "tag",
        "ok",
        "ok@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ]);
    assert_eq!(
        out.fails(1).trim(),
        "Error response from daemon: refusing to create a tag with a digest reference"
    );
    let long = format!("a/{}", "b".repeat(300));
    assert!(b.run(&["tag", "ok", &long]).fails(1).contains("255"));
    // A full 64-hex word cannot be a name.
    let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    assert!(b
        .run(&["tag", "ok", hex])
        .fails(1)
        .contains("64-byte hexadecimal"));
    assert_eq!(b.tags().len(), 1, "{:?}", b.tags());
}

#[test]
fn inspect_prints_the_images_it_found_beside_an_invalid_reference() {
    // Docker's CLI inspects each name in turn, prints what it found (an empty array when
    // nothing) and reports the errors after it.
    let b = Berth::new();
    let id = b.tiny("x", Some("ok"));
    let out = b.run(&["image", "inspect", "ok", "Bad:Name"]);
    assert!(
        out.fails(1).contains("invalid reference format"),
        "{}",
        out.stderr
    );
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("a JSON array on stdout");
    assert_eq!(v[0]["Id"], id.as_str());
    let alone = b.run(&["image", "inspect", "Bad:Name"]);
    assert_eq!(alone.stdout, "[]\n");
}

#[test]
fn a_missing_reference_is_no_such_image() {
    let b = Berth::new();
    b.tiny("x", Some("present"));
    let hex = "0000000000000000000000000000000000000000000000000000000000000000";
    for (r, shown) in [
        ("absent", "absent:latest"),
        ("absent:v2", "absent:v2"),
        ("present:v2", "present:v2"),
        ("localhost:5000/a/b:c", "localhost:5000/a/b:c"),
        (hex, hex),
    ] {
        let out = b.run(&["image", "inspect", r]);
        assert_eq!(
            out.fails(1).trim(),
            format!("Error response from daemon: No such image: {shown}"),
            "{r}"
        );
    }
}

#[test]
fn a_digest_reference_must_match_the_repository() {
    // Docker refuses busybox@sha256:X for an image that is not a busybox one.
    let b = Berth::new();
    let id = b.tiny("d", Some("mine"));
    assert_eq!(inspect_id(&b, &format!("mine@{id}")), id);
    let out = b.run(&["image", "inspect", &format!("someoneelse@{id}")]);
    assert!(out.fails(1).contains("No such image"), "{}", out.stderr);
}

#[test]
fn rmi_takes_a_long_name() {
    let b = Berth::new();
    let tar = tiny_tar("long");
    b.run_stdin(&["import", "-", "app:v1"], &tar).ok();
    b.run(&["tag", "app:v1", "localhost:5000/a/b:c"]).ok();
    assert_eq!(
        b.run(&["rmi", "docker.io/library/app:v1"]).ok(),
        "Untagged: app:v1\n"
    );
    let out = b.run(&["rmi", "localhost:5000/a/b:c"]);
    assert!(
        out.ok()
            .starts_with("Untagged: localhost:5000/a/b:c\nDeleted: sha256:"),
        "{}",
        out.stdout
    );
    assert!(b.listing().is_empty());
}
