//! `rmi` and `image prune`, with Docker's rules: a name shared with other names is only
//! untagged; an image is deleted with its untagged parents and the layers only it used;
//! images in use are refused with Docker's conflict messages.

use std::collections::BTreeMap;

use berth_store::{Collected, Digest, Exclusive, Image, Reference};
use serde::Serialize;

use super::unix_seconds;
use crate::{Engine, EngineError, Result};

/// One line of `rmi`'s output.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum RemoveEvent {
    /// A familiar name removed (`busybox:latest`).
    Untagged(String),
    /// An image or layer ID deleted.
    Deleted(String),
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct PruneReport {
    pub events: Vec<RemoveEvent>,
    pub reclaimed: u64,
}

/// Who uses an image: containers (running or not).
#[derive(Clone, Debug)]
pub(crate) struct ContainerUse {
    pub id: String,
    pub running: bool,
}

impl Engine {
    /// `rmi [-f] NAME`: events in the order Docker prints them.
    pub fn remove_image(
        &self,
        name: &str,
        force: bool,
        prune_parents: bool,
    ) -> Result<Vec<RemoveEvent>> {
        let ex = self.store().exclusive()?;
        let img = self.store().resolve_image(name)?;
        let mut events = Vec::new();
        let by_id = !named_by_reference(name, &img);
        let refs = img.tags.len() + img.digests.len();

        if !by_id {
            let reference = Reference::parse(name)?.with_default_tag();
            let users = self.containers_using(&img.id)?;
            if refs == 1 && !force {
                if let Some(c) = users.first() {
                    return Err(EngineError::Conflict(format!(
                        "conflict: unable to remove repository reference \"{name}\" (must force) - container {} is using its referenced image {}",
                        short(&c.id),
                        img.id.short()
                    )));
                }
            }
            self.untag_reference(&reference, &mut events)?;
            if refs > 1 {
                return Ok(events);
            }
            if !users.is_empty() {
                // The last name is gone, but a container still runs on the image: keep it.
                return Ok(events);
            }
            if !self.store().image_children(&img.id)?.is_empty() {
                return Ok(events);
            }
        } else {
            if refs > 1 && !force {
                return Err(EngineError::Conflict(format!(
                    "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
                    img.id.short()
                )));
            }
            self.check_deletable(&img, force)?;
            for r in img.tags.iter().chain(img.digests.iter()) {
                self.untag_reference(r, &mut events)?;
            }
        }
        self.delete_image_and_parents(&ex, &img, prune_parents, &mut events)?;
        Ok(events)
    }

    fn untag_reference(&self, r: &Reference, events: &mut Vec<RemoveEvent>) -> Result<()> {
        if self.store().untag(r)? {
            events.push(RemoveEvent::Untagged(r.familiar()));
        }
        Ok(())
    }

    /// The conflicts that stop deleting an image by ID.
    fn check_deletable(&self, img: &Image, force: bool) -> Result<()> {
        if !self.store().image_children(&img.id)?.is_empty() {
            return Err(EngineError::Conflict(format!(
                "conflict: unable to delete {} (cannot be forced) - image has dependent child images",
                img.id.short()
            )));
        }
        for c in self.containers_using(&img.id)? {
            if c.running {
                return Err(EngineError::Conflict(format!(
                    "conflict: unable to delete {} (cannot be forced) - image is being used by running container {}",
                    img.id.short(),
                    short(&c.id)
                )));
            }
            if !force {
                return Err(EngineError::Conflict(format!(
                    "conflict: unable to delete {} (must be forced) - image is being used by stopped container {}",
                    img.id.short(),
                    short(&c.id)
                )));
            }
        }
        Ok(())
    }

    /// Deletes the image, then each untagged parent no other image or container needs.
    fn delete_image_and_parents(
        &self,
        ex: &Exclusive,
        img: &Image,
        prune_parents: bool,
        events: &mut Vec<RemoveEvent>,
    ) -> Result<u64> {
        let mut reclaimed = 0;
        let mut next = Some(img.clone());
        while let Some(cur) = next.take() {
            let collected: Collected = self.store().remove_image(ex, &cur.id)?;
            events.push(RemoveEvent::Deleted(cur.id.to_string()));
            for l in &collected.layers {
                events.push(RemoveEvent::Deleted(l.chain_id.to_string()));
            }
            // Docker counts the layers' sizes (what `images` shows), not blobs and metadata.
            reclaimed += collected.layers.iter().map(|l| l.size).sum::<u64>();
            if !prune_parents {
                break;
            }
            if let Some(pid) = &cur.parent {
                if let Some(parent) = self.store().image(pid)? {
                    let free = parent.tags.is_empty()
                        && parent.digests.is_empty()
                        && self.store().image_children(pid)?.is_empty()
                        && self.containers_using(pid)?.is_empty();
                    if free {
                        next = Some(parent);
                    }
                }
            }
        }
        Ok(reclaimed)
    }

    /// `image prune [-a] [--filter until=|label=]`: dangling images, or with `all` every
    /// image no container uses.
    pub fn prune_images(&self, all: bool, filters: &[String]) -> Result<PruneReport> {
        let until = parse_prune_filters(filters)?;
        let ex = self.store().exclusive()?;
        let mut report = PruneReport::default();
        let images = self.store().images()?;
        for img in images {
            // Deleting one image may have taken others (its parents) already.
            let Some(img) = self.store().image(&img.id)? else {
                continue;
            };
            if !all && !img.is_dangling() {
                continue;
            }
            if !self.store().image_children(&img.id)?.is_empty()
                || !self.containers_using(&img.id)?.is_empty()
            {
                continue;
            }
            if !until.matches(self, &img)? {
                continue;
            }
            for r in img.tags.iter().chain(img.digests.iter()) {
                if self.store().untag(r)? {
                    report.events.push(RemoveEvent::Untagged(r.familiar()));
                }
            }
            report.reclaimed +=
                self.delete_image_and_parents(&ex, &img, true, &mut report.events)?;
        }
        Ok(report)
    }

    /// Containers whose image is `id`, running ones first.
    pub(crate) fn containers_using(&self, id: &Digest) -> Result<Vec<ContainerUse>> {
        let mut out: Vec<ContainerUse> = self
            .store()
            .containers_of_image(id)?
            .into_iter()
            .filter_map(|c| self.reconcile(c).ok())
            .map(|c| ContainerUse {
                running: c.state.status.is_live(),
                id: c.id,
            })
            .collect();
        out.sort_by_key(|c| !c.running);
        Ok(out)
    }
}

struct PruneFilters {
    until: Option<i64>,
    labels: Vec<(bool, String, Option<String>)>,
}

impl PruneFilters {
    fn matches(&self, engine: &Engine, img: &Image) -> Result<bool> {
        if let Some(u) = self.until {
            if unix_seconds(&img.created) >= u {
                return Ok(false);
            }
        }
        if self.labels.is_empty() {
            return Ok(true);
        }
        let labels: BTreeMap<String, String> = engine
            .store()
            .image_config(&img.id)?
            .config
            .and_then(|c| c.labels)
            .unwrap_or_default();
        Ok(self.labels.iter().all(|(want, k, v)| {
            let has = match v {
                None => labels.contains_key(k),
                Some(v) => labels.get(k) == Some(v),
            };
            has == *want
        }))
    }
}

fn parse_prune_filters(filters: &[String]) -> Result<PruneFilters> {
    let mut out = PruneFilters {
        until: None,
        labels: Vec::new(),
    };
    for f in filters {
        let (k, v) = f.split_once('=').ok_or_else(|| {
            EngineError::InvalidArgument("bad format of filter (expected name=value)".into())
        })?;
        match k {
            "until" => out.until = Some(parse_until(v)?),
            "label" | "label!" => {
                let (key, val) = match v.split_once('=') {
                    Some((a, b)) => (a.to_string(), Some(b.to_string())),
                    None => (v.to_string(), None),
                };
                out.labels.push((k == "label", key, val));
            }
            "dangling" => {}
            _ => {
                return Err(EngineError::InvalidArgument(format!(
                    "invalid filter '{k}'"
                )))
            }
        }
    }
    Ok(out)
}

/// `until`: a Unix time, an RFC 3339 time, or a Go duration back from now (`24h`, `10m`).
pub(crate) fn parse_until(v: &str) -> Result<i64> {
    if let Ok(secs) = v.parse::<i64>() {
        return Ok(secs);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(v) {
        return Ok(t.timestamp());
    }
    let d = parse_go_duration(v)
        .ok_or_else(|| EngineError::InvalidArgument(format!("invalid filter 'until={v}'")))?;
    Ok(chrono::Utc::now().timestamp() - d)
}

/// Seconds in a Go duration string like `1h30m`, `90s`, `2h`.
pub(crate) fn parse_go_duration(s: &str) -> Option<i64> {
    let mut total = 0f64;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let mut unit = c.to_string();
        while let Some(&n) = chars.peek() {
            if n.is_ascii_alphabetic() || n == 'µ' {
                unit.push(n);
                chars.next();
            } else {
                break;
            }
        }
        let v: f64 = num.parse().ok()?;
        num.clear();
        total += v * match unit.as_str() {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        any = true;
    }
    if !num.is_empty() || !any {
        return None;
    }
    Some(total as i64)
}

/// Whether the user named the image by one of its names (else by its ID or an ID prefix);
/// resolution already preferred a name, as Docker does.
fn named_by_reference(name: &str, img: &Image) -> bool {
    match Reference::parse(name) {
        Ok(r) => {
            let r = r.with_default_tag();
            img.tags.contains(&r) || img.digests.contains(&r)
        }
        Err(_) => false,
    }
}

fn short(id: &str) -> &str {
    let bare = id.strip_prefix("sha256:").unwrap_or(id);
    &bare[..bare.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("24h"), Some(86400));
        assert_eq!(parse_go_duration("1h30m"), Some(5400));
        assert_eq!(parse_go_duration("90s"), Some(90));
        assert_eq!(parse_go_duration("10"), None);
        assert_eq!(parse_go_duration("5x"), None);
    }
}
