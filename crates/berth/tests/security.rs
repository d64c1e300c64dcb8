//! Docker's security defaults in a container (capabilities, seccomp, masked and read-only
//! paths, a private /dev, no-new-privileges) and the options that lift them.

mod common;

use common::Berth;

/// Runs `sh -c SCRIPT` in a new busybox container with `opts`; what it printed.
fn sh(b: &Berth, opts: &[&str], script: &str) -> common::Run {
    let mut args = vec!["run", "--rm"];
    args.extend(opts);
    args.extend(["busybox", "sh", "-c", script]);
    b.run_t(&args)
}

fn cap_eff(b: &Berth, opts: &[&str]) -> String {
    let out = sh(b, opts, "grep CapEff /proc/self/status");
    out.ok()
        .trim()
        .trim_start_matches("CapEff:")
        .trim()
        .to_string()
}

#[test]
fn the_default_capabilities_are_dockers_and_cap_flags_change_them() {
    let b = Berth::new();
    b.busybox("busybox");
    assert_eq!(cap_eff(&b, &[]), "00000000a80425fb");
    // CHOWN is bit 0, NET_ADMIN bit 12.
    assert_eq!(cap_eff(&b, &["--cap-drop", "CHOWN"]), "00000000a80425fa");
    assert_eq!(cap_eff(&b, &["--cap-add", "NET_ADMIN"]), "00000000a80435fb");
    assert_eq!(
        cap_eff(&b, &["--cap-add", "cap_net_admin", "--cap-drop", "chown"]),
        "00000000a80435fa"
    );
    assert_eq!(cap_eff(&b, &["--cap-drop", "ALL"]), "0000000000000000");
    assert_eq!(
        cap_eff(&b, &["--cap-drop", "ALL", "--cap-add", "KILL"]),
        "0000000000000020"
    );
    // The bounding set follows too: a dropped capability cannot come back.
    let out = sh(
        &b,
        &["--cap-drop", "CHOWN"],
        "grep CapBnd /proc/self/status",
    );
    assert!(out.ok().contains("00000000a80425fa"), "{out:?}");
    let out = sh(&b, &["--cap-drop", "CHOWN"], "chown 65534 /tmp");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("Operation not permitted"), "{out:?}");

    let err = sh(&b, &["--cap-add", "NOT_A_CAP"], "true")
        .fails(125)
        .to_string();
    assert!(err.contains("NOT_A_CAP"), "{err}");
}

#[test]
fn privileged_has_every_capability_of_the_host() {
    let b = Berth::new();
    b.busybox("busybox");
    let ours = std::fs::read_to_string("/proc/self/status").expect("status");
    let ours = ours
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .expect("CapEff")
        .trim()
        .to_string();
    assert_eq!(cap_eff(&b, &["--privileged"]), ours);
}

#[test]
fn seccomp_refuses_unshare_and_mount_by_default() {
    let b = Berth::new();
    b.busybox("busybox");
    let out = sh(&b, &[], "grep Seccomp: /proc/self/status; unshare -U true");
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stdout, "Seccomp:\t2\n");
    assert!(out.stderr.contains("Operation not permitted"), "{out:?}");

    let out = sh(&b, &[], "mkdir /m && mount -t tmpfs none /m");
    assert_ne!(out.code, 0, "{out:?}");
    // Docker's profile allows these calls to a container given CAP_SYS_ADMIN...
    let out = sh(
        &b,
        &["--cap-add", "SYS_ADMIN"],
        "unshare -U true && echo unshared",
    );
    assert_eq!(
        out.ok(),
        "unshared\n",
        "Docker's profile allows unshare to CAP_SYS_ADMIN"
    );
    // ...and with seccomp unconfined too.
    let out = sh(
        &b,
        &["--security-opt", "seccomp=unconfined", "--cap-add", "SYS_ADMIN"],
        "grep Seccomp: /proc/self/status; mkdir /m && mount -t tmpfs none /m && grep -c ' /m ' /proc/self/mountinfo",
    );
    assert_eq!(out.ok(), "Seccomp:\t0\n1\n");
}

#[test]
fn a_seccomp_profile_file_applies() {
    let b = Berth::new();
    b.busybox("busybox");
    let profile = b.write(
        "profile.json",
        br#"{"defaultAction": "SCMP_ACT_ALLOW",
             "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}"#,
    );
    let opt = format!("seccomp={}", profile.display());
    let out = sh(
        &b,
        &["--security-opt", &opt],
        "touch /f && echo touched; mkdir /d",
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stdout, "touched\n");
    assert!(out.stderr.contains("Operation not permitted"), "{out:?}");
    let err = sh(
        &b,
        &["--security-opt", "seccomp=/no/such/profile.json"],
        "true",
    )
    .fails(125)
    .to_string();
    assert!(err.contains("/no/such/profile.json"), "{err}");
}

#[test]
fn privileged_lifts_seccomp_and_the_masks() {
    let b = Berth::new();
    b.busybox("busybox");
    let out = sh(
        &b,
        &["--privileged"],
        "grep Seccomp: /proc/self/status; mkdir /m && mount -t tmpfs none /m && echo mounted; \
         grep -c -e ' /proc/keys ' -e ' /proc/timer_list ' /proc/self/mountinfo",
    );
    // grep -c exits 1 when it counts nothing.
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stdout, "Seccomp:\t0\nmounted\n0\n");
}

#[test]
fn masked_paths_are_empty_and_proc_sys_and_sys_are_read_only() {
    let b = Berth::new();
    b.busybox("busybox");
    let out = sh(
        &b,
        &[],
        "for p in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug; do \
           if [ -e $p ]; then echo \"$p $(head -c 100 $p 2>/dev/null | wc -c)\"; fi; done; \
         grep -c ' /proc/keys ' /proc/self/mountinfo",
    );
    let text = out.ok();
    for line in text.lines().filter(|l| l.starts_with("/proc")) {
        assert!(line.ends_with(" 0"), "a masked path shows content: {text}");
    }
    assert!(
        text.contains("/proc/keys 0") && text.contains("/proc/timer_list 0"),
        "{text}"
    );
    assert!(text.ends_with("\n1\n"), "{text}");
    // /proc/acpi and /proc/scsi, where they exist, are empty read-only directories.
    let out = sh(
        &b,
        &[],
        "for d in /proc/acpi /proc/scsi; do [ -d $d ] && ls $d; done; true",
    );
    assert_eq!(out.ok(), "");

    let out = sh(&b, &[], "echo x > /proc/sys/kernel/domainname");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("Read-only file system"), "{out:?}");
    // Docker's read-only /proc paths (sysrq-trigger only where the kernel has it).
    let out = sh(
        &b,
        &[],
        "grep -E ' /proc/(bus|fs|irq|sys|sysrq-trigger) ' /proc/self/mountinfo",
    );
    let text = out.ok();
    for p in ["/proc/fs", "/proc/irq", "/proc/sys"] {
        let line = text
            .lines()
            .find(|l| l.split(' ').nth(4) == Some(p))
            .unwrap_or_else(|| panic!("{p} not mounted: {text}"));
        assert!(
            line.split(' ')
                .nth(5)
                .is_some_and(|o| o.split(',').any(|f| f == "ro")),
            "{p} not read-only: {line}"
        );
    }
    let out = sh(&b, &[], "touch /sys/x; grep ' /sys ' /proc/self/mountinfo");
    assert!(out.stderr.contains("Read-only file system"), "{out:?}");
    assert!(out.stdout.contains(" ro,"), "{out:?}");
}

#[test]
fn dev_is_private_with_the_default_devices() {
    let b = Berth::new();
    b.busybox("busybox");
    let out = sh(&b, &[], "ls /dev");
    let listed: Vec<&str> = out.ok().lines().collect();
    for want in [
        "fd", "full", "mqueue", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin",
        "stdout", "tty", "urandom", "zero",
    ] {
        assert!(listed.contains(&want), "no /dev/{want}: {listed:?}");
    }
    let allowed = ["console", "core"];
    for name in &listed {
        let known = [
            "fd", "full", "mqueue", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin",
            "stdout", "tty", "urandom", "zero",
        ];
        assert!(
            known.contains(name) || allowed.contains(name),
            "a host device in /dev: {name} in {listed:?}"
        );
    }
    // The devices work, and a device node made anyway cannot be opened (the cgroup refuses it).
    let out = sh(
        &b,
        &[],
        "head -c 4 /dev/zero | wc -c; echo x > /dev/null && echo null-ok",
    );
    assert_eq!(out.ok(), "4\nnull-ok\n");
    let out = sh(&b, &[], "mknod /dev/mem2 c 1 1 && head -c 1 /dev/mem2");
    assert_ne!(out.code, 0, "{out:?}");
    // --privileged sees the host's devices.
    let out = sh(&b, &["--privileged"], "ls /dev | wc -l");
    let n: usize = out.ok().trim().parse().expect("a count");
    assert!(
        n > listed.len(),
        "privileged /dev has {n} entries, default {}",
        listed.len()
    );
}

#[test]
fn no_new_privileges_is_set_on_request() {
    let b = Berth::new();
    b.busybox("busybox");
    let out = sh(&b, &[], "grep NoNewPrivs /proc/self/status");
    assert_eq!(out.ok(), "NoNewPrivs:\t0\n");
    let out = sh(
        &b,
        &["--security-opt", "no-new-privileges"],
        "grep NoNewPrivs /proc/self/status",
    );
    assert_eq!(out.ok(), "NoNewPrivs:\t1\n");
    let out = sh(
        &b,
        &["--security-opt", "no-new-privileges:true"],
        "grep NoNewPrivs /proc/self/status",
    );
    assert_eq!(out.ok(), "NoNewPrivs:\t1\n");
    let err = sh(&b, &["--security-opt", "bogus"], "true")
        .fails(125)
        .to_string();
    assert!(err.contains("bogus"), "{err}");
}

#[test]
fn seccomp_refuses_keyctl_by_default() {
    // Busybox has no keyctl: the host's perl makes the raw call, with the host's /usr and
    // libraries bound in read-only.
    let nr = match std::env::consts::ARCH {
        "x86_64" => 250,
        "aarch64" => 219,
        other => panic!("no keyctl syscall number known for {other}"),
    };
    assert!(
        std::path::Path::new("/usr/bin/perl").exists(),
        "/usr/bin/perl is missing (Debian's perl-base provides it)"
    );
    let b = Berth::new();
    b.busybox("busybox");
    // KEYCTL_GET_KEYRING_ID (0) of the session keyring (-3), without creating it.
    let script = format!(r#"$r = syscall({nr}, 0, -3, 0); print "$r $!\n""#);
    let keyctl = |opts: &[&str]| {
        let mut args = vec!["run", "--rm"];
        args.extend(opts);
        args.extend([
            "-v",
            "/usr:/usr:ro",
            "-v",
            "/lib:/lib:ro",
            "-v",
            "/lib64:/lib64:ro",
            "busybox",
            "/usr/bin/perl",
            "-e",
            &script,
        ]);
        b.run_t(&args).ok().trim().to_string()
    };
    assert_eq!(keyctl(&[]), "-1 Operation not permitted");
    let unconfined = keyctl(&["--security-opt", "seccomp=unconfined"]);
    assert!(
        !unconfined.contains("Operation not permitted"),
        "{unconfined}"
    );
}
