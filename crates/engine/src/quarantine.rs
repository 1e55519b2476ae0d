//! Readings too large to believe (issue 11): a delta beyond `EngineSettings::quarantine` is not
//! applied to the config's counters (so it is never metered nor billed); it is kept here for the
//! admin, who accepts it (counted then, if our counters have not moved since) or discards it.
//! Both decisions are audited. The rest of the sync and of billing proceeds meanwhile.

use crate::{Ctx, EngineResult};
use db::audit::{Actor, NewAudit, Origin};
use domain::status::{AuditAction, AuditTarget, QuarantineStatus};
use domain::usage::{UsageCounters, MAX_BYTES};

/// A held-back reading, with the names the admin's page shows.
#[derive(Clone, Debug, sqlx::FromRow, serde::Serialize)]
pub struct Held {
    pub id: i64,
    pub config_id: i64,
    pub username: String,
    pub reseller_id: i64,
    pub reseller_name: String,
    pub panel_id: i64,
    /// The panel's counter as read.
    pub reading_bytes: i64,
    /// Our counters when it was read.
    pub prev_usage_bytes: i64,
    pub prev_lifetime_bytes: i64,
    /// What it would add to the lifetime total.
    pub delta_bytes: i64,
    /// The largest delta that would have been believed.
    pub ceiling_bytes: i64,
    #[sqlx(try_from = "String")]
    pub status: QuarantineStatus,
    pub first_seen_at: i64,
    pub last_seen_at: i64,
    pub decided_at: Option<i64>,
    pub decided_by: Option<String>,
}

/// What the sync found: one config's implausible reading.
pub struct Suspect {
    pub config_id: i64,
    pub reseller_id: i64,
    pub panel_id: i64,
    pub reading: i64,
    pub prev: UsageCounters,
    pub delta: i64,
    pub ceiling: i64,
}

/// Why a decision was refused.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("no such held-back reading")]
    NotFound,
    #[error("this reading was decided already")]
    Decided,
    /// Newer readings were counted since; accepting this one would count bytes twice.
    #[error("the config's counters changed since this reading; it can only be discarded")]
    Stale,
    #[error("accepting this reading would exceed the largest total the product keeps")]
    TooLarge,
    #[error(transparent)]
    Engine(#[from] crate::EngineError),
}

impl From<db::DbError> for Refusal {
    fn from(e: db::DbError) -> Self {
        Refusal::Engine(e.into())
    }
}

impl From<sqlx::Error> for Refusal {
    fn from(e: sqlx::Error) -> Self {
        Refusal::Engine(e.into())
    }
}

const SELECT: &str = "SELECT q.id, q.config_id, c.username, q.reseller_id, r.display_name AS reseller_name, \
     q.panel_id, q.reading_bytes, q.prev_usage_bytes, q.prev_lifetime_bytes, q.delta_bytes, q.ceiling_bytes, \
     q.status, q.first_seen_at, q.last_seen_at, q.decided_at, q.decided_by \
     FROM usage_quarantine q JOIN configs c ON c.id = q.config_id JOIN resellers r ON r.id = q.reseller_id";

/// Holds `s` back: updates the config's pending row with the newest reading, or opens one
/// (with a `system` audit row) unless the admin already discarded this very reading.
/// Returns whether a new row was opened.
pub async fn hold(conn: &mut db::Conn, s: &Suspect, now: i64) -> EngineResult<bool> {
    let updated = db::q::execute(
        &mut *conn,
        "UPDATE usage_quarantine SET reading_bytes = $1, prev_usage_bytes = $2, prev_lifetime_bytes = $3, \
         delta_bytes = $4, ceiling_bytes = $5, last_seen_at = $6 WHERE config_id = $7 AND status = $8",
        (
            s.reading,
            s.prev.usage_bytes,
            s.prev.lifetime_usage_bytes,
            s.delta,
            s.ceiling,
            now,
            s.config_id,
            QuarantineStatus::Pending.as_str(),
        ),
    )
    .await?;
    if updated > 0 {
        return Ok(false);
    }
    let discarded: Option<i64> = db::q::scalar_optional(
        &mut *conn,
        "SELECT id FROM usage_quarantine WHERE config_id = $1 AND status = $2 AND reading_bytes = $3 \
         AND prev_usage_bytes = $4 AND prev_lifetime_bytes = $5 LIMIT 1",
        (
            s.config_id,
            QuarantineStatus::Discarded.as_str(),
            s.reading,
            s.prev.usage_bytes,
            s.prev.lifetime_usage_bytes,
        ),
    )
    .await?;
    if discarded.is_some() {
        return Ok(false);
    }
    let id: i64 = db::q::scalar(
        &mut *conn,
        "INSERT INTO usage_quarantine (config_id, reseller_id, panel_id, reading_bytes, prev_usage_bytes, \
         prev_lifetime_bytes, delta_bytes, ceiling_bytes, status, first_seen_at, last_seen_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
        (
            s.config_id,
            s.reseller_id,
            s.panel_id,
            s.reading,
            s.prev.usage_bytes,
            s.prev.lifetime_usage_bytes,
            s.delta,
            s.ceiling,
            QuarantineStatus::Pending.as_str(),
            now,
        ),
    )
    .await?;
    let system = Actor::system();
    let origin = Origin::default();
    let audit_row = NewAudit::about(
        &system,
        &origin,
        AuditAction::UsageReadingQuarantined,
        (AuditTarget::Config, s.config_id),
        serde_json::json!({
            "quarantine_id": id,
            "reading_bytes": s.reading,
            "delta_bytes": s.delta,
            "ceiling_bytes": s.ceiling,
        }),
    );
    db::audit::record(conn, audit_row).await?;
    tracing::warn!(
        config = s.config_id,
        reading = s.reading,
        delta = s.delta,
        ceiling = s.ceiling,
        "usage sync: implausible reading held back"
    );
    Ok(true)
}

/// Readings waiting for the admin, oldest first.
pub async fn pending(ctx: &Ctx) -> EngineResult<Vec<Held>> {
    list(ctx, Some(QuarantineStatus::Pending), 500).await
}

/// The held-back readings of one status (or all), newest first for decided ones.
pub async fn list(
    ctx: &Ctx,
    status: Option<QuarantineStatus>,
    limit: i64,
) -> EngineResult<Vec<Held>> {
    let mut conn = ctx.db.acquire().await?;
    let rows = match status {
        Some(st) => {
            let order = if st == QuarantineStatus::Pending {
                "ASC"
            } else {
                "DESC"
            };
            sqlx::query_as(&format!(
                "{SELECT} WHERE q.status = $1 ORDER BY q.id {order} LIMIT $2"
            ))
            .bind(st.as_str())
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?
        }
        None => {
            sqlx::query_as(&format!("{SELECT} ORDER BY q.id DESC LIMIT $1"))
                .bind(limit)
                .fetch_all(&mut *conn)
                .await?
        }
    };
    Ok(rows)
}

pub async fn get(conn: &mut db::Conn, id: i64) -> EngineResult<Option<Held>> {
    Ok(sqlx::query_as(&format!("{SELECT} WHERE q.id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// The admin believes the reading: it is applied to the config's counters as if the sync had
/// (only while our counters are still the ones it was read against), and counted this hour.
pub async fn accept(
    ctx: &Ctx,
    id: i64,
    actor: &Actor,
    origin: &Origin,
    now: i64,
) -> Result<Held, Refusal> {
    let (mut tx, h) = open_pending(ctx, id).await?;
    let prev = UsageCounters {
        usage_bytes: h.prev_usage_bytes,
        lifetime_usage_bytes: h.prev_lifetime_bytes,
    };
    let next = domain::usage::observe(prev, h.reading_bytes);
    let added = next.lifetime_usage_bytes - prev.lifetime_usage_bytes;
    // The reseller's total must stay within what every sum of ours can hold.
    let total: i64 = db::q::scalar(
        &mut tx,
        "SELECT COALESCE(CAST(SUM(lifetime_usage_bytes) AS BIGINT), 0) FROM configs WHERE reseller_id = $1",
        (h.reseller_id,),
    )
    .await?;
    if next.lifetime_usage_bytes > MAX_BYTES
        || next.usage_bytes > MAX_BYTES
        || total.checked_add(added).is_none_or(|t| t > MAX_BYTES)
    {
        return Err(Refusal::TooLarge);
    }
    let (config, reseller) = (h.config_id, h.reseller_id);
    if db::configs::store_reading(&mut tx, config, reseller, prev, next, None, now)
        .await?
        .is_none()
    {
        return Err(Refusal::Stale);
    }
    let to = QuarantineStatus::Accepted;
    decide_and_reload(ctx, tx, &h, to, actor, origin, now).await
}

/// The admin does not believe the reading: it is never counted. The same reading seen again
/// later stays held back without asking again.
pub async fn discard(
    ctx: &Ctx,
    id: i64,
    actor: &Actor,
    origin: &Origin,
    now: i64,
) -> Result<Held, Refusal> {
    let (tx, h) = open_pending(ctx, id).await?;
    let to = QuarantineStatus::Discarded;
    decide_and_reload(ctx, tx, &h, to, actor, origin, now).await
}

/// Records the admin's decision on the held reading, commits everything the decision changed
/// with it, and reads the row back as the admin now sees it.
async fn decide_and_reload(
    ctx: &Ctx,
    mut tx: db::Tx,
    h: &Held,
    to: QuarantineStatus,
    actor: &Actor,
    origin: &Origin,
    now: i64,
) -> Result<Held, Refusal> {
    decide(&mut tx, h, to, actor, origin, now).await?;
    tx.commit().await?;
    let mut conn = ctx.db.acquire().await?;
    get(&mut conn, h.id).await?.ok_or(Refusal::NotFound)
}

/// A write transaction holding the pending row `id`.
async fn open_pending(ctx: &Ctx, id: i64) -> Result<(db::Tx, Held), Refusal> {
    let mut tx = ctx.db.begin_write().await?;
    let h = get(&mut tx, id).await?.ok_or(Refusal::NotFound)?;
    if h.status != QuarantineStatus::Pending {
        return Err(Refusal::Decided);
    }
    Ok((tx, h))
}

async fn decide(
    conn: &mut db::Conn,
    h: &Held,
    to: QuarantineStatus,
    actor: &Actor,
    origin: &Origin,
    now: i64,
) -> Result<(), Refusal> {
    let n = db::q::execute(
        &mut *conn,
        "UPDATE usage_quarantine SET status = $1, decided_at = $2, decided_by = $3 WHERE id = $4 AND status = $5",
        (to.as_str(), now, &actor.name, h.id, QuarantineStatus::Pending.as_str()),
    )
    .await?;
    if n != 1 {
        return Err(Refusal::Decided);
    }
    let action = if to == QuarantineStatus::Accepted {
        AuditAction::UsageReadingAccepted
    } else {
        AuditAction::UsageReadingDiscarded
    };
    let audit_row = NewAudit::about(
        actor,
        origin,
        action,
        (AuditTarget::Config, h.config_id),
        serde_json::json!({
            "quarantine_id": h.id,
            "reading_bytes": h.reading_bytes,
            "delta_bytes": h.delta_bytes,
        }),
    );
    db::audit::record(conn, audit_row).await?;
    Ok(())
}
