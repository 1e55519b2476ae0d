//! Adapters that drive VPN panels (Marzban, Marzneshin, 3x-ui, Eylandoo, PasarGuard) over HTTP behind one trait.
//! Callers build a `PanelConfig`, call `connect`, and speak only in the normalised types below.

mod convert;
mod error;
mod eylandoo;
mod fastapi;
mod http;
mod marzban;
mod marzneshin;
mod pasarguard;
mod xui;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use error::PanelError;

/// Which panel software a panel row runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PanelKind {
    Marzban,
    Marzneshin,
    Xui,
    Eylandoo,
    #[serde(rename = "pasarguard")]
    PasarGuard,
}

impl PanelKind {
    pub const ALL: [PanelKind; 5] = [
        PanelKind::Marzban,
        PanelKind::Marzneshin,
        PanelKind::Xui,
        PanelKind::Eylandoo,
        PanelKind::PasarGuard,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PanelKind::Marzban => "marzban",
            PanelKind::Marzneshin => "marzneshin",
            PanelKind::Xui => "xui",
            PanelKind::Eylandoo => "eylandoo",
            PanelKind::PasarGuard => "pasarguard",
        }
    }
}

impl fmt::Display for PanelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PanelKind {
    type Err = PanelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PanelKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                PanelError::Config(format!(
                    "unknown panel kind {s:?} (expected marzban, marzneshin, xui, eylandoo or pasarguard)"
                ))
            })
    }
}

/// Kind-specific settings stored with a panel row. Fields that do not apply to a kind are ignored.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PanelSettings {
    /// Marzban: the inbound tags new users join; empty = every inbound `GET /api/inbounds` lists.
    pub inbound_tags: Vec<String>,
    /// Marzneshin: default service ids for new users; PasarGuard: default group ids.
    pub service_ids: Vec<i64>,
    /// 3x-ui: inbound ids for new clients (2.x puts a client in the first one only).
    pub inbound_ids: Vec<i64>,
    /// Eylandoo: default node ids for new users; empty = the panel's default.
    pub node_ids: Vec<i64>,
    /// Public origin that relative subscription URLs are joined to. Required for 3x-ui, whose
    /// subscription server is a separate listener (`https://host:2096`, without `/sub`).
    pub sub_base_url: Option<String>,
    /// Skip TLS certificate checks (self-signed panels). Off by default.
    pub accept_invalid_certs: bool,
    /// At most this many requests start per second from this client; None = no limit.
    pub rate_limit_per_sec: Option<u32>,
    /// At most this many requests in flight from this client; None = no limit.
    pub max_concurrency: Option<u32>,
}

/// Everything needed to talk to one panel.
#[derive(Clone, Debug)]
pub struct PanelConfig {
    pub kind: PanelKind,
    /// Where the API lives, e.g. `https://panel.example:8000`; for 3x-ui including the web base
    /// path (`https://host:2053/secretpath`).
    pub base_url: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Eylandoo's `X-API-KEY`; for 3x-ui 3.x an API token sent as Bearer, for PasarGuard v5.1+
    /// an API key sent as `X-Api-Key`, each instead of logging in.
    pub api_key: Option<String>,
    pub settings: PanelSettings,
    pub connect_timeout: Duration,
    /// Whole-request limit (connect, send, wait, read body).
    pub request_timeout: Duration,
}

impl PanelConfig {
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

    /// A config with no credentials, default settings and the default time-outs.
    pub fn new(kind: PanelKind, base_url: impl Into<String>) -> Self {
        PanelConfig {
            kind,
            base_url: base_url.into(),
            username: None,
            password: None,
            api_key: None,
            settings: PanelSettings::default(),
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
        }
    }

    pub fn with_login(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self.password = Some(password.into());
        self
    }

    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }
}

/// A user to create. Empty id lists mean "the panel settings' defaults".
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewUser {
    pub username: String,
    /// Bytes; 0 = unlimited.
    pub limit_bytes: i64,
    /// None = never expires (Eylandoo cannot say "never" and gets +10 years).
    pub expires_at: Option<DateTime<Utc>>,
    /// Marzneshin services, PasarGuard groups.
    pub service_ids: Vec<i64>,
    /// 3x-ui.
    pub inbound_ids: Vec<i64>,
    /// Eylandoo.
    pub node_ids: Vec<i64>,
    /// Simultaneous connections: Eylandoo `max_clients`, 3x-ui `limitIp`; ignored elsewhere.
    pub max_clients: Option<i64>,
    pub note: Option<String>,
}

/// Changes to a user's limits; None = leave unchanged.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserLimits {
    /// Bytes; `Some(0)` = unlimited.
    pub limit_bytes: Option<i64>,
    /// `Some(None)` = never expires.
    pub expires_at: Option<Option<DateTime<Utc>>>,
    pub max_clients: Option<i64>,
}

/// What the panel itself says about a user; it enforces the user's own limit and expiry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemoteState {
    Active,
    Disabled,
    Limited,
    Expired,
    /// Expiry starts on first use and has not started yet.
    OnHold,
}

impl RemoteState {
    /// The usual derivation for panels that only report switches and counters.
    pub(crate) fn derive(
        enabled: bool,
        used: i64,
        limit: Option<i64>,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> RemoteState {
        if !enabled {
            RemoteState::Disabled
        } else if expires_at.is_some_and(|e| e <= now) {
            RemoteState::Expired
        } else if limit.is_some_and(|l| used >= l) {
            RemoteState::Limited
        } else {
            RemoteState::Active
        }
    }
}

/// A user as the panel reports it, in bytes and UTC.
#[derive(Clone, Debug, PartialEq)]
pub struct RemoteUser {
    pub username: String,
    /// The current cycle's counter (what a reset zeroes).
    pub used_bytes: i64,
    /// A counter that survives resets, where the panel keeps one.
    pub lifetime_used_bytes: Option<i64>,
    /// None = unlimited.
    pub limit_bytes: Option<i64>,
    pub expires_at: Option<DateTime<Utc>>,
    /// The admin switch, independent of limit and expiry.
    pub enabled: bool,
    pub state: RemoteState,
    /// Absolute when present; Marzban regenerates it on every read, so never compare two of them.
    pub subscription_url: Option<String>,
    /// Who owns the user on the panel: the panel admin (Marzban, PasarGuard `admin.username`,
    /// Marzneshin `owner_username`), Eylandoo's `sub_admin`, 3x-ui's inbound (`inbound 3`).
    /// None where the panel does not say, or when it was made through this API just now.
    pub owner: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionInfo {
    pub version: Option<String>,
    pub latency_ms: u64,
}

/// One selectable inbound, service or node, for the panel settings form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub id: String,
    pub label: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choices {
    pub inbounds: Vec<Choice>,
    pub services: Vec<Choice>,
    pub nodes: Vec<Choice>,
}

/// The operations every panel offers. Mutations either reached the panel's "yes" (Ok) or return an
/// error whose `outcome_unknown()` says whether the panel may have applied them anyway.
#[async_trait]
pub trait PanelClient: Send + Sync {
    fn kind(&self) -> PanelKind;
    /// Users per bulk-listing request; `usize::MAX` when one request returns everything.
    fn page_size(&self) -> usize;
    /// Logs in (where the panel has a login) and makes one cheap authenticated read.
    async fn test_connection(&self) -> Result<ConnectionInfo, PanelError>;
    async fn list_choices(&self) -> Result<Choices, PanelError>;
    async fn create_user(&self, user: &NewUser) -> Result<RemoteUser, PanelError>;
    /// None when the panel has no such user.
    async fn get_user(&self, username: &str) -> Result<Option<RemoteUser>, PanelError>;
    /// Every user with usage, in ceil(N / page_size) list requests.
    async fn list_users(&self) -> Result<Vec<RemoteUser>, PanelError>;
    async fn update_user(&self, username: &str, limits: &UserLimits) -> Result<(), PanelError>;
    /// Idempotent: enabling an enabled user is Ok.
    async fn enable_user(&self, username: &str) -> Result<(), PanelError>;
    /// Idempotent: disabling a disabled user is Ok.
    async fn disable_user(&self, username: &str) -> Result<(), PanelError>;
    /// Ok means the panel said yes. Whether the counter dropped is only known by reading it again
    /// (some panels answer success and change nothing), which the caller does.
    async fn reset_usage(&self, username: &str) -> Result<(), PanelError>;
    /// A user that is already gone is Ok.
    async fn delete_user(&self, username: &str) -> Result<(), PanelError>;
    /// Absolute URL.
    async fn subscription_url(&self, username: &str) -> Result<String, PanelError>;
}

/// Builds the adapter for `config.kind`. No network traffic happens here; bad URLs, missing
/// credentials and TLS setup failures are `PanelError::Config`.
pub fn connect(config: PanelConfig) -> Result<Arc<dyn PanelClient>, PanelError> {
    Ok(match config.kind {
        PanelKind::Marzban => Arc::new(marzban::Marzban::new(config)?),
        PanelKind::Marzneshin => Arc::new(marzneshin::Marzneshin::new(config)?),
        PanelKind::Xui => Arc::new(xui::Xui::new(config)?),
        PanelKind::Eylandoo => Arc::new(eylandoo::Eylandoo::new(config)?),
        PanelKind::PasarGuard => Arc::new(pasarguard::PasarGuard::new(config)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_round_trip() {
        for k in PanelKind::ALL {
            assert_eq!(k.as_str().parse::<PanelKind>().unwrap(), k);
            assert_eq!(
                serde_json::to_string(&k).unwrap(),
                format!("\"{}\"", k.as_str())
            );
        }
        assert!(matches!(
            "3x-ui".parse::<PanelKind>(),
            Err(PanelError::Config(_))
        ));
    }

    #[test]
    fn state_derivation_order() {
        let now = Utc::now();
        let past = Some(now - chrono::Duration::hours(1));
        assert_eq!(
            RemoteState::derive(false, 10, Some(5), past, now),
            RemoteState::Disabled
        );
        assert_eq!(
            RemoteState::derive(true, 10, Some(5), past, now),
            RemoteState::Expired
        );
        assert_eq!(
            RemoteState::derive(true, 5, Some(5), None, now),
            RemoteState::Limited
        );
        assert_eq!(
            RemoteState::derive(true, 4, Some(5), None, now),
            RemoteState::Active
        );
    }
}
