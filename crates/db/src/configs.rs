//! Configs (end-customer VPN accounts) with their usage counters, and their event timeline.
//! Every read that serves a reseller is scoped by `reseller_id`, so isolation is in the query.

use crate::decode::{Flag, MaybeFlag, MaybeText};
use crate::{Conn, DbResult};
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
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO configs (reseller_id, panel_id, username, comment, traffic_limit_bytes, expires_at, max_clients, \
         service_ids, node_ids, inbound_ids, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $12, $11, $11) RETURNING id",
    )
    .bind(c.reseller_id)
    .bind(c.panel_id)
    .bind(c.username.map(str::to_string).unwrap_or(placeholder))
    .bind(c.comment)
    .bind(c.traffic_limit_bytes)
    .bind(c.expires_at)
    .bind(c.max_clients)
    .bind(serde_json::to_string(c.service_ids).expect("ids"))
    .bind(serde_json::to_string(c.node_ids).expect("ids"))
    .bind(serde_json::to_string(c.inbound_ids).expect("ids"))
    .bind(now)
    .bind(ConfigStatus::Active.as_str())
    .fetch_one(&mut *conn)
    .await?;
    if c.username.is_none() {
        sqlx::query("UPDATE configs SET username = $1 WHERE id = $2")
            .bind(username_for_id(id))
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(id)
}

pub async fn get(conn: &mut Conn, id: i64) -> DbResult<Option<Config>> {
    Ok(sqlx::query_as("SELECT * FROM configs WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// A config only if it belongs to that reseller (others' answer as absent).
pub async fn get_owned(conn: &mut Conn, reseller_id: i64, id: i64) -> DbResult<Option<Config>> {
    Ok(
        sqlx::query_as("SELECT * FROM configs WHERE id = $1 AND reseller_id = $2")
            .bind(id)
            .bind(reseller_id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

pub async fn username_taken(conn: &mut Conn, panel_id: i64, username: &str) -> DbResult<bool> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM configs WHERE panel_id = $1 AND username = $2")
            .bind(panel_id)
            .bind(username)
            .fetch_one(&mut *conn)
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
    let mut binds: Vec<String> = Vec::new();
    if let Some(s) = f.status {
        binds.push(s.as_str().to_string());
        where_.push_str(&format!(" AND status = ${}", binds.len() + 1));
    }
    if let Some(q) = f.q.as_ref().filter(|q| !q.is_empty()) {
        binds.push(format!("%{}%", q.to_lowercase()));
        let n = binds.len() + 1;
        where_.push_str(&format!(
            " AND (LOWER(username) LIKE ${n} OR LOWER(COALESCE(comment, '')) LIKE ${n})"
        ));
    }
    let count_sql = format!("SELECT COUNT(*) FROM configs{where_}");
    let mut count = sqlx::query_scalar::<_, i64>(&count_sql).bind(reseller_id);
    for b in &binds {
        count = count.bind(b.clone());
    }
    let total = count.fetch_one(&mut *conn).await?;
    let sql = format!(
        "SELECT * FROM configs{where_} ORDER BY id DESC LIMIT ${} OFFSET ${}",
        binds.len() + 2,
        binds.len() + 3
    );
    let mut q = sqlx::query_as::<_, Config>(&sql).bind(reseller_id);
    for b in &binds {
        q = q.bind(b.clone());
    }
    Ok((
        q.bind(limit).bind(offset).fetch_all(&mut *conn).await?,
        total,
    ))
}

pub async fn of_reseller_with_status(
    conn: &mut Conn,
    reseller_id: i64,
    status: ConfigStatus,
) -> DbResult<Vec<Config>> {
    Ok(
        sqlx::query_as("SELECT * FROM configs WHERE reseller_id = $1 AND status = $2 ORDER BY id")
            .bind(reseller_id)
            .bind(status.as_str())
            .fetch_all(&mut *conn)
            .await?,
    )
}

pub async fn all_of_reseller(conn: &mut Conn, reseller_id: i64) -> DbResult<Vec<Config>> {
    Ok(
        sqlx::query_as("SELECT * FROM configs WHERE reseller_id = $1 ORDER BY id")
            .bind(reseller_id)
            .fetch_all(&mut *conn)
            .await?,
    )
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
    sqlx::query("UPDATE configs SET status = $1, disabled_reason = $2, held_by_suspension = $3, remote_confirmed = 0, updated_at = $4 WHERE id = $5")
        .bind(status.as_str())
        .bind(reason.map(|r| r.as_str()))
        .bind(i64::from(held_by_suspension))
        .bind(chrono::Utc::now().timestamp())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn mark_deleted(conn: &mut Conn, id: i64, now: i64) -> DbResult<()> {
    sqlx::query("UPDATE configs SET status = $3, remote_confirmed = 0, deleted_at = $1, updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .bind(ConfigStatus::Deleted.as_str())
        .execute(&mut *conn)
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
    sqlx::query(
        "UPDATE configs SET traffic_limit_bytes = $1, expires_at = $2, max_clients = $3, remote_confirmed = 0, updated_at = $4 WHERE id = $5",
    )
    .bind(limit)
    .bind(expires_at)
    .bind(max_clients)
    .bind(chrono::Utc::now().timestamp())
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records that the user is missing on the panel since `at` (None: it is there again).
pub async fn set_missing_on_panel(conn: &mut Conn, id: i64, at: Option<i64>) -> DbResult<()> {
    sqlx::query("UPDATE configs SET missing_on_panel_at = $1 WHERE id = $2")
        .bind(at)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The panel's limit/expiry difference that is reported and not restored (None: in line).
pub async fn set_panel_drift(conn: &mut Conn, id: i64, drift: Option<&str>) -> DbResult<()> {
    sqlx::query("UPDATE configs SET panel_drift = $1 WHERE id = $2")
        .bind(drift)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn set_confirmed(conn: &mut Conn, id: i64, confirmed: bool) -> DbResult<()> {
    sqlx::query("UPDATE configs SET remote_confirmed = $1 WHERE id = $2")
        .bind(confirmed as i64)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn set_subscription_url(conn: &mut Conn, id: i64, url: &str) -> DbResult<()> {
    sqlx::query("UPDATE configs SET subscription_url = $1 WHERE id = $2")
        .bind(url)
        .bind(id)
        .execute(&mut *conn)
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
    Ok(sqlx::query(
        "UPDATE configs SET usage_bytes = $1, lifetime_usage_bytes = $2, remote_state = COALESCE($3, remote_state), \
         last_observed_at = $4 WHERE id = $5 AND usage_bytes = $6 AND lifetime_usage_bytes = $7",
    )
    .bind(next.usage_bytes)
    .bind(next.lifetime_usage_bytes)
    .bind(remote_state.map(|s| s.as_str()))
    .bind(now)
    .bind(id)
    .bind(prev.usage_bytes)
    .bind(prev.lifetime_usage_bytes)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
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
    Ok(sqlx::query_scalar(
        "INSERT INTO config_events (config_id, kind, actor_name, remote_ok, remote_error, meta, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(config_id)
    .bind(kind.as_str())
    .bind(actor_name)
    .bind(remote_ok.map(|b| b as i64))
    .bind(remote_error)
    .bind(meta.to_string())
    .bind(chrono::Utc::now().timestamp())
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn events(conn: &mut Conn, config_id: i64) -> DbResult<Vec<ConfigEvent>> {
    Ok(
        sqlx::query_as("SELECT * FROM config_events WHERE config_id = $1 ORDER BY id DESC")
            .bind(config_id)
            .fetch_all(&mut *conn)
            .await?,
    )
}

/// Recent events across a reseller's configs (the admin's reseller page).
pub async fn events_of_reseller(
    conn: &mut Conn,
    reseller_id: i64,
    limit: i64,
) -> DbResult<Vec<ConfigEvent>> {
    Ok(sqlx::query_as(
        "SELECT e.* FROM config_events e JOIN configs c ON c.id = e.config_id WHERE c.reseller_id = $1 ORDER BY e.id DESC LIMIT $2",
    )
    .bind(reseller_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}
