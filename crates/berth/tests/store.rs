//! The store as a whole: `system check [--repair]`, `system df`, `system prune`, `version`,
//! `info`, and the global flags that choose the store.

mod common;

use std::fs;
use std::process::Command;

use common::{tar_of, tiny_tar, Berth, Entry};

fn blob_path(b: &Berth, digest: &str) -> std::path::PathBuf {
    b.root().join("blobs/sha256").join(&digest[7..])
}

fn flip_a_byte(path: &std::path::Path) {
    let mut bytes = fs::read(path).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 0x20;
    fs::write(path, bytes).unwrap();
}

#[test]
fn a_clean_store_has_nothing_to_report() {
    let b = Berth::new();
    let out = b.run(&["system", "check"]);
    assert_eq!(out.ok(), "No problems found\n");
    b.busybox("bb");
    b.tiny("x", None);
    let out = b.run(&["system", "check"]);
    assert_eq!(out.ok(), "No problems found\n");
    let out = b.run(&["system", "check", "--repair"]);
    assert_eq!(out.ok(), "No problems found\n");
}

#[test]
fn a_corrupt_config_blob_is_reported() {
    let b = Berth::new();
    let id = b.busybox("bb");
    flip_a_byte(&blob_path(&b, &id));
    let out = b.run(&["system", "check"]);
    assert_eq!(out.code, 1, "{out:?}");
    let report = out.stdout.clone();
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("problem: ") && l.contains(&id) && l.contains("corrupt")),
        "{report}"
    );
    assert!(report.ends_with("repaired\n"), "{report}");
}

#[test]
fn a_corrupt_layer_blob_is_reported() {
    let b = Berth::new();
    let tar = tar_of(&[Entry::File("data", &[7u8; 4096])]);
    b.run_stdin(&["import", "-", "img"], &tar).ok();
    // An uncompressed import keeps the tar as the layer blob, named by its digest.
    let digest = common::sha256(&tar);
    let path = blob_path(&b, &digest);
    assert!(path.is_file(), "no blob at {}", path.display());
    flip_a_byte(&path);
    let out = b.run(&["system", "check"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout
            .lines()
            .any(|l| l.contains(&digest) && l.contains("corrupt")),
        "{}",
        out.stdout
    );
}

#[test]
fn save_refuses_to_hand_out_a_corrupt_blob() {
    // Blobs are digest-verified stores: save should fail rather than write an archive
    // whose member does not match its name (which only the next load would notice).
    let b = Berth::new();
    let tar = tar_of(&[Entry::File("data", &[7u8; 4096])]);
    b.run_stdin(&["import", "-", "img"], &tar).ok();
    flip_a_byte(&blob_path(&b, &common::sha256(&tar)));
    let out = b.path("out.tar");
    let save = b.run(&["save", "-o", out.to_str().unwrap(), "img"]);
    assert_eq!(save.code, 1, "save of a corrupt layer succeeded");
    assert!(
        save.stderr.contains("digest") || save.stderr.contains("corrupt"),
        "{}",
        save.stderr
    );
    assert!(!out.exists());
}

#[test]
fn leftovers_are_reported_and_repair_removes_them() {
    let b = Berth::new();
    let id = b.busybox("bb");
    fs::write(b.root().join("ingest/stray-upload"), b"half a blob").unwrap();
    let tmp = b.root().join("layers/tmp-1234");
    fs::create_dir_all(tmp.join("diff/etc")).unwrap();
    fs::write(tmp.join("diff/etc/file"), b"x").unwrap();
    let unknown = b.root().join("layers").join("ab".repeat(32));
    fs::create_dir_all(unknown.join("diff")).unwrap();

    let out = b.run(&["system", "check"]);
    assert_eq!(out.code, 1, "{out:?}");
    let text = out.stdout.clone();
    assert!(
        text.contains("problem: partial blob in ingest: stray-upload"),
        "{text}"
    );
    assert!(
        text.contains("problem: half-written layer: layers/tmp-1234"),
        "{text}"
    );
    assert!(
        text.contains(&format!("layers/{}", "ab".repeat(32))),
        "{text}"
    );
    assert!(text.ends_with("3 problems found, 0 repaired\n"), "{text}");
    // Checking alone changes nothing.
    assert!(tmp.exists() && b.root().join("ingest/stray-upload").exists());

    let out = b.run(&["system", "check", "--repair"]);
    let text = out.ok();
    assert!(
        text.contains("repaired: partial blob in ingest: stray-upload"),
        "{text}"
    );
    assert!(
        text.contains("repaired: half-written layer: layers/tmp-1234"),
        "{text}"
    );
    assert!(text.ends_with("3 problems found, 3 repaired\n"), "{text}");
    assert!(!tmp.exists() && !unknown.exists());
    b.assert_clean();
    assert_eq!(b.inspect("bb")["Id"], id.as_str());
}

#[test]
fn repair_collects_blobs_nothing_names() {
    let b = Berth::new();
    b.busybox("bb");
    // A well-formed blob that no image, layer or manifest names.
    let orphan = b"an orphan blob";
    let digest = common::sha256(orphan);
    fs::write(blob_path(&b, &digest), orphan).unwrap();
    let out = b.run(&["system", "check"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains(&format!("unreferenced blob {digest}")),
        "{}",
        out.stdout
    );
    let out = b.run(&["system", "check", "--repair"]);
    assert!(
        out.ok()
            .contains(&format!("repaired: unreferenced blob {digest}")),
        "{}",
        out.stdout
    );
    assert!(!blob_path(&b, &digest).exists());
    b.assert_clean();
}

#[test]
fn a_missing_layer_directory_is_reported() {
    let b = Berth::new();
    let tar = tiny_tar("gone");
    b.run_stdin(&["import", "-", "img"], &tar).ok();
    let layer = b.root().join("layers").join(&common::sha256(&tar)[7..]);
    fs::remove_dir_all(&layer).unwrap();
    let out = b.run(&["system", "check"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("has no directory"), "{}", out.stdout);
    assert!(out.stdout.contains("uses a broken layer"), "{}", out.stdout);
}

#[test]
fn system_df_prints_dockers_table() {
    let b = Berth::new();
    let out = b.run(&["system", "df"]);
    assert_eq!(
        out.ok(),
        "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE\n\
         Images          0         0         0B        0B\n\
         Containers      0         0         0B        0B\n\
         Local Volumes   0         0         0B        0B\n\
         Build Cache     0         0         0B        0B\n"
    );
    b.run_stdin(
        &["import", "-", "one"],
        &tar_of(&[Entry::File("f", &[1u8; 1_500_000])]),
    )
    .ok();
    b.run_stdin(
        &["import", "-"],
        &tar_of(&[Entry::File("g", &[2u8; 250_000])]),
    )
    .ok();
    let out = b.run(&["system", "df"]);
    let images = out.ok().lines().nth(1).unwrap().to_string();
    // Docker's df sizes keep 4 significant digits; nothing runs, so all is reclaimable.
    assert_eq!(
        images,
        "Images          2         0         1.75MB    1.75MB (100%)"
    );
    let f = b.run(&["system", "df", "--format", "{{.Type}}={{.TotalCount}}"]);
    assert_eq!(
        f.ok(),
        "Images=2\nContainers=0\nLocal Volumes=0\nBuild Cache=0\n"
    );
}

#[test]
fn system_prune_removes_dangling_images() {
    let b = Berth::new();
    let dangling = b.tiny("d", None);
    let kept = b.tiny("k", Some("kept"));
    let out = b.run(&["system", "prune", "-f"]);
    let text = out.ok();
    assert!(
        text.starts_with(&format!("Deleted Images:\ndeleted: {dangling}\n")),
        "{text}"
    );
    assert!(text.contains("\n\nTotal reclaimed space: "), "{text}");
    assert_eq!(
        b.run(&["images", "-aq", "--no-trunc"]).ok(),
        format!("{kept}\n")
    );
    let again = b.run(&["system", "prune", "--force"]);
    assert_eq!(again.ok(), "Total reclaimed space: 0B\n");
    let all = b.run(&["system", "prune", "-a", "-f"]);
    assert!(all.ok().contains("untagged: kept:latest"), "{}", all.stdout);
    assert!(b.listing().is_empty());
    b.assert_clean();
}

#[test]
fn system_prune_asks_first() {
    let b = Berth::new();
    b.tiny("d", None);
    let out = b.run_stdin(&["system", "prune"], b"no\n");
    assert_eq!(out.ok(), "");
    assert!(
        out.stderr.starts_with("WARNING! This will remove:\n"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("  - all dangling images\n"),
        "{}",
        out.stderr
    );
    assert_eq!(b.listing().len(), 1);
}

#[test]
fn prune_reports_the_size_images_showed() {
    // Docker sums the sizes of the layers it removed: what `images` showed.
    let b = Berth::new();
    b.run_stdin(
        &["import", "-"],
        &tar_of(&[Entry::File("f", &[1u8; 1_500_000])]),
    )
    .ok();
    assert_eq!(b.run(&["images", "--format", "{{.Size}}"]).ok(), "1.5MB\n");
    let out = b.run(&["image", "prune", "-f"]);
    assert!(
        out.ok().ends_with("Total reclaimed space: 1.5MB\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn version_and_info_describe_this_berth() {
    let b = Berth::new();
    b.busybox("bb");
    let v = b.run(&["version"]);
    let text = v.ok();
    assert!(text.starts_with("Client:\n Version:"), "{text}");
    assert!(text.contains(env!("CARGO_PKG_VERSION")), "{text}");
    assert!(text.contains("\nServer: berth Engine\n"), "{text}");
    assert!(
        text.contains(&format!("OS/Arch:           linux/{}", common::host_arch())),
        "{text}"
    );
    let f = b.run(&["version", "--format", "{{.Client.Version}}"]);
    assert_eq!(f.ok(), format!("{}\n", env!("CARGO_PKG_VERSION")));

    let info = b.run(&["info"]);
    let text = info.ok();
    assert!(text.contains("\n Images: 1\n"), "{text}");
    assert!(text.contains("\n Storage Driver: overlay2\n"), "{text}");
    assert!(
        text.contains(&format!("\n Docker Root Dir: {}\n", b.root().display())),
        "{text}"
    );
    let f = b.run(&[
        "info",
        "--format",
        "{{.Images}} {{.DockerRootDir}} {{.Driver}}",
    ]);
    assert_eq!(f.ok(), format!("1 {} overlay2\n", b.root().display()));
    assert_eq!(b.run(&["system", "info", "-f", "{{.Images}}"]).ok(), "1\n");
}

/// `berth` with no BERTH_* variables: only flags choose the store.
fn bare() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_berth"));
    c.env_remove("BERTH_ROOT")
        .env_remove("BERTH_RUNROOT")
        .env_remove("RUST_LOG");
    c
}

#[test]
fn root_and_runroot_flags_and_variables_choose_the_store() {
    let b = Berth::new();
    let root = b.path("flag-root");
    let run = b.path("flag-run");
    let tar = b.write("t.tar", &tiny_tar("flags"));
    let out = bare()
        .args([
            "--root",
            root.to_str().unwrap(),
            "--runroot",
            run.to_str().unwrap(),
        ])
        .args(["import", tar.to_str().unwrap(), "by-flag"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        root.join("berth.db").is_file(),
        "the store is where --root says"
    );
    // The variables name the same store.
    let out = bare()
        .env("BERTH_ROOT", &root)
        .env("BERTH_RUNROOT", &run)
        .args(["images", "--format", "{{.Repository}}"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "by-flag\n");
    // A flag beats the variable.
    let out = bare()
        .env("BERTH_ROOT", b.root())
        .env("BERTH_RUNROOT", b.runroot())
        .args([
            "--root",
            root.to_str().unwrap(),
            "images",
            "--format",
            "{{.Repository}}",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "by-flag\n");
    // And the test's own store stayed empty.
    assert!(b.listing().is_empty());
}

#[test]
fn defaults_are_var_lib_berth_and_run_berth() {
    let out = bare().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(help.contains("[default: /var/lib/berth]"), "{help}");
    assert!(help.contains("[default: /run/berth]"), "{help}");
}

#[test]
fn log_level_debug_is_accepted() {
    let b = Berth::new();
    b.tiny("x", Some("x"));
    let out = b.run(&["--log-level", "debug", "images", "-q"]);
    assert_eq!(out.ok().lines().count(), 1);
    let out = b.run(&["-l", "error", "images", "-q"]);
    assert_eq!(out.ok().lines().count(), 1);
    let bad = b.run(&["--log-level", "loud", "images"]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("loud"), "{}", bad.stderr);
}
