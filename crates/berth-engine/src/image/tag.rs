//! `tag`: another name for an image.

use berth_store::Reference;

use crate::{Engine, Result};

impl Engine {
    /// Points `target` (a tag; `:latest` when none is given) at the image `source` names.
    pub fn tag_image(&self, source: &str, target: &Reference) -> Result<()> {
        let img = self.store().resolve_image(source)?;
        self.store().tag(&img.id, target)?;
        Ok(())
    }
}
