//! Panel clients built from panel rows (credentials decrypted here, nowhere else), cached per
//! panel and rebuilt when the row changes, with each panel's rate and concurrency limits.

use crate::secrets::Keys;
use crate::{EngineResult, EngineSettings};
use panels::{PanelClient, PanelConfig, PanelKind, PanelSettings};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

/// A client plus the limits that guard calls to its panel.
#[derive(Clone)]
pub struct PanelHandle {
    pub panel_id: i64,
    pub client: Arc<dyn PanelClient>,
    pub concurrency: Arc<Semaphore>,
    rate: Arc<RateLimiter>,
    /// The calls per second the rate limit lets through (for a batch's expected duration).
    pub rate_per_sec: u32,
    version: i64,
}

impl PanelHandle {
    /// Waits for the panel's rate limit and a concurrency slot; hold the permit for the call.
    pub async fn acquire(&self) -> tokio::sync::OwnedSemaphorePermit {
        let permit = self
            .concurrency
            .clone()
            .acquire_owned()
            .await
            .expect("semaphore never closed");
        self.rate.wait().await;
        permit
    }
}

/// Spaces calls at least `1/rate` seconds apart (a simple, fair token schedule).
struct RateLimiter {
    interval: std::time::Duration,
    next: tokio::sync::Mutex<tokio::time::Instant>,
}

impl RateLimiter {
    fn new(per_sec: u32) -> Self {
        RateLimiter {
            interval: std::time::Duration::from_secs_f64(1.0 / per_sec.max(1) as f64),
            next: tokio::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    async fn wait(&self) {
        let at = {
            let mut next = self.next.lock().await;
            let now = tokio::time::Instant::now();
            let at = (*next).max(now);
            *next = at + self.interval;
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

pub struct Registry {
    db: db::Db,
    keys: Keys,
    settings: EngineSettings,
    cache: Mutex<HashMap<i64, PanelHandle>>,
}

/// The adapter for a stored panel kind. `domain::status::PanelKind` is what rows, forms and the
/// API carry; `panels::PanelKind` picks the adapter. Both lists must name the same panels, so
/// the match has no wildcard: a kind added to one fails to compile here until it is in both.
pub fn adapter_kind(kind: domain::status::PanelKind) -> PanelKind {
    use domain::status::PanelKind as K;
    match kind {
        K::Marzban => PanelKind::Marzban,
        K::Marzneshin => PanelKind::Marzneshin,
        K::Xui => PanelKind::Xui,
        K::Eylandoo => PanelKind::Eylandoo,
        K::Pasarguard => PanelKind::PasarGuard,
    }
}

/// The stored kind of an adapter kind (the inverse of [`adapter_kind`]).
pub fn stored_kind(kind: PanelKind) -> domain::status::PanelKind {
    use domain::status::PanelKind as K;
    match kind {
        PanelKind::Marzban => K::Marzban,
        PanelKind::Marzneshin => K::Marzneshin,
        PanelKind::Xui => K::Xui,
        PanelKind::Eylandoo => K::Eylandoo,
        PanelKind::PasarGuard => K::Pasarguard,
    }
}

/// Builds the adapter configuration of a panel row (decrypting its secrets).
pub fn panel_config(
    row: &db::panels::Panel,
    keys: &Keys,
    settings: &EngineSettings,
) -> EngineResult<PanelConfig> {
    let kind = adapter_kind(row.kind);
    let panel_settings: PanelSettings = serde_json::from_str(&row.settings).unwrap_or_default();
    let mut cfg = PanelConfig::new(kind, row.base_url.clone());
    cfg.username = row.username.clone();
    cfg.password = row
        .password_enc
        .as_deref()
        .map(|p| keys.decrypt(p))
        .transpose()?;
    cfg.api_key = row
        .api_key_enc
        .as_deref()
        .map(|p| keys.decrypt(p))
        .transpose()?;
    cfg.settings = panel_settings;
    cfg.request_timeout = settings.panel_request_timeout;
    Ok(cfg)
}

impl Registry {
    pub fn new(db: db::Db, keys: Keys, settings: EngineSettings) -> Registry {
        Registry {
            db,
            keys,
            settings,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The handle for a panel, rebuilt when the row's `updated_at` changed.
    pub async fn handle(&self, panel_id: i64) -> EngineResult<PanelHandle> {
        let mut conn = self.db.acquire().await?;
        let row = db::panels::get(&mut conn, panel_id)
            .await?
            .ok_or(db::DbError::NotFound)?;
        drop(conn);
        if let Some(h) = self.cache.lock().expect("registry lock").get(&panel_id) {
            if h.version == row.updated_at {
                return Ok(h.clone());
            }
        }
        let cfg = panel_config(&row, &self.keys, &self.settings)?;
        let rate = cfg
            .settings
            .rate_limit_per_sec
            .unwrap_or(self.settings.default_rate_per_sec);
        let concurrency = cfg
            .settings
            .max_concurrency
            .unwrap_or(self.settings.default_concurrency)
            .max(1);
        let handle = PanelHandle {
            panel_id,
            client: panels::connect(cfg)?,
            concurrency: Arc::new(Semaphore::new(concurrency as usize)),
            rate: Arc::new(RateLimiter::new(rate)),
            rate_per_sec: rate,
            version: row.updated_at,
        };
        // Two callers may have built a handle at once; keep the first so the panel has one
        // rate limiter and one concurrency limit.
        let mut cache = self.cache.lock().expect("registry lock");
        match cache.get(&panel_id) {
            Some(existing) if existing.version == handle.version => Ok(existing.clone()),
            _ => {
                cache.insert(panel_id, handle.clone());
                Ok(handle)
            }
        }
    }

    /// Forgets a cached client (after the admin edits the panel).
    pub fn invalidate(&self, panel_id: i64) {
        self.cache.lock().expect("registry lock").remove(&panel_id);
    }
}

#[cfg(test)]
mod tests {
    use super::RateLimiter;

    #[tokio::test(start_paused = true)]
    async fn the_rate_limiter_spaces_calls() {
        let r = RateLimiter::new(3);
        let start = tokio::time::Instant::now();
        for _ in 0..7 {
            r.wait().await;
        }
        // 7 calls at 3 per second: the 7th starts 2 s after the first.
        let took = start.elapsed();
        assert!(
            took >= std::time::Duration::from_millis(1990)
                && took < std::time::Duration::from_millis(2100),
            "{took:?}"
        );
    }
}
