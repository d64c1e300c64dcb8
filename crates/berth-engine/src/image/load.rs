//! `load`: images from a tar stream in docker-archive form (`manifest.json`, any Docker
//! version's layout) or OCI image layout form (`index.json`). The archive is read once:
//! large members go straight into the content store (digest-checked when the path names a
//! digest), small ones are kept in memory. On any error, what the load added is collected
//! again, so a bad archive leaves the store as it was.

use std::collections::HashMap;
use std::io::{Read, Write};

use berth_store::{Digest, ImageConfig, Lease, Reference};

use super::archive::{
    is_index, ArchiveManifest, Index, Manifest, ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME,
};
use crate::image::import::host_architecture;
use crate::{Engine, EngineError, Result};

/// Members up to this size are held in memory (manifests, configs, small layers).
const IN_MEMORY: u64 = 1 << 20;

#[derive(Clone, Debug)]
pub struct Loaded {
    pub id: Digest,
    /// Familiar names given to the image (`busybox:latest`); empty for an untagged image.
    pub tags: Vec<String>,
    /// Names taken from another image: (name, that image's ID).
    pub moved: Vec<(String, Digest)>,
}

/// A member of the archive: its bytes, or the blob they were stored as.
enum Member {
    Bytes(Vec<u8>),
    Blob(Digest),
}

struct Members {
    files: HashMap<String, Member>,
    links: HashMap<String, String>,
}

impl Members {
    fn get(&self, path: &str) -> Option<&Member> {
        let mut p = clean(path);
        for _ in 0..16 {
            if let Some(m) = self.files.get(&p) {
                return Some(m);
            }
            p = self.links.get(&p)?.clone();
        }
        None
    }

    fn bytes(&self, engine: &Engine, path: &str) -> Result<Vec<u8>> {
        match self.get(path) {
            Some(Member::Bytes(b)) => Ok(b.clone()),
            Some(Member::Blob(d)) => Ok(engine.store().blobs().read(d)?),
            None => Err(invalid(format!("{path} is missing from the archive"))),
        }
    }
}

/// One image found in the archive.
struct Found {
    config_path: String,
    layer_paths: Vec<String>,
    tags: Vec<Reference>,
}

impl Engine {
    pub fn load(&self, input: impl Read + Send) -> Result<Vec<Loaded>> {
        let lease = self.store().lease()?;
        let result = self.load_with(&lease, input);
        drop(lease);
        if result.is_err() {
            // Blobs and layers of a failed load are named by nothing: collect them.
            let ex = self.store().exclusive()?;
            self.store().collect_garbage(&ex)?;
        }
        result
    }

    fn load_with(&self, lease: &Lease, input: impl Read + Send) -> Result<Vec<Loaded>> {
        let decoded = berth_archive::decompress(input).map_err(|e| invalid(e.to_string()))?;
        let members = self.read_members(decoded)?;
        let found = if members.get("manifest.json").is_some() {
            docker_images(&members.bytes(self, "manifest.json")?)?
        } else if members.get("index.json").is_some() {
            self.oci_images(&members)?
        } else {
            return Err(invalid(
                "neither manifest.json nor index.json found: not a docker-archive or OCI layout"
                    .into(),
            ));
        };
        let mut out = Vec::new();
        for f in found {
            let config_bytes = members.bytes(self, &f.config_path)?;
            if let Some(hex) = digest_in_path(&f.config_path) {
                let actual = Digest::of(&config_bytes);
                if actual.hex() != hex {
                    return Err(invalid(format!(
                        "config {} does not match its digest {actual}",
                        f.config_path
                    )));
                }
            }
            let config = ImageConfig::parse(&config_bytes)
                .map_err(|e| invalid(format!("image config {}: {e}", f.config_path)))?;
            if config.rootfs.diff_ids.len() != f.layer_paths.len() {
                return Err(invalid(format!(
                    "image config lists {} layers but the manifest has {}",
                    config.rootfs.diff_ids.len(),
                    f.layer_paths.len()
                )));
            }
            let mut parent: Option<Digest> = None;
            for (path, diff_id) in f.layer_paths.iter().zip(&config.rootfs.diff_ids) {
                let layer = match members.get(path) {
                    Some(Member::Blob(d)) => self.store().create_layer_from_blob(
                        lease,
                        parent.as_ref(),
                        d,
                        Some(diff_id),
                    )?,
                    Some(Member::Bytes(b)) => self.store().create_layer(
                        lease,
                        parent.as_ref(),
                        &b[..],
                        &berth_store::LayerExpect {
                            blob_digest: digest_in_path(path)
                                .and_then(|h| Digest::from_hex(&h).ok()),
                            diff_id: Some(diff_id.clone()),
                        },
                    )?,
                    None => {
                        return Err(invalid(format!("layer {path} is missing from the archive")))
                    }
                };
                parent = Some(layer.chain_id);
            }
            let id = self.store().create_image(lease, &config_bytes, None)?;
            let mut tags = Vec::new();
            let mut moved = Vec::new();
            for t in &f.tags {
                if let Ok(old) = self.store().resolve_image(&t.to_string()) {
                    if old.id != id {
                        moved.push((t.familiar(), old.id));
                    }
                }
                self.store().tag(&id, t)?;
                tags.push(t.familiar());
            }
            out.push(Loaded { id, tags, moved });
        }
        Ok(out)
    }

    /// Reads every member once; large regular files go to the content store.
    fn read_members(&self, input: impl Read) -> Result<Members> {
        let mut archive = tar::Archive::new(input);
        let mut members = Members {
            files: HashMap::new(),
            links: HashMap::new(),
        };
        let entries = archive.entries().map_err(|e| invalid(e.to_string()))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| invalid(e.to_string()))?;
            let path = clean(&String::from_utf8_lossy(&entry.path_bytes()));
            match entry.header().entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => {}
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    if let Ok(Some(target)) = entry.link_name() {
                        let target = target.to_string_lossy().into_owned();
                        let resolved = if entry.header().entry_type() == tar::EntryType::Symlink {
                            join_relative(&path, &target)
                        } else {
                            clean(&target)
                        };
                        members.links.insert(path, resolved);
                    }
                    continue;
                }
                _ => continue,
            }
            let size = entry.size();
            if size <= IN_MEMORY {
                let mut buf = Vec::with_capacity(size as usize);
                entry
                    .read_to_end(&mut buf)
                    .map_err(|e| invalid(format!("reading {path}: {e}")))?;
                members.files.insert(path, Member::Bytes(buf));
            } else {
                let expected = digest_in_path(&path).and_then(|h| Digest::from_hex(&h).ok());
                let mut w = self.store().blobs().writer()?;
                std::io::copy(&mut entry, &mut w)
                    .map_err(|e| invalid(format!("reading {path}: {e}")))?;
                w.flush()
                    .map_err(|e| invalid(format!("reading {path}: {e}")))?;
                let d = w.commit(expected.as_ref()).map_err(|e| match e {
                    berth_store::StoreError::DigestMismatch { expected, actual } => {
                        invalid(format!(
                            "{path} does not match its digest: expected {expected}, got {actual}"
                        ))
                    }
                    other => other.into(),
                })?;
                members.files.insert(path, Member::Blob(d));
            }
        }
        Ok(members)
    }

    /// Images named by an OCI layout's index (nested indexes resolved to this platform).
    fn oci_images(&self, members: &Members) -> Result<Vec<Found>> {
        let index: Index = serde_json::from_slice(&members.bytes(self, "index.json")?)
            .map_err(|e| invalid(format!("index.json: {e}")))?;
        let mut out: Vec<Found> = Vec::new();
        for desc in &index.manifests {
            let tags = names_from_annotations(&desc.annotations);
            let manifest = self.resolve_manifest(members, &desc.media_type, &desc.digest, 0)?;
            let config_path = blob_path(&manifest.config.digest)?;
            // Several index entries (tags) may name one manifest: merge them.
            if let Some(f) = out.iter_mut().find(|f| f.config_path == config_path) {
                f.tags.extend(tags);
                continue;
            }
            out.push(Found {
                config_path,
                layer_paths: manifest
                    .layers
                    .iter()
                    .map(|l| blob_path(&l.digest))
                    .collect::<Result<_>>()?,
                tags,
            });
        }
        Ok(out)
    }

    fn resolve_manifest(
        &self,
        members: &Members,
        media_type: &str,
        digest: &str,
        depth: u32,
    ) -> Result<Manifest> {
        if depth > 4 {
            return Err(invalid("image indexes nest too deeply".into()));
        }
        let path = blob_path(digest)?;
        let bytes = members.bytes(self, &path)?;
        if Digest::of(&bytes).to_string() != digest {
            return Err(invalid(format!("{path} does not match its digest")));
        }
        if is_index(media_type, &bytes) {
            let index: Index =
                serde_json::from_slice(&bytes).map_err(|e| invalid(format!("{path}: {e}")))?;
            let arch = host_architecture();
            let pick = index
                .manifests
                .iter()
                .find(|m| {
                    m.platform
                        .as_ref()
                        .is_some_and(|p| p.os == "linux" && p.architecture == arch)
                })
                .or_else(|| index.manifests.iter().find(|m| m.platform.is_none()))
                .ok_or_else(|| invalid(format!("no image for linux/{arch} in {path}")))?;
            return self.resolve_manifest(members, &pick.media_type, &pick.digest, depth + 1);
        }
        serde_json::from_slice(&bytes).map_err(|e| invalid(format!("{path}: {e}")))
    }
}

fn docker_images(manifest_json: &[u8]) -> Result<Vec<Found>> {
    let entries: Vec<ArchiveManifest> = serde_json::from_slice(manifest_json)
        .map_err(|e| invalid(format!("manifest.json: {e}")))?;
    entries
        .into_iter()
        .map(|m| {
            let tags = m
                .repo_tags
                .unwrap_or_default()
                .iter()
                .map(|t| Reference::parse(t).map(Reference::with_default_tag))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(Found {
                config_path: m.config,
                layer_paths: m.layers,
                tags,
            })
        })
        .collect()
}

/// The names an OCI index entry gives: containerd's full name, else a ref name that is a
/// whole reference (a bare tag like `latest` names no repository).
fn names_from_annotations(a: &std::collections::BTreeMap<String, String>) -> Vec<Reference> {
    if let Some(r) = a
        .get(ANNOTATION_IMAGE_NAME)
        .and_then(|n| Reference::parse(n).ok())
    {
        return vec![r.with_default_tag()];
    }
    match a.get(ANNOTATION_REF_NAME) {
        Some(n) if n.contains([':', '/']) => Reference::parse(n)
            .ok()
            .map(|r| vec![r.with_default_tag()])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn blob_path(digest: &str) -> Result<String> {
    let d: Digest = digest
        .parse()
        .map_err(|_| invalid(format!("invalid digest {digest:?}")))?;
    Ok(format!("blobs/sha256/{}", d.hex()))
}

/// The hex digest a member's path names (`blobs/sha256/<hex>`, `<hex>.json`,
/// `<hex>/layer.tar` of old archives name other things and are not checked by path).
fn digest_in_path(path: &str) -> Option<String> {
    let hex = path.strip_prefix("blobs/sha256/")?;
    Digest::from_hex(hex).ok().map(|d| d.hex().to_string())
}

fn clean(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join("/")
}

fn join_relative(link: &str, target: &str) -> String {
    if target.starts_with('/') {
        return clean(target);
    }
    let dir = link.rsplit_once('/').map_or("", |(d, _)| d);
    clean(&format!("{dir}/{target}"))
}

fn invalid(msg: String) -> EngineError {
    EngineError::InvalidArgument(format!("invalid archive: {msg}"))
}
