//! Usage accounting: turning successive readings of a panel's resettable counter into a lifetime
//! total that never decreases and counts every byte once, whatever the panel does between readings.

/// The two stored counters of one config.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct UsageCounters {
    /// The panel's current-cycle counter as last observed.
    pub usage_bytes: i64,
    /// Everything the config ever used, accumulated from observations.
    pub lifetime_usage_bytes: i64,
}

impl UsageCounters {
    /// Traffic moved out of the current cycle by resets ("previous usage" in the configs list).
    pub fn settled_bytes(&self) -> i64 {
        self.lifetime_usage_bytes.saturating_sub(self.usage_bytes)
    }
}

/// What one observation did, for events and audit entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observation {
    pub counters: UsageCounters,
    /// Bytes added to the lifetime total by this observation.
    pub added_bytes: i64,
    /// The counter went down, so it was reset (by us, on the panel, or by a re-created user).
    pub reset_detected: bool,
    /// The reading was negative and therefore ignored.
    pub rejected: bool,
}

/// Applies one reading `observed` of the panel's counter. See [`observe_detailed`].
pub fn observe(prev: UsageCounters, observed: i64) -> UsageCounters {
    observe_detailed(prev, observed).counters
}

/// Applies one reading: a rise adds the difference; a drop means the counter was reset and
/// everything it now shows is new traffic since the reset.
///
/// A negative reading is garbage from a broken panel and is ignored, like a failed read. It is
/// deliberately not clamped to zero: a zero would look like a reset, and the next genuine reading
/// would then count the whole pre-reset usage a second time.
pub fn observe_detailed(prev: UsageCounters, observed: i64) -> Observation {
    if observed < 0 {
        return Observation {
            counters: prev,
            added_bytes: 0,
            reset_detected: false,
            rejected: true,
        };
    }
    let reset_detected = observed < prev.usage_bytes;
    let added_bytes = if reset_detected {
        observed
    } else {
        observed.saturating_sub(prev.usage_bytes)
    };
    Observation {
        counters: UsageCounters {
            usage_bytes: observed,
            lifetime_usage_bytes: prev.lifetime_usage_bytes.saturating_add(added_bytes),
        },
        added_bytes,
        reset_detected,
        rejected: false,
    }
}

/// The most bytes one config may ever account for (1 EiB): far beyond any real traffic, far
/// below `i64::MAX`, so sums over a reseller's or the whole system's configs cannot overflow.
pub const MAX_BYTES: i64 = 1 << 60;

/// When a reading is too large to be believed (issue 11): more than `max_bytes_per_sec`
/// sustained since the last reading, or more than `limit_factor` times the config's own limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ceiling {
    pub max_bytes_per_sec: i64,
    pub limit_factor: i64,
    /// The rate is judged over at least this long: readings are only as punctual as the sync
    /// (and `last_observed_at` moves only when a counter does), so a short gap proves nothing.
    pub min_window_secs: i64,
}

impl Default for Ceiling {
    /// 10 Gbit/s (judged over 5 minutes at least) and 100× the limit.
    fn default() -> Self {
        Ceiling {
            max_bytes_per_sec: 10_000_000_000 / 8,
            limit_factor: 100,
            min_window_secs: 300,
        }
    }
}

impl Ceiling {
    /// The largest delta believed after `elapsed_secs` (at least `min_window_secs`) for a
    /// config limited to `limit_bytes` (0 = unlimited).
    pub fn max_delta(&self, elapsed_secs: i64, limit_bytes: i64) -> i64 {
        let window = elapsed_secs.max(self.min_window_secs).max(1);
        let by_rate = i128::from(self.max_bytes_per_sec.max(1)) * i128::from(window);
        let mut max = by_rate;
        if limit_bytes > 0 {
            max = max.min(i128::from(limit_bytes) * i128::from(self.limit_factor.max(1)));
        }
        max.clamp(0, i128::from(MAX_BYTES)) as i64
    }

    /// The delta `prev → next` when it is implausible (to be held back), None when believed.
    /// A lifetime total beyond [`MAX_BYTES`] is never believed.
    pub fn implausible(
        &self,
        prev: UsageCounters,
        next: UsageCounters,
        elapsed_secs: i64,
        limit_bytes: i64,
    ) -> Option<i64> {
        let delta = next
            .lifetime_usage_bytes
            .saturating_sub(prev.lifetime_usage_bytes);
        let over = delta > self.max_delta(elapsed_secs, limit_bytes)
            || next.lifetime_usage_bytes > MAX_BYTES
            || next.usage_bytes > MAX_BYTES;
        over.then_some(delta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn counters(usage: i64, lifetime: i64) -> UsageCounters {
        UsageCounters {
            usage_bytes: usage,
            lifetime_usage_bytes: lifetime,
        }
    }

    #[test]
    fn growth_adds_the_difference() {
        let o = observe_detailed(counters(100, 500), 150);
        assert_eq!(o.counters, counters(150, 550));
        assert_eq!(o.added_bytes, 50);
        assert!(!o.reset_detected);
        assert_eq!(observe(UsageCounters::default(), 42), counters(42, 42));
    }

    #[test]
    fn drop_is_a_reset_and_adds_the_new_reading() {
        let o = observe_detailed(counters(1000, 3000), 200);
        assert_eq!(o.counters, counters(200, 3200));
        assert_eq!(o.added_bytes, 200);
        assert!(o.reset_detected);
        assert_eq!(o.counters.settled_bytes(), 3000);
    }

    #[test]
    fn reset_to_zero_adds_nothing_and_settles_the_cycle() {
        let after = observe(counters(1000, 3000), 0);
        assert_eq!(after, counters(0, 3000));
        assert_eq!(after.settled_bytes(), 3000);
    }

    #[test]
    fn a_reset_that_did_not_happen_changes_nothing() {
        // We asked for a reset, the panel lost it and still reports the same counter.
        assert_eq!(observe(counters(1000, 3000), 1000), counters(1000, 3000));
    }

    #[test]
    fn usage_never_comes_back_after_a_reset() {
        // Reset observed, then the panel keeps counting from zero: only new traffic is added.
        let c = observe(counters(1000, 1000), 0);
        let c = observe(c, 10);
        assert_eq!(c, counters(10, 1010));
    }

    #[test]
    fn negative_reading_is_ignored_not_treated_as_reset() {
        let before = counters(1000, 3000);
        let o = observe_detailed(before, -1);
        assert!(o.rejected);
        assert_eq!(o.counters, before);
        // The panel recovers and reports 1100: exactly 100 new bytes, not 1100.
        assert_eq!(observe(o.counters, 1100), counters(1100, 3100));
    }

    #[test]
    fn saturates_instead_of_overflowing() {
        assert_eq!(
            observe(counters(0, i64::MAX - 5), 100),
            counters(100, i64::MAX)
        );
        assert_eq!(
            observe(counters(0, 0), i64::MAX),
            counters(i64::MAX, i64::MAX)
        );
    }

    #[derive(Debug, Clone)]
    enum Event {
        Traffic(i64),
        Reset,
    }

    fn events() -> impl Strategy<Value = Vec<Event>> {
        prop::collection::vec(
            prop_oneof![
                4 => (0i64..10_000_000_000).prop_map(Event::Traffic),
                1 => Just(Event::Reset),
            ],
            0..200,
        )
    }

    proptest! {
        #[test]
        fn lifetime_equals_total_traffic_when_observed_after_every_event(events in events()) {
            let mut panel_counter = 0i64;
            let mut total = 0i64;
            let mut c = UsageCounters::default();
            for e in events {
                match e {
                    Event::Traffic(n) => {
                        panel_counter += n;
                        total += n;
                    }
                    Event::Reset => panel_counter = 0,
                }
                c = observe(c, panel_counter);
                prop_assert_eq!(c.lifetime_usage_bytes, total);
                prop_assert_eq!(c.usage_bytes, panel_counter);
                prop_assert!(c.settled_bytes() >= 0);
            }
        }

        #[test]
        fn lifetime_never_decreases(
            start in (0i64..i64::MAX / 2, 0i64..i64::MAX / 2),
            readings in prop::collection::vec(any::<i64>(), 0..100),
        ) {
            let mut c = counters(start.0, start.0 + start.1);
            for r in readings {
                let next = observe(c, r);
                prop_assert!(next.lifetime_usage_bytes >= c.lifetime_usage_bytes);
                prop_assert!(next.usage_bytes >= 0);
                c = next;
            }
        }

        #[test]
        fn observing_the_same_value_twice_adds_nothing(
            usage in 0i64..1 << 50, lifetime in 0i64..1 << 50, o in any::<i64>(),
        ) {
            let once = observe(counters(usage, usage + lifetime), o);
            prop_assert_eq!(observe(once, o), once);
        }

        #[test]
        fn one_observation_never_adds_more_than_the_reading(
            before in 0i64..1 << 40, after in 0i64..1 << 40,
        ) {
            // Overcounting would overbill wallets, so a single reading adds at most what it shows.
            let c = observe(counters(before, before), after);
            let added = c.lifetime_usage_bytes - before;
            if after >= before {
                prop_assert_eq!(added, after - before);
            } else {
                prop_assert_eq!(added, after);
            }
        }
    }
}
