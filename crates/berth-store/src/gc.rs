//! Garbage collection: layers no image (or container, or build cache entry) stacks on, and
//! blobs nothing names, are deleted. Runs only under the exclusive store lock.

use std::collections::HashSet;

use rusqlite::Transaction;

use crate::digest::Digest;
use crate::error::Result;
use crate::fsutil;
use crate::layer::{row_to_layer, Layer};
use crate::store::{Exclusive, Store};

/// Top layers that keep a stack alive. Other tables that pin layers add their query here.
pub(crate) const LIVE_TOPS: &str = "SELECT top_layer FROM images WHERE top_layer IS NOT NULL
    UNION SELECT top_layer FROM containers WHERE top_layer IS NOT NULL";

/// What a collection removed.
#[derive(Debug, Default)]
pub struct Collected {
    /// Layers deleted, top first (the order Docker prints `Deleted:` lines in).
    pub layers: Vec<Layer>,
    pub blobs: Vec<Digest>,
    /// Bytes freed on disk (unpacked layers and blobs).
    pub reclaimed: u64,
}

impl Store {
    /// Deletes an image record and its names; then collects what only it used.
    pub fn remove_image(&self, ex: &Exclusive, id: &Digest) -> Result<Collected> {
        self.db().write(|tx| self.delete_image_record(tx, id))?;
        self.collect_garbage(ex)
    }

    /// Removes unreachable layers (rows, then directories) and unnamed blobs.
    pub fn collect_garbage(&self, _ex: &Exclusive) -> Result<Collected> {
        let layers = self.db().write(|tx| {
            let dead = dead_layers(tx)?;
            for l in &dead {
                tx.execute(
                    "DELETE FROM layers WHERE chain_id = ?1",
                    [l.chain_id.to_string()],
                )?;
            }
            Ok(dead)
        })?;
        let mut out = Collected::default();
        for l in &layers {
            out.reclaimed += l.size;
            fsutil::remove_dir_all_atomic(&self.layer_dir(&l.chain_id))?;
        }
        out.layers = layers;
        let named = self.named_blobs()?;
        for d in self.blobs().list()? {
            if !named.contains(&d) {
                out.reclaimed += self.blobs().size(&d).unwrap_or(0);
                self.blobs().remove(&d)?;
                out.blobs.push(d);
            }
        }
        Ok(out)
    }

    /// Every blob the database names: image configs, manifests, layer blobs.
    pub(crate) fn named_blobs(&self) -> Result<HashSet<Digest>> {
        self.db().read(|tx| {
            let mut out = HashSet::new();
            for q in [
                "SELECT id FROM images",
                "SELECT manifest_digest FROM images WHERE manifest_digest IS NOT NULL",
                "SELECT blob_digest FROM layers WHERE blob_digest IS NOT NULL",
            ] {
                let mut stmt = tx.prepare(q)?;
                let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
                for r in rows {
                    out.insert(r?.parse()?);
                }
            }
            Ok(out)
        })
    }
}

/// Layers not below any live top, children before parents.
pub(crate) fn dead_layers(tx: &Transaction) -> Result<Vec<Layer>> {
    let sql = format!(
        "WITH RECURSIVE live(chain_id) AS ({LIVE_TOPS}
            UNION SELECT layers.parent FROM layers JOIN live ON layers.chain_id = live.chain_id
            WHERE layers.parent IS NOT NULL)
         SELECT chain_id, diff_id, parent, size, blob_digest, blob_media_type, blob_size
         FROM layers WHERE chain_id NOT IN (SELECT chain_id FROM live)"
    );
    let mut stmt = tx.prepare(&sql)?;
    let all: Vec<Layer> = stmt
        .query_map([], row_to_layer)?
        .collect::<rusqlite::Result<_>>()?;
    // Order children before parents so each delete leaves no row pointing at a missing one.
    let mut ordered = Vec::with_capacity(all.len());
    let mut remaining = all;
    while !remaining.is_empty() {
        let parents: HashSet<Digest> = remaining.iter().filter_map(|l| l.parent.clone()).collect();
        let (leaves, rest): (Vec<Layer>, Vec<Layer>) = remaining
            .into_iter()
            .partition(|l| !parents.contains(&l.chain_id));
        if leaves.is_empty() {
            // A cycle cannot be built through chain IDs; stop rather than loop forever.
            ordered.extend(rest);
            break;
        }
        ordered.extend(leaves);
        remaining = rest;
    }
    Ok(ordered)
}
