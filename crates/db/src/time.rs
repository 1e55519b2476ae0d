//! Times are stored as Unix seconds (UTC) on both databases; these convert at the edge.
//! Integers keep comparisons and hour buckets identical on SQLite and PostgreSQL.

use chrono::{DateTime, TimeZone, Utc};

pub fn to_ts(at: DateTime<Utc>) -> i64 {
    at.timestamp()
}

pub fn from_ts(ts: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(ts, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

pub fn opt_from_ts(ts: Option<i64>) -> Option<DateTime<Utc>> {
    ts.map(from_ts)
}
