//! Facts about the host that shape a container's spec: the caller's limits and
//! capabilities, the kernel version and the cgroup layout.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use caps::{CapSet, Capability};
use oci_spec::runtime::PosixRlimitType;
use rustix::process::{getrlimit, Resource};

use crate::error::{Error, Result};

/// Read once per container with [`HostInfo::detect`]; tests build one by hand.
#[derive(Debug, Clone)]
pub struct HostInfo {
    /// The caller's bounding set: a runtime cannot grant a capability outside it.
    pub bounding_caps: HashSet<Capability>,
    /// Hard limits of the caller, `None` = unlimited. A runtime that asks for more fails
    /// (no CAP_SYS_RESOURCE here), so every rlimit in a spec is clamped to these.
    pub hard_limits: Vec<(PosixRlimitType, Option<u64>)>,
    /// (major, minor) of the running kernel; some seccomp rules depend on it.
    pub kernel: (u32, u32),
    pub cgroup: CgroupLayout,
    /// Whether cgroup v1 memory limits can cover swap (`memory.memsw.*`).
    pub swap_accounting: bool,
    /// Where the host's device nodes are, for `--privileged`.
    pub dev_dir: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupLayout {
    /// v1 controllers, possibly with a v2 hierarchy beside them (hybrid).
    V1,
    /// Pure v2 (unified) at /sys/fs/cgroup.
    V2,
}

/// The rlimits Docker's `--ulimit` knows, with their kernel resources.
pub(crate) const RLIMITS: &[(&str, PosixRlimitType, Resource)] = &[
    ("core", PosixRlimitType::RlimitCore, Resource::Core),
    ("cpu", PosixRlimitType::RlimitCpu, Resource::Cpu),
    ("data", PosixRlimitType::RlimitData, Resource::Data),
    ("fsize", PosixRlimitType::RlimitFsize, Resource::Fsize),
    ("locks", PosixRlimitType::RlimitLocks, Resource::Locks),
    ("memlock", PosixRlimitType::RlimitMemlock, Resource::Memlock),
    (
        "msgqueue",
        PosixRlimitType::RlimitMsgqueue,
        Resource::Msgqueue,
    ),
    ("nice", PosixRlimitType::RlimitNice, Resource::Nice),
    ("nofile", PosixRlimitType::RlimitNofile, Resource::Nofile),
    ("nproc", PosixRlimitType::RlimitNproc, Resource::Nproc),
    ("rss", PosixRlimitType::RlimitRss, Resource::Rss),
    ("rtprio", PosixRlimitType::RlimitRtprio, Resource::Rtprio),
    ("rttime", PosixRlimitType::RlimitRttime, Resource::Rttime),
    (
        "sigpending",
        PosixRlimitType::RlimitSigpending,
        Resource::Sigpending,
    ),
    ("stack", PosixRlimitType::RlimitStack, Resource::Stack),
    ("as", PosixRlimitType::RlimitAs, Resource::As),
];

impl HostInfo {
    pub fn detect() -> Result<Self> {
        let bounding_caps = caps::read(None, CapSet::Bounding)
            .map_err(|err| Error::Host(format!("reading the bounding capability set: {err}")))?;
        let hard_limits = RLIMITS
            .iter()
            .map(|(_, kind, resource)| (*kind, getrlimit(*resource).maximum))
            .collect();
        let uname = rustix::system::uname();
        let kernel = parse_kernel_version(&uname.release().to_string_lossy())
            .ok_or_else(|| Error::Host("unreadable kernel release".into()))?;
        let cgroup = if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
            CgroupLayout::V2
        } else {
            CgroupLayout::V1
        };
        let swap_accounting = match cgroup {
            CgroupLayout::V1 => {
                Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists()
            }
            CgroupLayout::V2 => true,
        };
        Ok(Self {
            bounding_caps,
            hard_limits,
            kernel,
            cgroup,
            swap_accounting,
            dev_dir: PathBuf::from("/dev"),
        })
    }

    /// The caller's hard limit for `kind`; `None` when unlimited.
    pub fn hard_limit(&self, kind: PosixRlimitType) -> Option<u64> {
        self.hard_limits
            .iter()
            .find(|(k, _)| *k == kind)
            .and_then(|(_, limit)| *limit)
    }
}

fn parse_kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(['.', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts
        .next()?
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_release_strings_parse() {
        assert_eq!(parse_kernel_version("6.18.44-fc-v657"), Some((6, 18)));
        assert_eq!(parse_kernel_version("4.8.0"), Some((4, 8)));
        assert_eq!(parse_kernel_version("5.10"), Some((5, 10)));
        assert_eq!(parse_kernel_version("garbage"), None);
    }
}
