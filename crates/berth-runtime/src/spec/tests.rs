//! `build_spec_for` against a host described by hand.

use std::collections::HashSet;
use std::path::PathBuf;

use caps::Capability;
use oci_spec::runtime::{LinuxNamespaceType, PosixRlimitType, Spec};

use super::*;
use crate::error::Error;
use crate::host::{CgroupLayout, HostInfo, RLIMITS};

/// Like this machine: every capability but CAP_SYS_RESOURCE, 20000 open files at most.
fn host() -> HostInfo {
    let mut bounding: HashSet<Capability> = caps::all();
    bounding.remove(&Capability::CAP_SYS_RESOURCE);
    HostInfo {
        bounding_caps: bounding,
        hard_limits: RLIMITS
            .iter()
            .map(|(_, kind, _)| {
                let limit = (*kind == PosixRlimitType::RlimitNofile).then_some(20_000);
                (*kind, limit)
            })
            .collect(),
        kernel: (6, 18),
        cgroup: CgroupLayout::V1,
        swap_accounting: true,
        dev_dir: PathBuf::from("/dev"),
    }
}

fn container(args: &[&str]) -> ContainerSpec {
    ContainerSpec {
        args: args.iter().map(|a| a.to_string()).collect(),
        rootfs: PathBuf::from("/rootfs"),
        ..Default::default()
    }
}

fn build(spec: &ContainerSpec) -> Spec {
    build_spec_for(spec, &host()).expect("spec builds")
}

fn cap_names(spec: &Spec) -> Vec<String> {
    let caps = spec
        .process()
        .as_ref()
        .and_then(|p| p.capabilities().as_ref())
        .and_then(|c| c.bounding().as_ref())
        .expect("bounding set");
    let mut names: Vec<String> = caps.iter().map(|c| format!("CAP_{c}")).collect();
    names.sort();
    names
}

fn mount_destinations(spec: &Spec) -> Vec<String> {
    spec.mounts()
        .as_ref()
        .expect("mounts")
        .iter()
        .map(|m| m.destination().display().to_string())
        .collect()
}

fn mount_options(spec: &Spec, destination: &str) -> Vec<String> {
    spec.mounts()
        .as_ref()
        .expect("mounts")
        .iter()
        .find(|m| m.destination().to_str() == Some(destination))
        .and_then(|m| m.options().clone())
        .unwrap_or_else(|| panic!("no mount at {destination}"))
}

fn rlimit(spec: &Spec, kind: PosixRlimitType) -> Option<(u64, u64)> {
    spec.process()
        .as_ref()?
        .rlimits()
        .as_ref()?
        .iter()
        .find(|r| r.typ() == kind)
        .map(|r| (r.soft(), r.hard()))
}

fn namespaces(spec: &Spec) -> Vec<(LinuxNamespaceType, Option<PathBuf>)> {
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default()
        .into_iter()
        .map(|n| (n.typ(), n.path().clone()))
        .collect()
}

#[test]
fn default_capabilities_are_dockers_fourteen() {
    let set = effective_set(&[], &[], false, &host()).expect("caps");
    assert_eq!(set.bits(), 0xa804_25fb);
    let spec = build(&container(&["true"]));
    assert_eq!(cap_names(&spec).len(), 14);
    let process = spec.process().as_ref().expect("process");
    let caps = process.capabilities().as_ref().expect("caps");
    assert_eq!(caps.effective(), caps.bounding());
    assert_eq!(caps.permitted(), caps.bounding());
    assert!(caps.inheritable().as_ref().is_none_or(|s| s.is_empty()));
    assert!(caps.ambient().as_ref().is_none_or(|s| s.is_empty()));
}

#[test]
fn cap_add_and_drop_follow_dockers_rules() {
    let h = host();
    let strings = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let set = effective_set(
        &strings(&["net_admin"]),
        &strings(&["CAP_CHOWN"]),
        false,
        &h,
    )
    .expect("caps");
    assert!(set.contains(Capability::CAP_NET_ADMIN));
    assert!(!set.contains(Capability::CAP_CHOWN));
    assert!(set.contains(Capability::CAP_KILL));

    let only = effective_set(&strings(&["KILL"]), &strings(&["ALL"]), false, &h).expect("caps");
    assert_eq!(only.iter().collect::<Vec<_>>(), vec![Capability::CAP_KILL]);

    let all_but =
        effective_set(&strings(&["ALL"]), &strings(&["SYS_ADMIN"]), false, &h).expect("caps");
    assert!(all_but.contains(Capability::CAP_SYS_PTRACE));
    assert!(!all_but.contains(Capability::CAP_SYS_ADMIN));
    // "All" is what this process holds: never CAP_SYS_RESOURCE here.
    assert!(!all_but.contains(Capability::CAP_SYS_RESOURCE));

    let err = effective_set(&strings(&["NOT_A_CAP"]), &[], false, &h).expect_err("unknown");
    assert!(matches!(err, Error::UnknownCapability(_)));
    let err = effective_set(&strings(&["SYS_RESOURCE"]), &[], false, &h).expect_err("not held");
    assert!(matches!(err, Error::CapabilityUnavailable(_)));
}

#[test]
fn default_mounts_are_dockers() {
    let spec = build(&container(&["true"]));
    assert_eq!(
        mount_destinations(&spec),
        [
            "/proc",
            "/dev",
            "/dev/pts",
            "/sys",
            "/sys/fs/cgroup",
            "/dev/mqueue",
            "/dev/shm"
        ]
    );
    let pts = mount_options(&spec, "/dev/pts");
    for option in ["newinstance", "ptmxmode=0666", "gid=5", "mode=0620"] {
        assert!(
            pts.contains(&option.to_string()),
            "{option} missing in {pts:?}"
        );
    }
    assert!(mount_options(&spec, "/dev/shm").contains(&"size=67108864".to_string()));
    assert!(mount_options(&spec, "/sys").contains(&"ro".to_string()));
    assert!(mount_options(&spec, "/sys/fs/cgroup").contains(&"ro".to_string()));
}

#[test]
fn user_mounts_replace_defaults_and_come_parents_first() {
    let mut c = container(&["true"]);
    c.shm_size = Some(1 << 20);
    c.mounts = vec![
        Mount::Bind {
            source: "/host/logs".into(),
            destination: "/data/logs".into(),
            readonly: true,
        },
        Mount::Volume {
            source: "/var/lib/berth/volumes/v/_data".into(),
            destination: "/data".into(),
            readonly: false,
        },
        Mount::Tmpfs {
            destination: "/dev/mqueue".into(),
            options: vec!["size=1m".into()],
        },
    ];
    let spec = build(&c);
    let dests = mount_destinations(&spec);
    assert_eq!(dests.iter().filter(|d| *d == "/dev/mqueue").count(), 1);
    let data = dests.iter().position(|d| d == "/data").expect("/data");
    let logs = dests
        .iter()
        .position(|d| d == "/data/logs")
        .expect("/data/logs");
    assert!(data < logs, "{dests:?}");
    assert_eq!(
        mount_options(&spec, "/data/logs"),
        ["rbind", "rprivate", "ro"]
    );
    assert_eq!(mount_options(&spec, "/data"), ["rbind", "rprivate"]);
    assert!(mount_options(&spec, "/dev/mqueue").contains(&"size=1m".to_string()));
    assert!(mount_options(&spec, "/dev/shm").contains(&"size=1048576".to_string()));
}

#[test]
fn masked_and_readonly_paths_default_to_dockers() {
    let spec = build(&container(&["true"]));
    let linux = spec.linux().as_ref().expect("linux");
    let masked = linux.masked_paths().clone().expect("masked");
    for path in [
        "/proc/kcore",
        "/proc/keys",
        "/sys/firmware",
        "/sys/devices/virtual/powercap",
    ] {
        assert!(masked.iter().any(|p| p == path), "{path} not masked");
    }
    let readonly = linux.readonly_paths().clone().expect("readonly");
    assert!(readonly.iter().any(|p| p == "/proc/sys"));
    assert!(readonly.iter().any(|p| p == "/proc/sysrq-trigger"));

    let mut open = container(&["true"]);
    open.masked_paths = Some(Vec::new());
    let spec = build(&open);
    let linux = spec.linux().as_ref().expect("linux");
    assert_eq!(
        linux.masked_paths().clone().unwrap_or_default(),
        Vec::<String>::new()
    );
}

#[test]
fn privileged_lifts_the_confinement() {
    let mut c = container(&["true"]);
    c.privileged = true;
    let spec = build(&c);
    let linux = spec.linux().as_ref().expect("linux");
    assert!(linux.seccomp().is_none());
    assert!(linux.masked_paths().clone().unwrap_or_default().is_empty());
    assert!(linux
        .readonly_paths()
        .clone()
        .unwrap_or_default()
        .is_empty());
    assert_eq!(cap_names(&spec).len(), host().bounding_caps.len());
    assert!(!mount_options(&spec, "/sys").contains(&"ro".to_string()));
    let devices = linux.devices().clone().expect("devices");
    assert!(devices
        .iter()
        .any(|d| d.path().to_str() == Some("/dev/null")));
    let rules = linux
        .resources()
        .as_ref()
        .and_then(|r| r.devices().clone())
        .expect("device rules");
    assert_eq!(rules.len(), 1);
    assert!(rules[0].allow());
}

#[test]
fn default_devices_are_allowed_and_nothing_else() {
    let spec = build(&container(&["true"]));
    let linux = spec.linux().as_ref().expect("linux");
    let devices: Vec<String> = linux
        .devices()
        .clone()
        .expect("devices")
        .iter()
        .map(|d| d.path().display().to_string())
        .collect();
    assert_eq!(
        devices,
        [
            "/dev/null",
            "/dev/zero",
            "/dev/full",
            "/dev/random",
            "/dev/urandom",
            "/dev/tty"
        ]
    );
    let rules = linux
        .resources()
        .as_ref()
        .and_then(|r| r.devices().clone())
        .expect("device rules");
    assert!(!rules[0].allow(), "the first rule denies everything");
    let allows = |major: i64, minor: i64| {
        rules
            .iter()
            .any(|r| r.allow() && r.major() == Some(major) && r.minor().is_none_or(|m| m == minor))
    };
    assert!(allows(1, 3), "null");
    assert!(allows(136, 7), "pty slaves");
    assert!(!allows(5, 1), "console without a terminal");
    assert!(!allows(8, 0), "a disk");
}

#[test]
fn rlimits_never_exceed_the_callers_hard_limit() {
    let spec = build(&container(&["true"]));
    assert_eq!(
        rlimit(&spec, PosixRlimitType::RlimitNofile),
        Some((20_000, 20_000))
    );

    let mut c = container(&["true"]);
    c.rlimits = vec![
        Rlimit {
            name: "nofile".into(),
            soft: 1024,
            hard: 1_000_000,
        },
        Rlimit {
            name: "nproc".into(),
            soft: 100,
            hard: 200,
        },
    ];
    let spec = build(&c);
    assert_eq!(
        rlimit(&spec, PosixRlimitType::RlimitNofile),
        Some((1024, 20_000))
    );
    assert_eq!(
        rlimit(&spec, PosixRlimitType::RlimitNproc),
        Some((100, 200))
    );

    c.rlimits = vec![Rlimit {
        name: "nofiles".into(),
        soft: 1,
        hard: 1,
    }];
    assert!(matches!(
        build_spec_for(&c, &host()),
        Err(Error::UnknownRlimit(_))
    ));
}

#[test]
fn namespaces_follow_the_modes() {
    let spec = build(&container(&["true"]));
    let kinds: Vec<_> = namespaces(&spec).into_iter().map(|(t, _)| t).collect();
    assert_eq!(
        kinds,
        [
            LinuxNamespaceType::Mount,
            LinuxNamespaceType::Network,
            LinuxNamespaceType::Uts,
            LinuxNamespaceType::Pid,
            LinuxNamespaceType::Ipc,
        ],
        "cgroup v1: the host's cgroup namespace, as Docker"
    );

    let mut c = container(&["true"]);
    c.namespaces.network = NamespaceMode::Join("/run/berth/netns/abc".into());
    c.namespaces.pid = NamespaceMode::Host;
    c.namespaces.uts = NamespaceMode::Host;
    c.hostname = Some("web".into());
    let mut v2 = host();
    v2.cgroup = CgroupLayout::V2;
    let spec = build_spec_for(&c, &v2).expect("spec");
    let ns = namespaces(&spec);
    assert!(ns.contains(&(
        LinuxNamespaceType::Network,
        Some("/run/berth/netns/abc".into())
    )));
    assert!(!ns.iter().any(|(t, _)| *t == LinuxNamespaceType::Pid));
    assert!(ns.iter().any(|(t, _)| *t == LinuxNamespaceType::Cgroup));
    assert_eq!(
        spec.hostname(),
        &None,
        "no hostname without a UTS namespace"
    );
}

#[test]
fn environment_gets_path_and_term() {
    let mut c = container(&["true"]);
    c.terminal = true;
    c.env = vec!["A=1".into()];
    let spec = build(&c);
    let env = spec
        .process()
        .as_ref()
        .and_then(|p| p.env().clone())
        .expect("env");
    assert_eq!(
        env,
        [
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "A=1",
            "TERM=xterm"
        ]
    );

    let mut c = container(&["true"]);
    c.env = vec!["PATH=/opt/bin".into()];
    let spec = build(&c);
    let env = spec
        .process()
        .as_ref()
        .and_then(|p| p.env().clone())
        .expect("env");
    assert_eq!(env, ["PATH=/opt/bin"]);
}

#[test]
fn resources_are_converted_as_docker_does() {
    let mut c = container(&["true"]);
    c.resources = Resources {
        memory: Some(256 << 20),
        pids_limit: Some(0),
        ..Default::default()
    }
    .with_cpus(1.5);
    let spec = build(&c);
    let res = spec
        .linux()
        .as_ref()
        .and_then(|l| l.resources().clone())
        .expect("resources");
    let memory = res.memory().as_ref().expect("memory");
    assert_eq!(memory.limit(), Some(256 << 20));
    assert_eq!(
        memory.swap(),
        Some(512 << 20),
        "swap defaults to as much as memory"
    );
    let cpu = res.cpu().as_ref().expect("cpu");
    assert_eq!((cpu.quota(), cpu.period()), (Some(150_000), Some(100_000)));
    assert_eq!(res.pids().as_ref().map(|p| p.limit()), Some(-1));

    let mut no_swap_accounting = host();
    no_swap_accounting.swap_accounting = false;
    let spec = build_spec_for(&c, &no_swap_accounting).expect("spec");
    let res = spec
        .linux()
        .as_ref()
        .and_then(|l| l.resources().clone())
        .expect("resources");
    assert_eq!(res.memory().as_ref().and_then(|m| m.swap()), None);
}

#[test]
fn init_runs_in_front_of_the_command() {
    let mut c = container(&["nginx", "-g", "daemon off;"]);
    c.init = Some("/usr/libexec/berth-init".into());
    let spec = build(&c);
    let args = spec
        .process()
        .as_ref()
        .and_then(|p| p.args().clone())
        .expect("args");
    assert_eq!(args, [INIT_PATH, "--", "nginx", "-g", "daemon off;"]);
    let init = spec
        .mounts()
        .as_ref()
        .and_then(|m| {
            m.iter()
                .find(|m| m.destination().to_str() == Some(INIT_PATH))
        })
        .expect("init mount");
    assert_eq!(
        init.source().as_deref(),
        Some(std::path::Path::new("/usr/libexec/berth-init"))
    );
}

#[test]
fn no_new_privileges_is_absent_unless_asked() {
    let spec = build(&container(&["true"]));
    assert_eq!(
        spec.process().as_ref().and_then(|p| p.no_new_privileges()),
        None
    );
    let mut c = container(&["true"]);
    c.no_new_privileges = true;
    let spec = build(&c);
    assert_eq!(
        spec.process().as_ref().and_then(|p| p.no_new_privileges()),
        Some(true)
    );
}

#[test]
fn an_empty_command_is_refused() {
    assert!(matches!(
        build_spec_for(&container(&[]), &host()),
        Err(Error::InvalidSpec(_))
    ));
}
