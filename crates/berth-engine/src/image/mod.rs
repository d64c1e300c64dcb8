//! Image use cases: import, list, inspect, tag, remove, prune, history, save and load.

mod archive;
pub(crate) mod changes;
mod history;
mod import;
mod inspect;
mod list;
mod load;
mod remove;
mod save;
mod tag;

pub(crate) use changes::apply as apply_change;
pub use history::HistoryEntry;
pub use import::{host_architecture, ImportOptions};
pub use inspect::ImageInspect;
pub use list::{ImageFilter, ImageSummary, ListOptions};
pub use load::Loaded;
pub(crate) use remove::parse_until;
pub use remove::{PruneReport, RemoveEvent};
pub use save::SaveFormat;

use chrono::{DateTime, Utc};

/// Seconds since the epoch of an RFC 3339 time (0 when it does not parse, as Docker shows
/// images with no creation time).
pub(crate) fn unix_seconds(rfc3339: &str) -> i64 {
    DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.with_timezone(&Utc).timestamp())
        .unwrap_or(0)
}
