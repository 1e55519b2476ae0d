//! Jalali (Solar Hijri) dates for Persian pages, converted with Borkowski's arithmetic algorithm.
//! The leap-year "breaks" table makes it agree with the official calendar for Jalali years 1..3177.

use chrono::{DateTime, NaiveDate, Timelike, Utc};

use crate::tehran::{tehran_date, tehran_offset};

/// Jalali years in which the 33-year leap pattern shifts (Borkowski, 1996). Outside
/// `BREAKS[0]..BREAKS[last]` the arithmetic keeps going without panicking, but the dates are not
/// a real calendar any more; the product never shows such dates.
const BREAKS: [i64; 20] = [
    -61, 9, 38, 199, 426, 686, 756, 818, 1111, 1181, 1210, 1635, 2060, 2097, 2192, 2262, 2324,
    2394, 2456, 3178,
];

struct JalaliYear {
    /// Years since the last leap year, 0 when this year is itself a leap year.
    leap: i64,
    /// The Gregorian year in which this Jalali year starts.
    gy: i64,
    /// The day of March of 1 Farvardin.
    march: i64,
}

// Integer division truncates towards zero here, as in the published algorithm; all inputs in the
// supported range keep the operands positive, so it matches floor division there.
fn jalali_year(jy: i64) -> JalaliYear {
    let gy = jy + 621;
    let mut leap_j = -14;
    let mut jp = BREAKS[0];
    let mut jump = 0;
    for &jm in &BREAKS[1..] {
        jump = jm - jp;
        if jy < jm {
            break;
        }
        leap_j += jump / 33 * 8 + (jump % 33) / 4;
        jp = jm;
    }
    let mut n = jy - jp;
    leap_j += n / 33 * 8 + ((n % 33) + 3) / 4;
    if jump % 33 == 4 && jump - n == 4 {
        leap_j += 1;
    }
    let leap_g = gy / 4 - ((gy / 100 + 1) * 3) / 4 - 150;
    let march = 20 + leap_j - leap_g;
    if jump - n < 6 {
        n = n - jump + (jump + 4) / 33 * 33;
    }
    let mut leap = (((n + 1) % 33) - 1) % 4;
    if leap == -1 {
        leap = 4;
    }
    JalaliYear { leap, gy, march }
}

/// Julian day number of a Gregorian date; lenient, so day 0 or day 32 just spill over.
fn gregorian_to_jdn(gy: i64, gm: i64, gd: i64) -> i64 {
    let d = (gy + (gm - 8) / 6 + 100_100) * 1461 / 4 + (153 * ((gm + 9) % 12) + 2) / 5 + gd
        - 34_840_408;
    d - (gy + 100_100 + (gm - 8) / 6) / 100 * 3 / 4 + 752
}

fn jdn_to_gregorian(jdn: i64) -> (i64, i64, i64) {
    let mut j = 4 * jdn + 139_361_631;
    j = j + (4 * jdn + 183_187_720) / 146_097 * 3 / 4 * 4 - 3908;
    let i = (j % 1461) / 4 * 5 + 308;
    let gd = (i % 153) / 5 + 1;
    let gm = (i / 153) % 12 + 1;
    let gy = j / 1461 - 100_100 + (8 - gm) / 6;
    (gy, gm, gd)
}

fn jalali_to_jdn(jy: i64, jm: i64, jd: i64) -> i64 {
    let y = jalali_year(jy);
    gregorian_to_jdn(y.gy, 3, y.march) + (jm - 1) * 31 - jm / 7 * (jm - 7) + jd - 1
}

fn jdn_to_jalali(jdn: i64) -> (i64, i64, i64) {
    let gy = jdn_to_gregorian(jdn).0;
    let mut jy = gy - 621;
    let y = jalali_year(jy);
    let mut k = jdn - gregorian_to_jdn(gy, 3, y.march);
    if k >= 0 {
        if k <= 185 {
            return (jy, 1 + k / 31, k % 31 + 1);
        }
        k -= 186;
    } else {
        // Before 1 Farvardin: the last months of the previous Jalali year.
        jy -= 1;
        k += 179;
        if y.leap == 1 {
            k += 1;
        }
    }
    (jy, 7 + k / 30, k % 30 + 1)
}

/// Month 13 is month 1 of the next year and month 0 the last of the previous one, so lenient input
/// stays lenient instead of feeding the formulas values they were not written for.
fn carry_months(y: i32, m: u32) -> (i64, i64) {
    let m0 = i64::from(m) - 1;
    (i64::from(y) + m0.div_euclid(12), m0.rem_euclid(12) + 1)
}

fn narrow(v: i64) -> i32 {
    v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// Gregorian (y, m, d) to Jalali (y, m, d).
pub fn gregorian_to_jalali(y: i32, m: u32, d: u32) -> (i32, u32, u32) {
    let (y, m) = carry_months(y, m);
    let (jy, jm, jd) = jdn_to_jalali(gregorian_to_jdn(y, m, i64::from(d)));
    (narrow(jy), jm as u32, jd as u32)
}

/// Jalali (y, m, d) to Gregorian (y, m, d). Does not validate; see [`jalali_to_date`] for input.
pub fn jalali_to_gregorian(jy: i32, jm: u32, jd: u32) -> (i32, u32, u32) {
    let (jy, jm) = carry_months(jy, jm);
    let (gy, gm, gd) = jdn_to_gregorian(jalali_to_jdn(jy, jm, i64::from(jd)));
    (narrow(gy), gm as u32, gd as u32)
}

/// Whether Esfand of `jy` has 30 days.
pub fn is_jalali_leap_year(jy: i32) -> bool {
    jalali_year(i64::from(jy)).leap == 0
}

/// Days in a Jalali month: 31 for the first six, 30 for the next five, 29 or 30 for Esfand.
/// Returns 0 for a month outside 1..=12.
pub fn jalali_month_days(jy: i32, jm: u32) -> u32 {
    match jm {
        1..=6 => 31,
        7..=11 => 30,
        12 if is_jalali_leap_year(jy) => 30,
        12 => 29,
        _ => 0,
    }
}

/// A validated Jalali date as a Gregorian calendar date; `None` for dates such as 1404/12/30 that
/// do not exist, or years outside the algorithm's range.
pub fn jalali_to_date(jy: i32, jm: u32, jd: u32) -> Option<NaiveDate> {
    if !(1..=3177).contains(&jy) || jd == 0 || jd > jalali_month_days(jy, jm) {
        return None;
    }
    let (gy, gm, gd) = jalali_to_gregorian(jy, jm, jd);
    NaiveDate::from_ymd_opt(gy, gm, gd)
}

/// The Jalali (y, m, d) of a calendar date.
pub fn date_to_jalali(date: NaiveDate) -> (i32, u32, u32) {
    use chrono::Datelike;
    gregorian_to_jalali(date.year(), date.month(), date.day())
}

/// Parses `1404/09/01` (also with `-`, and Persian or Arabic-Indic digits) as typed in a form.
pub fn parse_jalali_date(input: &str) -> Option<NaiveDate> {
    let latin = crate::units::to_latin_digits(input.trim());
    let mut parts = latin.split(['/', '-']);
    let jy = parts.next()?.parse().ok()?;
    let jm = parts.next()?.parse().ok()?;
    let jd = parts.next()?.parse().ok()?;
    if parts.next().is_some() {
        return None;
    }
    jalali_to_date(jy, jm, jd)
}

/// The Tehran date of `at` in Jalali, `1404/09/01`, with Latin digits (callers localise digits).
pub fn format_jalali_date(at: DateTime<Utc>) -> String {
    let (jy, jm, jd) = date_to_jalali(tehran_date(at));
    format!("{jy:04}/{jm:02}/{jd:02}")
}

/// The Tehran date and time of `at`, `1404/09/01 14:30`, with Latin digits.
pub fn format_jalali_datetime(at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&tehran_offset());
    format!(
        "{} {:02}:{:02}",
        format_jalali_date(at),
        local.hour(),
        local.minute()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, TimeDelta};
    use proptest::prelude::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    type Ymd = (i32, u32, u32);

    /// Known (Gregorian, Jalali) pairs from published calendars.
    const KNOWN: &[(Ymd, Ymd)] = &[
        ((2025, 3, 21), (1404, 1, 1)),
        ((2024, 3, 20), (1403, 1, 1)),
        ((2026, 11, 21), (1405, 8, 30)),
        ((2025, 11, 22), (1404, 9, 1)),
        ((2023, 3, 21), (1402, 1, 1)),
        ((2021, 3, 21), (1400, 1, 1)),
        ((2021, 3, 20), (1399, 12, 30)),
        ((2020, 3, 20), (1399, 1, 1)),
        ((2025, 3, 20), (1403, 12, 30)),
        ((2000, 1, 1), (1378, 10, 11)),
        ((1979, 2, 11), (1357, 11, 22)),
        ((2024, 2, 29), (1402, 12, 10)),
        ((2026, 3, 20), (1404, 12, 29)),
        ((2026, 3, 21), (1405, 1, 1)),
    ];

    #[test]
    fn known_pairs_both_ways() {
        for &(g, j) in KNOWN {
            assert_eq!(gregorian_to_jalali(g.0, g.1, g.2), j, "from {g:?}");
            assert_eq!(jalali_to_gregorian(j.0, j.1, j.2), g, "from {j:?}");
        }
    }

    #[test]
    fn known_leap_years() {
        for jy in [1370, 1375, 1379, 1383, 1387, 1391, 1395, 1399, 1403, 1408] {
            assert!(is_jalali_leap_year(jy), "{jy} is a leap year");
        }
        for jy in [1400, 1401, 1402, 1404, 1405, 1406, 1407] {
            assert!(!is_jalali_leap_year(jy), "{jy} is a common year");
        }
    }

    #[test]
    fn month_lengths() {
        assert_eq!(jalali_month_days(1404, 1), 31);
        assert_eq!(jalali_month_days(1404, 6), 31);
        assert_eq!(jalali_month_days(1404, 7), 30);
        assert_eq!(jalali_month_days(1404, 12), 29);
        assert_eq!(jalali_month_days(1403, 12), 30);
        assert_eq!(jalali_month_days(1404, 13), 0);
        assert_eq!(jalali_month_days(1404, 0), 0);
    }

    #[test]
    fn validated_conversion_and_parsing() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(jalali_to_date(1404, 9, 1), Some(d(2025, 11, 22)));
        assert_eq!(jalali_to_date(1403, 12, 30), Some(d(2025, 3, 20)));
        assert_eq!(jalali_to_date(1404, 12, 30), None);
        assert_eq!(jalali_to_date(1404, 7, 31), None);
        assert_eq!(jalali_to_date(1404, 0, 1), None);
        assert_eq!(jalali_to_date(1404, 1, 0), None);
        assert_eq!(parse_jalali_date("1404/09/01"), Some(d(2025, 11, 22)));
        assert_eq!(parse_jalali_date(" ۱۴۰۴/۰۹/۰۱ "), Some(d(2025, 11, 22)));
        assert_eq!(parse_jalali_date("1404-9-1"), Some(d(2025, 11, 22)));
        assert_eq!(parse_jalali_date("1404/09"), None);
        assert_eq!(parse_jalali_date("1404/09/01/02"), None);
        assert_eq!(parse_jalali_date("1404/12/30"), None);
        assert_eq!(parse_jalali_date("tomorrow"), None);
    }

    #[test]
    fn out_of_range_months_carry_into_years() {
        assert_eq!(jalali_to_gregorian(1403, 13, 1), (2025, 3, 21));
        assert_eq!(jalali_to_gregorian(1404, 0, 30), (2025, 3, 20));
        assert_eq!(gregorian_to_jalali(2024, 15, 21), (1404, 1, 1));
        assert_eq!(gregorian_to_jalali(2025, 0, 31), (1403, 10, 11));
    }

    #[test]
    fn formatting_uses_tehran_time() {
        // 20:29 UTC on 2025-11-21 is 23:59 Tehran, still 1404/08/30.
        assert_eq!(
            format_jalali_datetime(utc("2025-11-21T20:29:00Z")),
            "1404/08/30 23:59"
        );
        assert_eq!(
            format_jalali_datetime(utc("2025-11-21T20:30:00Z")),
            "1404/09/01 00:00"
        );
        assert_eq!(
            format_jalali_datetime(utc("2025-11-22T11:00:59Z")),
            "1404/09/01 14:30"
        );
        assert_eq!(
            format_jalali_date(utc("2025-11-22T11:00:00Z")),
            "1404/09/01"
        );
    }

    #[test]
    fn julian_day_numbers_match_chrono() {
        // chrono's day 1 of the common era is JDN 1721426.
        let mut date = NaiveDate::from_ymd_opt(1000, 1, 1).unwrap();
        let end = NaiveDate::from_ymd_opt(3000, 1, 1).unwrap();
        while date < end {
            let jdn = i64::from(date.num_days_from_ce()) + 1_721_425;
            let (y, m, d) = (date.year(), date.month(), date.day());
            assert_eq!(
                gregorian_to_jdn(i64::from(y), i64::from(m), i64::from(d)),
                jdn
            );
            assert_eq!(
                jdn_to_gregorian(jdn),
                (i64::from(y), i64::from(m), i64::from(d))
            );
            date += TimeDelta::days(7);
        }
    }

    /// An independent oracle: the plain 33-year-cycle arithmetic (as in the widely used jdf
    /// library), which coincides with the breaks table between Jalali 1210 and 1634.
    fn jdf_gregorian_to_jalali(gy: i64, gm: i64, gd: i64) -> (i64, i64, i64) {
        const G_D_M: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
        let gy2 = if gm > 2 { gy + 1 } else { gy };
        let mut days = 355_666 + 365 * gy + (gy2 + 3) / 4 - (gy2 + 99) / 100
            + (gy2 + 399) / 400
            + gd
            + G_D_M[(gm - 1) as usize];
        let mut jy = -1595 + 33 * (days / 12053);
        days %= 12053;
        jy += 4 * (days / 1461);
        days %= 1461;
        if days > 365 {
            jy += (days - 1) / 365;
            days = (days - 1) % 365;
        }
        if days < 186 {
            (jy, 1 + days / 31, 1 + days % 31)
        } else {
            (jy, 7 + (days - 186) / 30, 1 + (days - 186) % 30)
        }
    }

    #[test]
    fn every_day_1900_to_2200_matches_the_cycle_oracle_and_steps_by_one() {
        let mut date = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();
        let end = NaiveDate::from_ymd_opt(2200, 1, 1).unwrap();
        let mut prev = date_to_jalali(date - TimeDelta::days(1));
        while date < end {
            let j = date_to_jalali(date);
            let oracle = jdf_gregorian_to_jalali(
                i64::from(date.year()),
                i64::from(date.month()),
                i64::from(date.day()),
            );
            assert_eq!(
                (i64::from(j.0), i64::from(j.1), i64::from(j.2)),
                oracle,
                "{date}"
            );
            // Consecutive days: next day of the month, or day 1 of the next month/year.
            let expected_next = if prev.2 < jalali_month_days(prev.0, prev.1) {
                (prev.0, prev.1, prev.2 + 1)
            } else if prev.1 < 12 {
                (prev.0, prev.1 + 1, 1)
            } else {
                (prev.0 + 1, 1, 1)
            };
            assert_eq!(j, expected_next, "{date}");
            prev = j;
            date += TimeDelta::days(1);
        }
    }

    proptest! {
        #[test]
        fn round_trip_over_the_supported_range(days in 0i64..(3797 - 623) * 365) {
            let date = NaiveDate::from_ymd_opt(623, 1, 1).unwrap() + TimeDelta::days(days);
            let (jy, jm, jd) = date_to_jalali(date);
            prop_assert!((1..=12).contains(&jm));
            prop_assert!(jd >= 1 && jd <= jalali_month_days(jy, jm));
            prop_assert_eq!(jalali_to_date(jy, jm, jd), Some(date));
        }

        #[test]
        fn jalali_year_lengths_are_365_or_366(jy in 1i32..3177) {
            let start = jalali_to_date(jy, 1, 1).unwrap();
            let next = jalali_to_date(jy + 1, 1, 1).unwrap();
            let expected = if is_jalali_leap_year(jy) { 366 } else { 365 };
            prop_assert_eq!((next - start).num_days(), expected);
        }

        #[test]
        fn nowruz_falls_between_march_19_and_22(jy in 1300i32..1700) {
            let (_, gm, gd) = jalali_to_gregorian(jy, 1, 1);
            prop_assert_eq!(gm, 3);
            prop_assert!((19..=22).contains(&gd));
        }

        #[test]
        fn conversion_never_panics(y in any::<i32>(), m in any::<u32>(), d in any::<u32>()) {
            let _ = gregorian_to_jalali(y, m, d);
            let _ = jalali_to_gregorian(y, m, d);
            let _ = jalali_to_date(y, m, d);
        }
    }
}
