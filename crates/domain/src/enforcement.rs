//! The traffic reseller's one enforcement predicate: quota plus grace, then the time window.
//! Suspension and recovery both call [`evaluate_traffic`], so a reseller can never flap between them.

use chrono::{DateTime, Utc};

use crate::status::DisabledReason;
use crate::tehran::has_ended;

/// How far past its quota a reseller may go before it is suspended; the band absorbs the traffic
/// that flows between two syncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraceSettings {
    pub percent: i64,
    pub min_bytes: i64,
}

impl Default for GraceSettings {
    fn default() -> Self {
        Self {
            percent: 2,
            min_bytes: 50 << 20,
        }
    }
}

/// max(floor(quota × percent / 100), min_bytes), computed without overflow.
pub fn grace_bytes(quota: i64, g: GraceSettings) -> i64 {
    let by_percent = (i128::from(quota) * i128::from(g.percent)).div_euclid(100);
    let by_percent = by_percent.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
    by_percent.max(g.min_bytes)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrafficVerdict {
    Allowed,
    OverQuota,
    WindowEnded,
}

impl TrafficVerdict {
    pub fn is_allowed(self) -> bool {
        self == TrafficVerdict::Allowed
    }

    /// The reason written on the configs the system disables for this verdict.
    pub fn disabled_reason(self) -> Option<DisabledReason> {
        match self {
            TrafficVerdict::Allowed => None,
            TrafficVerdict::OverQuota => Some(DisabledReason::ResellerQuota),
            TrafficVerdict::WindowEnded => Some(DisabledReason::ResellerWindow),
        }
    }
}

/// Over quota once `used >= quota + grace`; otherwise window ended once `now >= window_ends_at`.
/// Quota is checked first so that a reseller who is both gets the reason that adding time would
/// not fix.
pub fn evaluate_traffic(
    used: i64,
    quota: i64,
    grace: i64,
    window_ends_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> TrafficVerdict {
    if i128::from(used) >= i128::from(quota) + i128::from(grace) {
        return TrafficVerdict::OverQuota;
    }
    match window_ends_at {
        Some(end) if has_ended(end, now) => TrafficVerdict::WindowEnded,
        _ => TrafficVerdict::Allowed,
    }
}

/// Quota used = Σ lifetime usage − baseline. Clamped at zero: a total below the baseline (after a
/// data repair, say) means nothing was used since the reset, not that quota was earned.
pub fn quota_used(sum_lifetime: i64, baseline: i64) -> i64 {
    sum_lifetime.saturating_sub(baseline).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::GIB;
    use chrono::TimeDelta;
    use proptest::prelude::*;

    const MIB: i64 = 1 << 20;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_750_000_000, 0).unwrap()
    }

    #[test]
    fn default_grace_is_two_percent_or_50_mib() {
        let g = GraceSettings::default();
        assert_eq!(
            g,
            GraceSettings {
                percent: 2,
                min_bytes: 50 * MIB
            }
        );
        // 2 % of 100 GiB = 2 GiB beats 50 MiB.
        assert_eq!(grace_bytes(100 * GIB, g), 2 * GIB);
        // 2 % of 1 GiB is ~20 MiB, so the floor of 50 MiB applies.
        assert_eq!(grace_bytes(GIB, g), 50 * MIB);
        // The switch-over is at 2500 MiB.
        assert_eq!(grace_bytes(2500 * MIB, g), 50 * MIB);
        assert_eq!(grace_bytes(2500 * MIB + 50, g), 50 * MIB + 1);
        assert_eq!(grace_bytes(0, g), 50 * MIB);
    }

    #[test]
    fn grace_percent_is_floored() {
        let g = GraceSettings {
            percent: 3,
            min_bytes: 0,
        };
        assert_eq!(grace_bytes(99, g), 2); // 2.97
        assert_eq!(grace_bytes(100, g), 3);
    }

    #[test]
    fn grace_does_not_overflow() {
        let g = GraceSettings {
            percent: 100,
            min_bytes: 0,
        };
        assert_eq!(grace_bytes(i64::MAX, g), i64::MAX);
        let g = GraceSettings {
            percent: 1000,
            min_bytes: 0,
        };
        assert_eq!(grace_bytes(i64::MAX, g), i64::MAX);
    }

    #[test]
    fn quota_boundary_includes_grace() {
        let quota = 10 * GIB;
        let grace = grace_bytes(quota, GraceSettings::default());
        let v = |used| evaluate_traffic(used, quota, grace, None, now());
        assert_eq!(v(0), TrafficVerdict::Allowed);
        assert_eq!(v(quota - 1), TrafficVerdict::Allowed);
        // Inside the grace band: at and above the quota but below quota + grace.
        assert_eq!(v(quota), TrafficVerdict::Allowed);
        assert_eq!(v(quota + grace - 1), TrafficVerdict::Allowed);
        assert_eq!(v(quota + grace), TrafficVerdict::OverQuota);
        assert_eq!(v(quota + grace + 1), TrafficVerdict::OverQuota);
    }

    #[test]
    fn window_boundary_is_has_ended() {
        let end = now();
        let v = |at| evaluate_traffic(0, GIB, 0, Some(end), at);
        assert_eq!(v(end - TimeDelta::seconds(1)), TrafficVerdict::Allowed);
        assert_eq!(v(end), TrafficVerdict::WindowEnded);
        assert_eq!(v(end + TimeDelta::days(1)), TrafficVerdict::WindowEnded);
        assert_eq!(
            evaluate_traffic(0, GIB, 0, None, end),
            TrafficVerdict::Allowed
        );
    }

    #[test]
    fn quota_is_checked_before_the_window() {
        let end = now() - TimeDelta::days(1);
        assert_eq!(
            evaluate_traffic(2 * GIB, GIB, 0, Some(end), now()),
            TrafficVerdict::OverQuota
        );
    }

    #[test]
    fn verdict_reasons() {
        assert_eq!(TrafficVerdict::Allowed.disabled_reason(), None);
        assert_eq!(
            TrafficVerdict::OverQuota.disabled_reason(),
            Some(DisabledReason::ResellerQuota)
        );
        assert_eq!(
            TrafficVerdict::WindowEnded.disabled_reason(),
            Some(DisabledReason::ResellerWindow)
        );
        assert!(TrafficVerdict::Allowed.is_allowed());
        assert!(!TrafficVerdict::OverQuota.is_allowed());
    }

    #[test]
    fn extreme_quota_does_not_overflow() {
        assert_eq!(
            evaluate_traffic(i64::MAX, i64::MAX, i64::MAX, None, now()),
            TrafficVerdict::Allowed
        );
    }

    #[test]
    fn quota_used_examples() {
        assert_eq!(quota_used(5 * GIB, 2 * GIB), 3 * GIB);
        assert_eq!(quota_used(5 * GIB, 5 * GIB), 0);
        assert_eq!(quota_used(GIB, 5 * GIB), 0);
        assert_eq!(quota_used(i64::MAX, -1), i64::MAX);
    }

    #[test]
    fn admin_reset_then_sync_keeps_reseller_allowed() {
        // A reseller-wide reset sets the baseline to the lifetime total; the usage stays in the
        // totals but the quota counter restarts from zero.
        let quota = 10 * GIB;
        let grace = grace_bytes(quota, GraceSettings::default());
        let lifetime = 15 * GIB;
        assert_eq!(
            evaluate_traffic(quota_used(lifetime, 0), quota, grace, None, now()),
            TrafficVerdict::OverQuota
        );
        let baseline = lifetime;
        assert_eq!(
            evaluate_traffic(quota_used(lifetime, baseline), quota, grace, None, now()),
            TrafficVerdict::Allowed
        );
    }

    proptest! {
        #[test]
        fn grace_is_at_least_min_and_at_least_percent(quota in 0i64..1 << 50, percent in 0i64..100, min in 0i64..1 << 30) {
            let g = grace_bytes(quota, GraceSettings { percent, min_bytes: min });
            prop_assert!(g >= min);
            prop_assert!(g * 100 <= quota * percent || g == min);
            prop_assert!((g + 1) * 100 > quota * percent);
        }

        #[test]
        fn more_usage_or_later_time_never_lifts_a_suspension(
            used in 0i64..1 << 45, extra in 0i64..1 << 40, quota in 0i64..1 << 45,
            offset in -100_000i64..100_000, later in 0i64..100_000, windowed: bool,
        ) {
            let grace = grace_bytes(quota, GraceSettings::default());
            let end = windowed.then(|| now() + TimeDelta::seconds(offset));
            let first = evaluate_traffic(used, quota, grace, end, now());
            let second = evaluate_traffic(used + extra, quota, grace, end, now() + TimeDelta::seconds(later));
            if !first.is_allowed() {
                prop_assert!(!second.is_allowed());
            }
        }

        #[test]
        fn adding_quota_beyond_usage_always_recovers(used in 0i64..1 << 45) {
            // What an admin "add traffic" must achieve: any quota above the usage lifts the block.
            let quota = used + 1;
            let grace = grace_bytes(quota, GraceSettings::default());
            prop_assert_eq!(evaluate_traffic(used, quota, grace, None, now()), TrafficVerdict::Allowed);
        }
    }
}
