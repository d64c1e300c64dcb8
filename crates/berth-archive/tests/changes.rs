//! `docker diff` of an upperdir over its image layers.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use berth_archive::{changes, ChangeKind};
use rustix::fs::{FileType, Mode};

fn whiteout(path: &Path) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        FileType::CharacterDevice,
        Mode::empty(),
        0,
    )
    .unwrap();
}

fn write(root: &Path, rel: &str, data: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, data).unwrap();
}

fn lines(upper: &Path, lowers: &[&Path]) -> Vec<String> {
    changes(upper, lowers)
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn changes_are_listed_as_docker_diff_prints_them() {
    let lower = tempfile::tempdir().unwrap();
    write(lower.path(), "etc/passwd", "root");
    write(lower.path(), "etc/hosts", "localhost");
    write(lower.path(), "bin/sh", "sh");
    let upper = tempfile::tempdir().unwrap();
    write(upper.path(), "etc/passwd", "root\nnew");
    write(upper.path(), "etc/new.conf", "x");
    fs::create_dir(upper.path().join("bin")).unwrap();
    whiteout(&upper.path().join("bin/sh"));
    write(upper.path(), "srv/app/data", "d");

    assert_eq!(
        lines(upper.path(), &[lower.path()]),
        [
            "C /bin",
            "D /bin/sh",
            "C /etc",
            "A /etc/new.conf",
            "C /etc/passwd",
            "A /srv",
            "A /srv/app",
            "A /srv/app/data",
        ]
    );
}

#[test]
fn kinds_have_docker_letters_and_api_numbers() {
    assert_eq!(
        [ChangeKind::Changed, ChangeKind::Added, ChangeKind::Deleted]
            .map(|k| (k.letter(), k.api_kind())),
        [('C', 0), ('A', 1), ('D', 2)]
    );
}

#[test]
fn whiteouts_and_opaque_directories_of_the_image_layers_are_honoured() {
    let bottom = tempfile::tempdir().unwrap();
    write(bottom.path(), "x", "old");
    write(bottom.path(), "d/old", "old");
    write(bottom.path(), "f/under", "old");
    let top = tempfile::tempdir().unwrap();
    whiteout(&top.path().join("x"));
    fs::create_dir(top.path().join("d")).unwrap();
    rustix::fs::lsetxattr(
        top.path().join("d"),
        "trusted.overlay.opaque",
        b"y",
        rustix::fs::XattrFlags::empty(),
    )
    .unwrap();
    // In the top layer `f` is a file, hiding the bottom layer's directory.
    write(top.path(), "f", "file");

    let upper = tempfile::tempdir().unwrap();
    write(upper.path(), "x", "new");
    write(upper.path(), "d/old", "again");
    write(upper.path(), "y", "new");
    let lowers = [top.path(), bottom.path()];
    assert_eq!(
        lines(upper.path(), &lowers),
        ["C /d", "A /d/old", "A /x", "A /y"]
    );

    // With only the bottom layer, the same upper changes what existed.
    assert_eq!(
        lines(upper.path(), &[bottom.path()]),
        ["C /d", "C /d/old", "C /x", "A /y"]
    );
}

#[test]
fn a_symlink_in_a_lower_layer_is_not_followed() {
    let lower = tempfile::tempdir().unwrap();
    // If followed, /etc/passwd of the host would count as existing in the image.
    symlink("/etc", lower.path().join("hostetc")).unwrap();
    let upper = tempfile::tempdir().unwrap();
    write(upper.path(), "hostetc/passwd", "x");
    assert_eq!(
        lines(upper.path(), &[lower.path()]),
        ["C /hostetc", "A /hostetc/passwd"]
    );
}

#[test]
fn no_lower_layers_means_everything_is_added() {
    let upper = tempfile::tempdir().unwrap();
    write(upper.path(), "a/b", "x");
    assert_eq!(lines(upper.path(), &[]), ["A /a", "A /a/b"]);
}
