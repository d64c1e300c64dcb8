//! The content store: immutable blobs under `blobs/sha256/<hex>`. The only way in is
//! ingest → verify → commit: a blob is written under `ingest/`, fsynced, its digest checked,
//! and only then renamed into place, so a visible blob is always whole and correct.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::digest::{Digest, DigestWriter};
use crate::error::{IoContext, Result, StoreError};
use crate::fsutil;

pub struct BlobStore {
    dir: PathBuf,
    ingest: PathBuf,
}

impl BlobStore {
    pub(crate) fn open(root: &Path) -> Result<BlobStore> {
        let dir = root.join("blobs").join("sha256");
        let ingest = root.join("ingest");
        for d in [&dir, &ingest] {
            fs::create_dir_all(d).ctx("creating", d)?;
        }
        Ok(BlobStore { dir, ingest })
    }

    pub fn path(&self, d: &Digest) -> PathBuf {
        self.dir.join(d.hex())
    }

    pub fn exists(&self, d: &Digest) -> bool {
        self.path(d).is_file()
    }

    pub fn open_blob(&self, d: &Digest) -> Result<File> {
        File::open(self.path(d)).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => StoreError::BlobNotFound(d.clone()),
            _ => StoreError::Io {
                context: "opening blob",
                path: self.path(d),
                source: e,
            },
        })
    }

    pub fn read(&self, d: &Digest) -> Result<Vec<u8>> {
        let mut buf = Vec::new();
        self.open_blob(d)?
            .read_to_end(&mut buf)
            .ctx("reading blob", self.path(d))?;
        Ok(buf)
    }

    pub fn size(&self, d: &Digest) -> Result<u64> {
        Ok(fs::metadata(self.path(d))
            .ctx("reading blob", self.path(d))?
            .len())
    }

    /// Stores bytes whose digest is computed here; returns it.
    pub fn put(&self, bytes: &[u8]) -> Result<Digest> {
        let mut w = self.writer()?;
        w.write_all(bytes).ctx("writing blob", w.path.clone())?;
        w.commit(None)
    }

    /// Opens a writer on a fresh ingest file.
    pub fn writer(&self) -> Result<BlobWriter> {
        let (file, path) = fsutil::create_temp_file(&self.ingest)?;
        Ok(BlobWriter {
            inner: Some(DigestWriter::new(io::BufWriter::with_capacity(
                256 * 1024,
                file,
            ))),
            path,
            dir: self.dir.clone(),
        })
    }

    pub(crate) fn remove(&self, d: &Digest) -> Result<()> {
        match fs::remove_file(self.path(d)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(e).ctx("removing blob", self.path(d))
            }
            _ => Ok(()),
        }
    }

    /// Every blob digest present, for `system check` and garbage collection.
    pub fn list(&self) -> Result<Vec<Digest>> {
        let mut out = Vec::new();
        for e in fs::read_dir(&self.dir).ctx("listing", &self.dir)? {
            let e = e.ctx("listing", &self.dir)?;
            if let Some(Ok(d)) = e.file_name().to_str().map(Digest::from_hex) {
                out.push(d);
            }
        }
        Ok(out)
    }

    pub(crate) fn ingest_dir(&self) -> &Path {
        &self.ingest
    }
}

/// A blob being written. Dropped without `commit`, it removes its ingest file.
pub struct BlobWriter {
    inner: Option<DigestWriter<io::BufWriter<File>>>,
    path: PathBuf,
    dir: PathBuf,
}

impl BlobWriter {
    /// Bytes written so far (a resumed transfer continues from here).
    pub fn offset(&self) -> u64 {
        self.inner.as_ref().map_or(0, DigestWriter::count)
    }

    /// Syncs the data, checks it against `expected` (if given), and makes it visible.
    pub fn commit(mut self, expected: Option<&Digest>) -> Result<Digest> {
        let Some(inner) = self.inner.take() else {
            return Err(StoreError::Io {
                context: "committing blob twice",
                path: self.path.clone(),
                source: io::ErrorKind::Other.into(),
            });
        };
        let (buf, digest, _) = inner.finish();
        let file = buf
            .into_inner()
            .map_err(|e| e.into_error())
            .ctx("writing blob", &self.path)?;
        if let Some(exp) = expected {
            if *exp != digest {
                return Err(StoreError::DigestMismatch {
                    expected: exp.clone(),
                    actual: digest,
                });
            }
        }
        file.sync_all().ctx("syncing blob", &self.path)?;
        let dest = self.dir.join(digest.hex());
        fs::rename(&self.path, &dest).ctx("committing blob", &dest)?;
        Ok(digest)
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.inner {
            Some(w) => w.write(buf),
            None => Err(io::ErrorKind::BrokenPipe.into()),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        // Not committed (an error, or a caller that gave up): the ingest file is garbage.
        // After a commit the path no longer exists and this is a no-op.
        let _ = fs::remove_file(&self.path);
    }
}
