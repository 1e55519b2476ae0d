//! Unit and time conversions between the panels' wire formats and our bytes-and-UTC model.
//! Unix seconds (Marzban), milliseconds (3x-ui), naive ISO (Marzneshin), GiB floats and dates (Eylandoo).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use serde_json::Value;

pub(crate) const GIB: i64 = 1024 * 1024 * 1024;

/// Asia/Tehran has been UTC+03:30 all year since Iran dropped DST in 2022.
fn tehran() -> FixedOffset {
    FixedOffset::east_opt(3 * 3600 + 1800).expect("valid offset")
}

/// 0 = never, as Marzban writes it.
pub(crate) fn unix_secs(t: Option<DateTime<Utc>>) -> i64 {
    t.map_or(0, |t| t.timestamp())
}

/// 0, negative or absurd = none.
pub(crate) fn from_unix_secs(secs: i64) -> Option<DateTime<Utc>> {
    (secs > 0)
        .then(|| DateTime::from_timestamp(secs, 0))
        .flatten()
}

/// 0 = never, as 3x-ui writes it.
pub(crate) fn unix_ms(t: Option<DateTime<Utc>>) -> i64 {
    t.map_or(0, |t| t.timestamp_millis())
}

pub(crate) fn from_unix_ms(ms: i64) -> Option<DateTime<Utc>> {
    (ms > 0)
        .then(|| DateTime::from_timestamp_millis(ms))
        .flatten()
}

/// How the Python panels print UTC: no offset, whole seconds.
pub(crate) fn naive_iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// RFC 3339, or a naive ISO datetime taken as UTC (Marzneshin), or a bare date taken as
/// 00:00 Tehran (Eylandoo, and our own day-end rule).
pub(crate) fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .map(tehran_midnight)
}

/// The calendar date in Tehran at instant `t`. For a day-end-normalised expiry (00:00 Tehran)
/// this is the date the user expires on.
pub(crate) fn tehran_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&tehran()).date_naive()
}

pub(crate) fn tehran_midnight(d: NaiveDate) -> DateTime<Utc> {
    tehran()
        .from_local_datetime(&d.and_time(NaiveTime::MIN))
        .single()
        .expect("a fixed offset has no gaps")
        .with_timezone(&Utc)
}

/// Bytes to GiB rounded to 2 decimals. A positive limit never rounds down to 0, which the panel
/// would read as "unlimited".
pub(crate) fn bytes_to_gib_2dp(bytes: i64) -> f64 {
    let gib = (bytes as f64 / GIB as f64 * 100.0).round() / 100.0;
    if bytes > 0 && gib < 0.01 {
        0.01
    } else {
        gib
    }
}

pub(crate) fn gib_to_bytes(gib: f64) -> i64 {
    (gib * GIB as f64).round() as i64
}

/// A JSON integer written any way a loosely typed panel might: number, integral float, string.
pub(crate) fn lenient_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.round() as i64)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>()
                .ok()
                .or_else(|| s.parse::<f64>().ok().map(|f| f.round() as i64))
        }
        _ => None,
    }
}

pub(crate) fn lenient_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) fn lenient_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|i| i != 0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Some(true),
            "false" | "0" | "no" | "off" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_zero_is_never() {
        assert_eq!(unix_secs(None), 0);
        assert_eq!(from_unix_secs(0), None);
        assert_eq!(from_unix_ms(-86_400_000), None);
        let t = DateTime::from_timestamp(1_801_440_000, 0).unwrap();
        assert_eq!(from_unix_secs(unix_secs(Some(t))), Some(t));
        assert_eq!(unix_ms(Some(t)), 1_801_440_000_000);
        assert_eq!(from_unix_ms(1_801_440_000_000), Some(t));
    }

    #[test]
    fn datetimes_in_every_panel_shape() {
        let t = DateTime::parse_from_rfc3339("2027-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_datetime("2027-01-01T00:00:00"), Some(t));
        assert_eq!(
            parse_datetime("2027-01-01T00:00:00.123456").map(|x| x.timestamp()),
            Some(t.timestamp())
        );
        assert_eq!(parse_datetime("2027-01-01T03:30:00+03:30"), Some(t));
        assert_eq!(naive_iso(t), "2027-01-01T00:00:00");
        // A bare date is 00:00 Tehran, i.e. 20:30 UTC the day before.
        assert_eq!(
            parse_datetime("2027-01-02"),
            Some(t + chrono::Duration::minutes(20 * 60 + 30))
        );
        assert_eq!(parse_datetime("soon"), None);
    }

    #[test]
    fn tehran_dates_round_trip_day_ends() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 21).unwrap();
        let end = tehran_midnight(d);
        assert_eq!(end.to_rfc3339(), "2026-03-20T20:30:00+00:00");
        assert_eq!(tehran_date(end), d);
        // One second before midnight Tehran is still the previous date.
        assert_eq!(
            tehran_date(end - chrono::Duration::seconds(1)),
            d.pred_opt().unwrap()
        );
    }

    #[test]
    fn gib_floats() {
        assert_eq!(bytes_to_gib_2dp(10 * GIB), 10.0);
        assert_eq!(bytes_to_gib_2dp(GIB / 2), 0.5);
        assert_eq!(bytes_to_gib_2dp(1), 0.01);
        assert_eq!(bytes_to_gib_2dp(0), 0.0);
        assert_eq!(bytes_to_gib_2dp(GIB + GIB / 3), 1.33);
        assert_eq!(gib_to_bytes(2.5), 2 * GIB + GIB / 2);
    }

    #[test]
    fn lenient_numbers() {
        assert_eq!(lenient_i64(&serde_json::json!("42")), Some(42));
        assert_eq!(lenient_i64(&serde_json::json!(42.0)), Some(42));
        assert_eq!(lenient_i64(&serde_json::json!(null)), None);
        assert_eq!(lenient_f64(&serde_json::json!("1.5")), Some(1.5));
        assert_eq!(lenient_bool(&serde_json::json!(1)), Some(true));
        assert_eq!(lenient_bool(&serde_json::json!("False")), Some(false));
    }
}
