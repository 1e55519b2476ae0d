//! What pages and the API show of the stored rows: one place that turns rows into views, so a
//! page and its API route can never disagree on a state, a label or a total. Views load what a
//! list needs in a fixed number of statements, whatever the number of rows.

pub mod configs;
pub mod csv;
pub mod labels;
pub mod paging;
pub mod qr;

pub use labels::{Badge, Label};

use chrono::SecondsFormat;

/// A stored Unix time as the API writes it (RFC 3339, UTC, seconds).
pub fn rfc3339(ts: i64) -> String {
    db::time::from_ts(ts).to_rfc3339_opts(SecondsFormat::Secs, true)
}
