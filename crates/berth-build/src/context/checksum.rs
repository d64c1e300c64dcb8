//! The content checksums of context files, kept between builds and keyed by what `stat`
//! says: a file whose size, mtime, ctime, inode and mode did not change is not read again. This is
//! what makes a cached rebuild of a large context cheap (BuildKit keeps a content-hash cache
//! for the same reason).
//!
//! The file is a small binary table, rewritten whole (and atomically) when a build learned
//! something new; a missing, foreign or damaged file is an empty cache.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

const MAGIC: &[u8] = b"berth-context-checksums-2\n";

/// A file changed this recently may change again within the same tick of the file system's
/// clock without its stamp changing ("racy git"): its digest is used by this build but not
/// kept for the next one.
const RACY_WINDOW: Duration = Duration::from_secs(2);

/// What `stat` says about a file: when all of it is unchanged, so is the content. The ctime
/// is there because tools that restore an mtime (`touch -r`, `tar -x`, `rsync -t`) cannot
/// restore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileStamp {
    pub size: u64,
    pub mtime_sec: i64,
    pub mtime_nsec: i64,
    pub ctime_sec: i64,
    pub ctime_nsec: i64,
    pub ino: u64,
    pub mode: u32,
}

impl FileStamp {
    pub fn of(meta: &fs::Metadata) -> FileStamp {
        FileStamp {
            size: meta.size(),
            mtime_sec: meta.mtime(),
            mtime_nsec: meta.mtime_nsec(),
            ctime_sec: meta.ctime(),
            ctime_nsec: meta.ctime_nsec(),
            ino: meta.ino(),
            mode: meta.mode(),
        }
    }

    /// Whether the file changed within [`RACY_WINDOW`] of `now`.
    fn is_recent(&self, now: SystemTime) -> bool {
        let newest = self.mtime_sec.max(self.ctime_sec);
        let Ok(newest) = u64::try_from(newest) else {
            return false;
        };
        let changed = UNIX_EPOCH + Duration::from_secs(newest);
        now.duration_since(changed)
            .map_or(true, |age| age < RACY_WINDOW)
    }
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    stamp: FileStamp,
    digest: [u8; 32],
    /// Used by this build (only those are kept).
    used: bool,
    /// Learned from a file that changed too recently to trust its stamp next time.
    racy: bool,
}

/// Digests of context files by relative path, persisted in one file.
#[derive(Debug)]
pub struct ChecksumCache {
    file: Option<PathBuf>,
    slots: HashMap<String, Slot>,
    /// When this build started: files changed just before are racy.
    now: SystemTime,
    /// Whether a digest had to be computed (so the file is worth rewriting).
    learned: bool,
    /// Files read in full by this build.
    pub files_read: u64,
}

impl ChecksumCache {
    /// A cache that lives only for this build (a context from a tar stream).
    pub fn in_memory() -> ChecksumCache {
        ChecksumCache {
            file: None,
            slots: HashMap::new(),
            now: SystemTime::now(),
            learned: false,
            files_read: 0,
        }
    }

    /// Loads the cache kept in `file` (created on [`ChecksumCache::save`]).
    pub fn load(file: &Path) -> ChecksumCache {
        let slots = fs::read(file)
            .ok()
            .and_then(|bytes| decode(&bytes))
            .unwrap_or_default();
        ChecksumCache {
            file: Some(file.to_path_buf()),
            slots,
            ..ChecksumCache::in_memory()
        }
    }

    /// The SHA-256 of the regular file `host_path` (context path `rel`, stat'ed as `stamp`),
    /// read only when its stamp differs from the one recorded.
    pub fn digest(
        &mut self,
        rel: &str,
        host_path: &Path,
        stamp: &FileStamp,
    ) -> io::Result<[u8; 32]> {
        if let Some(slot) = self.slots.get_mut(rel) {
            if slot.stamp == *stamp {
                slot.used = true;
                return Ok(slot.digest);
            }
        }
        let digest = hash_file(host_path)?;
        self.files_read += 1;
        self.learned = true;
        let slot = Slot {
            stamp: *stamp,
            digest,
            used: true,
            racy: stamp.is_recent(self.now),
        };
        self.slots.insert(rel.to_string(), slot);
        Ok(digest)
    }

    /// Writes the entries this build used, when it computed any new digest.
    pub fn save(&self) -> io::Result<()> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        if !self.learned {
            return Ok(());
        }
        if let Some(dir) = file.parent() {
            fs::create_dir_all(dir)?;
        }
        let tmp = file.with_extension(format!("tmp{}", std::process::id()));
        let mut out = io::BufWriter::new(fs::File::create(&tmp)?);
        out.write_all(MAGIC)?;
        for (path, slot) in self.slots.iter().filter(|(_, s)| s.used && !s.racy) {
            let st = &slot.stamp;
            out.write_all(&(path.len() as u32).to_le_bytes())?;
            out.write_all(path.as_bytes())?;
            for n in [st.size, st.ino] {
                out.write_all(&n.to_le_bytes())?;
            }
            for n in [st.mtime_sec, st.mtime_nsec, st.ctime_sec, st.ctime_nsec] {
                out.write_all(&n.to_le_bytes())?;
            }
            out.write_all(&st.mode.to_le_bytes())?;
            out.write_all(&slot.digest)?;
        }
        out.flush()?;
        drop(out);
        // No fsync: a torn or stale file only costs reading the context again.
        fs::rename(&tmp, file)
    }
}

/// SHA-256 of a file's bytes.
pub fn hash_file(path: &Path) -> io::Result<[u8; 32]> {
    let mut file = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().into())
}

fn decode(bytes: &[u8]) -> Option<HashMap<String, Slot>> {
    let mut rest = bytes.strip_prefix(MAGIC)?;
    // A record is 84 bytes and its path: sized once rather than grown while reading.
    let mut out = HashMap::with_capacity(rest.len() / 100);
    fn take<'a>(n: usize, rest: &mut &'a [u8]) -> Option<&'a [u8]> {
        if rest.len() < n {
            return None;
        }
        let (head, tail) = rest.split_at(n);
        *rest = tail;
        Some(head)
    }
    let u64_of = |rest: &mut &[u8]| take(8, rest)?.try_into().ok().map(u64::from_le_bytes);
    let i64_of = |rest: &mut &[u8]| take(8, rest)?.try_into().ok().map(i64::from_le_bytes);
    while !rest.is_empty() {
        let len = u32::from_le_bytes(take(4, &mut rest)?.try_into().ok()?) as usize;
        let path = std::str::from_utf8(take(len, &mut rest)?).ok()?.to_string();
        let stamp = FileStamp {
            size: u64_of(&mut rest)?,
            ino: u64_of(&mut rest)?,
            mtime_sec: i64_of(&mut rest)?,
            mtime_nsec: i64_of(&mut rest)?,
            ctime_sec: i64_of(&mut rest)?,
            ctime_nsec: i64_of(&mut rest)?,
            mode: u32::from_le_bytes(take(4, &mut rest)?.try_into().ok()?),
        };
        let digest: [u8; 32] = take(32, &mut rest)?.try_into().ok()?;
        let slot = Slot {
            stamp,
            digest,
            used: false,
            racy: false,
        };
        out.insert(path, slot);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp_of(path: &Path) -> FileStamp {
        FileStamp::of(&fs::symlink_metadata(path).unwrap())
    }

    /// A cache of a build that starts a minute from now, when the files are no longer racy.
    fn later(store: &Path) -> ChecksumCache {
        let mut cache = ChecksumCache::load(store);
        cache.now = SystemTime::now() + Duration::from_secs(60);
        cache
    }

    #[test]
    fn unchanged_files_are_not_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.txt");
        fs::write(&file, b"hello").unwrap();
        let store = dir.path().join("cache/checksums");

        let mut cache = later(&store);
        let first = cache.digest("a.txt", &file, &stamp_of(&file)).unwrap();
        assert_eq!(first, <[u8; 32]>::from(Sha256::digest(b"hello")));
        assert_eq!(cache.files_read, 1);
        cache.save().unwrap();

        let mut again = later(&store);
        assert_eq!(
            again.digest("a.txt", &file, &stamp_of(&file)).unwrap(),
            first
        );
        assert_eq!(
            again.files_read, 0,
            "a file with the same stamp is not read"
        );

        fs::write(&file, b"hello, world").unwrap();
        let changed = again.digest("a.txt", &file, &stamp_of(&file)).unwrap();
        assert_ne!(changed, first);
        assert_eq!(again.files_read, 1);
    }

    #[test]
    fn a_file_changed_just_before_the_build_is_read_again_next_time() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.txt");
        fs::write(&file, b"hello").unwrap();
        let store = dir.path().join("checksums");
        let mut cache = ChecksumCache::load(&store);
        cache.digest("a.txt", &file, &stamp_of(&file)).unwrap();
        cache.digest("a.txt", &file, &stamp_of(&file)).unwrap();
        assert_eq!(cache.files_read, 1, "within one build it is read once");
        cache.save().unwrap();
        let mut next = ChecksumCache::load(&store);
        next.digest("a.txt", &file, &stamp_of(&file)).unwrap();
        assert_eq!(next.files_read, 1, "its stamp was not kept");
    }

    #[test]
    fn a_recent_change_is_racy_and_an_old_one_is_not() {
        let now = SystemTime::now();
        let secs = now.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
        let recent = FileStamp {
            mtime_sec: secs,
            ctime_sec: secs,
            ..FileStamp::default()
        };
        assert!(recent.is_recent(now));
        let old = FileStamp {
            mtime_sec: secs - 60,
            ctime_sec: secs - 60,
            ..FileStamp::default()
        };
        assert!(!old.is_recent(now));
        let restored_mtime = FileStamp {
            mtime_sec: secs - 60,
            ctime_sec: secs,
            ..FileStamp::default()
        };
        assert!(
            restored_mtime.is_recent(now),
            "the ctime tells a fresh change"
        );
    }

    #[test]
    fn a_damaged_file_is_an_empty_cache() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("checksums");
        fs::write(&store, b"berth-context-checksums-2\n\x05\x00").unwrap();
        let cache = ChecksumCache::load(&store);
        assert!(cache.slots.is_empty());
        fs::write(&store, b"berth-context-checksums-1\n").unwrap();
        assert!(ChecksumCache::load(&store).slots.is_empty());
    }
}
