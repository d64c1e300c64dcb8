//! The build cache: each step's key mapped to the image that step made. The images are
//! ordinary (untagged) images, each the parent of the next step's, so `images -a` and
//! `history` show a build's steps as Docker's classic builder does; the table only says which
//! step made which. A row whose image was removed (`rmi`, `image prune`) is simply a miss.

use std::collections::{BTreeSet, HashSet};

use berth_store::{now_rfc3339, Digest};
use rusqlite::OptionalExtension;

use crate::{Engine, Result};

const TABLE: &str = "CREATE TABLE IF NOT EXISTS build_cache (
        key TEXT PRIMARY KEY,
        image_id TEXT NOT NULL,
        created TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS build_cache_image ON build_cache(image_id);";

/// What `builder prune` removed.
#[derive(Debug, Default, Clone)]
pub struct BuilderPruneReport {
    /// The cache entries (their keys) deleted.
    pub deleted: Vec<String>,
    /// Bytes freed on disk.
    pub reclaimed: u64,
}

/// The Build Cache row of `system df`.
#[derive(Debug, Default, Clone, Copy)]
pub struct CacheUsage {
    pub total: u64,
    /// Entries whose image a tagged image stands on.
    pub active: u64,
    /// Bytes of the layers cached steps added.
    pub size: u64,
    /// Bytes `builder prune -a` could free.
    pub reclaimable: u64,
}

impl Engine {
    /// Creates the cache table when missing (a read first: the common case writes nothing).
    pub(crate) fn ensure_build_cache(&self) -> Result<()> {
        let exists = self.store().db().read(|tx| {
            Ok(tx
                .query_row(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'build_cache'",
                    [],
                    |_| Ok(()),
                )
                .optional()?
                .is_some())
        })?;
        if !exists {
            self.store().db().write(|tx| Ok(tx.execute_batch(TABLE)?))?;
        }
        Ok(())
    }

    /// The image a step with this key made, if it is still there.
    pub(crate) fn build_cache_lookup(&self, key: &str) -> Result<Option<Digest>> {
        let id: Option<String> = self.store().db().read(|tx| {
            Ok(tx
                .query_row(
                    "SELECT image_id FROM build_cache WHERE key = ?1",
                    [key],
                    |r| r.get(0),
                )
                .optional()?)
        })?;
        let Some(id) = id else {
            return Ok(None);
        };
        let id: Digest = id.parse()?;
        Ok(self.store().image(&id)?.map(|_| id))
    }

    pub(crate) fn build_cache_record(&self, key: &str, image: &Digest) -> Result<()> {
        self.store().db().write(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO build_cache (key, image_id, created) VALUES (?1, ?2, ?3)",
                [key, &image.to_string(), &now_rfc3339()],
            )?;
            Ok(())
        })?;
        Ok(())
    }

    /// `builder prune`: forgets cached steps and removes the images only the cache kept.
    /// Without `all`, only entries no tagged image stands on (Docker's "dangling" cache).
    pub fn builder_prune(&self, all: bool) -> Result<BuilderPruneReport> {
        self.ensure_build_cache()?;
        let ex = self.store().exclusive()?;
        let in_use = self.images_under_tags()?;
        let rows = self.cache_rows()?;
        let doomed: Vec<(String, Digest)> = rows
            .into_iter()
            .filter(|(_, id)| all || !in_use.contains(id))
            .collect();
        let mut report = BuilderPruneReport::default();
        self.store().db().write(|tx| {
            for (key, _) in &doomed {
                tx.execute("DELETE FROM build_cache WHERE key = ?1", [key])?;
            }
            Ok(())
        })?;
        let still_cached: HashSet<Digest> =
            self.cache_rows()?.into_iter().map(|(_, id)| id).collect();
        let images: BTreeSet<Digest> = doomed.iter().map(|(_, id)| id.clone()).collect();
        for id in images {
            let Some(img) = self.store().image(&id)? else {
                continue;
            };
            let used_by_container: i64 = self.store().db().read(|tx| {
                Ok(tx.query_row(
                    "SELECT COUNT(*) FROM containers WHERE image_id = ?1",
                    [id.to_string()],
                    |r| r.get(0),
                )?)
            })?;
            if !img.tags.is_empty()
                || !img.digests.is_empty()
                || used_by_container > 0
                || still_cached.contains(&id)
            {
                continue;
            }
            let collected = self.store().remove_image(&ex, &id)?;
            report.reclaimed += collected.reclaimed;
        }
        report.deleted = doomed.into_iter().map(|(key, _)| key).collect();
        Ok(report)
    }

    /// The Build Cache row of `system df`.
    pub fn build_cache_usage(&self) -> Result<CacheUsage> {
        self.ensure_build_cache()?;
        let in_use = self.images_under_tags()?;
        let mut usage = CacheUsage::default();
        let mut counted = HashSet::new();
        for (_, id) in self.cache_rows()? {
            let Some(img) = self.store().image(&id)? else {
                continue;
            };
            usage.total += 1;
            let active = in_use.contains(&id);
            if active {
                usage.active += 1;
            }
            // The layer the step added: the image's top, unless its parent has the same.
            let parent_top = match &img.parent {
                Some(p) => self.store().image(p)?.and_then(|p| p.top_layer),
                None => None,
            };
            if let Some(top) = img.top_layer.filter(|t| Some(t) != parent_top.as_ref()) {
                if counted.insert(top.clone()) {
                    let size = self.store().layer(&top)?.map_or(0, |l| l.size);
                    usage.size += size;
                    if !active {
                        usage.reclaimable += size;
                    }
                }
            }
        }
        Ok(usage)
    }

    fn cache_rows(&self) -> Result<Vec<(String, Digest)>> {
        let rows: Vec<(String, String)> = self.store().db().read(|tx| {
            let mut stmt = tx.prepare("SELECT key, image_id FROM build_cache ORDER BY created")?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })?;
        rows.into_iter()
            .map(|(k, id)| Ok((k, id.parse()?)))
            .collect()
    }

    /// Every image a tagged image (or a container's image) stands on, itself included.
    fn images_under_tags(&self) -> Result<HashSet<Digest>> {
        let images = self.store().images()?;
        let by_id: std::collections::HashMap<&Digest, &berth_store::Image> =
            images.iter().map(|i| (&i.id, i)).collect();
        let mut out = HashSet::new();
        for img in images.iter().filter(|i| !i.tags.is_empty()) {
            let mut next = Some(img);
            while let Some(cur) = next {
                if !out.insert(cur.id.clone()) {
                    break;
                }
                next = cur.parent.as_ref().and_then(|p| by_id.get(p).copied());
            }
        }
        Ok(out)
    }
}
