//! The embedded runtime's last step inside the container: find the command on PATH and
//! exec it. libcontainer's own executor reports a missing command in words of its own;
//! this one uses runc's, so a missing command is recognised the same way for both
//! runtimes (see `failure.rs`), and a late exec failure exits 127/126 as a shell would.
//!
//! It also loads the container's seccomp filter: a precompiled program for an init or an
//! `exec` (see `filtered_bundle.rs`), or, for a filter with user notification, the spec's
//! section compiled here by libseccomp (libcontainer builds a joining process's spec
//! without the container's `linux.seccomp`, so the filter would be missing otherwise).

use std::ffi::CString;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use libcontainer::oci_spec::runtime::{LinuxSeccomp, Spec};
use libcontainer::workload::{Executor, ExecutorError, ExecutorValidationError};

use super::failure::{NOT_EXECUTABLE, NOT_FOUND, NOT_FOUND_PATH};
use super::filtered_bundle::Filter;

#[derive(Clone, Default)]
pub(crate) struct CommandExecutor {
    /// A precompiled filter to install.
    filter: Option<Filter>,
    /// A filter to compile and install here (one libseccomp must set up a listener for).
    seccomp: Option<LinuxSeccomp>,
}

impl CommandExecutor {
    pub(crate) fn new(filter: Option<Filter>, seccomp: Option<LinuxSeccomp>) -> Self {
        Self { filter, seccomp }
    }
}

/// Why a command cannot run.
enum Unrunnable {
    Missing,
    NotExecutable,
}

impl Executor for CommandExecutor {
    fn validate(&self, spec: &Spec) -> Result<(), ExecutorValidationError> {
        let Some(command) = command(spec) else {
            return Err(ExecutorValidationError::ArgValidationError(
                "no command given".into(),
            ));
        };
        let path_var = path_var(spec);
        match lookup(command, &path_var) {
            Ok(_) => {}
            Err(Unrunnable::Missing) if command.contains('/') => {
                return Err(message(format!(
                    "exec: {command:?}: stat {command}: {NOT_FOUND_PATH}"
                )))
            }
            Err(Unrunnable::Missing) => {
                return Err(message(format!("exec: {command:?}: {NOT_FOUND}")))
            }
            Err(Unrunnable::NotExecutable) => {
                return Err(message(format!("exec: {command:?}: {NOT_EXECUTABLE}")))
            }
        }
        // Here rather than in `exec` so that a failure is reported to the caller like
        // a missing command. libcontainer loads an init's filter at the same point under
        // no-new-privileges: capabilities dropped, only the start handshake and the exec
        // still to come.
        if let Some(filter) = &self.filter {
            filter
                .install()
                .map_err(|err| message(format!("loading the container's seccomp filter: {err}")))?;
        }
        if let Some(seccomp) = &self.seccomp {
            let notify = libcontainer::seccomp::initialize_seccomp(seccomp)
                .map_err(|err| message(format!("loading the container's seccomp filter: {err}")))?;
            if let Some(fd) = notify {
                // A notify listener is not supported for exec; the filter stands alone.
                // SAFETY: `fd` was just returned by libseccomp and is owned by no one else.
                drop(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
        Ok(())
    }

    fn exec(&self, spec: &Spec) -> Result<(), ExecutorError> {
        let args: Vec<CString> = spec
            .process()
            .as_ref()
            .and_then(|p| p.args().as_ref())
            .ok_or(ExecutorError::InvalidArg)?
            .iter()
            .map(|arg| CString::new(arg.as_bytes()).map_err(|_| ExecutorError::InvalidArg))
            .collect::<Result<_, _>>()?;
        let Some(program) = args.first() else {
            return Err(ExecutorError::InvalidArg);
        };
        let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
        reset_signals();
        // SAFETY: argv is a null-terminated array of pointers into `args`, which outlives
        // the call; execvp only returns on failure.
        unsafe { libc::execvp(program.as_ptr(), argv.as_ptr()) };
        let err = std::io::Error::last_os_error();
        // Validation passed, yet exec failed (a script's interpreter is missing, the file
        // changed since): report it on the container's stderr and exit as a shell would.
        let code = match err.raw_os_error() {
            Some(libc::ENOENT) => 127,
            _ => 126,
        };
        eprintln!("exec {:?}: {err}", program);
        // SAFETY: _exit ends this (forked, single-threaded) init without running the
        // parent's atexit handlers or flushing buffers it copied from the parent.
        unsafe { libc::_exit(code) }
    }
}

/// Ignored signals and the blocked mask survive exec. The caller is a Rust program
/// (its runtime ignores SIGPIPE) started from who knows where (a shell may ignore
/// SIGQUIT or SIGHUP), and the command must start as under Docker: every signal at
/// its default, none blocked. Handled signals are reset by exec itself.
fn reset_signals() {
    // SAFETY: signal(2) and sigprocmask(2) on this single-threaded child just before
    // exec; SIG_DFL installs no handler code, and the set is initialised by sigemptyset.
    unsafe {
        for signal in 1..=libc::SIGRTMAX() {
            if signal != libc::SIGKILL && signal != libc::SIGSTOP {
                libc::signal(signal, libc::SIG_DFL);
            }
        }
        let mut empty = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
        libc::sigemptyset(empty.as_mut_ptr());
        libc::sigprocmask(libc::SIG_SETMASK, empty.as_ptr(), std::ptr::null_mut());
    }
}

fn message(text: String) -> ExecutorValidationError {
    ExecutorValidationError::ArgValidationError(text)
}

fn command(spec: &Spec) -> Option<&str> {
    spec.process()
        .as_ref()?
        .args()
        .as_ref()?
        .first()
        .map(String::as_str)
}

fn path_var(spec: &Spec) -> String {
    spec.process()
        .as_ref()
        .and_then(|p| p.env().as_ref())
        .and_then(|env| env.iter().find_map(|e| e.strip_prefix("PATH=")))
        .unwrap_or("")
        .to_string()
}

/// As runc looks a command up: a name with a slash is taken as is; otherwise the first
/// executable file of that name on PATH (a non-executable one there is passed over, so
/// the verdict is "not found", as runc and Docker say).
fn lookup(command: &str, path_var: &str) -> Result<PathBuf, Unrunnable> {
    if command.contains('/') {
        return check(Path::new(command)).map(|()| PathBuf::from(command));
    }
    path_var
        .split(':')
        .map(|dir| Path::new(if dir.is_empty() { "." } else { dir }).join(command))
        .find(|candidate| check(candidate).is_ok())
        .ok_or(Unrunnable::Missing)
}

fn check(path: &Path) -> Result<(), Unrunnable> {
    let meta = std::fs::metadata(path).map_err(|_| Unrunnable::Missing)?;
    if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
        Ok(())
    } else {
        Err(Unrunnable::NotExecutable)
    }
}
