//! Shared helpers of the integration tests: each test gets its own store (a temporary
//! `--root` and `--runroot`) and drives the real `berth` binary as a user would.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
        assert_eq!(
            self.code, 0,
            "command failed: stdout={} stderr={}",
            self.stdout, self.stderr
        );
        &self.stdout
    }

    /// Asserts failure with `code` and returns stderr.
    #[track_caller]
    pub fn fails(&self, code: i32) -> &str {
        assert_eq!(
            self.code, code,
            "unexpected status: stdout={} stderr={}",
            self.stdout, self.stderr
        );
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
        self.command()
            .args(args)
            .output()
            .expect("run berth")
            .into()
    }

    /// Runs `berth ARGS...` and returns its status, its raw stdout (an archive) and stderr.
    pub fn run_raw(&self, args: &[&str]) -> (i32, Vec<u8>, String) {
        let o = self.command().args(args).output().expect("run berth");
        (
            o.status.code().unwrap_or(-1),
            o.stdout,
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
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

    /// A path inside this test's private directory (next to the store, not in it).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `bytes` to a file in this test's directory and returns its path.
    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        fs::write(&p, bytes).expect("write test file");
        p
    }

    /// Imports a tiny one-file image whose content is `seed` (so each seed gives its own
    /// layer and ID), tagged `name` if given; returns the ID.
    pub fn tiny(&self, seed: &str, name: Option<&str>) -> String {
        let mut args = vec!["import", "-"];
        args.extend(name);
        self.run_stdin(&args, &tiny_tar(seed))
            .ok()
            .trim()
            .to_string()
    }

    /// The parsed `image inspect` object of one image.
    #[track_caller]
    pub fn inspect(&self, name: &str) -> serde_json::Value {
        let out = self.run(&["image", "inspect", name]);
        let v: serde_json::Value = serde_json::from_str(out.ok()).expect("inspect prints JSON");
        let arr = v.as_array().expect("inspect prints an array");
        assert_eq!(arr.len(), 1, "{v}");
        arr[0].clone()
    }

    /// Every image and name the store lists (`images -a`), as a set of `ID REPO:TAG` lines.
    pub fn listing(&self) -> BTreeSet<String> {
        let out = self.run(&[
            "images",
            "-a",
            "--no-trunc",
            "--format",
            "{{.ID}} {{.Repository}}:{{.Tag}}",
        ]);
        out.ok().lines().map(str::to_string).collect()
    }

    /// The familiar `repo:tag` names the store lists.
    pub fn tags(&self) -> BTreeSet<String> {
        let out = self.run(&["images", "-a", "--format", "{{.Repository}}:{{.Tag}}"]);
        out.ok()
            .lines()
            .filter(|l| *l != "<none>:<none>")
            .map(str::to_string)
            .collect()
    }

    /// Names of the entries of `<root>/<sub>` (empty when it does not exist).
    pub fn entries(&self, sub: &str) -> BTreeSet<String> {
        match fs::read_dir(self.root().join(sub)) {
            Ok(rd) => rd
                .map(|e| {
                    e.expect("dir entry")
                        .file_name()
                        .to_string_lossy()
                        .into_owned()
                })
                .collect(),
            Err(_) => BTreeSet::new(),
        }
    }

    /// Asserts the store is whole: `system check` finds nothing, and no half-written
    /// layer or partial blob is left behind.
    #[track_caller]
    pub fn assert_clean(&self) {
        let out = self.run(&["system", "check"]);
        assert_eq!(out.ok(), "No problems found\n", "system check: {out:?}");
        let ingest = self.entries("ingest");
        assert!(ingest.is_empty(), "left in ingest: {ingest:?}");
        let stray: Vec<_> = self
            .entries("layers")
            .into_iter()
            .filter(|n| !is_hex64(n))
            .collect();
        assert!(stray.is_empty(), "left in layers: {stray:?}");
    }
}

pub fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Asserts `s` is `sha256:` and 64 lower-case hex digits.
#[track_caller]
pub fn assert_image_id(s: &str) {
    let hex = s
        .strip_prefix("sha256:")
        .unwrap_or_else(|| panic!("not an image ID: {s:?}"));
    assert!(is_hex64(hex), "not an image ID: {s:?}");
}

/// The hex SHA-256 of `bytes`, as `sha256:...`.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// One member of a hand-made tar. Names and link targets are written as given, so a test
/// can make the hostile archives a real tar tool would refuse to write.
pub enum Entry<'a> {
    Dir(&'a str),
    File(&'a str, &'a [u8]),
    Symlink(&'a str, &'a str),
    Hardlink(&'a str, &'a str),
}

/// A tar archive of `entries`, in order.
pub fn tar_of(entries: &[Entry]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        let (name, link, data, kind, mode): (&str, Option<&str>, &[u8], _, u32) = match e {
            Entry::Dir(n) => (n, None, &[], tar::EntryType::Directory, 0o755),
            Entry::File(n, d) => (n, None, d, tar::EntryType::Regular, 0o644),
            Entry::Symlink(n, t) => (n, Some(t), &[], tar::EntryType::Symlink, 0o777),
            Entry::Hardlink(n, t) => (n, Some(t), &[], tar::EntryType::Link, 0o644),
        };
        // Long names go in GNU long-name records, written by hand: the tar crate's own
        // helpers refuse `..`, which hostile-input tests need.
        if name.len() >= 100 {
            long_name(&mut b, tar::EntryType::GNULongName, name);
        }
        if let Some(t) = link.filter(|t| t.len() >= 100) {
            long_name(&mut b, tar::EntryType::GNULongLink, t);
        }
        raw_name(&mut h.as_old_mut().name, name);
        if let Some(t) = link {
            raw_name(&mut h.as_old_mut().linkname, t);
        }
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        h.set_size(data.len() as u64);
        h.set_cksum();
        b.append(&h, data).expect("append tar entry");
    }
    b.into_inner().expect("finish tar")
}

/// Writes the first 99 bytes of `name` into a header field (a long-name record before the
/// header holds the whole of a longer one).
fn raw_name(field: &mut [u8; 100], name: &str) {
    let n = name.len().min(99);
    field.fill(0);
    field[..n].copy_from_slice(&name.as_bytes()[..n]);
}

fn long_name(b: &mut tar::Builder<Vec<u8>>, kind: tar::EntryType, name: &str) {
    let mut h = tar::Header::new_gnu();
    raw_name(&mut h.as_old_mut().name, "././@LongLink");
    h.set_entry_type(kind);
    h.set_mode(0o644);
    let mut data = name.as_bytes().to_vec();
    data.push(0);
    h.set_size(data.len() as u64);
    h.set_cksum();
    b.append(&h, data.as_slice()).expect("append long name");
}

/// A one-file rootfs tar: `/seed` holding `seed`.
pub fn tiny_tar(seed: &str) -> Vec<u8> {
    tar_of(&[Entry::Dir("etc/"), Entry::File("seed", seed.as_bytes())])
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).expect("gzip");
    e.finish().expect("gzip")
}

pub fn zstd(bytes: &[u8]) -> Vec<u8> {
    zstd::encode_all(bytes, 3).expect("zstd")
}

/// Runs Debian's skopeo (which must be installed: the interop tests fail without it).
pub fn skopeo(args: &[&str]) -> Run {
    let out = Command::new("skopeo")
        .arg("--insecure-policy")
        .args(args)
        .stdin(Stdio::null())
        .output();
    match out {
        Ok(o) => o.into(),
        Err(e) => {
            panic!("skopeo cannot be run ({e}): install Debian's skopeo (scripts/deps.sh does)")
        }
    }
}

/// Splits a table line into its cells. Docker pads cells with at least three spaces and
/// values such as "2 minutes ago" hold single ones, so cells end at runs of two or more.
pub fn cells(line: &str) -> Vec<&str> {
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

/// Where tests put temporary files (inside the target dir, on the same filesystem as the
/// stores so overlay and renames behave as in production).
pub fn test_tmp() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    fs::create_dir_all(&p).expect("tmp dir");
    p
}

/// A file in the shared test directory, made once per test run by `make(tmp_path)`: tests
/// run in parallel processes, so creation is guarded by a file lock and ends with a rename.
pub fn cached_file(name: &str, make: impl FnOnce(&Path)) -> PathBuf {
    let file = test_tmp().join(name);
    if file.exists() {
        return file;
    }
    let lock = File::create(test_tmp().join(format!("{name}.lock"))).expect("lock file");
    rustix::fs::flock(lock.as_fd(), rustix::fs::FlockOperation::LockExclusive).expect("flock");
    if file.exists() {
        return file;
    }
    let tmp = test_tmp().join(format!("{name}.tmp"));
    make(&tmp);
    fs::rename(&tmp, &file).expect("rename cached file");
    file
}

/// A busybox rootfs tarball from Debian's busybox-static, made once per test run.
pub fn busybox_tar() -> PathBuf {
    cached_file("busybox-rootfs.tar", make_busybox_tar)
}

fn make_busybox_tar(tmp: &Path) {
    let busybox = Path::new("/bin/busybox");
    assert!(
        busybox.exists(),
        "/bin/busybox is missing: install Debian's busybox-static (.ci/run does)"
    );
    let rootfs = tempfile::tempdir_in(test_tmp()).expect("rootfs dir");
    let r = rootfs.path();
    for d in [
        "bin", "etc", "tmp", "proc", "sys", "dev", "root", "home", "var", "usr/bin",
    ] {
        fs::create_dir_all(r.join(d)).expect("mkdir");
    }
    fs::set_permissions(
        r.join("tmp"),
        std::os::unix::fs::PermissionsExt::from_mode(0o1777),
    )
    .expect("chmod");
    fs::copy(busybox, r.join("bin/busybox")).expect("copy busybox");
    let list = Command::new(busybox)
        .arg("--list")
        .output()
        .expect("busybox --list");
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" {
            std::os::unix::fs::symlink("busybox", r.join("bin").join(applet)).expect("symlink");
        }
    }
    fs::write(
        r.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )
    .expect("passwd");
    fs::write(r.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n").expect("group");
    let status = Command::new("tar")
        .args(["--numeric-owner", "--owner=0", "--group=0", "-C"])
        .arg(r)
        .args(["-cf"])
        .arg(tmp)
        .arg(".")
        .status()
        .expect("tar");
    assert!(status.success(), "tar failed");
}

/// One image of a hand-made docker-archive.
pub struct ArchiveImage<'a> {
    pub tags: &'a [&'a str],
    /// The config's `created` time (RFC 3339).
    pub created: &'a str,
    pub layers: Vec<Vec<u8>>,
    /// Fields of the config's `config` object (`{"Cmd": ["sh"]}`).
    pub run_config: serde_json::Value,
}

impl ArchiveImage<'_> {
    /// The config blob: its digest is the image ID berth must give the loaded image.
    pub fn config(&self) -> Vec<u8> {
        let diff_ids: Vec<String> = self.layers.iter().map(|l| sha256(l)).collect();
        let history: Vec<serde_json::Value> = self
            .layers
            .iter()
            .map(|_| serde_json::json!({"created": self.created, "created_by": "test layer"}))
            .collect();
        serde_json::to_vec(&serde_json::json!({
            "architecture": host_arch(),
            "os": "linux",
            "created": self.created,
            "config": self.run_config,
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": history,
        }))
        .expect("config JSON")
    }

    pub fn id(&self) -> String {
        sha256(&self.config())
    }
}

/// A docker-archive (`docker save` of Docker before 25: `manifest.json`, `<id>.json`,
/// `<dir>/layer.tar`) holding `images`.
pub fn docker_archive(images: &[ArchiveImage]) -> Vec<u8> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut manifest = Vec::new();
    for img in images {
        let config = img.config();
        let config_name = format!("{}.json", &sha256(&config)[7..]);
        let mut layer_names = Vec::new();
        for l in &img.layers {
            let name = format!("{}/layer.tar", &sha256(l)[7..]);
            files.push((name.clone(), l.clone()));
            layer_names.push(name);
        }
        files.push((config_name.clone(), config));
        manifest.push(serde_json::json!({
            "Config": config_name,
            "RepoTags": img.tags,
            "Layers": layer_names,
        }));
    }
    files.push((
        "manifest.json".into(),
        serde_json::to_vec(&manifest).expect("manifest JSON"),
    ));
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in &files {
        let mut h = tar::Header::new_ustar();
        h.set_path(name).expect("archive member name");
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.set_cksum();
        b.append(&h, data.as_slice()).expect("append");
    }
    b.into_inner().expect("finish archive")
}

/// The GOARCH name of this machine.
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// The members of a tar archive (regular files only), by name.
pub fn tar_members(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    use std::io::Read;
    let mut out = std::collections::BTreeMap::new();
    let mut a = tar::Archive::new(bytes);
    for e in a.entries().expect("tar entries") {
        let mut e = e.expect("tar entry");
        if e.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let name = e.path().expect("entry name").to_string_lossy().into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).expect("entry data");
        out.insert(name.trim_start_matches("./").to_string(), data);
    }
    out
}

/// A tar of the tree under `dir` (as `tar -C dir -c .` makes it).
pub fn tar_dir(dir: &Path) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    b.follow_symlinks(false);
    b.append_dir_all(".", dir).expect("tar a directory");
    b.into_inner().expect("finish tar")
}

/// A tar archive whose members are `files`, in order.
pub fn tar_files(files: &[(&str, &[u8])]) -> Vec<u8> {
    let entries: Vec<Entry> = files.iter().map(|(n, d)| Entry::File(n, d)).collect();
    tar_of(&entries)
}

// ---------------------------------------------------------------------------------------------
// Containers: commands under a deadline, long-running berth processes, a terminal, and a
// clean-up that leaves no container, monitor, mount or cgroup of the store behind.

/// How long one berth command of a container test may take before the test fails. Generous:
/// the suite runs in parallel on two cores next to other builds.
pub const DEADLINE: Duration = Duration::from_secs(60);

impl Berth {
    /// Runs `berth ARGS...` and fails the test (after killing it) if it has not ended in time.
    #[track_caller]
    pub fn run_t(&self, args: &[&str]) -> Run {
        self.run_within(DEADLINE, args, None)
    }

    /// `run_t` with `input` on stdin.
    #[track_caller]
    pub fn run_t_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        self.run_within(DEADLINE, args, Some(input))
    }

    /// Runs `berth ARGS...` (with `input` on stdin if given, else /dev/null); kills it and fails
    /// the test when it has not ended within `limit`.
    #[track_caller]
    pub fn run_within(&self, limit: Duration, args: &[&str], input: Option<&[u8]>) -> Run {
        let mut c = self.command();
        c.args(args);
        let mut child = Spawned::start(c, input);
        match child.wait_within(limit) {
            Some(run) => run,
            None => {
                let so_far = child.output();
                panic!(
                    "`berth {}` did not end within {limit:?}; output so far: {so_far:?}",
                    args.join(" ")
                )
            }
        }
    }

    /// Starts `berth ARGS...` without waiting for it; its output is collected as it comes.
    pub fn spawn(&self, args: &[&str]) -> Spawned {
        let mut c = self.command();
        c.args(args);
        Spawned::start(c, None)
    }

    /// Starts `berth ARGS...` with stdin a pipe the test writes to.
    pub fn spawn_stdin(&self, args: &[&str]) -> Spawned {
        let mut c = self.command();
        c.args(args);
        Spawned::start_with_stdin(c)
    }

    /// Starts `berth ARGS...` on a new terminal of `rows` x `cols`, as a user at a shell would.
    pub fn pty(&self, args: &[&str], rows: u16, cols: u16) -> Pty {
        let mut c = self.command();
        c.args(args);
        Pty::start(c, rows, cols)
    }

    /// The full IDs of every container of the store (`ps -aq --no-trunc`).
    #[track_caller]
    pub fn container_ids(&self) -> Vec<String> {
        self.run_t(&["ps", "-aq", "--no-trunc"])
            .ok()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// `berth inspect -f TEMPLATE CONTAINER`, trimmed.
    #[track_caller]
    pub fn field(&self, container: &str, template: &str) -> String {
        let out = self.run_t(&["inspect", "-f", template, container]);
        out.ok().trim().to_string()
    }

    /// The parsed `inspect` object of one container.
    #[track_caller]
    pub fn container(&self, name: &str) -> serde_json::Value {
        let out = self.run_t(&["container", "inspect", name]);
        let v: serde_json::Value = serde_json::from_str(out.ok()).expect("inspect prints JSON");
        let arr = v.as_array().expect("inspect prints an array");
        assert_eq!(arr.len(), 1, "{v}");
        arr[0].clone()
    }

    /// The container's `State.Status` (`created`, `running`, `exited`, ...).
    #[track_caller]
    pub fn status(&self, container: &str) -> String {
        self.field(container, "{{.State.Status}}")
    }

    /// Waits until the container's status is `want`; fails the test after `DEADLINE`.
    #[track_caller]
    pub fn wait_status(&self, container: &str, want: &str) {
        let mut last = String::new();
        // The container may not exist yet (a `run` still starting): keep asking.
        let done = eventually(DEADLINE, || {
            let out = self.run_t(&["inspect", "-f", "{{.State.Status}}", container]);
            last = format!("{} {}", out.stdout.trim(), out.stderr.trim());
            out.stdout.trim() == want
        });
        assert!(done, "{container} never became {want}: still {last}");
    }

    /// Pids of the monitor processes serving this store's containers: processes named
    /// `berth-monitor` (re-executed or forked by `run`, whose command line is the CLI's) with
    /// a file of this store open (the database, a log).
    pub fn monitors(&self) -> Vec<i32> {
        let root = self.root();
        processes()
            .into_iter()
            .filter(|p| {
                p.comm == "berth-monitor" && open_files(p.pid).iter().any(|f| f.starts_with(&root))
            })
            .map(|p| p.pid)
            .collect()
    }

    /// The pid of the monitor of container `id` (full ID), if one runs: the one with the
    /// container's log open.
    pub fn monitor_of(&self, id: &str) -> Option<i32> {
        let dir = self.root().join("containers").join(id);
        processes()
            .into_iter()
            .find(|p| {
                p.comm == "berth-monitor" && open_files(p.pid).iter().any(|f| f.starts_with(&dir))
            })
            .map(|p| p.pid)
    }

    /// Mount points at or under this test's directory, from /proc/self/mountinfo.
    pub fn mounts(&self) -> Vec<PathBuf> {
        let dir = self.dir.path();
        mount_points()
            .into_iter()
            .filter(|m| m.starts_with(dir))
            .collect()
    }

    /// Container IDs with a directory under `<root>/containers` (what the store holds on disk,
    /// whatever its database says).
    pub fn container_dirs(&self) -> Vec<String> {
        self.entries("containers")
            .into_iter()
            .filter(|n| is_hex64(n))
            .collect()
    }

    /// Removes every container of the store and whatever of them outlived that: monitors,
    /// processes in their cgroups, cgroups, mounts. Runs when the test ends, passed or failed.
    pub fn cleanup(&self) {
        let dirs = self.container_dirs();
        let networked = self.runroot().join("netns").exists();
        if dirs.is_empty() && self.monitors().is_empty() && self.mounts().is_empty() && !networked {
            return;
        }
        let mut ids: BTreeSet<String> = dirs.into_iter().collect();
        let mut ps = self.command();
        ps.args(["ps", "-aq", "--no-trunc"]);
        if let Some(out) = Spawned::start(ps, None).wait_within(Duration::from_secs(20)) {
            ids.extend(out.stdout.lines().map(str::to_string));
        }
        if !ids.is_empty() {
            let mut rm = self.command();
            rm.args(["rm", "-f", "-v"]).args(&ids);
            let _ = Spawned::start(rm, None).wait_within(Duration::from_secs(30));
        }
        for pid in self.monitors() {
            kill(pid, libc::SIGKILL);
        }
        // A test store's default network has a bridge of its own (berth-net names it
        // `berth` + 10 hex digits of the root's sha256); it outlives the store otherwise.
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            self.root().as_os_str().as_encoded_bytes(),
        ));
        let _ = Command::new("ip")
            .args(["link", "del", &format!("berth{}", &digest[..10])])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        for id in &ids {
            for dir in cgroup_dirs(id) {
                if let Ok(procs) = fs::read_to_string(dir.join("cgroup.procs")) {
                    for pid in procs.lines().filter_map(|l| l.trim().parse().ok()) {
                        kill(pid, libc::SIGKILL);
                    }
                }
            }
        }
        // Deepest first, so a mount on top of another goes before it.
        let mut mounts = self.mounts();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.as_os_str().len()));
        for m in mounts {
            let _ = rustix::mount::unmount(&m, rustix::mount::UnmountFlags::DETACH);
        }
        if networked {
            // The store's own nftables table stays while its network exists, and nothing
            // else would ever remove it once the store is gone.
            let _ = Command::new("nft")
                .args(["delete", "table", "ip", &self.nft_table()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        for id in &ids {
            for dir in cgroup_dirs(id) {
                let _ = eventually(Duration::from_secs(2), || {
                    fs::remove_dir(&dir).is_ok() || !dir.exists()
                });
            }
        }
    }
}

impl Berth {
    /// The name of this store's nftables table (berth-net names it after a hash of the root).
    pub fn nft_table(&self) -> String {
        use sha2::Digest;
        let h = sha2::Sha256::digest(self.root().as_os_str().as_encoded_bytes());
        format!("berth_{}", &hex::encode(h)[..8])
    }
}

impl Drop for Berth {
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// Calls `check` until it returns true (every 50 ms) or `limit` passes; says which.
pub fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends `signal` to `pid` (errors ignored: the process may be gone).
pub fn kill(pid: i32, signal: i32) {
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// One process of the host, as /proc shows it.
#[derive(Debug, Clone)]
pub struct Process {
    pub pid: i32,
    pub ppid: i32,
    /// The command name of /proc/PID/stat.
    pub comm: String,
    /// The state letter of /proc/PID/stat (`R`, `S`, `Z`, ...).
    pub state: char,
    pub args: Vec<String>,
}

/// Every process of the host (those that vanish while being read are left out).
pub fn processes() -> Vec<Process> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir("/proc") else {
        return out;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The command name is in parentheses and may hold spaces: fields follow the last ')'.
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let comm = head.split_once('(').map_or("", |(_, c)| c).to_string();
        let mut f = rest.split_whitespace();
        let state = f.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid = f.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let args = fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| {
                b.split(|c| *c == 0)
                    .filter(|a| !a.is_empty())
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect()
            })
            .unwrap_or_default();
        out.push(Process {
            pid,
            ppid,
            comm,
            state,
            args,
        });
    }
    out
}

/// Where the open files of process `pid` are (empty once it is gone).
pub fn open_files(pid: i32) -> Vec<PathBuf> {
    let Ok(rd) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| fs::read_link(e.path()).ok())
        .collect()
}

/// Every mount point of this mount namespace.
pub fn mount_points() -> Vec<PathBuf> {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(unescape_mount_path(p)))
        .collect()
}

fn unescape_mount_path(p: &str) -> String {
    // mountinfo writes space, tab, newline and backslash as octal escapes.
    p.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// The cgroup directories of container `id` on this host, in every hierarchy (v1 controllers,
/// the unified one), that exist now.
pub fn cgroup_dirs(id: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir("/sys/fs/cgroup") else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path().join("berth").join(id);
        if p.is_dir() {
            out.push(p);
        }
    }
    let p = Path::new("/sys/fs/cgroup/berth").join(id);
    if p.is_dir() {
        out.push(p);
    }
    out
}

/// A berth process running in the background, its output gathered as it comes.
pub struct Spawned {
    pub child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

fn gather(
    mut from: impl Read + Send + 'static,
    into: Arc<Mutex<Vec<u8>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => into
                    .lock()
                    .expect("output buffer")
                    .extend_from_slice(&buf[..n]),
            }
        }
    })
}

impl Spawned {
    fn start(mut c: Command, input: Option<&[u8]>) -> Spawned {
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        if input.is_some() {
            c.stdin(Stdio::piped());
        }
        let mut s = Spawned::from_command(c);
        if let (Some(input), Some(mut stdin)) = (input, s.stdin.take()) {
            let input = input.to_vec();
            // A writer thread: berth may stop reading early, or read only after it started.
            std::thread::spawn(move || {
                let _ = stdin.write_all(&input);
            });
        }
        s
    }

    fn start_with_stdin(mut c: Command) -> Spawned {
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Spawned::from_command(c)
    }

    fn from_command(mut c: Command) -> Spawned {
        let mut child = c.spawn().expect("spawn berth");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        if let Some(o) = child.stdout.take() {
            readers.push(gather(o, stdout.clone()));
        }
        if let Some(e) = child.stderr.take() {
            readers.push(gather(e, stderr.clone()));
        }
        let stdin = child.stdin.take();
        Spawned {
            child,
            stdin,
            stdout,
            stderr,
            readers,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Sends `signal` to the berth process.
    pub fn signal(&self, signal: i32) {
        kill(self.pid(), signal);
    }

    /// Writes to its stdin (if it was started with one).
    pub fn send(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("started with a stdin pipe");
        stdin.write_all(bytes).expect("write to berth's stdin");
        stdin.flush().expect("flush berth's stdin");
    }

    /// Closes its stdin.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// What it printed so far.
    pub fn output(&self) -> Run {
        Run {
            code: -1,
            stdout: String::from_utf8_lossy(&self.stdout.lock().expect("stdout")).into_owned(),
            stderr: String::from_utf8_lossy(&self.stderr.lock().expect("stderr")).into_owned(),
        }
    }

    /// Waits until its stdout holds `text`, or `limit` passes; says which.
    pub fn stdout_has(&self, text: &str, limit: Duration) -> bool {
        eventually(limit, || {
            String::from_utf8_lossy(&self.stdout.lock().expect("stdout")).contains(text)
        })
    }

    /// Whether it is still running (without reaping it when it is not... it is reaped then).
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for it to end within `limit`: its status and output, or None (still running).
    /// A process killed by a signal has code 128 + the signal, as a shell reports it.
    pub fn wait_within(&mut self, limit: Duration) -> Option<Run> {
        use std::os::unix::process::ExitStatusExt;
        let mut status = None;
        let ended = eventually(limit, || match self.child.try_wait() {
            Ok(Some(s)) => {
                status = Some(s);
                true
            }
            _ => false,
        });
        if !ended {
            return None;
        }
        self.stdin = None;
        // Its output ends when it does, unless something it started keeps the pipes open:
        // then take what came.
        let readers = std::mem::take(&mut self.readers);
        let _ = eventually(Duration::from_secs(2), || {
            readers.iter().all(|r| r.is_finished())
        });
        let s = status.expect("status");
        let mut run = self.output();
        run.code = s.code().or(s.signal().map(|n| 128 + n)).unwrap_or(-1);
        Some(run)
    }

    /// Waits for it to end; fails the test after `DEADLINE`.
    #[track_caller]
    pub fn finish(&mut self) -> Run {
        match self.wait_within(DEADLINE) {
            Some(r) => r,
            None => panic!(
                "berth did not end within {DEADLINE:?}; output so far: {:?}",
                self.output()
            ),
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A berth process on a terminal of its own: the test types on the master side and reads
/// what the terminal shows.
pub struct Pty {
    pub child: std::process::Child,
    master: File,
    screen: Arc<Mutex<Vec<u8>>>,
    reader: std::thread::JoinHandle<()>,
}

impl Pty {
    fn start(mut c: Command, rows: u16, cols: u16) -> Pty {
        use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
        use std::os::unix::process::CommandExt;
        let master =
            openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).expect("openpt");
        grantpt(&master).expect("grantpt");
        unlockpt(&master).expect("unlockpt");
        let name = ptsname(&master, Vec::new()).expect("ptsname");
        let slave = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(name.to_str().expect("pts name"))
            .expect("open pts");
        let ws = rustix::termios::Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        rustix::termios::tcsetwinsize(&slave, ws).expect("set window size");
        c.stdin(slave.try_clone().expect("dup pts"))
            .stdout(slave.try_clone().expect("dup pts"))
            .stderr(slave);
        // SAFETY: between fork and exec only async-signal-safe calls: setsid and an ioctl.
        unsafe {
            c.pre_exec(|| {
                rustix::process::setsid()?;
                rustix::process::ioctl_tiocsctty(rustix::stdio::stdin())?;
                Ok(())
            });
        }
        let child = c.spawn().expect("spawn berth on a terminal");
        let master = File::from(master);
        let screen = Arc::new(Mutex::new(Vec::new()));
        let reader = gather(master.try_clone().expect("dup master"), screen.clone());
        Pty {
            child,
            master,
            screen,
            reader,
        }
    }

    /// Types `bytes` on the terminal.
    pub fn send(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).expect("type on the terminal");
    }

    /// Everything the terminal showed so far.
    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().expect("screen")).into_owned()
    }

    /// Waits until the terminal shows `text`; fails the test after `DEADLINE`.
    #[track_caller]
    pub fn expect(&self, text: &str) {
        let seen = eventually(DEADLINE, || self.screen().contains(text));
        assert!(
            seen,
            "the terminal never showed {text:?}; it shows {:?}",
            self.screen()
        );
    }

    /// Changes the terminal's size (the kernel sends SIGWINCH to berth).
    pub fn resize(&self, rows: u16, cols: u16) {
        let ws = rustix::termios::Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        rustix::termios::tcsetwinsize(&self.master, ws).expect("resize the terminal");
    }

    /// Waits for berth to end; its exit code. Fails the test after `DEADLINE`.
    #[track_caller]
    pub fn finish(&mut self) -> i32 {
        let mut code = None;
        let ended = eventually(DEADLINE, || match self.child.try_wait() {
            Ok(Some(s)) => {
                code = s.code();
                true
            }
            _ => false,
        });
        assert!(
            ended,
            "berth on the terminal never ended; it shows {:?}",
            self.screen()
        );
        // What berth wrote last may still be in the terminal's buffer: the reader ends once
        // every holder of the terminal is gone. A process berth left behind may hold it
        // longer, so the wait is bounded.
        eventually(Duration::from_secs(5), || self.reader.is_finished());
        code.unwrap_or(-1)
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Berth {
    /// Imports the busybox test image as `name` with Dockerfile-like `changes`
    /// (`ENTRYPOINT [...]`, `WORKDIR /x`, `ENV A=b`, `USER nobody`, `VOLUME /data`) on top of
    /// `CMD ["sh"]`; returns its ID.
    #[track_caller]
    pub fn busybox_with(&self, name: &str, changes: &[&str]) -> String {
        let tar = busybox_tar();
        let mut args = vec!["import", "-c", r#"CMD ["sh"]"#];
        for c in changes {
            args.extend(["-c", c]);
        }
        args.extend([tar.to_str().expect("utf-8 path"), name]);
        self.run_t(&args).ok().trim().to_string()
    }

    /// `berth run -d ARGS...`: the new container's full ID.
    #[track_caller]
    pub fn detach(&self, args: &[&str]) -> String {
        let mut all = vec!["run", "-d"];
        all.extend(args);
        let out = self.run_t(&all);
        let id = out.ok().trim().to_string();
        assert!(is_hex64(&id), "run -d printed {:?}", out.stdout);
        id
    }
}

impl Berth {
    /// Imports the busybox test image with `files` (path, content) added and `changes`
    /// applied, as `name`; returns its ID.
    #[track_caller]
    pub fn busybox_plus(&self, name: &str, changes: &[&str], files: &[(&str, &[u8])]) -> String {
        let extra = self.path("extra-files");
        let mut tops = BTreeSet::new();
        for (path, content) in files {
            let p = extra.join(path.trim_start_matches('/'));
            fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
            fs::write(&p, content).expect("write");
            let top = path
                .trim_start_matches('/')
                .split('/')
                .next()
                .expect("a name");
            tops.insert(format!("./{top}"));
        }
        let tar = self.path(&format!("{name}.tar"));
        fs::copy(busybox_tar(), &tar).expect("copy the busybox tar");
        let status = Command::new("tar")
            .args(["--numeric-owner", "--owner=0", "--group=0", "-rf"])
            .arg(&tar)
            .arg("-C")
            .arg(&extra)
            .args(&tops)
            .status()
            .expect("tar");
        assert!(status.success(), "tar -r failed");
        let mut args = vec!["import", "-c", r#"CMD ["sh"]"#];
        for c in changes {
            args.extend(["-c", c]);
        }
        args.extend([tar.to_str().expect("utf-8 path"), name]);
        self.run_t(&args).ok().trim().to_string()
    }
}
