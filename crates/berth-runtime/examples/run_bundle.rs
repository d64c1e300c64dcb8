//! Runs an OCI bundle to completion and exits with the container's code, the way the
//! monitor will: `run_bundle <embedded|PATH-to-runc> <bundle> <state-dir>`.
//! Used to time the runtimes against each other (`hyperfine`).

use std::path::PathBuf;

use berth_runtime::{become_subreaper, Embedded, InitProcess, OciBinary, Runtime, Stdio};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(kind), Some(bundle), Some(state)) = (args.next(), args.next(), args.next()) else {
        return Err("usage: run_bundle <embedded|runc-path> <bundle> <state-dir>".into());
    };
    let runtime: Box<dyn Runtime> = if kind == "embedded" {
        Box::new(Embedded::new(&state))
    } else {
        become_subreaper()?;
        Box::new(OciBinary::new(&kind, &state))
    };
    let id = format!("bench-{}", std::process::id());
    let stdio = Stdio::Fds {
        stdin: std::fs::File::open("/dev/null")?.into(),
        stdout: std::io::stdout().as_fd_owned()?,
        stderr: std::io::stderr().as_fd_owned()?,
    };
    let pid = runtime.create(&id, &PathBuf::from(bundle), stdio)?;
    let init = InitProcess::open(pid)?;
    runtime.start(&id)?;
    let status = init.wait()?;
    runtime.delete(&id, false)?;
    std::process::exit(status.code());
}

trait DupFd {
    fn as_fd_owned(&self) -> std::io::Result<std::os::fd::OwnedFd>;
}

impl<T: std::os::fd::AsFd> DupFd for T {
    fn as_fd_owned(&self) -> std::io::Result<std::os::fd::OwnedFd> {
        self.as_fd().try_clone_to_owned()
    }
}
