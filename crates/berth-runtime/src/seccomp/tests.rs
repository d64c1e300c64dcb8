//! The default profile fitted to containers with different capabilities and kernels.

use caps::Capability;
use oci_spec::runtime::{Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompOperator};

use super::*;
use crate::spec::{CapabilitySet, DEFAULT_CAPABILITIES};

fn docker_default_caps() -> CapabilitySet {
    DEFAULT_CAPABILITIES.iter().copied().collect()
}

fn resolve(caps: CapabilitySet, kernel: (u32, u32)) -> LinuxSeccomp {
    default_profile()
        .expect("default profile")
        .resolve(&Target { caps, kernel })
        .expect("resolves")
}

/// Whether `name` is allowed without any condition on its arguments.
fn allowed(filter: &LinuxSeccomp, name: &str) -> bool {
    filter
        .syscalls()
        .as_ref()
        .expect("syscalls")
        .iter()
        .any(|s| {
            s.action() == LinuxSeccompAction::ScmpActAllow
                && s.args().as_ref().is_none_or(|a| a.is_empty())
                && s.names().iter().any(|n| n == name)
        })
}

fn rules_for<'a>(filter: &'a LinuxSeccomp, name: &str) -> Vec<&'a oci_spec::runtime::LinuxSyscall> {
    filter
        .syscalls()
        .as_ref()
        .expect("syscalls")
        .iter()
        .filter(|s| s.names().iter().any(|n| n == name))
        .collect()
}

#[test]
fn default_refuses_with_eperm() {
    let filter = resolve(docker_default_caps(), (6, 18));
    assert_eq!(filter.default_action(), LinuxSeccompAction::ScmpActErrno);
    assert_eq!(filter.default_errno_ret(), Some(libc::EPERM as u32));
    if cfg!(target_arch = "x86_64") {
        assert_eq!(
            filter.architectures().clone().unwrap_or_default(),
            [Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32]
        );
    }
}

#[test]
fn a_default_container_is_refused_the_dangerous_calls() {
    let filter = resolve(docker_default_caps(), (6, 18));
    for name in [
        "unshare",
        "mount",
        "umount2",
        "setns",
        "keyctl",
        "add_key",
        "request_key",
        "kexec_load",
        "init_module",
        "bpf",
        "perf_event_open",
        "reboot",
        "swapon",
        "open_by_handle_at",
        "clock_settime",
        "userfaultfd",
    ] {
        assert!(
            rules_for(&filter, name).is_empty(),
            "{name} must not be allowed"
        );
    }
    for name in [
        "read",
        "openat",
        "execve",
        "chroot",
        "socketpair",
        "ptrace",
        "arch_prctl",
    ] {
        if name == "arch_prctl" && !cfg!(target_arch = "x86_64") {
            continue;
        }
        assert!(allowed(&filter, name), "{name} must be allowed");
    }
}

#[test]
fn clone_may_not_make_namespaces_and_clone3_says_enosys() {
    let filter = resolve(docker_default_caps(), (6, 18));
    let clone = rules_for(&filter, "clone");
    assert_eq!(clone.len(), 1);
    let arg = clone[0]
        .args()
        .as_ref()
        .expect("clone has an argument test")[0];
    assert_eq!(arg.op(), LinuxSeccompOperator::ScmpCmpMaskedEq);
    assert_eq!(arg.value_two(), Some(0));
    assert_ne!(arg.value() & libc::CLONE_NEWUSER as u64, 0);
    assert_ne!(arg.value() & libc::CLONE_NEWNS as u64, 0);
    let clone3 = rules_for(&filter, "clone3");
    assert_eq!(clone3.len(), 1);
    assert_eq!(clone3[0].action(), LinuxSeccompAction::ScmpActErrno);
    assert_eq!(clone3[0].errno_ret(), Some(libc::ENOSYS as u32));
}

#[test]
fn sys_admin_opens_mount_and_namespaces() {
    let mut caps = docker_default_caps();
    caps.insert(Capability::CAP_SYS_ADMIN);
    let filter = resolve(caps, (6, 18));
    for name in [
        "mount",
        "unshare",
        "setns",
        "clone",
        "clone3",
        "sethostname",
    ] {
        assert!(
            allowed(&filter, name),
            "{name} must be allowed with CAP_SYS_ADMIN"
        );
    }
    assert_eq!(
        rules_for(&filter, "clone3").len(),
        1,
        "no ENOSYS rule beside the allowance"
    );
}

#[test]
fn ptrace_needs_kernel_4_8_or_sys_ptrace() {
    let old = resolve(docker_default_caps(), (4, 7));
    assert!(!allowed(&old, "ptrace"));
    let mut caps = docker_default_caps();
    caps.insert(Capability::CAP_SYS_PTRACE);
    assert!(allowed(&resolve(caps, (4, 7)), "ptrace"));
}

#[test]
fn sockets_of_every_family_but_alg_and_vsock() {
    let filter = resolve(docker_default_caps(), (6, 18));
    let socket = rules_for(&filter, "socket");
    let admits = |family: u64| {
        socket.iter().any(|rule| {
            rule.args()
                .as_ref()
                .expect("socket rules test the family")
                .iter()
                .all(|a| match a.op() {
                    LinuxSeccompOperator::ScmpCmpLt => family < a.value(),
                    LinuxSeccompOperator::ScmpCmpGt => family > a.value(),
                    LinuxSeccompOperator::ScmpCmpEq => family == a.value(),
                    _ => false,
                })
        })
    };
    for family in [
        libc::AF_UNIX,
        libc::AF_INET,
        libc::AF_INET6,
        libc::AF_NETLINK,
        39,
        44,
    ] {
        assert!(admits(family as u64), "family {family}");
    }
    assert!(!admits(libc::AF_ALG as u64));
    assert!(!admits(libc::AF_VSOCK as u64));
}

#[test]
fn a_docker_format_file_is_read_and_fitted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("profile.json");
    std::fs::write(
        &path,
        r#"{
            "defaultAction": "SCMP_ACT_ERRNO",
            "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]},
                        {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
            "syscalls": [
                {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
                {"name": "exit", "action": "SCMP_ACT_ALLOW"},
                {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
                {"names": ["future_call"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "9.1"}},
                {"names": ["uname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
                 "excludes": {"caps": ["CAP_SYS_ADMIN"]}}
            ]
        }"#,
    )
    .expect("write profile");
    let profile = Profile::load(&path).expect("loads");
    let filter = profile
        .resolve(&Target {
            caps: docker_default_caps(),
            kernel: (6, 18),
        })
        .expect("resolves");
    assert!(allowed(&filter, "read") && allowed(&filter, "exit"));
    assert!(rules_for(&filter, "mount").is_empty());
    assert!(rules_for(&filter, "future_call").is_empty());
    assert_eq!(rules_for(&filter, "uname")[0].errno_ret(), Some(38));
    if cfg!(target_arch = "x86_64") {
        assert_eq!(
            filter.architectures().clone().unwrap_or_default(),
            [Arch::ScmpArchX86_64, Arch::ScmpArchX86]
        );
    }
}

#[test]
fn a_broken_file_is_an_invalid_spec() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("profile.json");
    std::fs::write(&path, r#"{"syscalls": []}"#).expect("write");
    assert!(matches!(
        Profile::load(&path),
        Err(crate::Error::InvalidSpec(_))
    ));
}
