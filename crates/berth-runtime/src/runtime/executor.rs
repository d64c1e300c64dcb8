//! The embedded runtime's last step inside the container: find the command on PATH and
//! exec it. libcontainer's own executor reports a missing command in words of its own;
//! this one uses runc's, so a missing command is recognised the same way for both
//! runtimes (see `failure.rs`), and a late exec failure exits 127/126 as a shell would.

use std::ffi::CString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use libcontainer::oci_spec::runtime::Spec;
use libcontainer::workload::{Executor, ExecutorError, ExecutorValidationError};

use super::failure::{NOT_EXECUTABLE, NOT_FOUND, NOT_FOUND_PATH};

#[derive(Clone)]
pub(crate) struct CommandExecutor;

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
            Ok(_) => Ok(()),
            Err(Unrunnable::Missing) if command.contains('/') => Err(message(format!(
                "exec: {command:?}: stat {command}: {NOT_FOUND_PATH}"
            ))),
            Err(Unrunnable::Missing) => Err(message(format!("exec: {command:?}: {NOT_FOUND}"))),
            Err(Unrunnable::NotExecutable) => {
                Err(message(format!("exec: {command:?}: {NOT_EXECUTABLE}")))
            }
        }
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
