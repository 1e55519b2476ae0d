//! What every handler shares: the database, the keys, the sign-in limiter's rules and the options the
//! binary configured. Cheap to clone (one `Arc`).

use crate::ratelimit::LoginLimiter;
use engine::secrets::Keys;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct WebOptions {
    /// Set the `Secure` flag on cookies even without `X-Forwarded-Proto: https`
    /// (when `VPNMARKET_PUBLIC_URL` starts with https).
    pub always_secure_cookies: bool,
    /// Trust `X-Forwarded-For` / `X-Forwarded-Proto` from a reverse proxy in front of us.
    pub trust_proxy: bool,
    pub data_dir: PathBuf,
    /// A session's absolute lifetime from sign-in.
    pub session_ttl: Duration,
    /// A session unused for this long ends before its absolute expiry.
    pub session_idle: Duration,
    pub api_token_ttl: Duration,
    /// Refuse panel addresses in private, loopback and link-local ranges.
    pub panel_deny_private: bool,
    /// `/metrics` answers only with `Authorization: Bearer <this>`; without it, only on the
    /// separate metrics listener (if the binary opens one).
    pub metrics_token: Option<String>,
}

impl Default for WebOptions {
    fn default() -> Self {
        WebOptions {
            always_secure_cookies: false,
            trust_proxy: false,
            data_dir: PathBuf::from("./data"),
            session_ttl: Duration::from_secs(12 * 3600),
            session_idle: Duration::from_secs(2 * 3600),
            api_token_ttl: Duration::from_secs(30 * 24 * 3600),
            panel_deny_private: false,
            metrics_token: None,
        }
    }
}

pub struct Inner {
    pub db: db::Db,
    /// The engine: panel registry, operations, jobs.
    pub engine: engine::Ctx,
    pub keys: Keys,
    pub limiter: LoginLimiter,
    pub options: WebOptions,
}

#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(engine: engine::Ctx, options: WebOptions) -> AppState {
        let db = engine.db.clone();
        let keys = engine.keys.clone();
        AppState(Arc::new(Inner {
            db,
            engine,
            keys,
            limiter: LoginLimiter::default(),
            options,
        }))
    }
}
