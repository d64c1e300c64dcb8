//! Device nodes: the few every container gets, and the host's for `--privileged`.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxDevice, LinuxDeviceCgroup, LinuxDeviceType};
use rustix::fs::{FileType, Mode};

use crate::error::{Error, Result};

/// (path, major, minor) of the character devices of every container, all mode 0666.
const DEFAULT_DEVICES: &[(&str, i64, i64)] = &[
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

/// /dev/console (5:1) is the container's pty when it has one; the runtime binds it.
const CONSOLE: (i64, i64) = (5, 1);
/// /dev/ptmx (5:2) is made a link to pts/ptmx by the runtime; the pty slaves are 136:*.
const PTMX: (i64, i64) = (5, 2);
const PTS_MAJOR: i64 = 136;

pub fn default_devices() -> Vec<LinuxDevice> {
    DEFAULT_DEVICES
        .iter()
        .map(|&(path, major, minor)| {
            let mut dev = LinuxDevice::default();
            dev.set_path(PathBuf::from(path));
            dev.set_typ(LinuxDeviceType::C);
            dev.set_major(major);
            dev.set_minor(minor);
            dev.set_file_mode(Some(0o666));
            dev.set_uid(Some(0));
            dev.set_gid(Some(0));
            dev
        })
        .collect()
}

/// The device cgroup: nothing but the default devices, the console and ptys; any
/// device node may still be created (`mknod` is allowed, opening is not).
pub fn default_device_rules(terminal: bool) -> Vec<LinuxDeviceCgroup> {
    let mut rules = vec![
        rule(false, None, None, None),
        rule(true, Some(LinuxDeviceType::C), None, Some("m")),
        rule(true, Some(LinuxDeviceType::B), None, Some("m")),
    ];
    let mut allowed: Vec<(i64, Option<i64>)> = DEFAULT_DEVICES
        .iter()
        .map(|&(_, major, minor)| (major, Some(minor)))
        .collect();
    allowed.push((PTMX.0, Some(PTMX.1)));
    allowed.push((PTS_MAJOR, None));
    if terminal {
        allowed.push((CONSOLE.0, Some(CONSOLE.1)));
    }
    for (major, minor) in allowed {
        let mut r = rule(true, Some(LinuxDeviceType::C), None, Some("rwm"));
        r.set_major(Some(major));
        r.set_minor(minor);
        rules.push(r);
    }
    rules
}

/// `--privileged`: every device is allowed.
pub fn allow_all_rules() -> Vec<LinuxDeviceCgroup> {
    vec![rule(true, None, None, Some("rwm"))]
}

fn rule(
    allow: bool,
    typ: Option<LinuxDeviceType>,
    major: Option<i64>,
    access: Option<&str>,
) -> LinuxDeviceCgroup {
    let mut r = LinuxDeviceCgroup::default();
    r.set_allow(allow);
    r.set_typ(typ.or(Some(LinuxDeviceType::A)));
    r.set_major(major);
    r.set_minor(None);
    r.set_access(Some(access.unwrap_or("rwm").to_string()));
    r
}

/// Directories of /dev that are the container's own (mounted by the runtime) or not devices.
const SKIPPED_DIRS: &[&str] = &["pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"];

/// Every character and block device under `dev_dir`, as it is on the host.
pub fn host_devices(dev_dir: &Path) -> Result<Vec<LinuxDevice>> {
    let mut found = Vec::new();
    walk(dev_dir, dev_dir, &mut found)?;
    found.sort_by(|a, b| a.path().cmp(b.path()));
    Ok(found)
}

fn walk(root: &Path, dir: &Path, found: &mut Vec<LinuxDevice>) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
        let path = entry.path();
        let name = entry.file_name();
        let stat = match rustix::fs::lstat(&path) {
            Ok(stat) => stat,
            // Device nodes come and go (hotplug); a vanished one is simply not there.
            Err(_) => continue,
        };
        let typ = match FileType::from_raw_mode(stat.st_mode) {
            FileType::Directory => {
                if !SKIPPED_DIRS.iter().any(|skip| name == *skip) {
                    walk(root, &path, found)?;
                }
                continue;
            }
            FileType::CharacterDevice => LinuxDeviceType::C,
            FileType::BlockDevice => LinuxDeviceType::B,
            _ => continue,
        };
        if name == "console" {
            continue;
        }
        let relative = path.strip_prefix(root).unwrap_or(&path);
        let mut dev = LinuxDevice::default();
        dev.set_path(Path::new("/dev").join(relative));
        dev.set_typ(typ);
        dev.set_major(i64::from(rustix::fs::major(stat.st_rdev)));
        dev.set_minor(i64::from(rustix::fs::minor(stat.st_rdev)));
        dev.set_file_mode(Some(Mode::from_raw_mode(stat.st_mode).bits() & 0o7777));
        dev.set_uid(Some(stat.st_uid));
        dev.set_gid(Some(stat.st_gid));
        found.push(dev);
    }
    Ok(())
}
