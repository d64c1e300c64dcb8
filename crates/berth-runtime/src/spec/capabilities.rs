//! Docker's capability rules: the default set, `--cap-add`/`--cap-drop` (with `ALL`),
//! and `--privileged`.

use std::str::FromStr;

use caps::Capability;

use crate::error::{Error, Result};
use crate::host::HostInfo;

/// Docker's default set (moby `oci/caps`), in its order.
pub const DEFAULT_CAPABILITIES: &[Capability] = &[
    Capability::CAP_CHOWN,
    Capability::CAP_DAC_OVERRIDE,
    Capability::CAP_FSETID,
    Capability::CAP_FOWNER,
    Capability::CAP_MKNOD,
    Capability::CAP_NET_RAW,
    Capability::CAP_SETGID,
    Capability::CAP_SETUID,
    Capability::CAP_SETFCAP,
    Capability::CAP_SETPCAP,
    Capability::CAP_NET_BIND_SERVICE,
    Capability::CAP_SYS_CHROOT,
    Capability::CAP_KILL,
    Capability::CAP_AUDIT_WRITE,
];

/// A set of capabilities as the kernel keeps it: one bit per capability number, so
/// `bits()` reads like the `CapEff:` line of /proc/<pid>/status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapabilitySet {
    bits: u64,
}

impl CapabilitySet {
    pub fn bits(&self) -> u64 {
        self.bits
    }

    pub fn contains(&self, cap: Capability) -> bool {
        self.bits & cap.bitmask() != 0
    }

    pub fn insert(&mut self, cap: Capability) {
        self.bits |= cap.bitmask();
    }

    pub fn remove(&mut self, cap: Capability) {
        self.bits &= !cap.bitmask();
    }

    /// The members, by capability number.
    pub fn iter(&self) -> impl Iterator<Item = Capability> + '_ {
        let mut all: Vec<Capability> = caps::all().into_iter().collect();
        all.sort_by_key(|cap| cap.index());
        all.into_iter().filter(|cap| self.contains(*cap))
    }
}

impl FromIterator<Capability> for CapabilitySet {
    fn from_iter<I: IntoIterator<Item = Capability>>(iter: I) -> Self {
        let mut set = Self::default();
        for cap in iter {
            set.insert(cap);
        }
        set
    }
}

/// Applies Docker's rules: privileged gets everything; `ALL` in add starts from everything
/// (less the drops); `ALL` in drop starts from nothing (plus the adds); otherwise the
/// defaults less the drops plus the adds. "Everything" is what the caller itself holds,
/// since no runtime can hand out more.
pub fn effective_set(
    cap_add: &[String],
    cap_drop: &[String],
    privileged: bool,
    host: &HostInfo,
) -> Result<CapabilitySet> {
    let all: CapabilitySet = host.bounding_caps.iter().copied().collect();
    if privileged {
        return Ok(all);
    }
    let adds = parse_list(cap_add)?;
    let drops = parse_list(cap_drop)?;
    let set = if adds.all {
        CapabilitySet {
            bits: all.bits & !drops.named.bits,
        }
    } else if drops.all {
        adds.named
    } else {
        let mut set: CapabilitySet = DEFAULT_CAPABILITIES.iter().copied().collect();
        set.bits &= !drops.named.bits;
        set.bits |= adds.named.bits;
        set
    };
    if let Some(missing) = set.iter().find(|cap| !host.bounding_caps.contains(cap)) {
        return Err(Error::CapabilityUnavailable(missing.to_string()));
    }
    Ok(set)
}

/// A `--cap-add` or `--cap-drop` list: `ALL` and/or named capabilities.
struct Names {
    all: bool,
    named: CapabilitySet,
}

fn parse_list(list: &[String]) -> Result<Names> {
    let mut names = Names {
        all: false,
        named: CapabilitySet::default(),
    };
    for name in list {
        let canonical = canonical_name(name);
        if canonical == "CAP_ALL" {
            names.all = true;
            continue;
        }
        let cap =
            Capability::from_str(&canonical).map_err(|_| Error::UnknownCapability(name.clone()))?;
        names.named.insert(cap);
    }
    Ok(names)
}

/// `net_admin`, `NET_ADMIN` and `CAP_NET_ADMIN` all name the same capability.
fn canonical_name(name: &str) -> String {
    let upper = name.trim().to_ascii_uppercase();
    if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    }
}

/// The same set as the OCI spec spells it.
pub(crate) fn to_oci(set: &CapabilitySet) -> Result<oci_spec::runtime::Capabilities> {
    set.iter()
        .map(|cap| {
            let name = cap.to_string();
            let short = name.trim_start_matches("CAP_");
            oci_spec::runtime::Capability::from_str(short)
                .map_err(|_| Error::UnknownCapability(name.clone()))
        })
        .collect()
}
