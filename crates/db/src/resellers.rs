//! Reseller accounts: terms (traffic quota and window, or wallet), status, and the aggregates
//! computed from their configs. Balance changes live in `wallet`, never here.

use crate::decode::{Flag, MaybeText};
use crate::{q, Conn, DbResult};
use domain::status::{ConfigStatus, ResellerKind, ResellerStatus, SuspendedBy};
use serde::Serialize;
use sqlx::FromRow;

#[derive(Clone, Debug, FromRow, Serialize)]
pub struct Reseller {
    pub id: i64,
    pub display_name: String,
    #[sqlx(try_from = "String")]
    pub kind: ResellerKind,
    #[sqlx(try_from = "String")]
    pub status: ResellerStatus,
    #[sqlx(try_from = "MaybeText")]
    pub suspended_by: Option<SuspendedBy>,
    pub panel_id: i64,
    pub username_prefix: Option<String>,
    #[sqlx(try_from = "Flag")]
    pub allow_custom_names: bool,
    pub config_limit: Option<i64>,
    pub service_whitelist: String,
    pub node_whitelist: String,
    pub traffic_quota_bytes: i64,
    pub window_starts_at: Option<i64>,
    pub window_ends_at: Option<i64>,
    pub quota_baseline_bytes: i64,
    pub wallet_balance: i64,
    pub wallet_price_per_gb: Option<i64>,
    pub wallet_since: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Reseller {
    pub fn service_ids(&self) -> Vec<i64> {
        serde_json::from_str(&self.service_whitelist).unwrap_or_default()
    }

    pub fn node_ids(&self) -> Vec<i64> {
        serde_json::from_str(&self.node_whitelist).unwrap_or_default()
    }
}

pub struct NewReseller<'a> {
    pub display_name: &'a str,
    pub kind: ResellerKind,
    pub panel_id: i64,
    pub username_prefix: Option<&'a str>,
    pub allow_custom_names: bool,
    pub config_limit: Option<i64>,
    pub service_whitelist: &'a [i64],
    pub node_whitelist: &'a [i64],
    pub traffic_quota_bytes: i64,
    pub window_starts_at: Option<i64>,
    pub window_ends_at: Option<i64>,
    pub wallet_price_per_gb: Option<i64>,
}

pub async fn create(conn: &mut Conn, r: NewReseller<'_>, now: i64) -> DbResult<i64> {
    let wallet_since = (r.kind == ResellerKind::Wallet).then_some(now);
    q::scalar(
        conn,
        "INSERT INTO resellers (display_name, kind, status, panel_id, username_prefix, allow_custom_names, config_limit, \
         service_whitelist, node_whitelist, traffic_quota_bytes, window_starts_at, window_ends_at, quota_baseline_bytes, \
         wallet_balance, wallet_price_per_gb, wallet_since, created_at, updated_at) \
         VALUES ($1, $2, $15, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, 0, $12, $13, $14, $14) RETURNING id",
        (
            r.display_name,
            r.kind.as_str(),
            r.panel_id,
            r.username_prefix,
            r.allow_custom_names as i64,
            r.config_limit,
            serde_json::to_string(r.service_whitelist).expect("ids serialize"),
            serde_json::to_string(r.node_whitelist).expect("ids serialize"),
            r.traffic_quota_bytes,
            r.window_starts_at,
            r.window_ends_at,
            r.wallet_price_per_gb,
            wallet_since,
            now,
            ResellerStatus::Active.as_str(),
        ),
    )
    .await
}

pub async fn get(conn: &mut Conn, id: i64) -> DbResult<Option<Reseller>> {
    q::optional(conn, "SELECT * FROM resellers WHERE id = $1", (id,)).await
}

/// The row, locked for the rest of the transaction on PostgreSQL (SQLite's IMMEDIATE
/// transaction already holds the write lock).
pub async fn get_for_update(
    conn: &mut Conn,
    backend: crate::Backend,
    id: i64,
) -> DbResult<Option<Reseller>> {
    let sql = format!(
        "SELECT * FROM resellers WHERE id = $1{}",
        backend.for_update()
    );
    Ok(sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// The resellers working on a panel, as (id, display name), by name: the import's choices.
pub async fn on_panel(conn: &mut Conn, panel_id: i64) -> DbResult<Vec<(i64, String)>> {
    Ok(sqlx::query_as(
        "SELECT id, display_name FROM resellers WHERE panel_id = $1 ORDER BY display_name",
    )
    .bind(panel_id)
    .fetch_all(&mut *conn)
    .await?)
}

#[derive(Clone, Debug, Default)]
pub struct ResellerFilter {
    pub q: Option<String>,
    pub kind: Option<ResellerKind>,
    pub status: Option<ResellerStatus>,
    pub sort: ResellerSort,
}

/// The orders the resellers list offers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ResellerSort {
    #[default]
    Newest,
    Oldest,
    Name,
    /// Lowest wallet balance first: who needs a top-up.
    Balance,
}

impl std::str::FromStr for ResellerSort {
    type Err = ();

    /// The spellings of `?sort=`: `newest` (the default), `oldest`, `name`, `balance`.
    fn from_str(s: &str) -> Result<Self, ()> {
        Ok(match s {
            "newest" => ResellerSort::Newest,
            "oldest" => ResellerSort::Oldest,
            "name" => ResellerSort::Name,
            "balance" => ResellerSort::Balance,
            _ => return Err(()),
        })
    }
}

impl ResellerSort {
    fn order_by(self) -> &'static str {
        match self {
            ResellerSort::Newest => "id DESC",
            ResellerSort::Oldest => "id ASC",
            ResellerSort::Name => "LOWER(display_name) ASC, id ASC",
            ResellerSort::Balance => "wallet_balance ASC, id ASC",
        }
    }
}

pub async fn list(
    conn: &mut Conn,
    f: &ResellerFilter,
    limit: i64,
    offset: i64,
) -> DbResult<(Vec<Reseller>, i64)> {
    let mut where_ = String::from(" WHERE 1=1");
    let mut values: Vec<q::Value> = Vec::new();
    if let Some(text) = f.q.as_ref().filter(|t| !t.is_empty()) {
        values.push(q::Value::Text(format!("%{}%", text.to_lowercase())));
        where_.push_str(&format!(
            " AND (LOWER(display_name) LIKE ${n} OR id IN (SELECT reseller_id FROM users WHERE LOWER(username) LIKE ${n} AND reseller_id IS NOT NULL))",
            n = values.len()
        ));
    }
    if let Some(k) = f.kind {
        values.push(q::Value::Text(k.as_str().to_string()));
        where_.push_str(&format!(" AND kind = ${}", values.len()));
    }
    if let Some(s) = f.status {
        values.push(q::Value::Text(s.as_str().to_string()));
        where_.push_str(&format!(" AND status = ${}", values.len()));
    }
    q::page_ordered(
        conn,
        "resellers",
        &where_,
        &values,
        f.sort.order_by(),
        limit,
        offset,
    )
    .await
}

pub async fn all_ids_of_kind(conn: &mut Conn, kind: ResellerKind) -> DbResult<Vec<i64>> {
    q::scalars(
        conn,
        "SELECT id FROM resellers WHERE kind = $1 ORDER BY id",
        (kind.as_str(),),
    )
    .await
}

pub async fn set_status(
    conn: &mut Conn,
    id: i64,
    status: ResellerStatus,
    suspended_by: Option<SuspendedBy>,
) -> DbResult<()> {
    q::execute(
        conn,
        "UPDATE resellers SET status = $1, suspended_by = $2, updated_at = $3 WHERE id = $4",
        (
            status.as_str(),
            suspended_by.map(|s| s.as_str()),
            chrono::Utc::now().timestamp(),
            id,
        ),
    )
    .await?;
    Ok(())
}

/// Σ lifetime usage of all the reseller's configs, deleted ones included.
pub async fn lifetime_total(conn: &mut Conn, id: i64) -> DbResult<i64> {
    q::scalar(
        conn,
        "SELECT COALESCE(CAST(SUM(lifetime_usage_bytes) AS BIGINT), 0) FROM configs WHERE reseller_id = $1",
        (id,),
    )
    .await
}

/// Per reseller of `ids`: (Σ lifetime usage of all its configs, configs that count against the
/// limit), in one statement; resellers without configs are absent.
pub async fn config_totals(
    conn: &mut Conn,
    ids: &[i64],
) -> DbResult<std::collections::HashMap<i64, (i64, i64)>> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let sql = format!(
        "SELECT reseller_id, COALESCE(CAST(SUM(lifetime_usage_bytes) AS BIGINT), 0), \
         CAST(SUM(CASE WHEN status <> $1 THEN 1 ELSE 0 END) AS BIGINT) FROM configs \
         WHERE reseller_id IN ({}) GROUP BY reseller_id",
        crate::id_list(ids)
    );
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(&sql)
        .bind(ConfigStatus::Deleted.as_str())
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.into_iter().map(|(r, l, n)| (r, (l, n))).collect())
}

/// Configs that count against the config limit (all but deleted).
pub async fn live_config_count(conn: &mut Conn, id: i64) -> DbResult<i64> {
    q::scalar(
        conn,
        "SELECT COUNT(*) FROM configs WHERE reseller_id = $1 AND status <> $2",
        (id, ConfigStatus::Deleted.as_str()),
    )
    .await
}

/// Runs an UPDATE on one reseller's editable columns; callers build the SET list.
pub async fn update_columns(
    conn: &mut Conn,
    id: i64,
    sets: &[(&str, Option<i64>)],
    texts: &[(&str, Option<String>)],
) -> DbResult<()> {
    let mut sql = String::from("UPDATE resellers SET updated_at = $1");
    let mut n = 1;
    for (col, _) in sets.iter() {
        n += 1;
        sql.push_str(&format!(", {col} = ${n}"));
    }
    for (col, _) in texts.iter() {
        n += 1;
        sql.push_str(&format!(", {col} = ${n}"));
    }
    sql.push_str(&format!(" WHERE id = ${}", n + 1));
    let mut q = sqlx::query(&sql).bind(chrono::Utc::now().timestamp());
    for (_, v) in sets {
        q = q.bind(*v);
    }
    for (_, v) in texts {
        q = q.bind(v.clone());
    }
    q.bind(id).execute(&mut *conn).await?;
    Ok(())
}
