//! Configs (end-customer VPN accounts) with their usage counters, and their event timeline.
//! Every read that serves a reseller is scoped by `reseller_id`, so isolation is in the query.

use crate::decode::{Flag, MaybeFlag, MaybeText};
use crate::{q, Conn, DbResult};
use domain::status::{ConfigEventKind, ConfigStatus, DisabledReason, RemoteState};
use serde::Serialize;
use sqlx::FromRow;

#[derive(Clone, Debug, FromRow, Serialize)]
pub struct Config {
    pub id: i64,
    pub reseller_id: i64,
    pub panel_id: i64,
    pub username: String,
    pub comment: Option<String>,
    pub traffic_limit_bytes: i64,
    pub expires_at: Option<i64>,
    pub max_clients: Option<i64>,
    pub service_ids: String,
    pub node_ids: String,
    pub inbound_ids: String,
    pub subscription_url: Option<String>,
    #[sqlx(try_from = "String")]
    pub status: ConfigStatus,
    #[sqlx(try_from = "MaybeText")]
    pub disabled_reason: Option<DisabledReason>,
    #[sqlx(try_from = "MaybeText")]
    pub remote_state: Option<RemoteState>,
    pub usage_bytes: i64,
    pub lifetime_usage_bytes: i64,
    pub last_observed_at: Option<i64>,
    #[sqlx(try_from = "Flag")]
    pub remote_confirmed: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    /// When the sync last found the user gone from the panel (None = present or unknown).
    pub missing_on_panel_at: Option<i64>,
    /// The panel's differing limit/expiry, reported and not restored (JSON).
    pub panel_drift: Option<String>,
    /// Disabled by its reseller's admin suspension, so the reseller's activation enables it.
    #[sqlx(try_from = "Flag")]
    pub held_by_suspension: bool,
}

impl Config {
    pub fn settled_usage_bytes(&self) -> i64 {
        (self.lifetime_usage_bytes - self.usage_bytes).max(0)
    }

    pub fn ids(json: &str) -> Vec<i64> {
        serde_json::from_str(json).unwrap_or_default()
    }
}

pub struct NewConfig<'a> {
    pub reseller_id: i64,
    pub panel_id: i64,
    /// A unique placeholder until the id-based default name is known; see [`create`].
    pub username: Option<&'a str>,
    pub comment: Option<&'a str>,
    pub traffic_limit_bytes: i64,
    pub expires_at: Option<i64>,
    pub max_clients: Option<i64>,
    pub service_ids: &'a [i64],
    pub node_ids: &'a [i64],
    pub inbound_ids: &'a [i64],
}

/// Inserts a config active and unconfirmed. Without a username, the default
/// `{prefix}_{reseller}_cfg_{id}` needs the id: `username_for_id` builds it after the insert.
pub async fn create(
    conn: &mut Conn,
    c: NewConfig<'_>,
    username_for_id: impl Fn(i64) -> String,
    now: i64,
) -> DbResult<i64> {
    let placeholder = format!("pending-{}", uuid::Uuid::new_v4().simple());
    let id: i64 = q::scalar(
        conn,
        "INSERT INTO configs (reseller_id, panel_id, username, comment, traffic_limit_bytes, expires_at, max_clients, \
         service_ids, node_ids, inbound_ids, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $12, $11, $11) RETURNING id",
        (
            c.reseller_id,
            c.panel_id,
            c.username.map(str::to_string).unwrap_or(placeholder),
            c.comment,
            c.traffic_limit_bytes,
            c.expires_at,
            c.max_clients,
            serde_json::to_string(c.service_ids).expect("ids"),
            serde_json::to_string(c.node_ids).expect("ids"),
            serde_json::to_string(c.inbound_ids).expect("ids"),
            now,
            ConfigStatus::Active.as_str(),
        ),
    )
    .await?;
    if c.username.is_none() {
        q::execute(
            conn,
            "UPDATE configs SET username = $1 WHERE id = $2",
            (username_for_id(id), id),
        )
        .await?;
    }
    Ok(id)
}

/// A user already on the panel, becoming a config as it is there (issue 15).
pub struct ImportedConfig<'a> {
    pub reseller_id: i64,
    pub panel_id: i64,
    pub username: &'a str,
    /// 0 = unlimited, as for every config.
    pub traffic_limit_bytes: i64,
    pub expires_at: Option<i64>,
    /// The panel's counter at the import: the baseline later readings are measured from, so
    /// what the user used before is never counted or billed.
    pub usage_bytes: i64,
    pub status: ConfigStatus,
    pub disabled_reason: Option<DisabledReason>,
    pub remote_state: RemoteState,
    pub subscription_url: Option<&'a str>,
}

/// Inserts an imported config: confirmed (it is on the panel), observed now at its baseline,
/// with no lifetime usage yet. None when a config already holds the user: the unique (panel,
/// username) index decides, so two imports racing for one user claim it once, neither failing.
pub async fn insert_imported(
    conn: &mut Conn,
    c: &ImportedConfig<'_>,
    now: i64,
) -> DbResult<Option<i64>> {
    Ok(sqlx::query_scalar(
        "INSERT INTO configs (reseller_id, panel_id, username, traffic_limit_bytes, expires_at, \
         status, disabled_reason, remote_state, subscription_url, usage_bytes, lifetime_usage_bytes, \
         last_observed_at, remote_confirmed, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, 1, $11, $11) \
         ON CONFLICT (panel_id, username) DO NOTHING RETURNING id",
    )
    .bind(c.reseller_id)
    .bind(c.panel_id)
    .bind(c.username)
    .bind(c.traffic_limit_bytes)
    .bind(c.expires_at)
    .bind(c.status.as_str())
    .bind(c.disabled_reason.map(|r| r.as_str()))
    .bind(c.remote_state.as_str())
    .bind(c.subscription_url)
    .bind(c.usage_bytes)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Every username a config of ours holds on a panel, in any state, lower-cased (Marzneshin
/// lower-cases names; a claim is a claim whatever the case).
pub async fn claimed_usernames(
    conn: &mut Conn,
    panel_id: i64,
) -> DbResult<std::collections::HashSet<String>> {
    let names: Vec<String> = sqlx::query_scalar("SELECT username FROM configs WHERE panel_id = $1")
        .bind(panel_id)
        .fetch_all(&mut *conn)
        .await?;
    Ok(names.into_iter().map(|n| n.to_lowercase()).collect())
}

pub async fn get(conn: &mut Conn, id: i64) -> DbResult<Option<Config>> {
    q::optional(conn, "SELECT * FROM configs WHERE id = $1", (id,)).await
}

/// A config only if it belongs to that reseller (others' answer as absent).
pub async fn get_owned(conn: &mut Conn, reseller_id: i64, id: i64) -> DbResult<Option<Config>> {
    q::optional(
        conn,
        "SELECT * FROM configs WHERE id = $1 AND reseller_id = $2",
        (id, reseller_id),
    )
    .await
}

pub async fn username_taken(conn: &mut Conn, panel_id: i64, username: &str) -> DbResult<bool> {
    let n: i64 = q::scalar(
        conn,
        "SELECT COUNT(*) FROM configs WHERE panel_id = $1 AND username = $2",
        (panel_id, username),
    )
    .await?;
    Ok(n > 0)
}

#[derive(Clone, Debug, Default)]
pub struct ConfigFilter {
    pub status: Option<ConfigStatus>,
    pub q: Option<String>,
}

pub async fn list_for_reseller(
    conn: &mut Conn,
    reseller_id: i64,
    f: &ConfigFilter,
    limit: i64,
    offset: i64,
) -> DbResult<(Vec<Config>, i64)> {
    let mut where_ = String::from(" WHERE reseller_id = $1");
    let mut values = vec![q::Value::Int(reseller_id)];
    if let Some(s) = f.status {
        values.push(q::Value::Text(s.as_str().to_string()));
        where_.push_str(&format!(" AND status = ${}", values.len()));
    }
    if let Some(text) = f.q.as_ref().filter(|t| !t.is_empty()) {
        values.push(q::Value::Text(format!("%{}%", text.to_lowercase())));
        let n = values.len();
        where_.push_str(&format!(
            " AND (LOWER(username) LIKE ${n} OR LOWER(COALESCE(comment, '')) LIKE ${n})"
        ));
    }
    q::page(conn, "configs", &where_, &values, limit, offset).await
}

pub async fn of_reseller_with_status(
    conn: &mut Conn,
    reseller_id: i64,
    status: ConfigStatus,
) -> DbResult<Vec<Config>> {
    q::all(
        conn,
        "SELECT * FROM configs WHERE reseller_id = $1 AND status = $2 ORDER BY id",
        (reseller_id, status.as_str()),
    )
    .await
}

pub async fn all_of_reseller(conn: &mut Conn, reseller_id: i64) -> DbResult<Vec<Config>> {
    q::all(
        conn,
        "SELECT * FROM configs WHERE reseller_id = $1 ORDER BY id",
        (reseller_id,),
    )
    .await
}

/// Sets a config's status and disable reason; clears the suspension mark (see [`hold_by_suspension`]).
pub async fn set_status(
    conn: &mut Conn,
    id: i64,
    status: ConfigStatus,
    reason: Option<DisabledReason>,
) -> DbResult<()> {
    write_status(conn, id, status, reason, false).await
}

/// Disables a config because an admin suspended its reseller: reason `admin`, marked so that the
/// activation enables it again, unlike a config the admin disabled on its own.
pub async fn hold_by_suspension(conn: &mut Conn, id: i64) -> DbResult<()> {
    write_status(
        conn,
        id,
        ConfigStatus::Disabled,
        Some(DisabledReason::Admin),
        true,
    )
    .await
}

async fn write_status(
    conn: &mut Conn,
    id: i64,
    status: ConfigStatus,
    reason: Option<DisabledReason>,
    held_by_suspension: bool,
) -> DbResult<()> {
    q::execute(
        conn,
        "UPDATE configs SET status = $1, disabled_reason = $2, held_by_suspension = $3, remote_confirmed = 0, updated_at = $4 WHERE id = $5",
        (
            status.as_str(),
            reason.map(|r| r.as_str()),
            i64::from(held_by_suspension),
            chrono::Utc::now().timestamp(),
            id,
        ),
    )
    .await?;
    Ok(())
}

pub async fn mark_deleted(conn: &mut Conn, id: i64, now: i64) -> DbResult<()> {
    q::execute(
        conn,
        "UPDATE configs SET status = $3, remote_confirmed = 0, deleted_at = $1, updated_at = $1 WHERE id = $2",
        (now, id, ConfigStatus::Deleted.as_str()),
    )
    .await?;
    Ok(())
}

pub async fn set_limits(
    conn: &mut Conn,
    id: i64,
    limit: i64,
    expires_at: Option<i64>,
    max_clients: Option<i64>,
) -> DbResult<()> {
    q::execute(
        conn,
        "UPDATE configs SET traffic_limit_bytes = $1, expires_at = $2, max_clients = $3, remote_confirmed = 0, updated_at = $4 WHERE id = $5",
        (limit, expires_at, max_clients, chrono::Utc::now().timestamp(), id),
    )
    .await?;
    Ok(())
}

/// Records that the user is missing on the panel since `at` (None: it is there again).
pub async fn set_missing_on_panel(conn: &mut Conn, id: i64, at: Option<i64>) -> DbResult<()> {
    q::execute(
        conn,
        "UPDATE configs SET missing_on_panel_at = $1 WHERE id = $2",
        (at, id),
    )
    .await?;
    Ok(())
}

/// The panel's limit/expiry difference that is reported and not restored (None: in line).
pub async fn set_panel_drift(conn: &mut Conn, id: i64, drift: Option<&str>) -> DbResult<()> {
    q::execute(
        conn,
        "UPDATE configs SET panel_drift = $1 WHERE id = $2",
        (drift, id),
    )
    .await?;
    Ok(())
}

pub async fn set_confirmed(conn: &mut Conn, id: i64, confirmed: bool) -> DbResult<()> {
    q::execute(
        conn,
        "UPDATE configs SET remote_confirmed = $1 WHERE id = $2",
        (confirmed as i64, id),
    )
    .await?;
    Ok(())
}

pub async fn set_subscription_url(conn: &mut Conn, id: i64, url: &str) -> DbResult<()> {
    q::execute(
        conn,
        "UPDATE configs SET subscription_url = $1 WHERE id = $2",
        (url, id),
    )
    .await?;
    Ok(())
}

/// Stores an observation's result. Conditional on the previous counters so a concurrent
/// observation of the same config cannot be overwritten by a stale one (false = retry).
pub async fn store_observation(
    conn: &mut Conn,
    id: i64,
    prev: domain::usage::UsageCounters,
    next: domain::usage::UsageCounters,
    remote_state: Option<RemoteState>,
    now: i64,
) -> DbResult<bool> {
    Ok(q::execute(
        conn,
        "UPDATE configs SET usage_bytes = $1, lifetime_usage_bytes = $2, remote_state = COALESCE($3, remote_state), \
         last_observed_at = $4 WHERE id = $5 AND usage_bytes = $6 AND lifetime_usage_bytes = $7",
        (
            next.usage_bytes,
            next.lifetime_usage_bytes,
            remote_state.map(|s| s.as_str()),
            now,
            id,
            prev.usage_bytes,
            prev.lifetime_usage_bytes,
        ),
    )
    .await?
        == 1)
}

/// A believed reading made counted usage, in the caller's transaction: [`store_observation`],
/// then the lifetime growth added to the reseller's hour (a sync's reading, a reset's, one an
/// admin accepted). None when another writer stored a reading in between (nothing written);
/// else the bytes added to lifetime usage.
pub async fn store_reading(
    conn: &mut Conn,
    id: i64,
    reseller_id: i64,
    prev: domain::usage::UsageCounters,
    next: domain::usage::UsageCounters,
    remote_state: Option<RemoteState>,
    now: i64,
) -> DbResult<Option<i64>> {
    if !store_observation(conn, id, prev, next, remote_state, now).await? {
        return Ok(None);
    }
    let added = next.lifetime_usage_bytes - prev.lifetime_usage_bytes;
    if added > 0 {
        let hour = domain::tehran::hour_start(crate::time::from_ts(now)).timestamp();
        crate::usage_hourly::add(conn, reseller_id, hour, added).await?;
    }
    Ok(Some(added))
}

#[derive(Clone, Debug, FromRow, Serialize)]
pub struct ConfigEvent {
    pub id: i64,
    pub config_id: i64,
    #[sqlx(try_from = "String")]
    pub kind: ConfigEventKind,
    pub actor_name: String,
    #[sqlx(try_from = "MaybeFlag")]
    pub remote_ok: Option<bool>,
    pub remote_error: Option<String>,
    pub meta: String,
    pub created_at: i64,
}

pub async fn add_event(
    conn: &mut Conn,
    config_id: i64,
    kind: ConfigEventKind,
    actor_name: &str,
    remote_ok: Option<bool>,
    remote_error: Option<&str>,
    meta: serde_json::Value,
) -> DbResult<i64> {
    q::scalar(
        conn,
        "INSERT INTO config_events (config_id, kind, actor_name, remote_ok, remote_error, meta, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        (
            config_id,
            kind.as_str(),
            actor_name,
            remote_ok.map(|b| b as i64),
            remote_error,
            meta.to_string(),
            chrono::Utc::now().timestamp(),
        ),
    )
    .await
}

pub async fn events(conn: &mut Conn, config_id: i64) -> DbResult<Vec<ConfigEvent>> {
    q::all(
        conn,
        "SELECT * FROM config_events WHERE config_id = $1 ORDER BY id DESC",
        (config_id,),
    )
    .await
}

/// Recent events across a reseller's configs (the admin's reseller page).
pub async fn events_of_reseller(
    conn: &mut Conn,
    reseller_id: i64,
    limit: i64,
) -> DbResult<Vec<ConfigEvent>> {
    q::all(
        conn,
        "SELECT e.* FROM config_events e JOIN configs c ON c.id = e.config_id WHERE c.reseller_id = $1 ORDER BY e.id DESC LIMIT $2",
        (reseller_id, limit),
    )
    .await
}
