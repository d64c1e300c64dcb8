//! Shared helpers of the integration tests: each test gets its own store (a temporary
//! `--root` and `--runroot`) and drives the real `berth` binary as a user would.

#![allow(dead_code)]

use std::fs::{self, File};
use std::io::Write;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A private berth store for one test, removed when dropped.
pub struct Berth {
    pub dir: tempfile::TempDir,
}

/// What a command did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "command failed: stdout={} stderr={}", self.stdout, self.stderr);
        &self.stdout
    }

    /// Asserts failure with `code` and returns stderr.
    #[track_caller]
    pub fn fails(&self, code: i32) -> &str {
        assert_eq!(self.code, code, "unexpected status: stdout={} stderr={}", self.stdout, self.stderr);
        &self.stderr
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Berth {
    pub fn new() -> Berth {
        let dir = tempfile::Builder::new()
            .prefix("berth-test-")
            .tempdir_in(test_tmp())
            .expect("temp dir");
        Berth { dir }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn runroot(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    /// A `berth` command on this store.
    pub fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_berth"));
        c.env("BERTH_ROOT", self.root())
            .env("BERTH_RUNROOT", self.runroot())
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        c
    }

    /// Runs `berth ARGS...` and collects its output.
    pub fn run(&self, args: &[&str]) -> Run {
        self.command().args(args).output().expect("run berth").into()
    }

    /// Runs `berth ARGS...` with `input` on stdin.
    pub fn run_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn berth");
        let mut stdin = child.stdin.take().expect("stdin");
        // Berth may refuse early and close stdin; that is a result to see, not a test error.
        let _ = stdin.write_all(input);
        drop(stdin);
        child.wait_with_output().expect("wait berth").into()
    }

    /// Imports the busybox test image as `name` and returns its ID.
    pub fn busybox(&self, name: &str) -> String {
        let tar = busybox_tar();
        let out = self.run(&["import", "-c", r#"CMD ["sh"]"#, tar.to_str().unwrap(), name]);
        out.ok().trim().to_string()
    }
}

/// Where tests put temporary files (inside the target dir, on the same filesystem as the
/// stores so overlay and renames behave as in production).
pub fn test_tmp() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    fs::create_dir_all(&p).expect("tmp dir");
    p
}

/// A busybox rootfs tarball from Debian's busybox-static, made once per test run (tests run
/// in parallel processes, so creation is guarded by a file lock).
pub fn busybox_tar() -> PathBuf {
    let tar = test_tmp().join("busybox-rootfs.tar");
    if tar.exists() {
        return tar;
    }
    let lock = File::create(test_tmp().join("busybox-rootfs.lock")).expect("lock file");
    rustix::fs::flock(lock.as_fd(), rustix::fs::FlockOperation::LockExclusive).expect("flock");
    if tar.exists() {
        return tar;
    }
    let busybox = Path::new("/bin/busybox");
    assert!(
        busybox.exists(),
        "/bin/busybox is missing: install Debian's busybox-static (.ci/run does)"
    );
    let rootfs = tempfile::tempdir_in(test_tmp()).expect("rootfs dir");
    let r = rootfs.path();
    for d in ["bin", "etc", "tmp", "proc", "sys", "dev", "root", "home", "var", "usr/bin"] {
        fs::create_dir_all(r.join(d)).expect("mkdir");
    }
    fs::set_permissions(r.join("tmp"), std::os::unix::fs::PermissionsExt::from_mode(0o1777)).expect("chmod");
    fs::copy(busybox, r.join("bin/busybox")).expect("copy busybox");
    let list = Command::new(busybox).arg("--list").output().expect("busybox --list");
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" {
            std::os::unix::fs::symlink("busybox", r.join("bin").join(applet)).expect("symlink");
        }
    }
    fs::write(r.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n").expect("passwd");
    fs::write(r.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n").expect("group");
    let tmp = test_tmp().join("busybox-rootfs.tar.tmp");
    let status = Command::new("tar")
        .args(["--numeric-owner", "--owner=0", "--group=0", "-C"])
        .arg(r)
        .args(["-cf"])
        .arg(&tmp)
        .arg(".")
        .status()
        .expect("tar");
    assert!(status.success(), "tar failed");
    fs::rename(&tmp, &tar).expect("rename");
    tar
}
