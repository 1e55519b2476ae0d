//! Hourly wallet billing: what an hour's traffic costs, when a wallet suspends and when it recovers.
//! All in i64 toman and bytes with i128 intermediates; a fraction of a toman is always charged up.

use crate::units::GIB;

fn clamp_i64(v: i128) -> i64 {
    v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// ceil(delta × price_per_gb / 2^30): any traffic at a positive price costs at least 1 toman, so
/// splitting usage into many small hours can never make it free.
pub fn usage_cost(delta_bytes: i64, price_per_gb: i64) -> i64 {
    if delta_bytes <= 0 || price_per_gb <= 0 {
        return 0;
    }
    let numerator = i128::from(delta_bytes) * i128::from(price_per_gb);
    let gib = i128::from(GIB);
    clamp_i64((numerator + gib - 1) / gib)
}

/// Bytes not yet billed: max(0, T − L). A total below the last snapshot bills nothing rather than
/// crediting the wallet.
pub fn billable_delta(total: i64, last_snapshot_total: i64) -> i64 {
    clamp_i64(i128::from(total) - i128::from(last_snapshot_total)).max(0)
}

/// One hour's charge, as stored in the snapshot row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourlyCharge {
    pub total: i64,
    pub delta: i64,
    pub cost: i64,
}

/// The snapshot for one hour: the new total `T`, the delta since the last snapshot and its cost.
pub fn hourly_charge(total: i64, last_snapshot_total: i64, price_per_gb: i64) -> HourlyCharge {
    let delta = billable_delta(total, last_snapshot_total);
    HourlyCharge {
        total,
        delta,
        cost: usage_cost(delta, price_per_gb),
    }
}

/// A wallet at or below the threshold is suspended.
pub fn should_suspend_wallet(balance: i64, threshold: i64) -> bool {
    balance <= threshold
}

/// The exact complement of [`should_suspend_wallet`], so a credit that reactivates can never be
/// followed by an immediate re-suspension at the same balance.
pub fn credit_reactivates(balance: i64, threshold: i64) -> bool {
    balance > threshold
}

/// "At the last 24 hours' rate the balance lasts about N hours": whole hours until the balance
/// reaches the threshold, rounded down. `None` when nothing was spent (no rate to extrapolate);
/// `Some(0)` when the wallet is already at or below the threshold.
pub fn hours_remaining(balance: i64, threshold: i64, spent_last_24h: i64) -> Option<i64> {
    if spent_last_24h <= 0 {
        return None;
    }
    let headroom = i128::from(balance) - i128::from(threshold);
    if headroom <= 0 {
        return Some(0);
    }
    Some(clamp_i64(headroom * 24 / i128::from(spent_last_24h)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn seed_prices() {
        assert_eq!(usage_cost(GIB, 1_000), 1_000);
        assert_eq!(usage_cost(GIB, 5_000), 5_000);
        assert_eq!(usage_cost(GIB, 780), 780);
        assert_eq!(usage_cost(10 * GIB, 780), 7_800);
        assert_eq!(usage_cost(50 * GIB, 780), 39_000);
        assert_eq!(usage_cost(5 * GIB, 780), 3_900);
    }

    #[test]
    fn cost_rounds_up() {
        assert_eq!(usage_cost(1, 780), 1);
        assert_eq!(usage_cost(GIB / 2, 780), 390);
        assert_eq!(usage_cost(GIB / 2 + 1, 780), 391);
        // 1 GiB + 1 byte at 1000/GB is 1000.0000009 toman.
        assert_eq!(usage_cost(GIB + 1, 1_000), 1_001);
        assert_eq!(usage_cost(GIB - 1, 1_000), 1_000);
    }

    #[test]
    fn nothing_costs_nothing() {
        assert_eq!(usage_cost(0, 780), 0);
        assert_eq!(usage_cost(-5 * GIB, 780), 0);
        assert_eq!(usage_cost(GIB, 0), 0);
        assert_eq!(usage_cost(GIB, -780), 0);
    }

    #[test]
    fn cost_does_not_overflow() {
        assert_eq!(usage_cost(i64::MAX, i64::MAX), i64::MAX);
        // i64::MAX bytes is just under 2^33 GiB.
        assert_eq!(usage_cost(i64::MAX, 1), 1 << 33);
    }

    #[test]
    fn delta_examples() {
        assert_eq!(billable_delta(10 * GIB, 4 * GIB), 6 * GIB);
        assert_eq!(billable_delta(4 * GIB, 4 * GIB), 0);
        assert_eq!(billable_delta(3 * GIB, 4 * GIB), 0);
        assert_eq!(billable_delta(i64::MAX, i64::MIN), i64::MAX);
    }

    #[test]
    fn threshold_predicates_are_complements() {
        let t = -1_000;
        assert!(!should_suspend_wallet(-999, t));
        assert!(should_suspend_wallet(-1_000, t));
        assert!(should_suspend_wallet(-1_480, t));
        assert!(!credit_reactivates(-1_000, t));
        assert!(credit_reactivates(-999, t));
        assert!(credit_reactivates(18_520, t));
    }

    #[test]
    fn seed_scenario_day_by_day() {
        // From seed 004: 50,000 toman, 780/GB, threshold -1,000.
        let threshold = -1_000;
        let mut balance = 50_000;
        let mut total = 0;
        let mut last = 0;
        let mut expected = Vec::new();
        for (gb, after) in [(10, 42_200), (50, 3_200), (5, -700), (1, -1_480)] {
            total += gb * GIB;
            let c = hourly_charge(total, last, 780);
            assert_eq!(c.delta, gb * GIB);
            last = c.total;
            balance -= c.cost;
            assert_eq!(balance, after);
            expected.push(should_suspend_wallet(balance, threshold));
        }
        assert_eq!(expected, [false, false, false, true]);
        balance += 20_000;
        assert_eq!(balance, 18_520);
        assert!(credit_reactivates(balance, threshold));
    }

    #[test]
    fn an_hour_billed_twice_costs_nothing_the_second_time() {
        let first = hourly_charge(7 * GIB, 2 * GIB, 780);
        assert_eq!(first.cost, 3_900);
        let again = hourly_charge(7 * GIB, first.total, 780);
        assert_eq!((again.delta, again.cost), (0, 0));
    }

    #[test]
    fn hours_remaining_examples() {
        assert_eq!(hours_remaining(10_000, -1_000, 0), None);
        assert_eq!(hours_remaining(10_000, -1_000, -5), None);
        // 11,000 of headroom at 11,000 per day lasts 24 hours.
        assert_eq!(hours_remaining(10_000, -1_000, 11_000), Some(24));
        assert_eq!(hours_remaining(10_000, -1_000, 22_000), Some(12));
        // 11,000 / (7,800 / 24) = 33.8 -> 33.
        assert_eq!(hours_remaining(10_000, -1_000, 7_800), Some(33));
        assert_eq!(hours_remaining(-1_000, -1_000, 780), Some(0));
        assert_eq!(hours_remaining(-5_000, -1_000, 780), Some(0));
        assert_eq!(hours_remaining(i64::MAX, i64::MIN, 1), Some(i64::MAX));
    }

    proptest! {
        #[test]
        fn cost_is_the_exact_ceiling(delta in 1i64..1 << 50, price in 1i64..1_000_000) {
            let cost = i128::from(usage_cost(delta, price));
            let exact = i128::from(delta) * i128::from(price);
            let gib = i128::from(GIB);
            prop_assert!(cost * gib >= exact);
            prop_assert!((cost - 1) * gib < exact);
        }

        #[test]
        fn splitting_usage_never_lowers_the_bill(a in 0i64..1 << 45, b in 0i64..1 << 45, price in 0i64..100_000) {
            // Each piece is rounded up, so pieces cost at least the whole and at most 1 toman more.
            prop_assert!(usage_cost(a, price) + usage_cost(b, price) >= usage_cost(a + b, price));
            prop_assert!(usage_cost(a, price) + usage_cost(b, price) <= usage_cost(a + b, price) + 1);
        }

        #[test]
        fn hourly_snapshots_bill_the_total_once(hourly in prop::collection::vec(0i64..1 << 36, 1..48)) {
            let mut last = 0i64;
            let mut billed = 0i64;
            let mut total = 0i64;
            for used in hourly {
                total += used;
                let c = hourly_charge(total, last, 780);
                billed += c.delta;
                last = c.total;
            }
            prop_assert_eq!(billed, total);
        }

        #[test]
        fn exactly_one_threshold_predicate_holds(balance: i64, threshold: i64) {
            prop_assert_ne!(should_suspend_wallet(balance, threshold), credit_reactivates(balance, threshold));
        }

        #[test]
        fn hours_remaining_is_a_floor(balance in -1i64 << 40..1 << 40, spent in 1i64..1 << 30) {
            let threshold = -1_000i64;
            let h = hours_remaining(balance, threshold, spent).unwrap();
            let headroom = i128::from(balance - threshold).max(0);
            prop_assert!(i128::from(h) * i128::from(spent) <= headroom * 24);
            prop_assert!(i128::from(h + 1) * i128::from(spent) > headroom * 24);
        }
    }
}
