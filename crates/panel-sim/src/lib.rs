//! Stateful simulator of five VPN panel HTTP APIs (Marzban, Marzneshin, 3x-ui 2.x, Eylandoo,
//! PasarGuard).
//! Tests spawn one on a loopback port, drive it over HTTP, and inspect or disturb it via `Sim`.

// Handlers bail out with a ready `Response` as the error; boxing it would only add noise.
#![allow(clippy::result_large_err)]

#[macro_use]
mod http;
mod auth;
mod control;
mod eylandoo;
mod faults;
mod jsonw;
mod marzban;
mod marzneshin;
mod panel_side;
mod pasarguard;
pub mod real;
mod server;
mod state;
mod xui;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context as _;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::net::TcpListener;
use tokio::task::AbortHandle;

pub use faults::{Fault, SimOp};
pub use state::SimUser;

use auth::Tokens;
use faults::FaultTable;
use server::{ConnCtl, SimListener};
use state::Store;

/// Which panel API a simulator speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SimKind {
    Marzban,
    Marzneshin,
    Xui,
    Eylandoo,
    PasarGuard,
}

impl SimKind {
    pub const ALL: [SimKind; 5] = [
        SimKind::Marzban,
        SimKind::Marzneshin,
        SimKind::Xui,
        SimKind::Eylandoo,
        SimKind::PasarGuard,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SimKind::Marzban => "marzban",
            SimKind::Marzneshin => "marzneshin",
            SimKind::Xui => "xui",
            SimKind::Eylandoo => "eylandoo",
            SimKind::PasarGuard => "pasarguard",
        }
    }

    fn default_version(self) -> &'static str {
        match self {
            SimKind::Marzban => "0.8.4",
            SimKind::Marzneshin => "0.7.4",
            SimKind::Xui => "2.9.4",
            SimKind::Eylandoo => "1.0.0",
            // The release start.sh runs; `set_version("5.…")` turns on the v5 routes.
            SimKind::PasarGuard => "3.1.0",
        }
    }
}

impl fmt::Display for SimKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SimKind {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "marzban" => Ok(SimKind::Marzban),
            "marzneshin" => Ok(SimKind::Marzneshin),
            "xui" | "3x-ui" | "3xui" | "x-ui" => Ok(SimKind::Xui),
            "eylandoo" => Ok(SimKind::Eylandoo),
            "pasarguard" => Ok(SimKind::PasarGuard),
            other => anyhow::bail!(
                "unknown panel kind {other:?} (expected marzban, marzneshin, xui, eylandoo or pasarguard)"
            ),
        }
    }
}

#[derive(Clone, Debug)]
pub struct SimConfig {
    pub kind: SimKind,
    pub admin_username: String,
    pub admin_password: String,
    /// Eylandoo's static X-API-KEY; PasarGuard's API key (v5).
    pub api_key: String,
    /// Life of bearer tokens and 3x-ui session cookies; zero = never expire.
    pub token_ttl: Duration,
    /// Default 127.0.0.1:0 (a fresh loopback port).
    pub listen: SocketAddr,
    /// How often the panel's review job runs (Marzban flags `limited`/`expired`, Marzneshin
    /// clears `activated`); what it decides shows only after its next tick. Defaults to the
    /// real panel's interval (10 s, 30 s); zero reviews at every request, i.e. at once.
    pub review_interval: Duration,
}

impl SimConfig {
    pub fn new(kind: SimKind) -> Self {
        SimConfig {
            kind,
            admin_username: "admin".to_string(),
            admin_password: "admin-pass".to_string(),
            api_key: "sim-api-key".to_string(),
            token_ttl: Duration::from_secs(24 * 3600),
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            review_interval: state::review::default_interval(kind),
        }
    }
}

/// A running simulator. Cheap to clone; every clone shares the same state and listener.
#[derive(Clone)]
pub struct Sim {
    inner: Arc<Inner>,
}

struct Inner {
    config: SimConfig,
    addr: SocketAddr,
    store: Mutex<Store>,
    faults: Mutex<FaultTable>,
    tokens: Mutex<Tokens>,
    counts: [AtomicU64; SimOp::ALL.len()],
    total: AtomicU64,
    version: Mutex<String>,
    /// Signs Marzban subscription tokens.
    sub_secret: String,
    down: Arc<AtomicBool>,
    task: Mutex<Option<AbortHandle>>,
}

/// Binds a fresh loopback port and serves `kind` from a tokio task.
///
/// Panics if binding 127.0.0.1:0 fails, which only happens on a broken host.
pub async fn spawn(kind: SimKind) -> Sim {
    spawn_with(SimConfig::new(kind))
        .await
        .expect("panel-sim: cannot bind a loopback port")
}

pub async fn spawn_with(config: SimConfig) -> anyhow::Result<Sim> {
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("panel-sim: cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let down = Arc::new(AtomicBool::new(false));
    let mut store = Store::default();
    store.set_review(state::review::ReviewJob::new(
        config.kind,
        config.review_interval,
        chrono::Utc::now(),
    ));
    let sim = Sim {
        inner: Arc::new(Inner {
            version: Mutex::new(config.kind.default_version().to_string()),
            config,
            addr,
            store: Mutex::new(store),
            faults: Mutex::default(),
            tokens: Mutex::default(),
            counts: Default::default(),
            total: AtomicU64::new(0),
            sub_secret: http::random_string(32),
            down: down.clone(),
            task: Mutex::new(None),
        }),
    };
    let app = sim
        .router()
        .into_make_service_with_connect_info::<ConnCtl>();
    let listener = SimListener::new(listener, down);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("panel-sim server stopped: {e}");
        }
    });
    *lock(&sim.inner.task) = Some(task.abort_handle());
    Ok(sim)
}

/// A poisoned lock only means a test panicked mid-update; the data is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Sim {
    fn router(&self) -> Router {
        let kind = self.kind();
        let panel = match kind {
            SimKind::Marzban => marzban::router(),
            SimKind::Marzneshin => marzneshin::router(),
            SimKind::Xui => Router::new()
                .nest(xui::BASE_PATH, xui::router())
                .merge(xui::sub_router()),
            SimKind::Eylandoo => eylandoo::router(),
            SimKind::PasarGuard => pasarguard::router(),
        };
        panel
            .merge(control::router())
            .fallback(
                move |axum::extract::State(sim): axum::extract::State<Sim>| async move {
                    sim.inner.total.fetch_add(1, Ordering::Relaxed);
                    not_found(kind)
                },
            )
            .with_state(self.clone())
    }

    pub fn kind(&self) -> SimKind {
        self.inner.config.kind
    }

    /// Where the panel's API lives; for 3x-ui this includes the web base path (`/xpanel`).
    pub fn base_url(&self) -> String {
        match self.kind() {
            SimKind::Xui => format!("{}{}", self.root_url(), xui::BASE_PATH),
            _ => self.root_url(),
        }
    }

    /// `http://127.0.0.1:PORT` without any base path: the 3x-ui sub server and `/_sim/` live here.
    pub fn root_url(&self) -> String {
        let mut addr = self.inner.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
        format!("http://{addr}")
    }

    /// The control API: `{root_url}/_sim`.
    pub fn control_url(&self) -> String {
        format!("{}/_sim", self.root_url())
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.inner.addr
    }

    pub fn admin_username(&self) -> &str {
        &self.inner.config.admin_username
    }

    pub fn admin_password(&self) -> &str {
        &self.inner.config.admin_password
    }

    pub fn api_key(&self) -> &str {
        &self.inner.config.api_key
    }

    /// Grows the used and lifetime counters of a live user; false if unknown.
    pub fn add_traffic(&self, username: &str, bytes: i64) -> bool {
        self.store()
            .add_traffic(username, bytes, chrono::Utc::now())
    }

    /// `add_traffic` for every live user; returns how many there were.
    pub fn add_traffic_all(&self, bytes: i64) -> usize {
        self.store().add_traffic_all(bytes, chrono::Utc::now())
    }

    pub fn user(&self, username: &str) -> Option<SimUser> {
        self.store().get(username).map(|r| r.to_sim_user())
    }

    /// Every live user in creation order.
    pub fn users(&self) -> Vec<SimUser> {
        self.store().iter().map(|r| r.to_sim_user()).collect()
    }

    pub fn user_count(&self) -> usize {
        self.store().len()
    }

    /// All traffic ever added under this name, across resets, deletes and re-creations
    /// (seeded usage included): the ground truth for accounting tests.
    pub fn traffic_counted(&self, username: &str) -> i64 {
        self.store().counted(username)
    }

    /// Creates `"{prefix}{i}"` for i in 0..count without HTTP, each with `used_bytes_each`
    /// used, placed in the kind's first service/inbound/node. Existing names are skipped.
    pub fn seed_users(&self, prefix: &str, count: usize, used_bytes_each: i64) {
        panel_side::seed(self, prefix, count, used_bytes_each, None);
    }

    /// [`Sim::seed_users`] owned by the panel admin `owner` (a non-sudo admin's users).
    pub fn seed_users_owned_by(&self, owner: &str, prefix: &str, count: usize, used_each: i64) {
        panel_side::seed(self, prefix, count, used_each, Some(owner));
    }

    /// Someone resets the counter on the panel behind our back.
    pub fn panel_side_reset(&self, username: &str) -> bool {
        self.store().reset(username, chrono::Utc::now())
    }

    pub fn panel_side_delete(&self, username: &str) -> bool {
        self.store().remove(username).is_some()
    }

    /// Delete + create under the same name: zero counters, same limits, new ids and secrets.
    pub fn panel_side_recreate(&self, username: &str) -> bool {
        panel_side::recreate(self, username)
    }

    /// Someone flips the admin switch on the panel behind our back (in its dashboard, which
    /// sets the status as the API's enable and disable do).
    pub fn panel_side_set_enabled(&self, username: &str, enabled: bool) -> bool {
        match self.store().get_mut(username) {
            Some(rec) => {
                rec.enabled = enabled;
                rec.flag = None;
                rec.activated = rec.usable(chrono::Utc::now());
                true
            }
            None => false,
        }
    }

    /// Someone edits the data limit and expiry on the panel behind our back (None = unlimited,
    /// never).
    pub fn panel_side_set_limits(
        &self,
        username: &str,
        limit_bytes: Option<i64>,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> bool {
        match self.store().get_mut(username) {
            Some(rec) => {
                rec.limit = limit_bytes;
                rec.expires_at = expires_at;
                true
            }
            None => false,
        }
    }

    /// Runs the panel's review job now instead of waiting for its next tick; false for kinds
    /// without one (3x-ui, Eylandoo).
    pub fn run_review(&self) -> bool {
        self.store().review_now(chrono::Utc::now())
    }

    /// `times`: None = until cleared, Some(n) = the next n matching requests.
    pub fn inject(&self, op: SimOp, fault: Fault, times: Option<u32>) {
        lock(&self.inner.faults).add(op, fault, times);
    }

    pub fn clear_faults(&self) {
        lock(&self.inner.faults).clear();
    }

    /// Every issued token and cookie becomes invalid (Eylandoo's static key is unaffected).
    pub fn expire_tokens(&self) {
        lock(&self.inner.tokens).clear();
    }

    /// Requests received for `op`, faulted ones included; `Any` is the total.
    pub fn requests(&self, op: SimOp) -> u64 {
        match op {
            SimOp::Any => self.total_requests(),
            op => self.inner.counts[op.index()].load(Ordering::Relaxed),
        }
    }

    /// Every panel request, including ones to unknown routes; `/_sim/` calls excluded.
    pub fn total_requests(&self) -> u64 {
        self.inner.total.load(Ordering::Relaxed)
    }

    pub fn reset_request_counts(&self) {
        for c in &self.inner.counts {
            c.store(0, Ordering::Relaxed);
        }
        self.inner.total.store(0, Ordering::Relaxed);
    }

    /// What the panel reports as its version (Marzban `/api/system`, 3x-ui server status).
    pub fn set_version(&self, v: &str) {
        *lock(&self.inner.version) = v.to_string();
    }

    pub fn version(&self) -> String {
        lock(&self.inner.version).clone()
    }

    /// Stops accepting and cuts every open connection: the panel is down.
    pub fn shutdown(&self) {
        self.inner.down.store(true, Ordering::SeqCst);
        if let Some(task) = lock(&self.inner.task).take() {
            task.abort();
        }
    }

    /// The store, with the review job caught up to now.
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        let mut store = lock(&self.inner.store);
        store.catch_up(chrono::Utc::now());
        store
    }

    pub(crate) fn count_request(&self, op: SimOp) {
        self.inner.counts[op.index()].fetch_add(1, Ordering::Relaxed);
        self.inner.total.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn take_fault(&self, op: SimOp) -> Option<Fault> {
        lock(&self.inner.faults).take(op)
    }

    pub(crate) fn check_admin(&self, user: &str, pass: &str) -> bool {
        user == self.admin_username() && pass == self.admin_password()
    }

    pub(crate) fn token_ttl(&self) -> Duration {
        self.inner.config.token_ttl
    }

    pub(crate) fn issue_token(&self, token: String) {
        let ttl = self.token_ttl();
        lock(&self.inner.tokens).issue(token, ttl);
    }

    pub(crate) fn token_valid(&self, token: &str) -> bool {
        lock(&self.inner.tokens).valid(token)
    }

    pub(crate) fn sub_secret(&self) -> &str {
        &self.inner.sub_secret
    }
}

impl fmt::Debug for Sim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sim")
            .field("kind", &self.kind())
            .field("base_url", &self.base_url())
            .finish()
    }
}

/// Each framework's answer for an unknown route (3x-ui: a bare 404).
fn not_found(kind: SimKind) -> Response {
    match kind {
        SimKind::Marzban | SimKind::Marzneshin | SimKind::PasarGuard => {
            http::detail(StatusCode::NOT_FOUND, "Not Found")
        }
        SimKind::Xui => StatusCode::NOT_FOUND.into_response(),
        SimKind::Eylandoo => http::json(
            StatusCode::NOT_FOUND,
            serde_json::json!({ "status": "error", "message": "Not Found" }),
        ),
    }
}
