//! The business calendar: Asia/Tehran as a fixed UTC+03:30, day ends and hour buckets.
//! Iran dropped DST in 2022, so a fixed offset is exact and no time-zone database is needed.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeDelta, TimeZone, Timelike, Utc};

/// UTC+03:30 in seconds.
pub const TEHRAN_OFFSET_SECS: i32 = 12_600;

/// The Tehran offset as a chrono time zone.
pub fn tehran_offset() -> FixedOffset {
    FixedOffset::east_opt(TEHRAN_OFFSET_SECS).expect("UTC+03:30 is a valid offset")
}

/// The calendar date in Tehran at the instant `at`.
pub fn tehran_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&tehran_offset()).date_naive()
}

/// 00:00 Tehran of `date`, as a UTC instant (20:30 UTC of the previous day).
pub fn start_of_tehran_day(date: NaiveDate) -> DateTime<Utc> {
    tehran_offset()
        .from_local_datetime(&date.and_time(NaiveTime::MIN))
        .single()
        .map(|t| t.with_timezone(&Utc))
        // Only the very first representable date has no UTC instant for its midnight.
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// How an expiry or a window end is stored: 00:00 Tehran of the Tehran date of `at`. Storing one
/// granularity means every reader compares with the same [`has_ended`] and nobody rounds differently.
pub fn normalize_day_end(at: DateTime<Utc>) -> DateTime<Utc> {
    start_of_tehran_day(tehran_date(at))
}

/// "Expires in `days` days": 00:00 Tehran of (Tehran today + `days`). Out-of-range values saturate
/// at the ends of the calendar instead of panicking, since `days` may come from a form.
pub fn days_from_today(now: DateTime<Utc>, days: i64) -> DateTime<Utc> {
    let today = tehran_date(now);
    let target = TimeDelta::try_days(days)
        .and_then(|d| today.checked_add_signed(d))
        .unwrap_or(if days < 0 {
            NaiveDate::MIN
        } else {
            NaiveDate::MAX
        });
    start_of_tehran_day(target)
}

/// Whole Tehran days from today until the date of `end`; negative once the date has passed. The
/// inverse of [`days_from_today`], for "N days left" on pages.
pub fn days_until(end: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (tehran_date(end) - tehran_date(now)).num_days()
}

/// The one predicate for expiries and window ends: ended from the stored instant on.
pub fn has_ended(end: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now >= end
}

/// The UTC hour bucket that hourly wallet billing keys its snapshots on.
pub fn hour_start(at: DateTime<Utc>) -> DateTime<Utc> {
    at.with_nanosecond(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_minute(0))
        .unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn tehran_date_changes_at_2030_utc() {
        assert_eq!(tehran_date(utc("2025-03-20T20:29:59Z")), date(2025, 3, 20));
        assert_eq!(tehran_date(utc("2025-03-20T20:30:00Z")), date(2025, 3, 21));
        assert_eq!(tehran_date(utc("2025-03-20T23:59:59Z")), date(2025, 3, 21));
        assert_eq!(tehran_date(utc("2025-03-21T00:00:00Z")), date(2025, 3, 21));
        // Summer too: no DST shift.
        assert_eq!(tehran_date(utc("2025-07-01T20:29:59Z")), date(2025, 7, 1));
        assert_eq!(tehran_date(utc("2025-07-01T20:30:00Z")), date(2025, 7, 2));
    }

    #[test]
    fn start_of_day_is_2030_utc_of_previous_day() {
        assert_eq!(
            start_of_tehran_day(date(2025, 3, 21)),
            utc("2025-03-20T20:30:00Z")
        );
        assert_eq!(
            start_of_tehran_day(date(2024, 3, 1)),
            utc("2024-02-29T20:30:00Z")
        );
        assert_eq!(
            start_of_tehran_day(NaiveDate::MIN),
            DateTime::<Utc>::MIN_UTC
        );
    }

    #[test]
    fn normalize_day_end_truncates_to_tehran_midnight() {
        let midnight = utc("2025-11-21T20:30:00Z"); // 1404/09/01 00:00 Tehran
        assert_eq!(normalize_day_end(utc("2025-11-22T14:00:00Z")), midnight);
        assert_eq!(normalize_day_end(utc("2025-11-22T20:29:59Z")), midnight);
        assert_eq!(normalize_day_end(midnight), midnight);
        assert_eq!(
            normalize_day_end(utc("2025-11-22T20:30:00Z")),
            utc("2025-11-22T20:30:00Z")
        );
        // 23:00 UTC is already the next Tehran day.
        assert_eq!(normalize_day_end(utc("2025-11-21T23:00:00Z")), midnight);
    }

    #[test]
    fn days_from_today_counts_tehran_days() {
        let now = utc("2025-03-20T10:00:00Z"); // 13:30 Tehran on 03-20
        assert_eq!(days_from_today(now, 1), utc("2025-03-20T20:30:00Z"));
        assert_eq!(days_from_today(now, 30), utc("2025-04-18T20:30:00Z"));
        assert_eq!(days_from_today(now, 0), utc("2025-03-19T20:30:00Z"));
        assert_eq!(days_from_today(now, -1), utc("2025-03-18T20:30:00Z"));
        // Late evening in UTC is already tomorrow in Tehran.
        let late = utc("2025-03-20T21:00:00Z");
        assert_eq!(days_from_today(late, 1), utc("2025-03-21T20:30:00Z"));
    }

    #[test]
    fn days_from_today_saturates_instead_of_panicking() {
        let now = utc("2025-03-20T10:00:00Z");
        assert_eq!(
            days_from_today(now, i64::MAX),
            start_of_tehran_day(NaiveDate::MAX)
        );
        assert_eq!(days_from_today(now, i64::MIN), DateTime::<Utc>::MIN_UTC);
    }

    #[test]
    fn zero_days_has_already_ended_and_one_day_has_not() {
        let now = utc("2025-03-20T10:00:00Z");
        assert!(has_ended(days_from_today(now, 0), now));
        assert!(!has_ended(days_from_today(now, 1), now));
    }

    #[test]
    fn has_ended_boundary() {
        let end = utc("2025-03-20T20:30:00Z");
        assert!(!has_ended(end, end - TimeDelta::seconds(1)));
        assert!(has_ended(end, end));
        assert!(has_ended(end, end + TimeDelta::seconds(1)));
    }

    #[test]
    fn hour_start_truncates_in_utc() {
        assert_eq!(
            hour_start(utc("2025-03-20T20:59:59.999Z")),
            utc("2025-03-20T20:00:00Z")
        );
        assert_eq!(
            hour_start(utc("2025-03-20T21:00:00Z")),
            utc("2025-03-20T21:00:00Z")
        );
        // Before the epoch, truncation must still go down, not towards zero.
        assert_eq!(
            hour_start(utc("1969-12-31T23:30:00Z")),
            utc("1969-12-31T23:00:00Z")
        );
    }

    fn any_instant() -> impl Strategy<Value = DateTime<Utc>> {
        // 1900..2200, with sub-second precision.
        (-2_208_988_800i64..7_258_118_400, 0u32..1_000_000_000)
            .prop_map(|(s, n)| DateTime::from_timestamp(s, n).unwrap())
    }

    proptest! {
        #[test]
        fn normalized_end_is_tehran_midnight_at_or_before(at in any_instant()) {
            let end = normalize_day_end(at);
            prop_assert!(end <= at);
            prop_assert!(at - end < TimeDelta::days(1));
            prop_assert_eq!(tehran_date(end), tehran_date(at));
            prop_assert_eq!(normalize_day_end(end), end);
            let local = end.with_timezone(&tehran_offset());
            prop_assert_eq!((local.hour(), local.minute(), local.second(), local.nanosecond()), (0, 0, 0, 0));
        }

        #[test]
        fn days_from_today_round_trips_with_days_until(at in any_instant(), n in -4000i64..4000) {
            let end = days_from_today(at, n);
            prop_assert_eq!(days_until(end, at), n);
            prop_assert_eq!(normalize_day_end(end), end);
            // Ended exactly when n <= 0: today's midnight is in the past, tomorrow's in the future.
            prop_assert_eq!(has_ended(end, at), n <= 0);
        }

        #[test]
        fn hour_start_is_a_floor(at in any_instant()) {
            let h = hour_start(at);
            prop_assert!(h <= at);
            prop_assert!(at - h < TimeDelta::hours(1));
            prop_assert_eq!(h.timestamp() % 3600, 0);
            prop_assert_eq!(h.timestamp_subsec_nanos(), 0);
        }
    }
}
