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
