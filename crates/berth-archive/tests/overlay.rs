//! The real thing: layers unpacked by us stacked by the kernel's overlayfs, a container's changes
//! made through the mount, and the upperdir written back as a layer.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use berth_archive::{changes, unpack_layer, write_diff, UnpackOptions};
use common::{names, snapshot, RawTar};
use rustix::mount::{mount, unmount, MountFlags, UnmountFlags};

/// An overlay mount, unmounted when dropped (also when a test fails).
struct Overlay {
    merged: PathBuf,
}

impl Overlay {
    fn mount(lowers: &[&Path], upper: &Path, work: &Path, merged: &Path) -> Self {
        let lowerdir: Vec<String> = lowers.iter().map(|p| p.display().to_string()).collect();
        let data = format!(
            "lowerdir={},upperdir={},workdir={}",
            lowerdir.join(":"),
            upper.display(),
            work.display()
        );
        let data = std::ffi::CString::new(data).unwrap();
        mount(
            "overlay",
            merged,
            "overlay",
            MountFlags::empty(),
            data.as_c_str(),
        )
        .unwrap();
        Self {
            merged: merged.to_path_buf(),
        }
    }

    fn read_only(lowers: &[&Path], merged: &Path) -> Self {
        let lowerdir: Vec<String> = lowers.iter().map(|p| p.display().to_string()).collect();
        let data = format!("lowerdir={}", lowerdir.join(":"));
        let data = std::ffi::CString::new(data).unwrap();
        mount(
            "overlay",
            merged,
            "overlay",
            MountFlags::RDONLY,
            data.as_c_str(),
        )
        .unwrap();
        Self {
            merged: merged.to_path_buf(),
        }
    }
}

impl Drop for Overlay {
    fn drop(&mut self) {
        let _ = unmount(&self.merged, UnmountFlags::DETACH);
    }
}

fn unpack_into(dir: &Path, tar: &[u8]) {
    fs::create_dir(dir).unwrap();
    unpack_layer(tar, dir, &UnpackOptions::default()).unwrap();
}

#[test]
fn layers_whiteouts_and_diffs_work_with_the_kernels_overlayfs() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |name: &str| tmp.path().join(name);
    // The image: a base layer and one that deletes and hides some of it.
    unpack_into(
        &p("base"),
        &RawTar::new()
            .file("a", b"a")
            .file("d/x", b"x")
            .file("d/y", b"y")
            .file("keep", b"keep")
            .file("etc/conf", b"v1")
            .finish(),
    );
    unpack_into(
        &p("top"),
        &RawTar::new()
            .file(".wh.a", b"")
            .file("d/.wh..wh..opq", b"")
            .file("d/z", b"z")
            .finish(),
    );
    for dir in ["upper", "work", "merged", "check"] {
        fs::create_dir(p(dir)).unwrap();
    }

    let image_view;
    {
        let ovl = Overlay::mount(
            &[&p("top"), &p("base")],
            &p("upper"),
            &p("work"),
            &p("merged"),
        );
        let m = &ovl.merged;
        assert!(!m.join("a").exists(), "the whiteout does not hide a");
        let mut d: Vec<String> = fs::read_dir(m.join("d"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        d.sort();
        assert_eq!(
            d,
            ["z"],
            "the opaque directory shows the base layer's files"
        );

        // What a container does.
        fs::remove_file(m.join("keep")).unwrap();
        fs::write(m.join("etc/conf"), b"v2").unwrap();
        fs::create_dir(m.join("new")).unwrap();
        fs::write(m.join("new/f"), b"f").unwrap();
        fs::remove_dir_all(m.join("d")).unwrap();
        fs::create_dir(m.join("d")).unwrap();
        fs::write(m.join("d/fresh"), b"fresh").unwrap();
        image_view = snapshot(m);
    }

    assert_eq!(
        changes(&p("upper"), &[&p("top"), &p("base")])
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [
            "C /d",
            "A /d/fresh",
            "C /etc",
            "C /etc/conf",
            "D /keep",
            "A /new",
            "A /new/f"
        ]
    );

    let mut diff = Vec::new();
    write_diff(&p("upper"), &mut diff).unwrap();
    let listed = names(&diff);
    for expected in [
        "d/",
        "d/.wh..wh..opq",
        "d/fresh",
        "etc/conf",
        ".wh.keep",
        "new/f",
    ] {
        assert!(
            listed.iter().any(|n| n == expected),
            "{expected} not in {listed:?}"
        );
    }

    // The diff as a new layer on the image gives what the container saw.
    unpack_into(&p("layer3"), &diff);
    let ovl = Overlay::read_only(&[&p("layer3"), &p("top"), &p("base")], &p("check"));
    assert_eq!(snapshot(&ovl.merged), image_view);
    assert_eq!(fs::read(ovl.merged.join("etc/conf")).unwrap(), b"v2");
    assert!(!ovl.merged.join("keep").exists());
    assert!(!ovl.merged.join("d/z").exists());
}
