//! What Docker puts in every container: kernel filesystems, masked and read-only
//! places under /proc and /sys, and the default PATH.

/// Masked with an empty file or directory: they leak host details or are dangerous.
pub const MASKED_PATHS: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Visible but not writable: writing them would change the host.
pub const READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Docker's PATH when the image sets none.
pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Docker's default size of /dev/shm.
pub const DEFAULT_SHM_SIZE: u64 = 64 * 1024 * 1024;

/// Docker's default open-files limit (its daemon's own, which containers inherit).
pub const DEFAULT_NOFILE: u64 = 1_048_576;

/// A default mount: (destination, type, source, options).
pub type DefaultMount = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

/// The kernel filesystems every container gets, parents before children. /dev/shm's size
/// and the read-only flags of /sys are filled in by the caller.
pub const MOUNTS: &[DefaultMount] = &[
    ("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
    (
        "/dev",
        "tmpfs",
        "tmpfs",
        &["nosuid", "strictatime", "mode=755", "size=65536k"],
    ),
    (
        "/dev/pts",
        "devpts",
        "devpts",
        &[
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
            "gid=5",
        ],
    ),
    ("/sys", "sysfs", "sysfs", &["nosuid", "noexec", "nodev"]),
    (
        "/sys/fs/cgroup",
        "cgroup",
        "cgroup",
        &["nosuid", "noexec", "nodev"],
    ),
    (
        "/dev/mqueue",
        "mqueue",
        "mqueue",
        &["nosuid", "noexec", "nodev"],
    ),
    (
        "/dev/shm",
        "tmpfs",
        "shm",
        &["nosuid", "noexec", "nodev", "mode=1777"],
    ),
];
