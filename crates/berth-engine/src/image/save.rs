//! `save`: images to a tar stream, as docker-archive (Docker 25's layout: an OCI image
//! layout plus `manifest.json` and `repositories`, readable by every docker-archive reader)
//! or as a plain OCI image layout.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, Read, Seek, Write};

use berth_store::{Digest, DigestWriter, Image, Layer, Reference, MEDIA_TYPE_TAR};

use super::archive::{
    ArchiveManifest, Descriptor, Index, Manifest, ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME,
    MEDIA_OCI_CONFIG, MEDIA_OCI_INDEX, MEDIA_OCI_MANIFEST,
};
use crate::{Engine, EngineError, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaveFormat {
    Docker,
    Oci,
}

struct Saved {
    image: Image,
    /// The names the user gave; none when the image was named by ID, as Docker does.
    tags: Vec<Reference>,
}

impl Engine {
    pub fn save(&self, names: &[String], format: SaveFormat, out: impl Write) -> Result<()> {
        let mut saved: Vec<Saved> = Vec::new();
        for name in names {
            let image = self.store().resolve_image(name)?;
            let tag = Reference::parse(name)
                .ok()
                .map(Reference::with_default_tag)
                .filter(|r| image.tags.contains(r));
            match saved.iter_mut().find(|s| s.image.id == image.id) {
                Some(s) => s.tags.extend(tag),
                None => saved.push(Saved {
                    image,
                    tags: tag.into_iter().collect(),
                }),
            }
        }
        let mut tar = tar::Builder::new(out);
        let mut written: HashSet<Digest> = HashSet::new();
        let mut index = Index {
            schema_version: 2,
            media_type: Some(MEDIA_OCI_INDEX.to_string()),
            manifests: Vec::new(),
        };
        let mut archive_manifest = Vec::new();
        let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();

        for s in &saved {
            let config = self.store().image_config_bytes(&s.image.id)?;
            if written.insert(s.image.id.clone()) {
                if Digest::of(&config) != s.image.id {
                    return Err(corrupt(&s.image.id));
                }
                append_bytes(&mut tar, &blob_path(&s.image.id), &config)?;
            }
            let mut layer_descs = Vec::new();
            for layer in self.store().layer_stack(s.image.top_layer.as_ref())? {
                let desc = self.append_layer(&mut tar, &layer, format, &mut written)?;
                layer_descs.push(desc);
            }
            let manifest = Manifest {
                schema_version: 2,
                media_type: Some(MEDIA_OCI_MANIFEST.to_string()),
                config: Descriptor {
                    media_type: MEDIA_OCI_CONFIG.to_string(),
                    digest: s.image.id.to_string(),
                    size: config.len() as u64,
                    ..Default::default()
                },
                layers: layer_descs.clone(),
            };
            let manifest_bytes = to_json(&manifest);
            let manifest_digest = Digest::of(&manifest_bytes);
            if written.insert(manifest_digest.clone()) {
                append_bytes(&mut tar, &blob_path(&manifest_digest), &manifest_bytes)?;
            }
            let base = Descriptor {
                media_type: MEDIA_OCI_MANIFEST.to_string(),
                digest: manifest_digest.to_string(),
                size: manifest_bytes.len() as u64,
                ..Default::default()
            };
            if s.tags.is_empty() {
                index.manifests.push(base.clone());
            }
            for t in &s.tags {
                let mut d = base.clone();
                d.annotations
                    .insert(ANNOTATION_IMAGE_NAME.into(), t.to_string());
                let ref_name = match format {
                    SaveFormat::Docker => t.tag().unwrap_or("latest").to_string(),
                    SaveFormat::Oci => t.familiar(),
                };
                d.annotations.insert(ANNOTATION_REF_NAME.into(), ref_name);
                index.manifests.push(d);
                repositories.entry(t.familiar_name()).or_default().insert(
                    t.tag().unwrap_or("latest").to_string(),
                    s.image.id.hex().to_string(),
                );
            }
            archive_manifest.push(ArchiveManifest {
                config: blob_path(&s.image.id),
                repo_tags: (!s.tags.is_empty())
                    .then(|| s.tags.iter().map(Reference::familiar).collect()),
                layers: layer_descs
                    .iter()
                    .map(|d| format!("blobs/sha256/{}", d.digest.trim_start_matches("sha256:")))
                    .collect(),
            });
        }
        append_bytes(&mut tar, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        append_bytes(&mut tar, "index.json", &to_json(&index))?;
        if format == SaveFormat::Docker {
            append_bytes(&mut tar, "manifest.json", &to_json(&archive_manifest))?;
            if !repositories.is_empty() {
                append_bytes(&mut tar, "repositories", &to_json(&repositories))?;
            }
        }
        tar.into_inner()
            .and_then(|mut w| w.flush())
            .map_err(EngineError::io("writing archive"))?;
        Ok(())
    }

    /// Writes one layer blob (once per archive) and returns its descriptor. docker-archive
    /// readers expect uncompressed layers, so a compressed blob is decompressed for them.
    fn append_layer<W: Write>(
        &self,
        tar: &mut tar::Builder<W>,
        layer: &Layer,
        format: SaveFormat,
        written: &mut HashSet<Digest>,
    ) -> Result<Descriptor> {
        let blob = layer.blob.as_ref().ok_or_else(|| {
            EngineError::Other(format!(
                "layer {} has no stored blob to save",
                layer.chain_id
            ))
        })?;
        let plain = blob.media_type == MEDIA_TYPE_TAR;
        if format == SaveFormat::Oci || plain {
            if written.insert(blob.digest.clone()) {
                let file = self.store().blobs().open_blob(&blob.digest)?;
                append_verified(tar, &blob.digest, file, blob.size)?;
            }
            return Ok(Descriptor {
                media_type: if plain {
                    MEDIA_TYPE_TAR.to_string()
                } else {
                    blob.media_type.clone()
                },
                digest: blob.digest.to_string(),
                size: blob.size,
                ..Default::default()
            });
        }
        // Compressed blob into a docker-archive: spool the decompressed tar (its digest is the
        // diff ID), since a tar entry needs its size up front.
        let mut spool = tempfile::tempfile_in(
            self.store()
                .blobs()
                .path(&blob.digest)
                .parent()
                .unwrap_or(self.root()),
        )
        .map_err(EngineError::io("creating spool file"))?;
        let size = {
            let src = self.store().blobs().open_blob(&blob.digest)?;
            let mut dec =
                berth_archive::decompress(src).map_err(|e| EngineError::Other(e.to_string()))?;
            let mut w = DigestWriter::new(&mut spool);
            io::copy(&mut dec, &mut w).map_err(EngineError::io("decompressing layer"))?;
            let (_, digest, n) = w.finish();
            if digest != layer.diff_id {
                return Err(EngineError::Other(format!(
                    "layer {} does not decompress to its diff ID",
                    layer.chain_id
                )));
            }
            n
        };
        spool
            .rewind()
            .map_err(EngineError::io("reading spool file"))?;
        if written.insert(layer.diff_id.clone()) {
            append_file(tar, &blob_path(&layer.diff_id), spool, size)?;
        }
        Ok(Descriptor {
            media_type: MEDIA_TYPE_TAR.to_string(),
            digest: layer.diff_id.to_string(),
            size,
            ..Default::default()
        })
    }
}

/// Serialises a document of the archive; these are plain data and cannot fail.
fn to_json<T: serde::Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

/// Copies a blob into the archive, checking on the way that it still has its digest: a blob
/// damaged on disk must not leave the store as if it were whole.
fn append_verified<W: Write>(
    tar: &mut tar::Builder<W>,
    digest: &Digest,
    file: impl Read,
    size: u64,
) -> Result<()> {
    let mut reader = berth_store::DigestReader::new(file.take(size));
    append_file(tar, &blob_path(digest), &mut reader, size)?;
    let (actual, _) = reader.finish().map_err(EngineError::io("reading blob"))?;
    if actual != *digest {
        return Err(corrupt(digest));
    }
    Ok(())
}

fn corrupt(d: &Digest) -> EngineError {
    EngineError::Other(format!(
        "blob {d} is corrupt on disk (its content no longer matches its digest); run `berth system check`"
    ))
}

fn blob_path(d: &Digest) -> String {
    format!("blobs/sha256/{}", d.hex())
}

fn header(size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    h
}

fn append_bytes<W: Write>(tar: &mut tar::Builder<W>, path: &str, bytes: &[u8]) -> Result<()> {
    let mut h = header(bytes.len() as u64);
    tar.append_data(&mut h, path, bytes)
        .map_err(EngineError::io("writing archive"))
}

fn append_file<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    file: impl Read,
    size: u64,
) -> Result<()> {
    let mut h = header(size);
    tar.append_data(&mut h, path, file.take(size))
        .map_err(EngineError::io("writing archive"))
}
