//! A container's filesystem as the seed teaches it: the image's layers as shared read-only
//! lowerdirs under the container's own writable layer.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use common::Berth;

fn lower_dirs(b: &Berth, id: &str) -> Vec<PathBuf> {
    b.field(id, "{{.GraphDriver.Data.LowerDir}}")
        .split(':')
        .map(PathBuf::from)
        .collect()
}

#[test]
fn a_write_stays_in_its_containers_layer_and_the_image_is_unchanged() {
    let b = Berth::new();
    let image = b.busybox("busybox");
    let size = b.inspect("busybox")["Size"].clone();
    let a = b.detach(&["--name", "aa", "busybox", "sleep", "1000"]);
    let c = b.detach(&["--name", "cc", "busybox", "sleep", "1000"]);
    b.run_t(&[
        "exec",
        "aa",
        "sh",
        "-c",
        "echo mine > /only-a; echo changed >> /etc/passwd; rm /bin/vi",
    ])
    .ok();

    assert_eq!(b.run_t(&["exec", "aa", "cat", "/only-a"]).ok(), "mine\n");
    let out = b.run_t(&[
        "exec",
        "cc",
        "sh",
        "-c",
        "cat /only-a; grep -c changed /etc/passwd; ls /bin/vi",
    ]);
    assert_eq!(out.stdout, "0\n/bin/vi\n", "{out:?}");
    assert!(
        out.stderr.contains("/only-a") && !out.stderr.contains("/bin/vi"),
        "{out:?}"
    );
    // A new container of the image sees the image as it was.
    let out = b.run_t(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "ls /only-a 2>&1; grep -c changed /etc/passwd; ls /bin/vi",
    ]);
    assert_eq!(
        out.stdout, "ls: /only-a: No such file or directory\n0\n/bin/vi\n",
        "{out:?}"
    );

    // The change is in a's upper directory and nowhere in the image's layers.
    let upper = PathBuf::from(b.field("aa", "{{.GraphDriver.Data.UpperDir}}"));
    assert!(
        upper.starts_with(b.root().join("containers").join(&a)),
        "{}",
        upper.display()
    );
    assert_eq!(
        std::fs::read_to_string(upper.join("only-a")).expect("in the upper dir"),
        "mine\n"
    );
    for layer in b.entries("layers") {
        assert!(!b
            .root()
            .join("layers")
            .join(&layer)
            .join("diff/only-a")
            .exists());
    }
    let _ = c;
    assert_eq!(b.inspect("busybox")["Id"], image.as_str());
    assert_eq!(b.inspect("busybox")["Size"], size);
}

#[test]
fn two_containers_of_one_image_share_its_layer_files() {
    let b = Berth::new();
    b.busybox("busybox");
    let a = b.detach(&["busybox", "sleep", "1000"]);
    let c = b.detach(&["busybox", "sleep", "1000"]);
    // The image's layer is a lowerdir of both.
    let la = lower_dirs(&b, &a);
    let lc = lower_dirs(&b, &c);
    let image_layers: Vec<&PathBuf> = la
        .iter()
        .filter(|p| p.starts_with(b.root().join("layers")))
        .collect();
    assert!(!image_layers.is_empty(), "{la:?}");
    for l in &image_layers {
        assert!(
            lc.contains(l),
            "{} is not under both: {la:?} {lc:?}",
            l.display()
        );
    }
    // The same inode through each container's view, and in the layer itself.
    let ino = |p: &Path| {
        std::fs::metadata(p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .ino()
    };
    let in_layer = image_layers
        .iter()
        .map(|l| l.join("bin/busybox"))
        .find(|p| p.exists())
        .expect("busybox in a layer");
    let merged_a = PathBuf::from(b.field(&a, "{{.GraphDriver.Data.MergedDir}}"));
    let merged_c = PathBuf::from(b.field(&c, "{{.GraphDriver.Data.MergedDir}}"));
    assert_eq!(ino(&merged_a.join("bin/busybox")), ino(&in_layer));
    assert_eq!(ino(&merged_c.join("bin/busybox")), ino(&in_layer));
    let in_a = b
        .run_t(&["exec", &a, "stat", "-c", "%i", "/bin/busybox"])
        .ok()
        .trim()
        .to_string();
    let in_c = b
        .run_t(&["exec", &c, "stat", "-c", "%i", "/bin/busybox"])
        .ok()
        .trim()
        .to_string();
    assert_eq!(in_a, in_c);
    assert_eq!(in_a, ino(&in_layer).to_string());
}

#[test]
fn rm_removes_the_container_layer_and_leaves_the_image() {
    let b = Berth::new();
    let image = b.busybox("busybox");
    let id = b.detach(&["busybox", "sh", "-c", "echo x > /x; exec sleep 1000"]);
    let dir = b.root().join("containers").join(&id);
    assert!(dir.is_dir());
    let layers_before = b.entries("layers");
    b.run_t(&["rm", "-f", &id]).ok();
    assert!(!dir.exists(), "{} is left", dir.display());
    assert!(
        b.mounts()
            .iter()
            .all(|m| !m.to_string_lossy().contains(&id)),
        "{:?}",
        b.mounts()
    );
    assert_eq!(b.entries("layers"), layers_before);
    assert_eq!(b.inspect("busybox")["Id"], image.as_str());
    // And the image still runs.
    assert_eq!(
        b.run_t(&["run", "--rm", "busybox", "echo", "ok"]).ok(),
        "ok\n"
    );
    b.assert_clean();
}

#[test]
fn an_image_used_by_a_container_cannot_be_removed_without_force() {
    let b = Berth::new();
    b.busybox("busybox");
    let id = b.run_t(&["create", "busybox"]).ok().trim().to_string();
    let err = b.run_t(&["rmi", "busybox"]).fails(1).to_string();
    assert!(
        err.contains(&format!(
            "container {} is using its referenced image",
            &id[..12]
        )),
        "{err}"
    );
    assert_eq!(
        b.inspect("busybox")["Id"],
        b.field(&id, "{{.Image}}").as_str()
    );
    assert_eq!(b.run_t(&["start", "-a", &id]).code, 0);
}
