//! In-memory user store shared by every simulated panel kind, plus the traffic ledger.
//! Users are keyed by creation id (so listings are stable while users are added) with a name index.

/// The panels' periodic review jobs, which change the stored users on a timer.
pub(crate) mod review;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use review::ReviewJob;

/// A user as the panel currently holds it, normalised across panel kinds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SimUser {
    pub username: String,
    pub used_bytes: i64,
    pub lifetime_bytes: i64,
    /// None = unlimited.
    pub limit_bytes: Option<i64>,
    pub expires_at: Option<DateTime<Utc>>,
    pub enabled: bool,
    pub max_clients: Option<i64>,
    pub service_ids: Vec<i64>,
    pub inbound_ids: Vec<i64>,
    pub inbound_tags: Vec<String>,
    pub node_ids: Vec<i64>,
    pub sub_id: String,
}

/// What a review job stored in the user's status (Marzban, PasarGuard): it stays until an
/// admin action or a reset clears it, whatever the counters say by then.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flag {
    Limited,
    Expired,
}

/// The full record behind a `SimUser`: the common fields plus whatever one panel kind needs to
/// echo back faithfully. Unused fields stay at their defaults for the other kinds.
#[derive(Clone, Debug)]
pub(crate) struct UserRec {
    /// Marzneshin user id, 3x-ui traffic row id; also the listing order.
    pub id: i64,
    pub username: String,
    pub created_at: DateTime<Utc>,
    pub used: i64,
    pub lifetime: i64,
    /// Never `Some(0)`: every kind maps 0 to unlimited on the way in.
    pub limit: Option<i64>,
    pub expires_at: Option<DateTime<Utc>>,
    /// "Starts on first use": the validity period (ms) that begins with the first traffic.
    /// Marzban on_hold, Marzneshin start_on_first_use, 3x-ui negative expiryTime.
    pub first_use_ms: Option<i64>,
    /// The admin switch; limited/expired are derived from counters and dates instead.
    pub enabled: bool,
    /// Marzban/PasarGuard: `limited`/`expired` as the review job stored it, set late (spec §9).
    pub flag: Option<Flag>,
    /// Marzneshin: whether the user is pushed to the nodes; the review job clears it late.
    pub activated: bool,
    pub max_clients: Option<i64>,
    pub service_ids: Vec<i64>,
    pub inbound_ids: Vec<i64>,
    /// Marzban: protocol -> inbound tags the user is in.
    pub inbound_tags: BTreeMap<String, Vec<String>>,
    /// Marzban: protocol -> proxy settings (ids, passwords).
    pub proxies: Map<String, Value>,
    pub node_ids: Vec<i64>,
    pub sub_id: String,
    /// Marzneshin sub key, 3x-ui client id (uuid, or password on trojan), Eylandoo password.
    pub secret: String,
    pub note: String,
    pub reset_strategy: String,
    pub traffic_reset_at: Option<DateTime<Utc>>,
    /// 3x-ui client fields echoed back verbatim.
    pub flow: String,
    pub tg_id: Value,
    pub reset_days: i64,
    /// The panel admin who owns the user; None for the simulator's own admin (every user made
    /// through the API).
    pub owner: Option<String>,
}

impl UserRec {
    pub fn new(id: i64, username: &str, now: DateTime<Utc>) -> Self {
        UserRec {
            id,
            username: username.to_string(),
            created_at: now,
            used: 0,
            lifetime: 0,
            limit: None,
            expires_at: None,
            first_use_ms: None,
            enabled: true,
            flag: None,
            activated: true,
            max_clients: None,
            service_ids: Vec::new(),
            inbound_ids: Vec::new(),
            inbound_tags: BTreeMap::new(),
            proxies: Map::new(),
            node_ids: Vec::new(),
            sub_id: String::new(),
            secret: String::new(),
            note: String::new(),
            reset_strategy: "no_reset".to_string(),
            traffic_reset_at: None,
            flow: String::new(),
            tg_id: Value::from(0),
            reset_days: 0,
            owner: None,
        }
    }

    /// The owning admin's name as the panel reports it.
    pub fn owner_name<'a>(&'a self, sim_admin: &'a str) -> &'a str {
        self.owner.as_deref().unwrap_or(sim_admin)
    }

    /// `note` and `data_limit_reset_strategy` of a Marzban or Marzneshin create or modify body,
    /// where they are given as strings; each is echoed back as sent.
    pub fn set_note_and_reset_strategy(&mut self, m: &Map<String, Value>) {
        if let Some(n) = m.get("note").and_then(Value::as_str) {
            self.note = n.to_string();
        }
        if let Some(s) = m.get("data_limit_reset_strategy").and_then(Value::as_str) {
            self.reset_strategy = s.to_string();
        }
    }

    /// Where the user goes in a listing sorted by `key`; `expire` names the expiry field
    /// (Marzban `expire`, Marzneshin `expire_date`), and an unknown key sorts by id, i.e. in
    /// creation order. No limit or expiry sorts first.
    pub fn sort_key(&self, key: &str, expire: &str) -> (i64, String) {
        match key {
            "username" => (0, self.username.clone()),
            "used_traffic" => (self.used, String::new()),
            "data_limit" => (self.limit.unwrap_or(-1), String::new()),
            k if k == expire => (self.expires_at.map_or(-1, |t| t.timestamp()), String::new()),
            _ => (self.id, String::new()),
        }
    }

    pub fn limited(&self) -> bool {
        self.limit.is_some_and(|l| self.used >= l)
    }

    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|e| e <= now)
    }

    pub fn on_hold(&self) -> bool {
        self.first_use_ms.is_some() && self.expires_at.is_none()
    }

    /// Enabled and neither over the limit nor past expiry: what the proxies would let through.
    pub fn usable(&self, now: DateTime<Utc>) -> bool {
        self.enabled && !self.limited() && !self.expired(now)
    }

    pub fn to_sim_user(&self) -> SimUser {
        SimUser {
            username: self.username.clone(),
            used_bytes: self.used,
            lifetime_bytes: self.lifetime,
            limit_bytes: self.limit,
            expires_at: self.expires_at,
            enabled: self.enabled,
            max_clients: self.max_clients,
            service_ids: self.service_ids.clone(),
            inbound_ids: self.inbound_ids.clone(),
            inbound_tags: self.inbound_tags.values().flatten().cloned().collect(),
            node_ids: self.node_ids.clone(),
            sub_id: self.sub_id.clone(),
        }
    }
}

/// 0 and negatives mean "unlimited" on every panel, so they never reach the store as a limit.
pub(crate) fn limit_from(bytes: i64) -> Option<i64> {
    (bytes > 0).then_some(bytes)
}

#[derive(Default)]
pub(crate) struct Store {
    users: BTreeMap<i64, UserRec>,
    by_name: HashMap<String, i64>,
    /// Live ids in ascending order, so an offset page is a slice instead of a skip over the map.
    order: Vec<i64>,
    last_id: i64,
    /// Every byte ever added per username, surviving resets, deletes and re-creations.
    counted: HashMap<String, i64>,
    review: Option<ReviewJob>,
}

impl Store {
    pub fn set_review(&mut self, job: Option<ReviewJob>) {
        self.review = job;
    }

    /// Runs the review job's pass if a tick of it has come since the last access.
    pub fn catch_up(&mut self, now: DateTime<Utc>) {
        if let Some((pass, at)) = self.review.as_mut().and_then(|j| j.due(now)) {
            self.users.values_mut().for_each(|r| pass(r, at));
        }
    }

    /// Runs the review job's pass now; false for kinds without one.
    pub fn review_now(&mut self, now: DateTime<Utc>) -> bool {
        match self.review.as_mut().map(|j| j.run_now(now)) {
            Some((pass, at)) => {
                self.users.values_mut().for_each(|r| pass(r, at));
                true
            }
            None => false,
        }
    }

    pub fn next_id(&mut self) -> i64 {
        self.last_id += 1;
        self.last_id
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    pub fn get(&self, name: &str) -> Option<&UserRec> {
        self.by_name.get(name).and_then(|id| self.users.get(id))
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut UserRec> {
        let id = *self.by_name.get(name)?;
        self.users.get_mut(&id)
    }

    /// False when the name is taken (the caller answers with its panel's "already exists").
    pub fn insert(&mut self, rec: UserRec) -> bool {
        if self.by_name.contains_key(&rec.username) {
            return false;
        }
        self.by_name.insert(rec.username.clone(), rec.id);
        let pos = self.order.partition_point(|id| *id < rec.id);
        self.order.insert(pos, rec.id);
        self.users.insert(rec.id, rec);
        true
    }

    pub fn remove(&mut self, name: &str) -> Option<UserRec> {
        let id = self.by_name.remove(name)?;
        if let Ok(pos) = self.order.binary_search(&id) {
            self.order.remove(pos);
        }
        self.users.remove(&id)
    }

    /// 3x-ui lets updateClient change the email, which is the key.
    pub fn rename(&mut self, old: &str, new: &str) -> bool {
        if old == new {
            return true;
        }
        if self.by_name.contains_key(new) {
            return false;
        }
        let Some(id) = self.by_name.remove(old) else {
            return false;
        };
        self.by_name.insert(new.to_string(), id);
        if let Some(rec) = self.users.get_mut(&id) {
            rec.username = new.to_string();
        }
        true
    }

    /// In creation order.
    pub fn iter(&self) -> impl Iterator<Item = &UserRec> {
        self.users.values()
    }

    /// `limit` users from position `offset` in creation order.
    pub fn page(&self, offset: usize, limit: Option<usize>) -> impl Iterator<Item = &UserRec> {
        let start = offset.min(self.order.len());
        let end = limit.map_or(self.order.len(), |l| {
            start.saturating_add(l).min(self.order.len())
        });
        self.order[start..end]
            .iter()
            .filter_map(|id| self.users.get(id))
    }

    pub fn find(&self, pred: impl Fn(&UserRec) -> bool) -> Option<&UserRec> {
        self.users.values().find(|r| pred(r))
    }

    pub fn add_traffic(&mut self, name: &str, bytes: i64, now: DateTime<Utc>) -> bool {
        let Some(rec) = self.get_mut(name) else {
            return false;
        };
        apply_traffic(rec, bytes, now);
        let n = self.counted.entry(name.to_string()).or_default();
        *n = n.saturating_add(bytes);
        true
    }

    /// Adds the same amount to every live user; returns how many got it.
    pub fn add_traffic_all(&mut self, bytes: i64, now: DateTime<Utc>) -> usize {
        let mut n = 0;
        for rec in self.users.values_mut() {
            apply_traffic(rec, bytes, now);
            let c = self.counted.entry(rec.username.clone()).or_default();
            *c = c.saturating_add(bytes);
            n += 1;
        }
        n
    }

    /// Records traffic that exists on the panel without going through add_traffic (seeding).
    pub fn count_external(&mut self, name: &str, bytes: i64) {
        let n = self.counted.entry(name.to_string()).or_default();
        *n = n.saturating_add(bytes);
    }

    pub fn reset(&mut self, name: &str, now: DateTime<Utc>) -> bool {
        let Some(rec) = self.get_mut(name) else {
            return false;
        };
        rec.used = 0;
        rec.traffic_reset_at = Some(now);
        true
    }

    pub fn counted(&self, name: &str) -> i64 {
        self.counted.get(name).copied().unwrap_or(0)
    }
}

fn apply_traffic(rec: &mut UserRec, bytes: i64, now: DateTime<Utc>) {
    rec.used = rec.used.saturating_add(bytes);
    rec.lifetime = rec.lifetime.saturating_add(bytes);
    // First traffic starts the clock of a "starts on first use" user, as the panels' jobs do.
    if bytes > 0 && rec.on_hold() {
        if let Some(ms) = rec.first_use_ms.take() {
            rec.expires_at = Some(now + ChronoDuration::milliseconds(ms));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_survives_remove_and_reinsert() {
        let now = Utc::now();
        let mut s = Store::default();
        let id = s.next_id();
        assert!(s.insert(UserRec::new(id, "a", now)));
        assert!(s.add_traffic("a", 10, now));
        s.remove("a");
        assert!(!s.add_traffic("a", 5, now));
        let id = s.next_id();
        assert!(s.insert(UserRec::new(id, "a", now)));
        assert!(s.add_traffic("a", 7, now));
        assert_eq!(s.counted("a"), 17);
        let id = s.next_id();
        s.insert(UserRec::new(id, "b", now));
        let page: Vec<&str> = s.page(1, Some(5)).map(|r| r.username.as_str()).collect();
        assert_eq!(page, vec!["b"]);
        assert_eq!(s.page(7, None).count(), 0);
        assert_eq!(s.get("a").unwrap().used, 7);
    }

    #[test]
    fn first_traffic_starts_on_hold_clock() {
        let now = Utc::now();
        let mut rec = UserRec::new(1, "a", now);
        rec.first_use_ms = Some(86_400_000);
        assert!(rec.on_hold());
        apply_traffic(&mut rec, 1, now);
        assert!(!rec.on_hold());
        assert_eq!(rec.expires_at, Some(now + ChronoDuration::days(1)));
    }
}
