//! Shared helpers of the integration tests: each test gets its own store (a temporary
//! `--root` and `--runroot`) and drives the real `berth` binary as a user would.

#![allow(dead_code)]

use std::collections::BTreeSet;
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
