//! `system check`: verifies every blob digest, every layer directory and every database
//! reference; with repair, removes what is unreachable or half-written.

use std::collections::HashSet;
use std::fs::{self, File};

use crate::digest::DigestReader;
use crate::error::{IoContext, Result};
use crate::fsutil;
use crate::layer::row_to_layer;
use crate::store::{Exclusive, Store};

/// One problem found, and whether repair fixed it.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub description: String,
    pub repaired: bool,
}

impl Store {
    pub fn check(&self, ex: &Exclusive, repair: bool) -> Result<Vec<Problem>> {
        let mut problems = Vec::new();
        let mut report = |description: String, repaired: bool| {
            problems.push(Problem {
                description,
                repaired,
            })
        };

        let integrity: String = self
            .db()
            .read(|tx| Ok(tx.query_row("PRAGMA quick_check", [], |r| r.get(0))?))?;
        if integrity != "ok" {
            report(format!("database: {integrity}"), false);
        }

        // Half-written transfers and extractions (no lease is held: we are exclusive).
        for e in
            fs::read_dir(self.blobs().ingest_dir()).ctx("listing", self.blobs().ingest_dir())?
        {
            let e = e.ctx("listing", self.blobs().ingest_dir())?;
            if repair {
                fs::remove_file(e.path()).ctx("removing", e.path())?;
            }
            report(
                format!(
                    "partial blob in ingest: {}",
                    e.file_name().to_string_lossy()
                ),
                repair,
            );
        }
        let layers_dir = self.root().join("layers");
        let rows: Vec<crate::layer::Layer> = self.db().read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT chain_id, diff_id, parent, size, blob_digest, blob_media_type, blob_size FROM layers",
            )?;
            let v = stmt.query_map([], row_to_layer)?.collect::<rusqlite::Result<_>>()?;
            Ok(v)
        })?;
        let known: HashSet<String> = rows.iter().map(|l| l.chain_id.hex().to_string()).collect();
        for e in fs::read_dir(&layers_dir).ctx("listing", &layers_dir)? {
            let e = e.ctx("listing", &layers_dir)?;
            let name = e.file_name().to_string_lossy().into_owned();
            if known.contains(&name) {
                continue;
            }
            let what = if name.starts_with("tmp-") {
                "half-written layer"
            } else if name.starts_with("trash-") {
                "half-deleted layer"
            } else {
                "layer directory the database does not know"
            };
            if repair {
                fsutil::remove_tree(&e.path())?;
            }
            report(format!("{what}: layers/{name}"), repair);
        }

        // Every recorded layer has its directory and its blob.
        let mut broken_layers = HashSet::new();
        for l in &rows {
            if !self.layer_diff(&l.chain_id).is_dir() {
                report(format!("layer {} has no directory", l.chain_id), false);
                broken_layers.insert(l.chain_id.clone());
            }
            if let Some(b) = &l.blob {
                if !self.blobs().exists(&b.digest) {
                    report(
                        format!("layer {} is missing its blob {}", l.chain_id, b.digest),
                        false,
                    );
                }
            }
        }

        // Every blob's content matches its name.
        for d in self.blobs().list()? {
            let path = self.blobs().path(&d);
            let actual = File::open(&path)
                .and_then(|f| DigestReader::new(f).finish())
                .ctx("reading", &path)?
                .0;
            if actual != d {
                if repair {
                    fs::remove_file(&path).ctx("removing", &path)?;
                }
                report(
                    format!("blob {d} is corrupt (content hashes to {actual})"),
                    repair,
                );
            }
        }

        // Every image has its config and its layers.
        let images = self.images()?;
        for img in &images {
            if !self.blobs().exists(&img.id) {
                report(
                    format!("image {} is missing its config blob", img.id),
                    false,
                );
            }
            for l in self.layer_stack(img.top_layer.as_ref()).unwrap_or_default() {
                if broken_layers.contains(&l.chain_id) {
                    report(
                        format!("image {} uses a broken layer {}", img.id, l.chain_id),
                        false,
                    );
                }
            }
        }

        // What nothing names is garbage: unreachable layers and unnamed blobs.
        if repair {
            let c = self.collect_garbage(ex)?;
            for l in c.layers {
                report(format!("unreachable layer {}", l.chain_id), true);
            }
            for b in c.blobs {
                report(format!("unreferenced blob {b}"), true);
            }
        } else {
            for l in self.db().read(crate::gc::dead_layers)? {
                report(format!("unreachable layer {}", l.chain_id), false);
            }
            let named = self.named_blobs()?;
            for d in self.blobs().list()? {
                if !named.contains(&d) {
                    report(format!("unreferenced blob {d}"), false);
                }
            }
        }
        Ok(problems)
    }
}
