//! A seccomp profile in Docker's file format (`--security-opt seccomp=file.json`), and how
//! it becomes the OCI `LinuxSeccomp` for one container: rules are kept or left out by the
//! container's capabilities, the host's architecture and kernel version.

use std::path::Path;

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompBuilder,
    LinuxSeccompFilterFlag, LinuxSyscall, LinuxSyscallBuilder,
};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::spec::CapabilitySet;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub default_action: LinuxSeccompAction,
    #[serde(default)]
    pub default_errno_ret: Option<u32>,
    /// Used when `arch_map` is empty.
    #[serde(default)]
    pub architectures: Vec<Arch>,
    /// Per native architecture, the ones its binaries may also use (x86 on x86_64).
    #[serde(default)]
    pub arch_map: Vec<ArchMap>,
    #[serde(default)]
    pub flags: Vec<LinuxSeccompFilterFlag>,
    #[serde(default)]
    pub syscalls: Vec<Rule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchMap {
    pub architecture: Arch,
    #[serde(default)]
    pub sub_architectures: Vec<Arch>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    #[serde(default)]
    pub names: Vec<String>,
    /// The profile format before `names` existed.
    #[serde(default)]
    pub name: Option<String>,
    pub action: LinuxSeccompAction,
    #[serde(default)]
    pub errno_ret: Option<u32>,
    /// All must hold for the rule to match.
    #[serde(default)]
    pub args: Vec<LinuxSeccompArg>,
    #[serde(default)]
    pub includes: Filter,
    #[serde(default)]
    pub excludes: Filter,
}

/// When a rule applies. In `includes` every listed item must hold; in `excludes` any
/// listed item that holds drops the rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    /// Capability names, `CAP_SYS_ADMIN` style.
    #[serde(default)]
    pub caps: Vec<String>,
    /// Go architecture names, as Docker writes them: `amd64`, `arm64`, `x86`, `x32`.
    #[serde(default)]
    pub arches: Vec<String>,
    #[serde(default, deserialize_with = "kernel_version")]
    pub min_kernel: Option<(u32, u32)>,
}

/// What the profile is evaluated against.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub caps: CapabilitySet,
    pub kernel: (u32, u32),
}

impl Profile {
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            context: format!("reading seccomp profile {}", path.display()),
            source,
        })?;
        serde_json::from_slice(&bytes)
            .map_err(|err| Error::InvalidSpec(format!("seccomp profile {}: {err}", path.display())))
    }

    /// The filter for one container on this host.
    pub fn resolve(&self, target: &Target) -> Result<LinuxSeccomp> {
        let native = native_arch();
        let architectures: Vec<Arch> = if self.arch_map.is_empty() {
            self.architectures.clone()
        } else {
            self.arch_map
                .iter()
                .filter(|map| Some(map.architecture) == native)
                .flat_map(|map| {
                    std::iter::once(map.architecture).chain(map.sub_architectures.iter().copied())
                })
                .collect()
        };
        let syscalls = self
            .syscalls
            .iter()
            .filter(|rule| rule.applies_to(target))
            .map(Rule::to_oci)
            .collect::<Result<Vec<LinuxSyscall>>>()?;
        let mut builder = LinuxSeccompBuilder::default()
            .default_action(self.default_action)
            .syscalls(syscalls);
        if let Some(errno) = self.default_errno_ret {
            builder = builder.default_errno_ret(errno);
        }
        if !architectures.is_empty() {
            builder = builder.architectures(architectures);
        }
        if !self.flags.is_empty() {
            builder = builder.flags(self.flags.clone());
        }
        builder
            .build()
            .map_err(|err| Error::InvalidSpec(err.to_string()))
    }
}

impl Rule {
    fn applies_to(&self, target: &Target) -> bool {
        let arch = go_arch();
        let has_cap = |name: &String| {
            name.parse::<caps::Capability>()
                .map(|cap| target.caps.contains(cap))
                .unwrap_or(false)
        };
        let inc = &self.includes;
        if !inc.arches.is_empty() && !inc.arches.iter().any(|a| a == arch) {
            return false;
        }
        if !inc.caps.iter().all(has_cap) {
            return false;
        }
        if inc.min_kernel.is_some_and(|min| target.kernel < min) {
            return false;
        }
        let exc = &self.excludes;
        if exc.arches.iter().any(|a| a == arch) || exc.caps.iter().any(has_cap) {
            return false;
        }
        if exc.min_kernel.is_some_and(|min| target.kernel >= min) {
            return false;
        }
        true
    }

    fn to_oci(&self) -> Result<LinuxSyscall> {
        let names = if self.names.is_empty() {
            self.name.iter().cloned().collect()
        } else {
            self.names.clone()
        };
        let mut builder = LinuxSyscallBuilder::default()
            .names(names)
            .action(self.action);
        if let Some(errno) = self.errno_ret {
            builder = builder.errno_ret(errno);
        }
        if !self.args.is_empty() {
            builder = builder.args(self.args.clone());
        }
        builder
            .build()
            .map_err(|err| Error::InvalidSpec(err.to_string()))
    }
}

/// The host's architecture as the seccomp filter names it.
fn native_arch() -> Option<Arch> {
    match std::env::consts::ARCH {
        "x86_64" => Some(Arch::ScmpArchX86_64),
        "x86" => Some(Arch::ScmpArchX86),
        "aarch64" => Some(Arch::ScmpArchAarch64),
        "arm" => Some(Arch::ScmpArchArm),
        "riscv64" => Some(Arch::ScmpArchRiscv64),
        "s390x" => Some(Arch::ScmpArchS390x),
        "powerpc64" => Some(Arch::ScmpArchPpc64le),
        "loongarch64" => Some(Arch::ScmpArchLoongarch64),
        _ => None,
    }
}

/// The host's architecture as Docker profiles name it (Go's GOARCH).
pub(crate) fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

fn kernel_version<'de, D: serde::Deserializer<'de>>(
    de: D,
) -> std::result::Result<Option<(u32, u32)>, D::Error> {
    let text: Option<String> = Option::deserialize(de)?;
    let Some(text) = text else { return Ok(None) };
    let mut parts = text.split('.');
    let parse = |part: Option<&str>| -> std::result::Result<u32, D::Error> {
        part.unwrap_or("0")
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("bad kernel version {text:?}")))
    };
    let major = parse(parts.next())?;
    let minor = parse(parts.next())?;
    Ok(Some((major, minor)))
}
