//! Failed sign-ins are limited per IP and per username over a sliding window. In memory: each
//! instance limits on its own, which bounds guessing to instances × limit per window.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct LoginLimiter {
    window: Duration,
    per_ip: usize,
    per_user: usize,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl LoginLimiter {
    pub fn new(window: Duration, per_ip: usize, per_user: usize) -> Self {
        LoginLimiter {
            window,
            per_ip,
            per_user,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(ip: &str, username: &str) -> (String, String) {
        (
            format!("ip:{ip}"),
            format!("user:{}", username.to_lowercase()),
        )
    }

    /// True when this IP or this username has used up its failures for the window.
    pub fn is_blocked(&self, ip: &str, username: &str) -> bool {
        let now = Instant::now();
        let (ip_key, user_key) = Self::keys(ip, username);
        let mut map = self.failures.lock().expect("limiter lock");
        let mut count = |key: &str| {
            map.get_mut(key).map_or(0, |q| {
                while q
                    .front()
                    .is_some_and(|t| now.duration_since(*t) > self.window)
                {
                    q.pop_front();
                }
                q.len()
            })
        };
        count(&ip_key) >= self.per_ip || count(&user_key) >= self.per_user
    }

    pub fn record_failure(&self, ip: &str, username: &str) {
        let now = Instant::now();
        let (ip_key, user_key) = Self::keys(ip, username);
        let mut map = self.failures.lock().expect("limiter lock");
        if map.len() > 100_000 {
            // Bound memory under a spray of random usernames: drop stale entries.
            map.retain(|_, q| {
                q.back()
                    .is_some_and(|t| now.duration_since(*t) <= self.window)
            });
        }
        map.entry(ip_key).or_default().push_back(now);
        map.entry(user_key).or_default().push_back(now);
    }

    /// A successful sign-in clears that username's failures (not the IP's).
    pub fn record_success(&self, username: &str) {
        let key = format!("user:{}", username.to_lowercase());
        self.failures.lock().expect("limiter lock").remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_username_is_blocked_after_its_limit_from_any_ip() {
        let l = LoginLimiter::new(Duration::from_secs(60), 100, 3);
        for i in 0..3 {
            assert!(!l.is_blocked(&format!("10.0.0.{i}"), "Admin"));
            l.record_failure(&format!("10.0.0.{i}"), "Admin");
        }
        assert!(l.is_blocked("10.9.9.9", "admin"));
        assert!(!l.is_blocked("10.9.9.9", "someone-else"));
    }

    #[test]
    fn an_ip_is_blocked_after_its_limit_for_any_username() {
        let l = LoginLimiter::new(Duration::from_secs(60), 2, 100);
        l.record_failure("1.2.3.4", "a");
        l.record_failure("1.2.3.4", "b");
        assert!(l.is_blocked("1.2.3.4", "c"));
        assert!(!l.is_blocked("5.6.7.8", "c"));
    }

    #[test]
    fn failures_expire_after_the_window() {
        let l = LoginLimiter::new(Duration::from_millis(30), 1, 1);
        l.record_failure("1.2.3.4", "a");
        assert!(l.is_blocked("1.2.3.4", "a"));
        std::thread::sleep(Duration::from_millis(50));
        assert!(!l.is_blocked("1.2.3.4", "a"));
    }
}
