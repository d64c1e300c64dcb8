//! Docker's default seccomp behaviour, written as our own table: refuse with EPERM
//! whatever is not listed; allow the ordinary system calls of a process; allow the
//! powerful ones only when the container holds the capability that guards them; keep
//! plain `clone` from creating namespaces and `personality` to the harmless personas.

use oci_spec::runtime::{
    Arch, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompArgBuilder, LinuxSeccompOperator,
};

use super::profile::{ArchMap, Filter, Profile, Rule};
use crate::error::{Error, Result};

/// When a group of rules is part of the filter.
enum When {
    Always,
    /// The container holds this capability.
    Cap(&'static str),
    /// The container does not hold this capability.
    LacksCap(&'static str),
    /// The host is one of these (Go-named) architectures.
    Arch(&'static [&'static str]),
    /// The kernel is at least this version.
    Kernel(u32, u32),
}

enum Verdict {
    Allow,
    /// Fail with this errno instead of running the call.
    Fail(i32),
}

/// A condition on one argument: (index, op, value, mask-or-second-value).
type ArgTest = (usize, LinuxSeccompOperator, u64, u64);

struct Group {
    when: When,
    verdict: Verdict,
    args: &'static [ArgTest],
    names: &'static [&'static str],
}

const fn allow(when: When, names: &'static [&'static str]) -> Group {
    Group {
        when,
        verdict: Verdict::Allow,
        args: &[],
        names,
    }
}

const fn allow_if(names: &'static [&'static str], args: &'static [ArgTest]) -> Group {
    Group {
        when: When::Always,
        verdict: Verdict::Allow,
        args,
        names,
    }
}

use LinuxSeccompOperator::{
    ScmpCmpEq as EQ, ScmpCmpGt as GT, ScmpCmpLt as LT, ScmpCmpMaskedEq as MASKED_EQ,
};

const AF_ALG: u64 = 38;
const AF_VSOCK: u64 = 40;
/// Flags of `clone` that make new namespaces; without CAP_SYS_ADMIN none may be set.
const NAMESPACE_FLAGS: u64 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWCGROUP) as u64;

const GROUPS: &[Group] = &[
    // Files, directories, links and their metadata.
    allow(
        When::Always,
        &[
            "access",
            "chdir",
            "chmod",
            "chown",
            "chown32",
            "close",
            "close_range",
            "copy_file_range",
            "creat",
            "dup",
            "dup2",
            "dup3",
            "faccessat",
            "faccessat2",
            "fadvise64",
            "fadvise64_64",
            "fallocate",
            "fchdir",
            "fchmod",
            "fchmodat",
            "fchmodat2",
            "fchown",
            "fchown32",
            "fchownat",
            "fcntl",
            "fcntl64",
            "fdatasync",
            "flock",
            "fstat",
            "fstat64",
            "fstatat64",
            "fstatfs",
            "fstatfs64",
            "fsync",
            "ftruncate",
            "ftruncate64",
            "futimesat",
            "getcwd",
            "getdents",
            "getdents64",
            "lchown",
            "lchown32",
            "link",
            "linkat",
            "_llseek",
            "lseek",
            "lstat",
            "lstat64",
            "mkdir",
            "mkdirat",
            "mknod",
            "mknodat",
            "name_to_handle_at",
            "newfstatat",
            "open",
            "openat",
            "openat2",
            "pread64",
            "preadv",
            "preadv2",
            "pwrite64",
            "pwritev",
            "pwritev2",
            "read",
            "readahead",
            "readlink",
            "readlinkat",
            "readv",
            "rename",
            "renameat",
            "renameat2",
            "rmdir",
            "sendfile",
            "sendfile64",
            "splice",
            "stat",
            "stat64",
            "statfs",
            "statfs64",
            "statx",
            "symlink",
            "symlinkat",
            "sync",
            "sync_file_range",
            "syncfs",
            "tee",
            "truncate",
            "truncate64",
            "umask",
            "unlink",
            "unlinkat",
            "utime",
            "utimensat",
            "utimensat_time64",
            "utimes",
            "vmsplice",
            "write",
            "writev",
            "cachestat",
            "listmount",
            "statmount",
        ],
    ),
    // Extended attributes.
    allow(
        When::Always,
        &[
            "fgetxattr",
            "flistxattr",
            "fremovexattr",
            "fsetxattr",
            "getxattr",
            "getxattrat",
            "lgetxattr",
            "listxattr",
            "listxattrat",
            "llistxattr",
            "lremovexattr",
            "lsetxattr",
            "removexattr",
            "removexattrat",
            "setxattr",
            "setxattrat",
        ],
    ),
    // Waiting on many descriptors, events, notifications and async I/O.
    allow(
        When::Always,
        &[
            "epoll_create",
            "epoll_create1",
            "epoll_ctl",
            "epoll_ctl_old",
            "epoll_pwait",
            "epoll_pwait2",
            "epoll_wait",
            "epoll_wait_old",
            "eventfd",
            "eventfd2",
            "fanotify_mark",
            "inotify_add_watch",
            "inotify_init",
            "inotify_init1",
            "inotify_rm_watch",
            "io_cancel",
            "io_destroy",
            "io_getevents",
            "io_pgetevents",
            "io_pgetevents_time64",
            "io_setup",
            "io_submit",
            "ioctl",
            "_newselect",
            "pipe",
            "pipe2",
            "poll",
            "ppoll",
            "ppoll_time64",
            "pselect6",
            "pselect6_time64",
            "select",
            "signalfd",
            "signalfd4",
            "timerfd_create",
            "timerfd_gettime",
            "timerfd_gettime64",
            "timerfd_settime",
            "timerfd_settime64",
        ],
    ),
    // Memory.
    allow(
        When::Always,
        &[
            "brk",
            "madvise",
            "map_shadow_stack",
            "membarrier",
            "memfd_create",
            "memfd_secret",
            "mincore",
            "mlock",
            "mlock2",
            "mlockall",
            "mmap",
            "mmap2",
            "mprotect",
            "mremap",
            "mseal",
            "msync",
            "munlock",
            "munlockall",
            "munmap",
            "pkey_alloc",
            "pkey_free",
            "pkey_mprotect",
            "remap_file_pages",
        ],
    ),
    // Processes, threads, identity, limits and scheduling.
    allow(
        When::Always,
        &[
            "capget",
            "capset",
            "execve",
            "execveat",
            "exit",
            "exit_group",
            "fork",
            "vfork",
            "futex",
            "futex_requeue",
            "futex_time64",
            "futex_wait",
            "futex_waitv",
            "futex_wake",
            "getcpu",
            "getegid",
            "getegid32",
            "geteuid",
            "geteuid32",
            "getgid",
            "getgid32",
            "getgroups",
            "getgroups32",
            "getpgid",
            "getpgrp",
            "getpid",
            "getppid",
            "getpriority",
            "getresgid",
            "getresgid32",
            "getresuid",
            "getresuid32",
            "getrlimit",
            "get_robust_list",
            "getrusage",
            "getsid",
            "get_thread_area",
            "gettid",
            "getuid",
            "getuid32",
            "ioprio_get",
            "ioprio_set",
            "landlock_add_rule",
            "landlock_create_ruleset",
            "landlock_restrict_self",
            "pidfd_open",
            "prctl",
            "prlimit64",
            "process_mrelease",
            "restart_syscall",
            "rseq",
            "sched_getaffinity",
            "sched_getattr",
            "sched_getparam",
            "sched_get_priority_max",
            "sched_get_priority_min",
            "sched_getscheduler",
            "sched_rr_get_interval",
            "sched_rr_get_interval_time64",
            "sched_setaffinity",
            "sched_setattr",
            "sched_setparam",
            "sched_setscheduler",
            "sched_yield",
            "seccomp",
            "setfsgid",
            "setfsgid32",
            "setfsuid",
            "setfsuid32",
            "setgid",
            "setgid32",
            "setgroups",
            "setgroups32",
            "setpgid",
            "setpriority",
            "setregid",
            "setregid32",
            "setresgid",
            "setresgid32",
            "setresuid",
            "setresuid32",
            "setreuid",
            "setreuid32",
            "setrlimit",
            "set_robust_list",
            "setsid",
            "set_thread_area",
            "set_tid_address",
            "setuid",
            "setuid32",
            "ugetrlimit",
            "uname",
            "sysinfo",
            "wait4",
            "waitid",
            "waitpid",
            "getrandom",
            "uretprobe",
            "riscv_hwprobe",
        ],
    ),
    // Signals.
    allow(
        When::Always,
        &[
            "alarm",
            "kill",
            "pause",
            "pidfd_send_signal",
            "rt_sigaction",
            "rt_sigpending",
            "rt_sigprocmask",
            "rt_sigqueueinfo",
            "rt_sigreturn",
            "rt_sigsuspend",
            "rt_sigtimedwait",
            "rt_sigtimedwait_time64",
            "rt_tgsigqueueinfo",
            "sigaltstack",
            "sigprocmask",
            "sigreturn",
            "tgkill",
            "tkill",
        ],
    ),
    // Clocks and timers (reading them; setting the clock needs CAP_SYS_TIME below).
    allow(
        When::Always,
        &[
            "adjtimex",
            "clock_adjtime",
            "clock_adjtime64",
            "clock_getres",
            "clock_getres_time64",
            "clock_gettime",
            "clock_gettime64",
            "clock_nanosleep",
            "clock_nanosleep_time64",
            "getitimer",
            "gettimeofday",
            "nanosleep",
            "setitimer",
            "time",
            "timer_create",
            "timer_delete",
            "timer_getoverrun",
            "timer_gettime",
            "timer_gettime64",
            "timer_settime",
            "timer_settime64",
            "times",
        ],
    ),
    // Sockets (socket(2) itself is filtered by family below).
    allow(
        When::Always,
        &[
            "accept",
            "accept4",
            "bind",
            "connect",
            "getpeername",
            "getsockname",
            "getsockopt",
            "listen",
            "recv",
            "recvfrom",
            "recvmmsg",
            "recvmmsg_time64",
            "recvmsg",
            "send",
            "sendmmsg",
            "sendmsg",
            "sendto",
            "setsockopt",
            "shutdown",
            "socketcall",
            "socketpair",
        ],
    ),
    // System V and POSIX IPC.
    allow(
        When::Always,
        &[
            "ipc",
            "mq_getsetattr",
            "mq_notify",
            "mq_open",
            "mq_timedreceive",
            "mq_timedreceive_time64",
            "mq_timedsend",
            "mq_timedsend_time64",
            "mq_unlink",
            "msgctl",
            "msgget",
            "msgrcv",
            "msgsnd",
            "semctl",
            "semget",
            "semop",
            "semtimedop",
            "semtimedop_time64",
            "shmat",
            "shmctl",
            "shmdt",
            "shmget",
        ],
    ),
    // Tracing one's own children became safe once the kernel checked it against seccomp (4.8).
    allow(
        When::Kernel(4, 8),
        &["ptrace", "process_vm_readv", "process_vm_writev"],
    ),
    // Any socket family but the kernel crypto API and VM sockets.
    allow_if(&["socket"], &[(0, LT, AF_ALG, 0)]),
    allow_if(&["socket"], &[(0, EQ, AF_ALG + 1, 0)]),
    allow_if(&["socket"], &[(0, GT, AF_VSOCK, 0)]),
    // The default persona, its Linux-32 variant, with or without ADDR_NO_RANDOMIZE, and the query.
    allow_if(&["personality"], &[(0, EQ, 0x0, 0)]),
    allow_if(&["personality"], &[(0, EQ, 0x0008, 0)]),
    allow_if(&["personality"], &[(0, EQ, 0x20000, 0)]),
    allow_if(&["personality"], &[(0, EQ, 0x20008, 0)]),
    allow_if(&["personality"], &[(0, EQ, 0xffff_ffff, 0)]),
    // Per-architecture calls.
    allow(When::Arch(&["amd64", "x32"]), &["arch_prctl"]),
    allow(When::Arch(&["amd64", "x32", "x86"]), &["modify_ldt"]),
    allow(
        When::Arch(&["arm", "arm64"]),
        &[
            "arm_fadvise64_64",
            "arm_sync_file_range",
            "sync_file_range2",
            "breakpoint",
            "cacheflush",
            "set_tls",
        ],
    ),
    allow(
        When::Arch(&["ppc64le"]),
        &["sync_file_range2", "swapcontext"],
    ),
    allow(
        When::Arch(&["s390", "s390x"]),
        &[
            "s390_pci_mmio_read",
            "s390_pci_mmio_write",
            "s390_runtime_instr",
        ],
    ),
    allow(When::Arch(&["riscv64"]), &["riscv_flush_icache"]),
    // Calls that only a capability makes safe to allow.
    allow(
        When::Cap("CAP_SYS_ADMIN"),
        &[
            "bpf",
            "clone",
            "clone3",
            "fanotify_init",
            "fsconfig",
            "fsmount",
            "fsopen",
            "fspick",
            "lookup_dcookie",
            "lsm_get_self_attr",
            "lsm_list_modules",
            "lsm_set_self_attr",
            "mount",
            "mount_setattr",
            "move_mount",
            "open_tree",
            "perf_event_open",
            "quotactl",
            "quotactl_fd",
            "setdomainname",
            "sethostname",
            "setns",
            "syslog",
            "umount",
            "umount2",
            "unshare",
        ],
    ),
    allow(When::Cap("CAP_DAC_READ_SEARCH"), &["open_by_handle_at"]),
    allow(When::Cap("CAP_SYS_BOOT"), &["reboot"]),
    allow(When::Cap("CAP_SYS_CHROOT"), &["chroot"]),
    allow(
        When::Cap("CAP_SYS_MODULE"),
        &["delete_module", "init_module", "finit_module"],
    ),
    allow(When::Cap("CAP_SYS_PACCT"), &["acct"]),
    allow(
        When::Cap("CAP_SYS_PTRACE"),
        &[
            "kcmp",
            "pidfd_getfd",
            "process_madvise",
            "process_vm_readv",
            "process_vm_writev",
            "ptrace",
        ],
    ),
    allow(When::Cap("CAP_SYS_RAWIO"), &["iopl", "ioperm"]),
    allow(
        When::Cap("CAP_SYS_TIME"),
        &["settimeofday", "stime", "clock_settime", "clock_settime64"],
    ),
    allow(When::Cap("CAP_SYS_TTY_CONFIG"), &["vhangup"]),
    allow(
        When::Cap("CAP_SYS_NICE"),
        &[
            "get_mempolicy",
            "mbind",
            "set_mempolicy",
            "set_mempolicy_home_node",
        ],
    ),
    allow(When::Cap("CAP_SYSLOG"), &["syslog"]),
    allow(When::Cap("CAP_BPF"), &["bpf"]),
    allow(When::Cap("CAP_PERFMON"), &["perf_event_open"]),
    // Without CAP_SYS_ADMIN: threads and processes, but no new namespaces.
    Group {
        when: When::LacksCap("CAP_SYS_ADMIN"),
        verdict: Verdict::Allow,
        args: &[(CLONE_FLAGS_ARG, MASKED_EQ, NAMESPACE_FLAGS, 0)],
        names: &["clone"],
    },
    // clone3 passes its flags in memory, out of a filter's sight: answer "not implemented"
    // so that libc falls back to clone, which the rule above can inspect.
    Group {
        when: When::LacksCap("CAP_SYS_ADMIN"),
        verdict: Verdict::Fail(libc::ENOSYS),
        args: &[],
        names: &["clone3"],
    },
];

/// s390 swaps the first two arguments of clone.
const CLONE_FLAGS_ARG: usize = if cfg!(target_arch = "s390x") { 1 } else { 0 };

/// Docker's default profile as a [`Profile`], before it is fitted to a container.
pub fn default_profile() -> Result<Profile> {
    Ok(Profile {
        default_action: LinuxSeccompAction::ScmpActErrno,
        default_errno_ret: Some(libc::EPERM as u32),
        architectures: Vec::new(),
        arch_map: arch_map(),
        flags: Vec::new(),
        syscalls: GROUPS.iter().map(Group::to_rule).collect::<Result<_>>()?,
    })
}

impl Group {
    fn to_rule(&self) -> Result<Rule> {
        let mut includes = Filter::default();
        let mut excludes = Filter::default();
        match self.when {
            When::Always => {}
            When::Cap(cap) => includes.caps.push(cap.to_string()),
            When::LacksCap(cap) => excludes.caps.push(cap.to_string()),
            When::Arch(arches) => includes.arches = arches.iter().map(|a| a.to_string()).collect(),
            When::Kernel(major, minor) => includes.min_kernel = Some((major, minor)),
        }
        let (action, errno_ret) = match self.verdict {
            Verdict::Allow => (LinuxSeccompAction::ScmpActAllow, None),
            Verdict::Fail(errno) => (LinuxSeccompAction::ScmpActErrno, Some(errno as u32)),
        };
        let args = self
            .args
            .iter()
            .map(|&(index, op, value, value_two)| {
                let arg = LinuxSeccompArgBuilder::default()
                    .index(index)
                    .op(op)
                    .value(value);
                let arg = if op == MASKED_EQ {
                    arg.value_two(value_two)
                } else {
                    arg
                };
                arg.build()
            })
            .collect::<Result<Vec<LinuxSeccompArg>, _>>()
            .map_err(|err| Error::InvalidSpec(err.to_string()))?;
        Ok(Rule {
            names: self.names.iter().map(|n| n.to_string()).collect(),
            name: None,
            action,
            errno_ret,
            args,
            includes,
            excludes,
        })
    }
}

/// Binaries of these older or narrower ABIs run on each 64-bit host and must be filtered too.
fn arch_map() -> Vec<ArchMap> {
    let map = |architecture, sub: &[Arch]| ArchMap {
        architecture,
        sub_architectures: sub.to_vec(),
    };
    vec![
        map(
            Arch::ScmpArchX86_64,
            &[Arch::ScmpArchX86, Arch::ScmpArchX32],
        ),
        map(Arch::ScmpArchAarch64, &[Arch::ScmpArchArm]),
        map(Arch::ScmpArchS390x, &[Arch::ScmpArchS390]),
        map(Arch::ScmpArchRiscv64, &[]),
        map(Arch::ScmpArchLoongarch64, &[]),
        map(Arch::ScmpArchPpc64le, &[]),
    ]
}
