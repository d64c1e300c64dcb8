//! Output formatting that matches the `docker` CLI byte for byte: Go templates for `--format`,
//! Docker's table writer, human-readable sizes and durations, status texts and truncation.
//!
//! ```
//! use berth::format::{ListFormat, human_size};
//! use serde_json::json;
//!
//! let rows = vec![json!({"ID": "0123456789ab", "Repository": "busybox", "Size": human_size(4_261_000)})];
//! let headers = [("ID", "IMAGE ID"), ("Repository", "REPOSITORY"), ("Size", "SIZE")];
//! let out = ListFormat::new(r"table {{.Repository}}\t{{.ID}}\t{{.Size}}", "")
//!     .unwrap()
//!     .render(&rows, &headers)
//!     .unwrap();
//! assert_eq!(out, "REPOSITORY   IMAGE ID       SIZE\nbusybox      0123456789ab   4.26MB\n");
//! ```

mod error;
mod gofloat;
mod gotypes;
mod ids;
mod inspect;
mod json;
mod list;
mod status;
mod tabwriter;
mod template;
mod text;
mod units;

pub use error::FormatError;
pub use ids::{command_line, display_id, ps_command, short_id};
pub use inspect::{render_inspect, Inspected};
pub use json::{to_go_json, JsonStyle};
pub use list::ListFormat;
pub use status::ContainerState;
pub use tabwriter::TabWriter;
pub use template::{Method, Template};
pub use text::{display_width, ellipsis, go_quote};
pub use units::{
    ago, bytes_size, go_time_string, human_duration, human_size, human_size_with_precision,
};
