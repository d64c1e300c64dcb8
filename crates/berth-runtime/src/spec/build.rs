//! `build_spec`: a [`ContainerSpec`] with Docker's defaults applied, as an OCI runtime spec.

use std::collections::HashMap;
use std::path::PathBuf;

use oci_spec::runtime::{
    LinuxBuilder, LinuxCapabilities, LinuxCpu, LinuxMemory, LinuxNamespace, LinuxNamespaceType,
    LinuxPids, LinuxResources, Mount as OciMount, PosixRlimit, PosixRlimitBuilder, PosixRlimitType,
    Process, Root, Spec, User as OciUser,
};

use super::capabilities::{effective_set, to_oci};
use super::container::{ContainerSpec, Mount, NamespaceMode, Seccomp};
use super::{defaults, devices};
use crate::error::{Error, Result};
use crate::host::{CgroupLayout, HostInfo, RLIMITS};
use crate::seccomp::{default_profile, Profile, Target};

/// Where `--init` puts the init binary, as Docker does.
pub const INIT_PATH: &str = "/sbin/docker-init";

/// The OCI spec Docker would hand its runtime for `container`, on this host.
pub fn build_spec(container: &ContainerSpec) -> Result<Spec> {
    build_spec_for(container, &HostInfo::detect()?)
}

/// [`build_spec`] against given host facts.
pub fn build_spec_for(container: &ContainerSpec, host: &HostInfo) -> Result<Spec> {
    if container.args.is_empty() {
        return Err(Error::InvalidSpec("no command given".into()));
    }
    let caps = effective_set(
        &container.cap_add,
        &container.cap_drop,
        container.privileged,
        host,
    )?;

    let mut process = Process::default();
    process.set_terminal(Some(container.terminal));
    process.set_console_size(None);
    process.set_args(Some(command_line(container)));
    process.set_env(Some(environment(container)));
    process.set_cwd(PathBuf::from(if container.cwd.is_empty() {
        "/"
    } else {
        &container.cwd
    }));
    let mut user = OciUser::default();
    user.set_uid(container.user.uid);
    user.set_gid(container.user.gid);
    if !container.user.additional_gids.is_empty() {
        user.set_additional_gids(Some(container.user.additional_gids.clone()));
    }
    process.set_user(user);
    let oci_caps = to_oci(&caps)?;
    let mut capabilities = LinuxCapabilities::default();
    // Inheritable stays empty (CVE-2022-24769): exec'd programs gain nothing through it.
    capabilities.set_bounding(Some(oci_caps.clone()));
    capabilities.set_effective(Some(oci_caps.clone()));
    capabilities.set_permitted(Some(oci_caps));
    capabilities.set_inheritable(None);
    capabilities.set_ambient(None);
    process.set_capabilities(Some(capabilities));
    process.set_rlimits(Some(rlimits(container, host)?));
    // Absent rather than `false`: libcontainer 0.7 loads seccomp after dropping
    // capabilities whenever the field is present, which fails unless it is true.
    process.set_no_new_privileges(container.no_new_privileges.then_some(true));
    process.set_oom_score_adj(container.oom_score_adj);
    process.set_apparmor_profile(None);
    process.set_selinux_label(None);

    let mut root = Root::default();
    root.set_path(container.rootfs.clone());
    root.set_readonly(Some(container.readonly_rootfs));

    let private_uts = container.namespaces.uts == NamespaceMode::Private;
    let seccomp = match (&container.seccomp, container.privileged) {
        (_, true) | (Seccomp::Unconfined, _) => None,
        (Seccomp::Default, false) => Some(default_profile()?),
        (Seccomp::Profile(path), false) => Some(Profile::load(path)?),
    };
    let target = Target {
        caps,
        kernel: host.kernel,
    };
    let seccomp = seccomp
        .map(|profile| profile.resolve(&target))
        .transpose()?;

    let (linux_devices, device_rules) = if container.privileged {
        (
            devices::host_devices(&host.dev_dir)?,
            devices::allow_all_rules(),
        )
    } else {
        (
            devices::default_devices(),
            devices::default_device_rules(container.terminal),
        )
    };
    let (masked, readonly) = if container.privileged {
        (Vec::new(), Vec::new())
    } else {
        (
            container
                .masked_paths
                .clone()
                .unwrap_or_else(|| to_strings(defaults::MASKED_PATHS)),
            container
                .readonly_paths
                .clone()
                .unwrap_or_else(|| to_strings(defaults::READONLY_PATHS)),
        )
    };

    let mut linux = LinuxBuilder::default()
        .namespaces(namespaces(container, host))
        .devices(linux_devices)
        .resources(resources(container, host, device_rules))
        .masked_paths(masked)
        .readonly_paths(readonly)
        .build()
        .map_err(|err| Error::InvalidSpec(err.to_string()))?;
    linux.set_seccomp(seccomp);
    linux.set_cgroups_path(container.cgroup_path.as_ref().map(PathBuf::from));
    if !container.sysctls.is_empty() {
        linux.set_sysctl(Some(container.sysctls.clone().into_iter().collect()));
    }

    let mut spec = Spec::default();
    spec.set_version(oci_spec::runtime::VERSION.to_string());
    spec.set_root(Some(root));
    spec.set_mounts(Some(mounts(container)));
    spec.set_process(Some(process));
    spec.set_hostname(container.hostname.clone().filter(|_| private_uts));
    spec.set_annotations(if container.annotations.is_empty() {
        None
    } else {
        Some(
            container
                .annotations
                .clone()
                .into_iter()
                .collect::<HashMap<_, _>>(),
        )
    });
    spec.set_linux(Some(linux));
    Ok(spec)
}

fn to_strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn command_line(container: &ContainerSpec) -> Vec<String> {
    match container.init {
        Some(_) => [INIT_PATH.to_string(), "--".to_string()]
            .into_iter()
            .chain(container.args.iter().cloned())
            .collect(),
        None => container.args.clone(),
    }
}

/// The container's environment plus what Docker adds: a PATH when missing, and
/// `TERM=xterm` for a terminal that has no TERM.
fn environment(container: &ContainerSpec) -> Vec<String> {
    let mut env = container.env.clone();
    let has = |env: &[String], key: &str| env.iter().any(|e| e.split('=').next() == Some(key));
    if !has(&env, "PATH") {
        env.insert(0, defaults::DEFAULT_PATH.to_string());
    }
    if container.terminal && !has(&env, "TERM") {
        env.push("TERM=xterm".to_string());
    }
    env
}

/// The caller's `--ulimit`s, each lowered to the caller's own hard limit (asking for more
/// fails without CAP_SYS_RESOURCE), plus Docker's generous open-files default.
fn rlimits(container: &ContainerSpec, host: &HostInfo) -> Result<Vec<PosixRlimit>> {
    let clamp = |kind: PosixRlimitType, value: u64| match host.hard_limit(kind) {
        Some(hard) => value.min(hard),
        None => value,
    };
    let mut out = Vec::new();
    for wanted in &container.rlimits {
        let kind = RLIMITS
            .iter()
            .find(|(name, _, _)| *name == wanted.name)
            .map(|(_, kind, _)| *kind)
            .ok_or_else(|| Error::UnknownRlimit(wanted.name.clone()))?;
        if wanted.soft > wanted.hard {
            return Err(Error::InvalidSpec(format!(
                "ulimit {}: soft limit {} is above hard limit {}",
                wanted.name, wanted.soft, wanted.hard
            )));
        }
        out.push(rlimit(
            kind,
            clamp(kind, wanted.soft),
            clamp(kind, wanted.hard),
        )?);
    }
    if !out.iter().any(|r| r.typ() == PosixRlimitType::RlimitNofile) {
        let nofile = clamp(PosixRlimitType::RlimitNofile, defaults::DEFAULT_NOFILE);
        out.push(rlimit(PosixRlimitType::RlimitNofile, nofile, nofile)?);
    }
    Ok(out)
}

fn rlimit(kind: PosixRlimitType, soft: u64, hard: u64) -> Result<PosixRlimit> {
    PosixRlimitBuilder::default()
        .typ(kind)
        .soft(soft)
        .hard(hard)
        .build()
        .map_err(|err| Error::InvalidSpec(err.to_string()))
}

fn namespaces(container: &ContainerSpec, host: &HostInfo) -> Vec<LinuxNamespace> {
    let ns = &container.namespaces;
    let cgroup_default = match host.cgroup {
        CgroupLayout::V2 => NamespaceMode::Private,
        CgroupLayout::V1 => NamespaceMode::Host,
    };
    let wanted = [
        (LinuxNamespaceType::Mount, &NamespaceMode::Private),
        (LinuxNamespaceType::Network, &ns.network),
        (LinuxNamespaceType::Uts, &ns.uts),
        (LinuxNamespaceType::Pid, &ns.pid),
        (LinuxNamespaceType::Ipc, &ns.ipc),
        (
            LinuxNamespaceType::Cgroup,
            ns.cgroup.as_ref().unwrap_or(&cgroup_default),
        ),
    ];
    wanted
        .into_iter()
        .filter_map(|(typ, mode)| {
            let path = match mode {
                NamespaceMode::Host => return None,
                NamespaceMode::Private => None,
                NamespaceMode::Join(path) => Some(path.clone()),
            };
            let mut n = LinuxNamespace::default();
            n.set_typ(typ);
            n.set_path(path);
            Some(n)
        })
        .collect()
}

fn resources(
    container: &ContainerSpec,
    host: &HostInfo,
    devices: Vec<oci_spec::runtime::LinuxDeviceCgroup>,
) -> LinuxResources {
    let wanted = &container.resources;
    let mut res = LinuxResources::default();
    res.set_devices(Some(devices));
    if let Some(limit) = wanted.memory.filter(|m| *m > 0) {
        let mut memory = LinuxMemory::default();
        memory.set_limit(Some(limit));
        // Swap limits need swap accounting; Docker warns and leaves them out without it.
        if host.swap_accounting {
            let swap = match wanted.memory_swap {
                Some(swap) if swap != 0 => swap,
                _ => limit.saturating_mul(2),
            };
            memory.set_swap(Some(swap));
        }
        res.set_memory(Some(memory));
    }
    if wanted.cpu_quota.is_some() || wanted.cpu_period.is_some() || wanted.cpu_shares.is_some() {
        let mut cpu = LinuxCpu::default();
        cpu.set_quota(wanted.cpu_quota);
        cpu.set_period(wanted.cpu_period);
        cpu.set_shares(wanted.cpu_shares);
        res.set_cpu(Some(cpu));
    }
    if let Some(limit) = wanted.pids_limit {
        let mut pids = LinuxPids::default();
        // Docker treats zero and negative as "no limit"; the kernel spells that -1 ("max").
        pids.set_limit(if limit > 0 { limit } else { -1 });
        res.set_pids(Some(pids));
    }
    res
}

/// Docker's default mounts, less those a user mount replaces (same place or below it),
/// then the user's, parents before children.
fn mounts(container: &ContainerSpec) -> Vec<OciMount> {
    let replaced = |dest: &str| {
        container.mounts.iter().any(|m| {
            let user = m.destination().trim_end_matches('/');
            dest == user || dest.starts_with(&format!("{user}/"))
        })
    };
    let mut out: Vec<OciMount> = Vec::new();
    for &(dest, typ, source, options) in defaults::MOUNTS {
        if replaced(dest) {
            continue;
        }
        if dest == "/dev/mqueue" && container.namespaces.ipc == NamespaceMode::Host {
            continue;
        }
        let mut options = to_strings(options);
        match dest {
            "/sys" | "/sys/fs/cgroup" if !container.privileged => options.push("ro".into()),
            "/dev/shm" => options.push(format!(
                "size={}",
                container.shm_size.unwrap_or(defaults::DEFAULT_SHM_SIZE)
            )),
            _ => {}
        }
        out.push(oci_mount(dest, typ, source, options));
    }
    let mut user: Vec<&Mount> = container.mounts.iter().collect();
    // Sorting by depth keeps `/data` before `/data/logs`, whatever the order given.
    user.sort_by_key(|m| m.destination().trim_end_matches('/').matches('/').count());
    for m in user {
        out.push(match m {
            Mount::Bind {
                source,
                destination,
                readonly,
            }
            | Mount::Volume {
                source,
                destination,
                readonly,
            } => {
                let mut options = vec!["rbind".to_string(), "rprivate".to_string()];
                if *readonly {
                    options.push("ro".into());
                }
                oci_mount(destination, "bind", &source.to_string_lossy(), options)
            }
            Mount::Tmpfs {
                destination,
                options,
            } => {
                let mut opts = vec![
                    "nosuid".to_string(),
                    "nodev".to_string(),
                    "noexec".to_string(),
                ];
                opts.extend(options.iter().cloned());
                oci_mount(destination, "tmpfs", "tmpfs", opts)
            }
        });
    }
    if let Some(init) = &container.init {
        out.push(oci_mount(
            INIT_PATH,
            "bind",
            &init.to_string_lossy(),
            vec!["rbind".into(), "rprivate".into(), "ro".into()],
        ));
    }
    out
}

fn oci_mount(destination: &str, typ: &str, source: &str, options: Vec<String>) -> OciMount {
    let mut m = OciMount::default();
    m.set_destination(PathBuf::from(destination));
    m.set_typ(Some(typ.to_string()));
    m.set_source(Some(PathBuf::from(source)));
    m.set_options(Some(options));
    m
}
