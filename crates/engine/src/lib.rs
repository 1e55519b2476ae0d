//! The engine: scheduled jobs (sync, billing, enforcement) and the durable remote-operations
//! worker. Each job exposes `run_once(ctx, now)` so tests drive it with a fixed clock.

pub mod access;
pub mod billing;
pub mod bulk;
pub mod configs;
pub mod drift;
pub mod enforcement;
pub mod import;
mod job_runner;
pub mod observe;
pub mod ops;
pub mod quarantine;
pub mod registry;
pub mod resellers;
pub mod reset;
pub mod scheduler;
pub mod secrets;
pub mod sync;
pub mod topups;
pub mod wallet;

use std::sync::Arc;

/// Tunables the binary sets from its configuration; tests shorten the waits.
#[derive(Clone, Debug)]
pub struct EngineSettings {
    /// How long a reseller waits for a create (or another action) before it is left pending.
    pub wait_for_panel: std::time::Duration,
    /// Per-request time-out for panel calls.
    pub panel_request_timeout: std::time::Duration,
    /// How often the worker looks for due operations.
    pub worker_tick: std::time::Duration,
    /// Calls a second a panel gets unless its settings say otherwise: a sixth of the slowest the
    /// real panels sustained here (creates at ~60/s on Marzban and PasarGuard, docs/performance.md),
    /// leaving room for a real proxy core, a remote network and the panel's own users.
    pub default_rate_per_sec: u32,
    pub default_concurrency: u32,
    /// Defaults from the environment; the admin's settings page overrides them (db `settings`).
    pub wallet_price_per_gb: i64,
    pub wallet_suspension_threshold: i64,
    /// Readings beyond this are held back for the admin (issue 11).
    pub quarantine: domain::usage::Ceiling,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            wait_for_panel: std::time::Duration::from_secs(20),
            panel_request_timeout: std::time::Duration::from_secs(15),
            worker_tick: std::time::Duration::from_millis(500),
            default_rate_per_sec: 10,
            default_concurrency: 4,
            wallet_price_per_gb: 780,
            wallet_suspension_threshold: -1000,
            quarantine: domain::usage::Ceiling::default(),
        }
    }
}

/// What every job and the worker share. Cheap to clone.
#[derive(Clone)]
pub struct Ctx(pub Arc<CtxInner>);

pub struct CtxInner {
    pub db: db::Db,
    pub keys: secrets::Keys,
    pub registry: registry::Registry,
    pub settings: EngineSettings,
    /// Identifies this process in leases.
    pub instance_id: String,
    /// Wakes the worker when an operation is queued.
    pub wake: tokio::sync::Notify,
    /// One usage sync at a time in this process (the `usage_sync` lease covers other instances).
    pub sync_gate: tokio::sync::Mutex<()>,
}

impl std::ops::Deref for Ctx {
    type Target = CtxInner;
    fn deref(&self) -> &CtxInner {
        &self.0
    }
}

impl Ctx {
    pub fn new(db: db::Db, keys: secrets::Keys, settings: EngineSettings) -> Ctx {
        Ctx(Arc::new(CtxInner {
            registry: registry::Registry::new(db.clone(), keys.clone(), settings.clone()),
            db,
            keys,
            settings,
            instance_id: format!("{}-{}", hostname(), uuid_like()),
            wake: tokio::sync::Notify::new(),
            sync_gate: tokio::sync::Mutex::new(()),
        }))
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "host".into())
}

fn uuid_like() -> String {
    secrets::random_token()[..12].to_string()
}

/// Errors of engine operations, mapped by callers (web) to their own table.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error("panel: {0}")]
    Panel(#[from] panels::PanelError),
    #[error("{0}")]
    Secret(#[from] secrets::SecretError),
    #[error("{0}")]
    Invalid(String),
}

impl From<sqlx::Error> for EngineError {
    fn from(e: sqlx::Error) -> Self {
        EngineError::Db(db::DbError::Sqlx(e))
    }
}

pub type EngineResult<T> = Result<T, EngineError>;
