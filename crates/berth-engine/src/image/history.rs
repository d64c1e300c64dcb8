//! `history`: one row per step of the image, newest first, as Docker shows them.

use serde::Serialize;

use super::unix_seconds;
use crate::{Engine, Result};

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HistoryEntry {
    /// The image ID for the top row, `<missing>` for the others (as Docker prints it
    /// for images whose intermediate steps are not local images).
    pub id: String,
    pub created: i64,
    pub created_by: String,
    pub tags: Vec<String>,
    pub size: u64,
    pub comment: String,
}

impl Engine {
    pub fn history(&self, name: &str) -> Result<Vec<HistoryEntry>> {
        let img = self.store().resolve_image(name)?;
        let config = self.store().image_config(&img.id)?;
        let layers = self.store().layer_stack(img.top_layer.as_ref())?;
        let mut layer_sizes = layers.iter().map(|l| l.size);
        let mut rows = Vec::new();
        if config.history.is_empty() {
            // A config without history (some importers): one row per layer.
            for size in layer_sizes {
                rows.push(HistoryEntry {
                    id: "<missing>".into(),
                    created: unix_seconds(config.created.as_deref().unwrap_or("")),
                    created_by: String::new(),
                    tags: Vec::new(),
                    size,
                    comment: String::new(),
                });
            }
        } else {
            for h in &config.history {
                let size = if h.empty_layer {
                    0
                } else {
                    layer_sizes.next().unwrap_or(0)
                };
                rows.push(HistoryEntry {
                    id: "<missing>".into(),
                    created: unix_seconds(h.created.as_deref().unwrap_or("")),
                    created_by: h.created_by.clone().unwrap_or_default(),
                    tags: Vec::new(),
                    size,
                    comment: h.comment.clone().unwrap_or_default(),
                });
            }
        }
        rows.reverse();
        if let Some(top) = rows.first_mut() {
            top.id = img.id.to_string();
            top.tags = img.tags.iter().map(|t| t.familiar()).collect();
        }
        Ok(rows)
    }
}
