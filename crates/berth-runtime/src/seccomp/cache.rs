//! Compiled seccomp programs on disk, one file per filter: `<dir>/<key>.bpf`, where the key
//! is a SHA-256 of the OCI seccomp section, the libseccomp version and the kernel release
//! (libseccomp's output depends on what the running kernel supports). Every container with
//! the same profile loads the same file; the first one compiles it.

use std::io::Write;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxSeccomp;
use sha2::{Digest, Sha256};

use super::bpf::{compile, BpfProgram};
use crate::error::{Error, Result};

/// Bumped when the way a program is built or stored changes, so old files are not read.
const FORMAT: &str = "berth-seccomp-bpf-2";

#[derive(Debug, Clone)]
pub struct BpfCache {
    dir: PathBuf,
}

impl BpfCache {
    /// A cache in `dir` (created when the first program is stored). Keep it in the run root:
    /// a program is only valid for the kernel it was compiled against.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The program of `seccomp`: the stored one, or a new compilation, which is stored.
    pub fn program(&self, seccomp: &LinuxSeccomp) -> Result<BpfProgram> {
        let path = self.dir.join(format!("{}.bpf", key(seccomp)?));
        if let Ok(bytes) = std::fs::read(&path) {
            // A damaged file is compiled again and replaced.
            if let Ok(program) = BpfProgram::from_bytes(&bytes, seccomp) {
                return Ok(program);
            }
        }
        let bytes = compile(seccomp)?;
        let program = BpfProgram::from_bytes(&bytes, seccomp)?;
        // Not storing it only costs the next container a compilation.
        if let Err(err) = store(&path, &bytes) {
            tracing::debug!(%err, path = %path.display(), "could not cache a seccomp program");
        }
        Ok(program)
    }
}

fn key(seccomp: &LinuxSeccomp) -> Result<String> {
    let json = serde_json::to_vec(seccomp)
        .map_err(|err| Error::InvalidSpec(format!("serializing the seccomp filter: {err}")))?;
    let library = libseccomp::ScmpVersion::current()
        .map(|v| format!("{}.{}.{}", v.major, v.minor, v.micro))
        .unwrap_or_default();
    let uname = rustix::system::uname();
    let mut h = Sha256::new();
    for part in [
        FORMAT.as_bytes(),
        library.as_bytes(),
        uname.release().to_bytes(),
        uname.machine().to_bytes(),
        &json,
    ] {
        // Length-prefixed, so that no two different inputs hash the same bytes.
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    Ok(hex::encode(h.finalize()))
}

/// Written whole under a name of its own and renamed, so that concurrent starts never read
/// half a program; not fsynced, as nothing in the run root outlives a reboot.
fn store(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes))
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seccomp::{default_profile, Target};
    use crate::spec::DEFAULT_CAPABILITIES;

    fn filter(kernel: (u32, u32)) -> LinuxSeccomp {
        default_profile()
            .expect("default profile")
            .resolve(&Target {
                caps: DEFAULT_CAPABILITIES.iter().copied().collect(),
                kernel,
            })
            .expect("resolves")
    }

    fn files(dir: &Path) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    #[test]
    fn a_profile_is_compiled_once_and_read_back() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let cache = BpfCache::new(tmp.path().join("cache"));
        let first = cache.program(&filter((6, 1))).expect("compiled");
        let stored = files(&tmp.path().join("cache"));
        assert_eq!(stored.len(), 1, "{stored:?}");
        assert_eq!(stored[0].extension().and_then(|e| e.to_str()), Some("bpf"));
        let mtime = std::fs::metadata(&stored[0])
            .and_then(|m| m.modified())
            .ok();
        let again = cache.program(&filter((6, 1))).expect("read back");
        assert_eq!(first, again);
        assert_eq!(files(&tmp.path().join("cache")), stored);
        assert_eq!(
            std::fs::metadata(&stored[0])
                .and_then(|m| m.modified())
                .ok(),
            mtime
        );
    }

    #[test]
    fn another_profile_gets_a_file_of_its_own() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let cache = BpfCache::new(tmp.path());
        let old_kernel = cache.program(&filter((4, 0))).expect("compiled");
        let new_kernel = cache.program(&filter((6, 1))).expect("compiled");
        assert_ne!(old_kernel, new_kernel);
        assert_eq!(files(tmp.path()).len(), 2);
    }

    #[test]
    fn a_damaged_file_is_replaced() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let cache = BpfCache::new(tmp.path());
        let good = cache.program(&filter((6, 1))).expect("compiled");
        let stored = files(tmp.path());
        std::fs::write(&stored[0], b"garbage").expect("damaged");
        assert_eq!(cache.program(&filter((6, 1))).expect("recompiled"), good);
        assert_eq!(
            std::fs::read(&stored[0]).expect("stored").len(),
            good.len() * 8
        );
    }
}
