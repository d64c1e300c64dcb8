//! The layer store: each layer unpacked once under `layers/<chain-id>/diff`, in overlayfs
//! lowerdir form, shared by every image and container that stacks it. A layer is unpacked
//! into a `tmp-*` directory, synced, and renamed into place; only then does the database
//! name it.

use std::fs;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use rusqlite::{params, OptionalExtension};

use crate::blob::BlobWriter;
use crate::digest::{chain_id, Digest, DigestReader};
use crate::error::{IoContext, Result, StoreError};
use crate::fsutil;
use crate::store::{now_rfc3339, Lease, Store};

pub const MEDIA_TYPE_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const MEDIA_TYPE_TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const MEDIA_TYPE_TAR_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";

/// A layer as the database records it.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    pub chain_id: Digest,
    pub diff_id: Digest,
    pub parent: Option<Digest>,
    /// Bytes of regular files in this layer (Docker's layer size).
    pub size: u64,
    /// The tar blob held for `save` and `push`, as it was received (maybe compressed).
    pub blob: Option<LayerBlob>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LayerBlob {
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
}

/// What a caller knows in advance about a layer stream (from a manifest and config).
#[derive(Default, Clone, Debug)]
pub struct LayerExpect {
    pub blob_digest: Option<Digest>,
    pub diff_id: Option<Digest>,
}

impl Store {
    pub fn layer_dir(&self, chain_id: &Digest) -> PathBuf {
        self.root().join("layers").join(chain_id.hex())
    }

    /// The directory used as overlay lowerdir for this layer.
    pub fn layer_diff(&self, chain_id: &Digest) -> PathBuf {
        self.layer_dir(chain_id).join("diff")
    }

    pub fn layer(&self, chain_id: &Digest) -> Result<Option<Layer>> {
        self.db().read(|tx| {
            Ok(tx
                .query_row(
                    "SELECT chain_id, diff_id, parent, size, blob_digest, blob_media_type, blob_size
                     FROM layers WHERE chain_id = ?1",
                    [chain_id.to_string()],
                    row_to_layer,
                )
                .optional()?)
        })
    }

    /// The layers of a stack, bottom first, from the top layer's chain ID.
    pub fn layer_stack(&self, top: Option<&Digest>) -> Result<Vec<Layer>> {
        let mut out = Vec::new();
        let mut next = top.cloned();
        while let Some(id) = next {
            let layer = self.layer(&id)?.ok_or(StoreError::LayerNotFound(id))?;
            next = layer.parent.clone();
            out.push(layer);
        }
        out.reverse();
        Ok(out)
    }

    /// Unpacks a layer tar stream (plain, gzip or zstd) on top of `parent` and records it.
    /// The stream is read once: its bytes are kept as the layer blob while they are hashed
    /// and unpacked. A layer already present is not unpacked twice.
    pub fn create_layer(
        &self,
        _lease: &Lease,
        parent: Option<&Digest>,
        stream: impl Read + Send,
        expect: &LayerExpect,
    ) -> Result<Layer> {
        if let Some(diff_id) = &expect.diff_id {
            let chain = chain_id(parent, diff_id);
            if let Some(layer) = self.layer(&chain)? {
                if layer.blob.is_some() || expect.blob_digest.is_none() {
                    return Ok(layer);
                }
            }
        }
        let mut blob = self.blobs().writer()?;
        let tmp = self.root().join("layers").join(fsutil::random_name("tmp-"));
        let diff = tmp.join("diff");
        fs::create_dir_all(&diff).ctx("creating", &diff)?;
        let result = self.unpack_into(stream, &mut blob, &diff);
        let (diff_id, compression, size) = match result {
            Ok(v) => v,
            Err(e) => {
                fsutil::remove_tree(&tmp)?;
                return Err(e);
            }
        };
        let blob_size = blob.offset();
        let blob_digest = match blob.commit(expect.blob_digest.as_ref()) {
            Ok(d) => d,
            Err(e) => {
                fsutil::remove_tree(&tmp)?;
                return Err(e);
            }
        };
        if let Some(exp) = &expect.diff_id {
            if *exp != diff_id {
                fsutil::remove_tree(&tmp)?;
                return Err(StoreError::DigestMismatch {
                    expected: exp.clone(),
                    actual: diff_id,
                });
            }
        }
        let layer = Layer {
            chain_id: chain_id(parent, &diff_id),
            diff_id,
            parent: parent.cloned(),
            size,
            blob: Some(LayerBlob {
                digest: blob_digest,
                media_type: compression.to_string(),
                size: blob_size,
            }),
        };
        self.commit_layer_dir(&tmp, &layer.chain_id)?;
        self.record_layer(&layer)
    }

    /// Makes `dir` the directory of a new layer over `parent`, without unpacking anything:
    /// `blob` holds the uncompressed tar of `dir` as `berth_archive::write_diff` wrote it
    /// (`size`: the bytes of its regular files), so the tar's digest is both the blob's and
    /// the diff ID. `dir` must be on the store's filesystem and unused (a build step's
    /// unmounted upper directory); it is moved, never copied — a containerd snapshot's commit
    /// does the same — which spares a big `COPY` a second write of every byte. On error
    /// `dir` may be gone.
    pub fn adopt_layer_dir(
        &self,
        _lease: &Lease,
        parent: Option<&Digest>,
        blob: BlobWriter,
        dir: &Path,
        size: u64,
    ) -> Result<Layer> {
        let blob_size = blob.offset();
        let digest = blob.commit(None)?;
        let layer = Layer {
            chain_id: chain_id(parent, &digest),
            diff_id: digest.clone(),
            parent: parent.cloned(),
            size,
            blob: Some(LayerBlob {
                digest,
                media_type: MEDIA_TYPE_TAR.to_string(),
                size: blob_size,
            }),
        };
        let tmp = self.root().join("layers").join(fsutil::random_name("tmp-"));
        fs::create_dir(&tmp).ctx("creating", &tmp)?;
        if let Err(e) = fs::rename(dir, tmp.join("diff")) {
            fsutil::remove_tree(&tmp)?;
            return Err(e).ctx("moving the layer's directory", dir);
        }
        self.commit_layer_dir(&tmp, &layer.chain_id)?;
        self.record_layer(&layer)
    }

    /// Makes an unpacked directory (`tmp/diff`) the layer's directory. When the layer is
    /// there already (another process got there first, or a crash left it whole), ours goes.
    pub(crate) fn commit_layer_dir(&self, tmp: &Path, chain: &Digest) -> Result<()> {
        berth_archive::sync_dir(tmp)?;
        let dest = self.layer_dir(chain);
        match fs::rename(tmp, &dest) {
            Ok(()) => Ok(()),
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTEMPTY) | Some(libc::EEXIST)) => {
                fsutil::remove_tree(tmp)
            }
            Err(e) => {
                fsutil::remove_tree(tmp)?;
                Err(e).ctx("committing layer", dest)
            }
        }
    }

    /// Inserts the layer row, or returns the row that is there (keeping a blob we now hold).
    pub(crate) fn record_layer(&self, layer: &Layer) -> Result<Layer> {
        self.db().write(|tx| {
            let existing = tx
                .query_row(
                    "SELECT chain_id, diff_id, parent, size, blob_digest, blob_media_type, blob_size
                     FROM layers WHERE chain_id = ?1",
                    [layer.chain_id.to_string()],
                    row_to_layer,
                )
                .optional()?;
            match existing {
                Some(mut old) => {
                    if old.blob.is_none() && layer.blob.is_some() {
                        let b = layer.blob.as_ref();
                        tx.execute(
                            "UPDATE layers SET blob_digest=?2, blob_media_type=?3, blob_size=?4
                             WHERE chain_id=?1",
                            params![
                                layer.chain_id.to_string(),
                                b.map(|b| b.digest.to_string()),
                                b.map(|b| b.media_type.clone()),
                                b.map(|b| b.size as i64)
                            ],
                        )?;
                        old.blob = layer.blob.clone();
                    }
                    Ok(old)
                }
                None => {
                    let b = layer.blob.as_ref();
                    tx.execute(
                        "INSERT INTO layers
                         (chain_id, diff_id, parent, size, blob_digest, blob_media_type, blob_size, created)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                        params![
                            layer.chain_id.to_string(),
                            layer.diff_id.to_string(),
                            layer.parent.as_ref().map(Digest::to_string),
                            layer.size as i64,
                            b.map(|b| b.digest.to_string()),
                            b.map(|b| b.media_type.clone()),
                            b.map(|b| b.size as i64),
                            now_rfc3339(),
                        ],
                    )?;
                    Ok(layer.clone())
                }
            }
        })
    }

    /// Unpacks a layer from a blob already in the content store (as `load` stores them).
    pub fn create_layer_from_blob(
        &self,
        _lease: &Lease,
        parent: Option<&Digest>,
        blob: &Digest,
        expected_diff_id: Option<&Digest>,
    ) -> Result<Layer> {
        if let Some(diff_id) = expected_diff_id {
            if let Some(layer) = self.layer(&chain_id(parent, diff_id))? {
                return Ok(layer);
            }
        }
        let blob_size = self.blobs().size(blob)?;
        let file = self.blobs().open_blob(blob)?;
        let tmp = self.root().join("layers").join(fsutil::random_name("tmp-"));
        let diff = tmp.join("diff");
        fs::create_dir_all(&diff).ctx("creating", &diff)?;
        let unpacked = self
            .unpack_stream(BufReader::with_capacity(256 * 1024, file), &diff)
            .and_then(|(diff_id, media_type, size)| match expected_diff_id {
                Some(exp) if *exp != diff_id => Err(StoreError::DigestMismatch {
                    expected: exp.clone(),
                    actual: diff_id,
                }),
                _ => Ok((diff_id, media_type, size)),
            });
        let (diff_id, media_type, size) = match unpacked {
            Ok(v) => v,
            Err(e) => {
                fsutil::remove_tree(&tmp)?;
                return Err(e);
            }
        };
        let layer = Layer {
            chain_id: chain_id(parent, &diff_id),
            diff_id,
            parent: parent.cloned(),
            size,
            blob: Some(LayerBlob {
                digest: blob.clone(),
                media_type: media_type.to_string(),
                size: blob_size,
            }),
        };
        self.commit_layer_dir(&tmp, &layer.chain_id)?;
        self.record_layer(&layer)
    }

    /// Reads `stream` once: every byte goes to the blob writer; the decompressed tar is
    /// hashed (the diff ID) and unpacked into `dest`.
    fn unpack_into(
        &self,
        stream: impl Read + Send,
        blob: &mut BlobWriter,
        dest: &Path,
    ) -> Result<(Digest, &'static str, u64)> {
        let tee = BufReader::with_capacity(
            256 * 1024,
            Tee {
                inner: stream,
                copy: blob,
            },
        );
        self.unpack_stream(tee, dest)
    }

    /// Detects the compression of a layer stream, unpacks it into `dest`, and returns its
    /// diff ID, media type and size. The whole stream is consumed.
    fn unpack_stream(
        &self,
        mut stream: impl Read + Send,
        dest: &Path,
    ) -> Result<(Digest, &'static str, u64)> {
        let (compression, decoded) = berth_archive::decompress_detected(&mut stream)?;
        let media_type = match compression {
            berth_archive::Compression::None => MEDIA_TYPE_TAR,
            berth_archive::Compression::Gzip => MEDIA_TYPE_TAR_GZIP,
            berth_archive::Compression::Zstd => MEDIA_TYPE_TAR_ZSTD,
        };
        let mut hashed = DigestReader::new(decoded);
        let stats = berth_archive::unpack_layer(&mut hashed, dest, &Default::default())?;
        let (diff_id, _) = hashed.finish().ctx("reading layer", dest)?;
        // Whatever follows the compressed stream still belongs to the blob.
        io::copy(&mut stream, &mut io::sink()).ctx("reading layer", dest)?;
        Ok((diff_id, media_type, stats.size))
    }
}

/// Copies every byte read through it into a writer.
struct Tee<'a, R> {
    inner: R,
    copy: &'a mut BlobWriter,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.copy.write_all(&buf[..n])?;
        Ok(n)
    }
}

pub(crate) fn row_to_layer(r: &rusqlite::Row) -> rusqlite::Result<Layer> {
    let parse = |s: String| {
        s.parse::<Digest>().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })
    };
    let blob_digest: Option<String> = r.get(4)?;
    let blob = match blob_digest {
        Some(d) => Some(LayerBlob {
            digest: parse(d)?,
            media_type: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
            size: r.get::<_, Option<i64>>(6)?.unwrap_or(0) as u64,
        }),
        None => None,
    };
    Ok(Layer {
        chain_id: parse(r.get(0)?)?,
        diff_id: parse(r.get(1)?)?,
        parent: r.get::<_, Option<String>>(2)?.map(parse).transpose()?,
        size: r.get::<_, i64>(3)? as u64,
        blob,
    })
}
