//! The panels' periodic review jobs (spec/panels.md §9): Marzban flags `limited`/`expired` every
//! 10 s, PasarGuard every 30 s, Marzneshin pulls inactive users off its nodes every 30 s.
//! A pass runs lazily on the first store access after its tick, which is all a client can see.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::state::{Flag, UserRec};
use crate::SimKind;

/// What one pass does to one user at the tick's time.
pub(crate) type Pass = fn(&mut UserRec, DateTime<Utc>);

pub(crate) struct ReviewJob {
    every: Duration,
    next: DateTime<Utc>,
    pass: Pass,
}

/// The job a kind runs and how often the real panel runs it by default.
pub(crate) fn default_interval(kind: SimKind) -> Duration {
    match kind {
        SimKind::Marzban => Duration::from_secs(10),
        SimKind::Marzneshin | SimKind::PasarGuard => Duration::from_secs(30),
        // Their counters are read as they are; nothing to review.
        SimKind::Xui | SimKind::Eylandoo => Duration::ZERO,
    }
}

fn pass_of(kind: SimKind) -> Option<Pass> {
    match kind {
        SimKind::Marzban | SimKind::PasarGuard => Some(status_pass),
        SimKind::Marzneshin => Some(activation_pass),
        SimKind::Xui | SimKind::Eylandoo => None,
    }
}

impl ReviewJob {
    /// None for kinds without a review job. A zero interval reviews on every access (at once).
    pub fn new(kind: SimKind, every: Duration, now: DateTime<Utc>) -> Option<ReviewJob> {
        let pass = pass_of(kind)?;
        Some(ReviewJob {
            every,
            next: now + step(every),
            pass,
        })
    }

    /// The latest tick at or before `now` not yet run, if any, and the pass to run at it. Missed
    /// ticks collapse into the last one: nothing changed in between, or the store would have been
    /// accessed (and reviewed) then.
    pub fn due(&mut self, now: DateTime<Utc>) -> Option<(Pass, DateTime<Utc>)> {
        if self.every.is_zero() {
            return Some((self.pass, now));
        }
        if now < self.next {
            return None;
        }
        let every = step(self.every);
        let missed = (now - self.next).num_milliseconds() / every.num_milliseconds().max(1);
        let tick = self.next + every * (missed as i32);
        self.next = tick + every;
        Some((self.pass, tick))
    }

    /// A pass now (a test that does not want to wait); the next tick is a full interval away.
    pub fn run_now(&mut self, now: DateTime<Utc>) -> (Pass, DateTime<Utc>) {
        self.next = now + step(self.every);
        (self.pass, now)
    }
}

fn step(every: Duration) -> chrono::Duration {
    chrono::Duration::from_std(every).unwrap_or(chrono::Duration::days(365))
}

/// Marzban's and PasarGuard's `review_users`: an `active` user over its limit becomes `limited`,
/// one past its expiry `expired`. Disabled and on-hold users are not looked at.
fn status_pass(rec: &mut UserRec, at: DateTime<Utc>) {
    if !rec.enabled || rec.flag.is_some() || rec.on_hold() {
        return;
    }
    if rec.limited() {
        rec.flag = Some(Flag::Limited);
    } else if rec.expired(at) {
        rec.flag = Some(Flag::Expired);
    }
}

/// Marzneshin's review: an activated user that is no longer active is pulled off the nodes.
fn activation_pass(rec: &mut UserRec, at: DateTime<Utc>) {
    if rec.activated && !rec.usable(at) {
        rec.activated = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_collapse_and_zero_means_always() {
        let t0 = Utc::now();
        let mut job = ReviewJob::new(SimKind::Marzban, Duration::from_secs(10), t0).unwrap();
        assert!(job.due(t0 + chrono::Duration::seconds(9)).is_none());
        let (_, tick) = job.due(t0 + chrono::Duration::seconds(35)).unwrap();
        assert_eq!(tick, t0 + chrono::Duration::seconds(30));
        assert!(job.due(t0 + chrono::Duration::seconds(39)).is_none());
        assert!(job.due(t0 + chrono::Duration::seconds(40)).is_some());
        let mut always = ReviewJob::new(SimKind::Marzneshin, Duration::ZERO, t0).unwrap();
        assert!(always.due(t0).is_some());
        assert!(ReviewJob::new(SimKind::Xui, Duration::ZERO, t0).is_none());
    }

    #[test]
    fn status_pass_flags_only_active_users() {
        let now = Utc::now();
        let mut rec = UserRec::new(1, "a", now);
        rec.limit = Some(10);
        rec.used = 10;
        rec.enabled = false;
        status_pass(&mut rec, now);
        assert_eq!(rec.flag, None, "disabled users are left alone");
        rec.enabled = true;
        status_pass(&mut rec, now);
        assert_eq!(rec.flag, Some(Flag::Limited));
        // The flag stays whatever the counter says later, until something clears it.
        rec.used = 0;
        status_pass(&mut rec, now);
        assert_eq!(rec.flag, Some(Flag::Limited));
    }
}
