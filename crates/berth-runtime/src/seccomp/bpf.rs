//! An OCI seccomp section compiled to the classic BPF program the kernel runs, and loaded
//! with seccomp(2) directly.
//!
//! libseccomp turns Docker's ~400-rule profile for three architectures into BPF in about
//! 12 ms; the program only depends on the profile, the library and the kernel, so it is
//! compiled once ([`super::BpfCache`]) and every container loads the same bytes. The
//! program is what `seccomp_load` itself would hand the kernel: it is libseccomp's own
//! export of the filter, built with the semantics runc and libcontainer give the spec.
//!
//! The program is a binary tree of syscall numbers (libseccomp's optimisation level 2), not
//! the default linear list: loading a filter makes the kernel run it once per syscall number
//! of every architecture to fill its action cache, so a linear list of Docker's ~350
//! allowed calls is walked about 450 x 3 times. Measured here, loading Docker's profile
//! took 1.0-1.4 ms as a list of 1,001 instructions and 0.3-0.45 ms as a tree of 1,246, in
//! every container's start (and in every call a container makes that the cache cannot
//! answer, the tree takes a few comparisons instead of up to hundreds).

use std::collections::HashSet;
use std::io::{Read, Seek};

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag,
    LinuxSeccompOperator,
};

use crate::error::{Error, Result};

/// One instruction of a classic BPF program (`struct sock_filter`), as stored.
const INSN_SIZE: usize = 8;
/// The kernel refuses longer filters (BPF_MAXINSNS).
const MAX_INSNS: usize = 4096;

/// A compiled filter: its instructions, and the seccomp(2) flags the spec asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BpfProgram {
    insns: Vec<libc::sock_filter>,
    flags: libc::c_ulong,
}

impl BpfProgram {
    /// The program in `bytes` (libseccomp's export format: native-endian `sock_filter`s)
    /// for `seccomp`. Refuses bytes that cannot be a program.
    pub fn from_bytes(bytes: &[u8], seccomp: &LinuxSeccomp) -> Result<Self> {
        if bytes.is_empty()
            || !bytes.len().is_multiple_of(INSN_SIZE)
            || bytes.len() / INSN_SIZE > MAX_INSNS
        {
            return Err(Error::InvalidSpec(format!(
                "a seccomp program of {} bytes is not a BPF program",
                bytes.len()
            )));
        }
        let insns = bytes
            .chunks_exact(INSN_SIZE)
            .map(|c| libc::sock_filter {
                code: u16::from_ne_bytes([c[0], c[1]]),
                jt: c[2],
                jf: c[3],
                k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect();
        Ok(Self {
            insns,
            flags: load_flags(seccomp),
        })
    }

    pub fn len(&self) -> usize {
        self.insns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.insns.is_empty()
    }

    /// Installs the filter on the calling thread (and so on everything it execs). Needs
    /// no-new-privileges or CAP_SYS_ADMIN, as any seccomp filter does.
    pub fn load(&self) -> std::io::Result<()> {
        let prog = libc::sock_fprog {
            len: self.insns.len() as libc::c_ushort,
            filter: self.insns.as_ptr().cast_mut(),
        };
        // SAFETY: seccomp(2) reads `prog` and the `len` instructions it points to, which
        // `self.insns` owns and which outlive the call; the kernel copies the program.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                self.flags,
                &prog as *const libc::sock_fprog,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }
}

/// Whether [`compile`] can take `seccomp`: a filter with user notification needs a
/// listener fd passed to a supervisor, which only the runtime's own loading does.
pub fn compilable(seccomp: &LinuxSeccomp) -> bool {
    let notify = |a: LinuxSeccompAction| a == LinuxSeccompAction::ScmpActNotify;
    !notify(seccomp.default_action())
        && !seccomp
            .syscalls()
            .iter()
            .flatten()
            .any(|rule| notify(rule.action()))
}

/// Compiles `seccomp` with libseccomp and returns the BPF program as bytes.
pub fn compile(seccomp: &LinuxSeccomp) -> Result<Vec<u8>> {
    if !compilable(seccomp) {
        return Err(Error::InvalidSpec(
            "seccomp notification cannot be precompiled".into(),
        ));
    }
    let fail = |what: &str, err: libseccomp::error::SeccompError| {
        Error::InvalidSpec(format!("seccomp: {what}: {err}"))
    };
    let default = action(seccomp.default_action(), seccomp.default_errno_ret())?;
    let mut ctx = ScmpFilterContext::new(default).map_err(|e| fail("new filter", e))?;
    // The spec, not libseccomp, decides about no-new-privileges.
    ctx.set_ctl_nnp(false)
        .map_err(|e| fail("no_new_privs", e))?;
    ctx.set_ctl_optimize(2)
        .map_err(|e| fail("binary tree", e))?;
    for arch in seccomp.architectures().iter().flatten() {
        ctx.add_arch(architecture(*arch))
            .map_err(|e| fail("adding an architecture", e))?;
    }
    for rule in seccomp.syscalls().iter().flatten() {
        let act = action(rule.action(), rule.errno_ret())?;
        // libseccomp refuses a rule that repeats the default action; it changes nothing.
        if act == default {
            continue;
        }
        let comparisons: Vec<ScmpArgCompare> =
            rule.args().iter().flatten().map(comparison).collect();
        let mut indexes = HashSet::new();
        let repeated = rule
            .args()
            .iter()
            .flatten()
            .any(|a| !indexes.insert(a.index()));
        for name in rule.names() {
            // A name this libseccomp does not know is a call this kernel cannot make.
            let Ok(call) = ScmpSyscall::from_name(name) else {
                continue;
            };
            let added = if comparisons.is_empty() {
                ctx.add_rule(act, call)
            } else if repeated {
                // One argument compared twice in one rule means "either" to runc: libseccomp
                // allows each argument once per rule, so each comparison is a rule of its own.
                comparisons
                    .iter()
                    .try_for_each(|c| {
                        ctx.add_rule_conditional(act, call, std::slice::from_ref(c))
                            .map(drop)
                    })
                    .map(|()| &mut ctx)
            } else {
                ctx.add_rule_conditional(act, call, &comparisons)
            };
            added.map_err(|e| fail(&format!("rule for {name}"), e))?;
        }
    }
    export(&ctx).map_err(|e| Error::io("exporting the seccomp program", e))
}

/// libseccomp writes the program to a file descriptor; an anonymous file takes it.
fn export(ctx: &ScmpFilterContext) -> std::io::Result<Vec<u8>> {
    let fd = rustix::fs::memfd_create("berth-seccomp", rustix::fs::MemfdFlags::CLOEXEC)?;
    let mut file = std::fs::File::from(fd);
    ctx.export_bpf(&file).map_err(std::io::Error::other)?;
    file.rewind()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn load_flags(seccomp: &LinuxSeccomp) -> libc::c_ulong {
    seccomp
        .flags()
        .iter()
        .flatten()
        .map(|flag| match flag {
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => libc::SECCOMP_FILTER_FLAG_TSYNC,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => {
                libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW
            }
            // Only meaningful with a notification listener, which is never precompiled.
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => 0,
        })
        .fold(0, |all, f| all | f)
}

fn action(action: LinuxSeccompAction, errno: Option<u32>) -> Result<ScmpAction> {
    let errno = errno.map_or(libc::EPERM, |e| e as i32);
    Ok(match action {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActErrno => ScmpAction::Errno(errno),
        LinuxSeccompAction::ScmpActTrace => ScmpAction::Trace(
            u16::try_from(errno)
                .map_err(|_| Error::InvalidSpec(format!("seccomp trace value {errno}")))?,
        ),
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActNotify => ScmpAction::Notify,
    })
}

fn comparison(arg: &LinuxSeccompArg) -> ScmpArgCompare {
    let index = arg.index() as u32;
    let op = match arg.op() {
        LinuxSeccompOperator::ScmpCmpNe => ScmpCompareOp::NotEqual,
        LinuxSeccompOperator::ScmpCmpLt => ScmpCompareOp::Less,
        LinuxSeccompOperator::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
        LinuxSeccompOperator::ScmpCmpEq => ScmpCompareOp::Equal,
        LinuxSeccompOperator::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
        LinuxSeccompOperator::ScmpCmpGt => ScmpCompareOp::Greater,
        // As runc reads it (and Docker's profile means it): `value` is the mask and
        // `valueTwo` what the masked argument must equal, so `clone` with
        // {value: CLONE_NEW*, valueTwo: 0} matches only calls that make no namespace.
        LinuxSeccompOperator::ScmpCmpMaskedEq => {
            return ScmpArgCompare::new(
                index,
                ScmpCompareOp::MaskedEqual(arg.value()),
                arg.value_two().unwrap_or(0),
            )
        }
    };
    ScmpArgCompare::new(index, op, arg.value())
}

fn architecture(arch: Arch) -> ScmpArch {
    match arch {
        Arch::ScmpArchNative => ScmpArch::Native,
        Arch::ScmpArchX86 => ScmpArch::X86,
        Arch::ScmpArchX86_64 => ScmpArch::X8664,
        Arch::ScmpArchX32 => ScmpArch::X32,
        Arch::ScmpArchArm => ScmpArch::Arm,
        Arch::ScmpArchAarch64 => ScmpArch::Aarch64,
        Arch::ScmpArchMips => ScmpArch::Mips,
        Arch::ScmpArchMips64 => ScmpArch::Mips64,
        Arch::ScmpArchMips64n32 => ScmpArch::Mips64N32,
        Arch::ScmpArchMipsel => ScmpArch::Mipsel,
        Arch::ScmpArchMipsel64 => ScmpArch::Mipsel64,
        Arch::ScmpArchMipsel64n32 => ScmpArch::Mipsel64N32,
        Arch::ScmpArchPpc => ScmpArch::Ppc,
        Arch::ScmpArchPpc64 => ScmpArch::Ppc64,
        Arch::ScmpArchPpc64le => ScmpArch::Ppc64Le,
        Arch::ScmpArchS390 => ScmpArch::S390,
        Arch::ScmpArchS390x => ScmpArch::S390X,
        Arch::ScmpArchRiscv64 => ScmpArch::Riscv64,
        Arch::ScmpArchParisc => ScmpArch::Parisc,
        Arch::ScmpArchParisc64 => ScmpArch::Parisc64,
        Arch::ScmpArchLoongarch64 => ScmpArch::Loongarch64,
        Arch::ScmpArchM68k => ScmpArch::M68k,
        Arch::ScmpArchSh => ScmpArch::Sh,
        Arch::ScmpArchSheb => ScmpArch::Sheb,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seccomp::{default_profile, Target};
    use crate::spec::DEFAULT_CAPABILITIES;

    fn docker_default() -> LinuxSeccomp {
        default_profile()
            .expect("default profile")
            .resolve(&Target {
                caps: DEFAULT_CAPABILITIES.iter().copied().collect(),
                kernel: (6, 1),
            })
            .expect("resolves")
    }

    /// Runs `probe` in a forked child under `program` (with no-new-privileges, so no
    /// privilege is needed) and returns its exit status. The child makes raw syscalls
    /// only: it was forked from the multi-threaded test harness.
    fn under(program: &BpfProgram, probe: fn() -> i32) -> i32 {
        // SAFETY: the child only calls prctl, seccomp and the probe's raw syscalls, then
        // _exit; it allocates nothing and takes no lock.
        unsafe {
            match libc::fork() {
                0 => {
                    libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                    let code = match program.load() {
                        Ok(()) => probe(),
                        Err(_) => 99,
                    };
                    libc::_exit(code)
                }
                -1 => panic!("fork failed"),
                pid => {
                    let mut status = 0;
                    libc::waitpid(pid, &mut status, 0);
                    assert!(libc::WIFEXITED(status), "status {status:#x}");
                    libc::WEXITSTATUS(status)
                }
            }
        }
    }

    fn errno() -> i32 {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
    }

    #[test]
    fn dockers_profile_compiles_to_a_loadable_program() {
        let filter = docker_default();
        let program = BpfProgram::from_bytes(&compile(&filter).expect("compiles"), &filter)
            .expect("a program");
        assert!(program.len() > 100, "{} instructions", program.len());
        // A plain process runs normally under it.
        assert_eq!(under(&program, || 0), 0);
    }

    #[test]
    fn namespace_calls_are_refused_and_plain_clone_is_not() {
        let filter = docker_default();
        let program = BpfProgram::from_bytes(&compile(&filter).expect("compiles"), &filter)
            .expect("a program");
        // unshare(2) is not allowed at all without CAP_SYS_ADMIN.
        let unshare = under(&program, || {
            // SAFETY: a raw syscall the filter is expected to refuse.
            let rc = unsafe { libc::syscall(libc::SYS_unshare, libc::CLONE_NEWUSER) };
            if rc == -1 {
                errno()
            } else {
                0
            }
        });
        assert_eq!(unshare, libc::EPERM);
        // clone(2) that makes a namespace is refused by the masked comparison of its flags.
        let clone_ns = under(&program, || {
            // SAFETY: raw clone that fork()s when allowed; the child exits at once.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_clone,
                    libc::CLONE_NEWUSER | libc::SIGCHLD,
                    0,
                    0,
                    0,
                    0,
                )
            };
            match rc {
                0 => unsafe { libc::_exit(0) },
                -1 => errno(),
                _ => 0,
            }
        });
        assert_eq!(clone_ns, libc::EPERM);
        let plain_clone = under(&program, || {
            // SAFETY: as above, without namespace flags.
            let rc = unsafe { libc::syscall(libc::SYS_clone, libc::SIGCHLD, 0, 0, 0, 0) };
            match rc {
                0 => unsafe { libc::_exit(0) },
                -1 => errno(),
                _ => 0,
            }
        });
        assert_eq!(plain_clone, 0);
        // keyctl: refused with Docker's errno.
        let keyctl = under(&program, || {
            // SAFETY: a raw syscall the filter is expected to refuse.
            let rc = unsafe { libc::syscall(libc::SYS_keyctl, 0, 0, 0, 0, 0) };
            if rc == -1 {
                errno()
            } else {
                0
            }
        });
        assert_eq!(keyctl, libc::EPERM);
    }

    #[test]
    fn bytes_that_are_no_program_are_refused() {
        let filter = docker_default();
        assert!(BpfProgram::from_bytes(&[], &filter).is_err());
        assert!(BpfProgram::from_bytes(&[0; 12], &filter).is_err());
        assert!(BpfProgram::from_bytes(&vec![0; 8 * 4097], &filter).is_err());
    }

    #[test]
    fn notification_is_left_to_the_runtime() {
        let mut filter = docker_default();
        filter.set_default_action(LinuxSeccompAction::ScmpActNotify);
        assert!(!compilable(&filter));
        assert!(compile(&filter).is_err());
    }
}
