//! Shared helpers of the runtime tests: a busybox rootfs, a bundle per container, and
//! running a container to completion with its output captured.

#![allow(dead_code)]

pub mod cases;
mod rootfs;

use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use berth_runtime::{
    build_spec, write_bundle, ContainerSpec, ExitStatus, InitProcess, Runtime, Stdio,
};

pub use rootfs::make_busybox_rootfs;

/// The parent cgroup of all test containers.
pub const CGROUP_PARENT: &str = "berth-test";

/// The embedded runtime forks from the test process; tests run one container at a time
/// so that no other test thread holds a lock the forked child needs.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A fresh container id, unique across test binaries running at once.
pub fn new_id() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "t{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// A test's busybox rootfs, bundle and runtime state directory, removed on drop.
pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        make_busybox_rootfs(&dir.path().join("rootfs"));
        Self { dir }
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }

    /// A container spec for `args` on this rootfs (read-only: tests that write use
    /// tmpfs), in its own cgroup under [`CGROUP_PARENT`].
    pub fn spec(&self, id: &str, args: &[&str]) -> ContainerSpec {
        ContainerSpec {
            args: args.iter().map(|a| a.to_string()).collect(),
            rootfs: self.rootfs(),
            readonly_rootfs: true,
            cgroup_path: Some(format!("/{CGROUP_PARENT}/{id}")),
            ..Default::default()
        }
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn bundle(&self, spec: &ContainerSpec) -> PathBuf {
        let bundle = self.dir.path().join("bundle");
        let oci = build_spec(spec).expect("build spec");
        write_bundle(&bundle, &oci).expect("write bundle");
        bundle
    }
}

/// What a finished container left behind.
#[derive(Debug)]
pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

pub fn pipe() -> (std::fs::File, OwnedFd) {
    let (read, write) = rustix::pipe::pipe().expect("pipe");
    (std::fs::File::from(read), write)
}

/// Runs `spec` to completion: create, start, wait, delete. Output goes through pipes.
pub fn run(runtime: &dyn Runtime, id: &str, bundle: &Path) -> berth_runtime::Result<Outcome> {
    let (mut out_r, out_w) = pipe();
    let (mut err_r, err_w) = pipe();
    let stdin = std::fs::File::open("/dev/null").expect("open /dev/null");
    let pid = runtime.create(
        id,
        bundle,
        Stdio::Fds {
            stdin: stdin.into(),
            stdout: out_w,
            stderr: err_w,
        },
    )?;
    let init = InitProcess::open(pid).expect("pidfd of init");
    runtime.start(id).expect("start");
    let status = init.wait().expect("wait");
    runtime.delete(id, false).expect("delete");
    let mut stdout = String::new();
    let mut stderr = String::new();
    out_r.read_to_string(&mut stdout).expect("read stdout");
    err_r.read_to_string(&mut stderr).expect("read stderr");
    Ok(Outcome {
        status,
        stdout,
        stderr,
    })
}

/// Builds the bundle for `spec` and runs it, for the common case.
pub fn run_spec(runtime: &dyn Runtime, work: &Workdir, id: &str, spec: &ContainerSpec) -> Outcome {
    let bundle = work.bundle(spec);
    run(runtime, id, &bundle).expect("container runs")
}

/// The cgroup v1 directories that exist for container `id` under [`CGROUP_PARENT`].
pub fn cgroup_dirs_of(id: &str) -> Vec<PathBuf> {
    let Ok(controllers) = std::fs::read_dir("/sys/fs/cgroup") else {
        return Vec::new();
    };
    controllers
        .flatten()
        .map(|c| c.path().join(CGROUP_PARENT).join(id))
        .filter(|p| p.exists())
        .collect()
}
