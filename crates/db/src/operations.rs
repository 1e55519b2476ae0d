//! The durable remote-operations table: every panel mutation is a row before it is attempted,
//! claimed by one worker at a time with a lease, retried on a schedule, and kept with its attempts.

use crate::decode::Flag;
use crate::{q, Conn, DbResult};
use domain::status::{OpKind, OpStatus};
use serde::Serialize;
use sqlx::FromRow;

#[derive(Clone, Debug, FromRow, Serialize)]
pub struct Operation {
    pub id: i64,
    pub panel_id: i64,
    pub config_id: Option<i64>,
    pub job_id: Option<i64>,
    #[sqlx(try_from = "String")]
    pub kind: OpKind,
    pub payload: String,
    #[sqlx(try_from = "String")]
    pub status: OpStatus,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_attempt_at: i64,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub completed_at: Option<i64>,
}

pub async fn insert(
    conn: &mut Conn,
    panel_id: i64,
    config_id: Option<i64>,
    job_id: Option<i64>,
    kind: OpKind,
    payload: &serde_json::Value,
    now: i64,
) -> DbResult<i64> {
    q::scalar(
        conn,
        "INSERT INTO operations (panel_id, config_id, job_id, kind, payload, status, attempts, next_attempt_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $7, 0, $6, $6, $6) RETURNING id",
        (
            panel_id,
            config_id,
            job_id,
            kind.as_str(),
            payload.to_string(),
            now,
            OpStatus::Pending.as_str(),
        ),
    )
    .await
}

pub async fn get(conn: &mut Conn, id: i64) -> DbResult<Option<Operation>> {
    q::optional(conn, "SELECT * FROM operations WHERE id = $1", (id,)).await
}

/// Due operations not leased by anyone (or whose lease ran out), oldest first, and only the
/// oldest pending one of each config: a config's operations run strictly in order.
pub async fn due(conn: &mut Conn, now: i64, limit: i64) -> DbResult<Vec<Operation>> {
    q::all(
        conn,
        "SELECT * FROM operations o WHERE status = $3 AND next_attempt_at <= $1 \
         AND (lease_expires_at IS NULL OR lease_expires_at <= $1) \
         AND NOT EXISTS (SELECT 1 FROM operations p WHERE p.config_id = o.config_id AND p.status = $3 AND p.id < o.id) \
         ORDER BY next_attempt_at, id LIMIT $2",
        (now, limit, OpStatus::Pending.as_str()),
    )
    .await
}

/// Pending operations of the same config queued before `op`: (how many, how many already failed
/// at least once).
pub async fn earlier_pending(
    conn: &mut Conn,
    config_id: Option<i64>,
    op_id: i64,
) -> DbResult<(i64, i64)> {
    q::one(
        conn,
        "SELECT COUNT(*), COALESCE(CAST(SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END) AS BIGINT), 0) \
         FROM operations WHERE config_id = $1 AND status = $3 AND id < $2",
        (config_id, op_id, OpStatus::Pending.as_str()),
    )
    .await
}

/// Cancels a config's pending, unclaimed operations of `kind` (a newer one supersedes them).
pub async fn cancel_superseded(
    conn: &mut Conn,
    config_id: i64,
    kind: OpKind,
    now: i64,
) -> DbResult<()> {
    q::execute(
        conn,
        "UPDATE operations SET status = $4, last_error = 'superseded', updated_at = $1, completed_at = $1 \
         WHERE config_id = $2 AND kind = $3 AND status = $5 AND lease_owner IS NULL",
        (now, config_id, kind.as_str(), OpStatus::Cancelled.as_str(), OpStatus::Pending.as_str()),
    )
    .await?;
    Ok(())
}

/// Takes the lease on one operation; false when another worker got there first.
pub async fn claim(
    conn: &mut Conn,
    id: i64,
    owner: &str,
    now: i64,
    lease_secs: i64,
) -> DbResult<bool> {
    Ok(q::execute(
        conn,
        "UPDATE operations SET lease_owner = $1, lease_expires_at = $2 WHERE id = $3 AND status = $5 \
         AND next_attempt_at <= $4 AND (lease_expires_at IS NULL OR lease_expires_at <= $4)",
        (owner, now + lease_secs, id, now, OpStatus::Pending.as_str()),
    )
    .await?
        == 1)
}

pub async fn record_attempt(
    conn: &mut Conn,
    id: i64,
    started: i64,
    finished: i64,
    error: Option<&str>,
) -> DbResult<()> {
    q::execute(
        conn,
        "INSERT INTO operation_attempts (operation_id, started_at, finished_at, ok, error) VALUES ($1, $2, $3, $4, $5)",
        (id, started, finished, error.is_none() as i64, error),
    )
    .await?;
    Ok(())
}

/// Marks done, only while we still hold the lease and nobody cancelled it meanwhile.
pub async fn complete(conn: &mut Conn, id: i64, owner: &str, now: i64) -> DbResult<bool> {
    Ok(q::execute(
        conn,
        "UPDATE operations SET status = $4, attempts = attempts + 1, last_error = NULL, completed_at = $1, updated_at = $1, \
         lease_owner = NULL, lease_expires_at = NULL WHERE id = $2 AND lease_owner = $3 AND status = $5",
        (now, id, owner, OpStatus::Done.as_str(), OpStatus::Pending.as_str()),
    )
    .await?
        == 1)
}

pub async fn reschedule(
    conn: &mut Conn,
    id: i64,
    owner: &str,
    error: &str,
    next_at: i64,
    now: i64,
) -> DbResult<()> {
    let error: String = error.chars().take(1000).collect();
    q::execute(
        conn,
        "UPDATE operations SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2, updated_at = $3, \
         lease_owner = NULL, lease_expires_at = NULL WHERE id = $4 AND lease_owner = $5",
        (error, next_at, now, id, owner),
    )
    .await?;
    Ok(())
}

pub async fn cancel(conn: &mut Conn, id: i64, now: i64) -> DbResult<bool> {
    Ok(q::execute(
        conn,
        "UPDATE operations SET status = $3, updated_at = $1, completed_at = $1 WHERE id = $2 AND status = $4",
        (now, id, OpStatus::Cancelled.as_str(), OpStatus::Pending.as_str()),
    )
    .await?
        == 1)
}

pub async fn retry_now(conn: &mut Conn, id: i64, now: i64) -> DbResult<bool> {
    Ok(q::execute(
        conn,
        "UPDATE operations SET status = $3, next_attempt_at = $1, updated_at = $1, completed_at = NULL \
         WHERE id = $2 AND status IN ($3, $4)",
        (now, id, OpStatus::Pending.as_str(), OpStatus::Failed.as_str()),
    )
    .await?
        == 1)
}

pub async fn list(
    conn: &mut Conn,
    status: Option<OpStatus>,
    limit: i64,
    offset: i64,
) -> DbResult<(Vec<Operation>, i64)> {
    let (where_, values) = match status {
        Some(s) => (
            " WHERE status = $1",
            vec![q::Value::Text(s.as_str().into())],
        ),
        None => ("", vec![]),
    };
    q::page(conn, "operations", where_, &values, limit, offset).await
}

/// The newest unfinished operation of each of these configs, in one statement (a list of
/// configs shows it per row). Configs without one are absent from the map.
pub async fn pending_for_configs(
    conn: &mut Conn,
    config_ids: &[i64],
) -> DbResult<std::collections::HashMap<i64, Operation>> {
    if config_ids.is_empty() {
        return Ok(Default::default());
    }
    let sql = format!(
        "SELECT * FROM operations WHERE id IN (SELECT MAX(id) FROM operations \
         WHERE status IN ($1, $2) AND config_id IN ({}) GROUP BY config_id)",
        crate::id_list(config_ids)
    );
    let rows: Vec<Operation> = sqlx::query_as(&sql)
        .bind(OpStatus::Pending.as_str())
        .bind(OpStatus::Failed.as_str())
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|o| o.config_id.map(|c| (c, o)))
        .collect())
}

/// The configs of a panel with an unfinished (pending or failed) operation, and the newest
/// operation id: what a sync reads before and after its listing, so a config whose operation
/// ran meanwhile is never taken for drift.
pub async fn unfinished_on_panel(
    conn: &mut Conn,
    panel_id: i64,
) -> DbResult<(std::collections::HashSet<i64>, i64)> {
    let ids: Vec<i64> = q::scalars(
        conn,
        "SELECT DISTINCT config_id FROM operations WHERE panel_id = $1 AND config_id IS NOT NULL \
         AND status IN ($2, $3)",
        (
            panel_id,
            OpStatus::Pending.as_str(),
            OpStatus::Failed.as_str(),
        ),
    )
    .await?;
    let newest: i64 = q::scalar(conn, "SELECT COALESCE(MAX(id), 0) FROM operations", ()).await?;
    Ok((ids.into_iter().collect(), newest))
}

/// The configs of a panel with an operation newer than `after_id`.
pub async fn configs_with_newer(
    conn: &mut Conn,
    panel_id: i64,
    after_id: i64,
) -> DbResult<std::collections::HashSet<i64>> {
    let ids: Vec<i64> = q::scalars(
        conn,
        "SELECT DISTINCT config_id FROM operations WHERE panel_id = $1 AND config_id IS NOT NULL AND id > $2",
        (panel_id, after_id),
    )
    .await?;
    Ok(ids.into_iter().collect())
}

/// The newest unfinished operation of a config (what "pending_operation" shows).
pub async fn pending_for_config(conn: &mut Conn, config_id: i64) -> DbResult<Option<Operation>> {
    q::optional(
        conn,
        "SELECT * FROM operations WHERE config_id = $1 AND status IN ($2, $3) ORDER BY id DESC LIMIT 1",
        (config_id, OpStatus::Pending.as_str(), OpStatus::Failed.as_str()),
    )
    .await
}

pub async fn count_pending(conn: &mut Conn) -> DbResult<i64> {
    q::scalar(
        conn,
        "SELECT COUNT(*) FROM operations WHERE status = $1",
        (OpStatus::Pending.as_str(),),
    )
    .await
}

#[derive(Clone, Debug, FromRow, Serialize)]
pub struct Attempt {
    pub id: i64,
    pub operation_id: i64,
    pub started_at: i64,
    pub finished_at: i64,
    #[sqlx(try_from = "Flag")]
    pub ok: bool,
    pub error: Option<String>,
}

pub async fn attempts(conn: &mut Conn, id: i64) -> DbResult<Vec<Attempt>> {
    q::all(
        conn,
        "SELECT * FROM operation_attempts WHERE operation_id = $1 ORDER BY id",
        (id,),
    )
    .await
}

/// Operations in trouble, newest first, with their number: failed for good, or still pending
/// after an attempt that failed (the admin dashboard's list).
pub async fn failing(conn: &mut Conn, limit: i64) -> DbResult<(Vec<Operation>, i64)> {
    let cond = "status = $1 OR (status = $2 AND last_error IS NOT NULL)";
    let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM operations WHERE {cond}"))
        .bind(OpStatus::Failed.as_str())
        .bind(OpStatus::Pending.as_str())
        .fetch_one(&mut *conn)
        .await?;
    let rows = sqlx::query_as(&format!(
        "SELECT * FROM operations WHERE {cond} ORDER BY id DESC LIMIT $3"
    ))
    .bind(OpStatus::Failed.as_str())
    .bind(OpStatus::Pending.as_str())
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok((rows, total))
}
