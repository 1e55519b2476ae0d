//! Failed sign-ins slow down the guesser, not the owner of the login. Failures are counted per
//! (login, IP) and per IP in the database (`db::login_failures`), so several instances share
//! them. Past a free allowance, each further attempt from that pair (or that IP) waits a delay
//! that doubles with every failure, up to the window. A login is never locked for an IP that has
//! not failed: a stranger's guesses from one address do not keep the reseller out of another.

use db::login_failures::Counts;

#[derive(Clone, Copy, Debug)]
pub struct LoginLimiter {
    /// Failures older than this are forgotten (seconds).
    pub window: i64,
    /// Failures of one login from one IP before delays start.
    pub per_pair: i64,
    /// Failures from one IP (any logins) before delays start.
    pub per_ip: i64,
    /// The first delay (seconds); it doubles with each further failure, up to `window`.
    pub base_delay: i64,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        // 5 failures per login and IP, 20 per IP, then 1 min, 2, 4, … up to 15 minutes.
        LoginLimiter {
            window: 15 * 60,
            per_pair: 5,
            per_ip: 20,
            base_delay: 60,
        }
    }
}

impl LoginLimiter {
    fn delay(&self, failures: i64, free: i64) -> i64 {
        if failures < free {
            return 0;
        }
        let doublings = (failures - free).min(20) as u32;
        self.base_delay
            .saturating_mul(1i64 << doublings)
            .min(self.window)
    }

    /// Seconds this attempt must still wait, or `None` when it may go ahead.
    pub fn wait(&self, c: &Counts, now: i64) -> Option<i64> {
        let until = |n: i64, last: Option<i64>, free: i64| {
            last.map_or(0, |l| l + self.delay(n, free) - now)
        };
        let w = until(c.pair, c.pair_last, self.per_pair).max(until(c.ip, c.ip_last, self.per_ip));
        (w > 0).then_some(w)
    }

    pub fn since(&self, now: i64) -> i64 {
        now - self.window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pair: i64, ip: i64, last: i64) -> Counts {
        Counts {
            pair,
            pair_last: (pair > 0).then_some(last),
            ip,
            ip_last: (ip > 0).then_some(last),
        }
    }

    #[test]
    fn delays_start_after_the_allowance_and_double() {
        let l = LoginLimiter::default();
        assert_eq!(l.wait(&counts(4, 4, 1000), 1000), None);
        assert_eq!(l.wait(&counts(5, 5, 1000), 1000), Some(60));
        assert_eq!(l.wait(&counts(5, 5, 1000), 1060), None);
        assert_eq!(l.wait(&counts(6, 6, 1000), 1000), Some(120));
        assert_eq!(l.wait(&counts(7, 7, 1000), 1000), Some(240));
        assert_eq!(
            l.wait(&counts(40, 40, 1000), 1000),
            Some(900),
            "capped at the window"
        );
    }

    #[test]
    fn an_ip_with_many_logins_waits_too() {
        let l = LoginLimiter::default();
        assert_eq!(l.wait(&counts(0, 19, 1000), 1000), None);
        assert_eq!(l.wait(&counts(0, 20, 1000), 1000), Some(60));
    }

    #[test]
    fn an_ip_that_has_not_failed_never_waits() {
        let l = LoginLimiter::default();
        assert_eq!(l.wait(&Counts::default(), 1000), None);
    }
}
