//! Images: a config blob (whose digest is the image ID) over a stack of layers, and the names
//! (tags, repo digests) that point at it.

use std::collections::BTreeMap;

use rusqlite::{params, OptionalExtension, Transaction};

use crate::config::ImageConfig;
use crate::digest::{chain_ids, is_hex64, Digest};
use crate::error::{Result, StoreError};
use crate::reference::Reference;
use crate::store::{now_rfc3339, Lease, Store};

/// An image as the database records it, with its names.
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    pub id: Digest,
    pub top_layer: Option<Digest>,
    pub parent: Option<Digest>,
    pub created: String,
    pub size: u64,
    pub last_tag_time: Option<String>,
    pub added: String,
    /// Fully-qualified tags (`docker.io/library/busybox:latest`), sorted.
    pub tags: Vec<Reference>,
    /// Repo digests (`docker.io/library/busybox@sha256:...`), sorted.
    pub digests: Vec<Reference>,
}

impl Image {
    /// Dangling: no tag names it.
    pub fn is_dangling(&self) -> bool {
        self.tags.is_empty()
    }
}

const IMAGE_COLUMNS: &str = "id, top_layer, parent, created, size, last_tag_time, added";

impl Store {
    /// Stores a new image from its raw config bytes; every layer the config lists must be in
    /// the layer store already. Returns the image ID. Storing an image twice is harmless.
    pub fn create_image(
        &self,
        _lease: &Lease,
        config_bytes: &[u8],
        parent: Option<&Digest>,
    ) -> Result<Digest> {
        let config = ImageConfig::parse(config_bytes)
            .map_err(|e| StoreError::InvalidConfig(e.to_string()))?;
        let chains = chain_ids(&config.rootfs.diff_ids);
        let id = self.blobs().put(config_bytes)?;
        let created = config.created.clone().unwrap_or_else(now_rfc3339);
        self.db().write(|tx| {
            let mut size = 0u64;
            for c in &chains {
                let s: Option<i64> = tx
                    .query_row(
                        "SELECT size FROM layers WHERE chain_id = ?1",
                        [c.to_string()],
                        |r| r.get(0),
                    )
                    .optional()?;
                size += s.ok_or_else(|| StoreError::LayerNotFound(c.clone()))? as u64;
            }
            tx.execute(
                "INSERT OR IGNORE INTO images (id, top_layer, parent, created, size, added)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    id.to_string(),
                    chains.last().map(Digest::to_string),
                    parent.map(Digest::to_string),
                    created,
                    size as i64,
                    now_rfc3339()
                ],
            )?;
            Ok(())
        })?;
        Ok(id)
    }

    /// The raw config bytes of an image.
    pub fn image_config_bytes(&self, id: &Digest) -> Result<Vec<u8>> {
        self.blobs().read(id)
    }

    pub fn image_config(&self, id: &Digest) -> Result<ImageConfig> {
        ImageConfig::parse(&self.image_config_bytes(id)?)
            .map_err(|e| StoreError::InvalidConfig(e.to_string()))
    }

    /// Points `reference` (a name with a tag) at an image, moving it from any other image.
    pub fn tag(&self, id: &Digest, reference: &Reference) -> Result<()> {
        let name = reference.clone().with_default_tag();
        self.db().write(|tx| {
            tx.execute(
                "INSERT INTO tags (name, image_id) VALUES (?1, ?2)
                 ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id",
                params![name.to_string(), id.to_string()],
            )?;
            tx.execute(
                "UPDATE images SET last_tag_time = ?2 WHERE id = ?1",
                params![id.to_string(), now_rfc3339()],
            )?;
            Ok(())
        })
    }

    /// Records a repo digest (`name@sha256:...`) for an image.
    pub fn add_repo_digest(&self, id: &Digest, reference: &Reference) -> Result<()> {
        self.db().write(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO repo_digests (name, image_id) VALUES (?1, ?2)",
                params![reference.to_string(), id.to_string()],
            )?;
            Ok(())
        })
    }

    /// Removes one name (tag or digest reference); returns whether it existed.
    pub fn untag(&self, reference: &Reference) -> Result<bool> {
        self.db().write(|tx| {
            let n = if reference.digest().is_some() {
                tx.execute(
                    "DELETE FROM repo_digests WHERE name = ?1",
                    [reference.to_string()],
                )?
            } else {
                tx.execute("DELETE FROM tags WHERE name = ?1", [reference.to_string()])?
            };
            Ok(n > 0)
        })
    }

    /// Every image, newest first, with its names.
    pub fn images(&self) -> Result<Vec<Image>> {
        self.db().read(|tx| {
            let mut names = names_by_image(tx)?;
            let mut stmt = tx.prepare(&format!(
                "SELECT {IMAGE_COLUMNS} FROM images ORDER BY created DESC, id"
            ))?;
            let rows = stmt.query_map([], row_to_image)?;
            let mut out = Vec::new();
            for r in rows {
                let mut img = r?;
                if let Some((tags, digests)) = names.remove(&img.id) {
                    img.tags = tags;
                    img.digests = digests;
                }
                out.push(img);
            }
            Ok(out)
        })
    }

    pub fn image(&self, id: &Digest) -> Result<Option<Image>> {
        self.db().read(|tx| load_image(tx, id))
    }

    /// Finds an image as Docker does: by name (`busybox`, `name:tag`, `name@digest`), by full
    /// ID (`sha256:...` or 64 hex), or by a unique ID prefix (`461`).
    pub fn resolve_image(&self, s: &str) -> Result<Image> {
        // Docker names a missing reference with its default tag: `No such image: x:latest`.
        let shown = Reference::parse(s)
            .map(|r| r.with_default_tag().familiar())
            .unwrap_or_else(|_| s.to_string());
        let not_found = || StoreError::ImageNotFound(shown.clone());
        self.db().read(|tx| {
            if let Ok(d) = s.parse::<Digest>() {
                return load_image(tx, &d)?.ok_or_else(not_found);
            }
            if is_hex64(s) {
                let d = Digest::from_hex(s)?;
                return load_image(tx, &d)?.ok_or_else(not_found);
            }
            // `sha256:` and a short ID is an ID prefix, never a name.
            if let Some(prefix) = s.strip_prefix("sha256:") {
                return match find_by_prefix(tx, prefix)? {
                    Some(img) => Ok(img),
                    None => Err(not_found()),
                };
            }
            let parsed = Reference::parse(s);
            if let Ok(r) = &parsed {
                let r = r.clone().with_default_tag();
                let table = if r.digest().is_some() && r.tag().is_none() {
                    "repo_digests"
                } else {
                    "tags"
                };
                let id: Option<String> = tx
                    .query_row(
                        &format!("SELECT image_id FROM {table} WHERE name = ?1"),
                        [r.to_string()],
                        |row| row.get(0),
                    )
                    .optional()?;
                if let Some(id) = id {
                    return load_image(tx, &id.parse()?)?.ok_or_else(not_found);
                }
                // name@<image ID> names the image when the image has a tag in that
                // repository; another repository's name does not.
                if let Some(d) = r.digest() {
                    if let Some(img) = load_image(tx, d)? {
                        if img.tags.iter().any(|t| t.name() == r.name()) {
                            return Ok(img);
                        }
                    }
                }
            }
            // A bare word of hex digits may be an ID prefix.
            if let Some(img) = find_by_prefix(tx, s)? {
                return Ok(img);
            }
            match parsed {
                Err(e) => Err(e),
                Ok(_) => Err(not_found()),
            }
        })
    }

    /// Removes an image record and its names. Its layers stay until garbage collection.
    pub(crate) fn delete_image_record(&self, tx: &Transaction, id: &Digest) -> Result<()> {
        let id = id.to_string();
        tx.execute("DELETE FROM tags WHERE image_id = ?1", [&id])?;
        tx.execute("DELETE FROM repo_digests WHERE image_id = ?1", [&id])?;
        tx.execute("DELETE FROM images WHERE id = ?1", [&id])?;
        Ok(())
    }

    /// Images whose parent is `id` (built on it).
    pub fn image_children(&self, id: &Digest) -> Result<Vec<Digest>> {
        self.db().read(|tx| {
            let mut stmt = tx.prepare("SELECT id FROM images WHERE parent = ?1")?;
            let ids: Vec<String> = stmt
                .query_map([id.to_string()], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            ids.iter().map(|s| s.parse()).collect()
        })
    }
}

/// The one image whose ID starts with `prefix` (hex digits); ambiguity is an error.
fn find_by_prefix(tx: &Transaction, prefix: &str) -> Result<Option<Image>> {
    if prefix.is_empty() || prefix.len() >= 64 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let prefix = prefix.to_ascii_lowercase();
    let mut stmt =
        tx.prepare("SELECT id FROM images WHERE id >= ?1 AND id < ?2 ORDER BY id LIMIT 2")?;
    let ids: Vec<String> = stmt
        .query_map(
            [format!("sha256:{prefix}"), format!("sha256:{prefix}g")],
            |r| r.get(0),
        )?
        .collect::<rusqlite::Result<_>>()?;
    match ids.as_slice() {
        [one] => load_image(tx, &one.parse()?),
        [] => Ok(None),
        _ => Err(StoreError::Ambiguous(prefix)),
    }
}

type Names = BTreeMap<Digest, (Vec<Reference>, Vec<Reference>)>;

fn names_by_image(tx: &Transaction) -> Result<Names> {
    let mut out: Names = BTreeMap::new();
    for (table, is_tag) in [("tags", true), ("repo_digests", false)] {
        let mut stmt = tx.prepare(&format!("SELECT name, image_id FROM {table} ORDER BY name"))?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (name, id) = row?;
            let entry = out.entry(id.parse()?).or_default();
            let r = Reference::parse(&name)?;
            if is_tag {
                entry.0.push(r);
            } else {
                entry.1.push(r);
            }
        }
    }
    Ok(out)
}

fn load_image(tx: &Transaction, id: &Digest) -> Result<Option<Image>> {
    let img = tx
        .query_row(
            &format!("SELECT {IMAGE_COLUMNS} FROM images WHERE id = ?1"),
            [id.to_string()],
            row_to_image,
        )
        .optional()?;
    let Some(mut img) = img else {
        return Ok(None);
    };
    for (table, is_tag) in [("tags", true), ("repo_digests", false)] {
        let mut stmt = tx.prepare(&format!(
            "SELECT name FROM {table} WHERE image_id = ?1 ORDER BY name"
        ))?;
        let names: Vec<String> = stmt
            .query_map([id.to_string()], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for n in names {
            let r = Reference::parse(&n)?;
            if is_tag {
                img.tags.push(r);
            } else {
                img.digests.push(r);
            }
        }
    }
    Ok(Some(img))
}

fn row_to_image(r: &rusqlite::Row) -> rusqlite::Result<Image> {
    let digest = |i: usize| -> rusqlite::Result<Option<Digest>> {
        r.get::<_, Option<String>>(i)?
            .map(|s| {
                s.parse::<Digest>().map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        i,
                        rusqlite::types::Type::Text,
                        Box::new(e),
                    )
                })
            })
            .transpose()
    };
    Ok(Image {
        id: digest(0)?.ok_or(rusqlite::Error::InvalidColumnType(
            0,
            "id".into(),
            rusqlite::types::Type::Null,
        ))?,
        top_layer: digest(1)?,
        parent: digest(2)?,
        created: r.get(3)?,
        size: r.get::<_, i64>(4)? as u64,
        last_tag_time: r.get(5)?,
        added: r.get(6)?,
        tags: Vec::new(),
        digests: Vec::new(),
    })
}
