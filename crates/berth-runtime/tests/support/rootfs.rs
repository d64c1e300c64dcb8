//! A minimal root filesystem for tests: Debian's static busybox and a link per applet.

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::Command;

const BUSYBOX: &str = "/bin/busybox";

/// Fills `rootfs` with /bin/busybox, its applets as links in /bin, and the empty
/// directories a runtime mounts over.
pub fn make_busybox_rootfs(rootfs: &Path) {
    let bin = rootfs.join("bin");
    std::fs::create_dir_all(&bin).expect("create rootfs/bin");
    std::fs::copy(BUSYBOX, bin.join("busybox"))
        .expect("copy busybox (apt-get install busybox-static)");
    let list = Command::new(BUSYBOX)
        .arg("--list")
        .output()
        .expect("run busybox --list");
    assert!(list.status.success(), "busybox --list failed");
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        let link = bin.join(applet);
        if applet != "busybox" && !link.exists() {
            symlink("busybox", &link).expect("link applet");
        }
    }
    for dir in [
        "proc", "sys", "dev", "tmp", "etc", "mnt", "root", "sbin", "usr/bin",
    ] {
        std::fs::create_dir_all(rootfs.join(dir)).expect("create rootfs dir");
    }
    std::fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n")
        .expect("write passwd");
    std::fs::write(rootfs.join("etc/group"), "root:x:0:\ntty:x:5:\n").expect("write group");
    // A file that exists but is not executable, for the "permission denied" case.
    std::fs::set_permissions(
        rootfs.join("etc/passwd"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod passwd");
}
