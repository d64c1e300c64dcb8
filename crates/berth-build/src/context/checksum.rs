//! The content checksums of context files, kept between builds and keyed by what `stat`
//! says: a file whose size, mtime, inode and mode did not change is not read again. This is
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

use sha2::{Digest, Sha256};

const MAGIC: &[u8] = b"berth-context-checksums-1\n";

/// What `stat` said when the digest was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    size: u64,
    mtime_sec: i64,
    mtime_nsec: i64,
    ino: u64,
    mode: u32,
}

impl Stamp {
    fn of(meta: &fs::Metadata) -> Stamp {
        Stamp {
            size: meta.size(),
            mtime_sec: meta.mtime(),
            mtime_nsec: meta.mtime_nsec(),
            ino: meta.ino(),
            mode: meta.mode(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Cached {
    stamp: Stamp,
    digest: [u8; 32],
}

/// Digests of context files by relative path, persisted in one file.
#[derive(Debug, Default)]
pub struct ChecksumCache {
    file: Option<PathBuf>,
    known: HashMap<String, Cached>,
    /// Entries used by this build (the ones saved).
    used: HashMap<String, Cached>,
    /// Whether a digest had to be computed (so the file is worth rewriting).
    learned: bool,
    /// Files read in full by this build.
    pub files_read: u64,
}

impl ChecksumCache {
    /// A cache that lives only for this build (a context from a tar stream).
    pub fn in_memory() -> ChecksumCache {
        ChecksumCache::default()
    }

    /// Loads the cache kept in `file` (created on [`ChecksumCache::save`]).
    pub fn load(file: &Path) -> ChecksumCache {
        let known = fs::read(file)
            .ok()
            .and_then(|bytes| decode(&bytes))
            .unwrap_or_default();
        ChecksumCache {
            file: Some(file.to_path_buf()),
            known,
            ..ChecksumCache::default()
        }
    }

    /// The SHA-256 of the regular file `host_path` (context path `rel`, stat'ed as `meta`),
    /// read only when its stamp differs from the one recorded.
    pub fn digest(
        &mut self,
        rel: &str,
        host_path: &Path,
        meta: &fs::Metadata,
    ) -> io::Result<[u8; 32]> {
        let stamp = Stamp::of(meta);
        if let Some(cached) = self.used.get(rel).or_else(|| self.known.get(rel)) {
            if cached.stamp == stamp {
                let cached = *cached;
                self.used.insert(rel.to_string(), cached);
                return Ok(cached.digest);
            }
        }
        let digest = hash_file(host_path)?;
        self.files_read += 1;
        self.learned = true;
        self.used.insert(rel.to_string(), Cached { stamp, digest });
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
        for (path, c) in &self.used {
            out.write_all(&(path.len() as u32).to_le_bytes())?;
            out.write_all(path.as_bytes())?;
            out.write_all(&c.stamp.size.to_le_bytes())?;
            out.write_all(&c.stamp.mtime_sec.to_le_bytes())?;
            out.write_all(&c.stamp.mtime_nsec.to_le_bytes())?;
            out.write_all(&c.stamp.ino.to_le_bytes())?;
            out.write_all(&c.stamp.mode.to_le_bytes())?;
            out.write_all(&c.digest)?;
        }
        out.flush()?;
        drop(out);
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

fn decode(bytes: &[u8]) -> Option<HashMap<String, Cached>> {
    let mut rest = bytes.strip_prefix(MAGIC)?;
    let mut out = HashMap::new();
    let take = |n: usize, rest: &mut &[u8]| -> Option<Vec<u8>> {
        if rest.len() < n {
            return None;
        }
        let (head, tail) = rest.split_at(n);
        *rest = tail;
        Some(head.to_vec())
    };
    let u64_of = |b: Vec<u8>| b.try_into().ok().map(u64::from_le_bytes);
    while !rest.is_empty() {
        let len = u32::from_le_bytes(take(4, &mut rest)?.try_into().ok()?) as usize;
        let path = String::from_utf8(take(len, &mut rest)?).ok()?;
        let size = u64_of(take(8, &mut rest)?)?;
        let mtime_sec = u64_of(take(8, &mut rest)?)? as i64;
        let mtime_nsec = u64_of(take(8, &mut rest)?)? as i64;
        let ino = u64_of(take(8, &mut rest)?)?;
        let mode = u32::from_le_bytes(take(4, &mut rest)?.try_into().ok()?);
        let digest: [u8; 32] = take(32, &mut rest)?.try_into().ok()?;
        let stamp = Stamp {
            size,
            mtime_sec,
            mtime_nsec,
            ino,
            mode,
        };
        out.insert(path, Cached { stamp, digest });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_files_are_not_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.txt");
        fs::write(&file, b"hello").unwrap();
        let store = dir.path().join("cache/checksums");

        let mut cache = ChecksumCache::load(&store);
        let meta = fs::metadata(&file).unwrap();
        let first = cache.digest("a.txt", &file, &meta).unwrap();
        assert_eq!(first, <[u8; 32]>::from(Sha256::digest(b"hello")));
        assert_eq!(cache.files_read, 1);
        cache.save().unwrap();

        let mut again = ChecksumCache::load(&store);
        assert_eq!(again.digest("a.txt", &file, &meta).unwrap(), first);
        assert_eq!(
            again.files_read, 0,
            "a file with the same stamp is not read"
        );

        fs::write(&file, b"hello, world").unwrap();
        let meta = fs::metadata(&file).unwrap();
        let changed = again.digest("a.txt", &file, &meta).unwrap();
        assert_ne!(changed, first);
        assert_eq!(again.files_read, 1);
    }

    #[test]
    fn a_damaged_file_is_an_empty_cache() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("checksums");
        fs::write(&store, b"berth-context-checksums-1\n\x05\x00").unwrap();
        let cache = ChecksumCache::load(&store);
        assert!(cache.known.is_empty());
    }
}
