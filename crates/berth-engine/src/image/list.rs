//! `images` / `image ls`: summaries with Docker's filters.

use std::collections::{BTreeMap, HashSet};

use berth_store::{Digest, Image, Reference};
use serde::Serialize;

use super::unix_seconds;

/// Creation times compare at full precision (images made in one second keep their order).
fn created_time(rfc3339: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_default()
}
use crate::{Engine, EngineError, Result};

/// One image as the list shows it (the Engine API's ImageSummary).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageSummary {
    pub id: String,
    pub parent_id: String,
    /// Familiar names (`busybox:latest`).
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    /// Seconds since the epoch.
    pub created: i64,
    pub size: u64,
    pub shared_size: i64,
    pub labels: BTreeMap<String, String>,
    pub containers: i64,
}

#[derive(Clone, Debug)]
pub enum ImageFilter {
    Dangling(bool),
    Reference(String),
    Label { key: String, value: Option<String> },
    Before(String),
    Since(String),
}

impl ImageFilter {
    /// Parses a `--filter key=value` argument.
    pub fn parse(s: &str) -> Result<ImageFilter> {
        let (k, v) = s.split_once('=').ok_or_else(|| {
            EngineError::InvalidArgument("bad format of filter (expected name=value)".to_string())
        })?;
        Ok(match k {
            "dangling" => match v {
                "true" | "1" => ImageFilter::Dangling(true),
                "false" | "0" => ImageFilter::Dangling(false),
                _ => {
                    return Err(EngineError::InvalidArgument(format!(
                        "invalid filter 'dangling={v}'"
                    )))
                }
            },
            "reference" => ImageFilter::Reference(v.to_string()),
            "label" => match v.split_once('=') {
                Some((key, val)) => ImageFilter::Label {
                    key: key.to_string(),
                    value: Some(val.to_string()),
                },
                None => ImageFilter::Label {
                    key: v.to_string(),
                    value: None,
                },
            },
            "before" => ImageFilter::Before(v.to_string()),
            "since" => ImageFilter::Since(v.to_string()),
            _ => {
                return Err(EngineError::InvalidArgument(format!(
                    "invalid filter '{k}'"
                )))
            }
        })
    }
}

#[derive(Clone, Debug, Default)]
pub struct ListOptions {
    /// Show intermediate images too (`-a`).
    pub all: bool,
    pub filters: Vec<ImageFilter>,
}

impl Engine {
    /// Images newest first, filtered as `docker images` filters them.
    pub fn list_images(&self, opts: &ListOptions) -> Result<Vec<ImageSummary>> {
        let mut images = self.store().images()?;
        images.sort_by_key(|i| std::cmp::Reverse(created_time(&i.created)));
        let parents: HashSet<Digest> = images.iter().filter_map(|i| i.parent.clone()).collect();
        let mut before = None;
        let mut since = None;
        for f in &opts.filters {
            match f {
                ImageFilter::Before(r) => before = Some(self.store().resolve_image(r)?),
                ImageFilter::Since(r) => since = Some(self.store().resolve_image(r)?),
                _ => {}
            }
        }
        // Several values of one filter key are alternatives (Docker ORs them); different
        // keys must all hold.
        let patterns: Vec<&str> = opts
            .filters
            .iter()
            .filter_map(|f| match f {
                ImageFilter::Reference(p) => Some(p.as_str()),
                _ => None,
            })
            .collect();
        let needs_labels = opts
            .filters
            .iter()
            .any(|f| matches!(f, ImageFilter::Label { .. }));
        let mut out = Vec::new();
        for mut img in images {
            // Untagged parents of other images are build intermediates: hidden without -a.
            if !opts.all && img.tags.is_empty() && parents.contains(&img.id) {
                continue;
            }
            if let Some(b) = &before {
                if created_time(&img.created) >= created_time(&b.created) {
                    continue;
                }
            }
            if let Some(s) = &since {
                if created_time(&img.created) <= created_time(&s.created) {
                    continue;
                }
            }
            if !patterns.is_empty() {
                // Only the names that match are shown, as Docker does.
                img.tags
                    .retain(|r| patterns.iter().any(|p| reference_matches(p, r)));
                img.digests
                    .retain(|r| patterns.iter().any(|p| reference_matches(p, r)));
                if img.tags.is_empty() && img.digests.is_empty() {
                    continue;
                }
            }
            let labels = if needs_labels {
                self.image_labels(&img.id)?
            } else {
                BTreeMap::new()
            };
            if !opts.filters.iter().all(|f| matches(f, &img, &labels)) {
                continue;
            }
            let mut summary = summarize(&img);
            summary.labels = labels;
            out.push(summary);
        }
        Ok(out)
    }

    fn image_labels(&self, id: &Digest) -> Result<BTreeMap<String, String>> {
        Ok(self
            .store()
            .image_config(id)?
            .config
            .and_then(|c| c.labels)
            .unwrap_or_default())
    }
}

fn summarize(img: &Image) -> ImageSummary {
    ImageSummary {
        id: img.id.to_string(),
        parent_id: img
            .parent
            .as_ref()
            .map(Digest::to_string)
            .unwrap_or_default(),
        repo_tags: img.tags.iter().map(Reference::familiar).collect(),
        repo_digests: img.digests.iter().map(Reference::familiar).collect(),
        created: unix_seconds(&img.created),
        size: img.size,
        shared_size: -1,
        labels: BTreeMap::new(),
        containers: -1,
    }
}

fn matches(f: &ImageFilter, img: &Image, labels: &BTreeMap<String, String>) -> bool {
    match f {
        ImageFilter::Dangling(d) => img.is_dangling() == *d,
        // Applied (as alternatives) before: the names left are the matching ones.
        ImageFilter::Reference(_) => true,
        ImageFilter::Label { key, value } => match (labels.get(key), value) {
            (Some(_), None) => true,
            (Some(v), Some(want)) => v == want,
            (None, _) => false,
        },
        ImageFilter::Before(_) | ImageFilter::Since(_) => true,
    }
}

/// Docker's reference filter: the pattern is a shell glob matched against the familiar
/// name, and against `name:tag` when the pattern has a tag.
fn reference_matches(pattern: &str, r: &Reference) -> bool {
    let name = r.familiar_name();
    glob_match(pattern, &name) || glob_match(pattern, &r.familiar())
}

/// `path.Match` semantics: `*` and `?` do not cross `/`; `[...]` classes.
pub(crate) fn glob_match(pattern: &str, s: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = s.chars().collect();
    glob_at(&p, &t)
}

fn glob_at(p: &[char], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('*') => {
            let rest = &p[1..];
            for i in 0..=t.len() {
                if glob_at(rest, &t[i..]) {
                    return true;
                }
                if i < t.len() && t[i] == '/' {
                    break;
                }
            }
            false
        }
        Some('?') => !t.is_empty() && t[0] != '/' && glob_at(&p[1..], &t[1..]),
        Some('[') => {
            let Some(end) = p.iter().skip(1).position(|c| *c == ']').map(|e| e + 1) else {
                return false;
            };
            let Some(&c) = t.first() else { return false };
            let class = &p[1..end];
            let (negate, class) = match class.first() {
                Some('^') | Some('!') => (true, &class[1..]),
                _ => (false, class),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            hit != negate && glob_at(&p[end + 1..], &t[1..])
        }
        Some('\\') if p.len() > 1 => !t.is_empty() && t[0] == p[1] && glob_at(&p[2..], &t[1..]),
        Some(c) => !t.is_empty() && t[0] == *c && glob_at(&p[1..], &t[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_follow_path_match() {
        assert!(glob_match("busy*", "busybox"));
        assert!(!glob_match("*", "a/b"));
        assert!(glob_match("*/*", "a/b"));
        assert!(glob_match("b?sybox:lat*", "busybox:latest"));
        assert!(glob_match("[a-c]usybox", "busybox"));
        assert!(!glob_match("[^b]usybox", "busybox"));
    }

    #[test]
    fn reference_filter_matches_name_or_name_and_tag() {
        let r = Reference::parse("busybox:1.36").unwrap();
        assert!(reference_matches("busybox", &r));
        assert!(reference_matches("busybox:1.*", &r));
        assert!(!reference_matches("busybox:latest", &r));
        let r = Reference::parse("localhost:5000/a/b:c").unwrap();
        assert!(reference_matches("localhost:5000/a/*", &r));
    }
}
