//! Aggregates for monitoring (`/metrics`, `/healthz`): each panel's latest sync run and the
//! billing totals. Read-only.

use crate::decode::Flag;
use crate::{q, Conn, DbResult};
use domain::status::{AuditAction, ConfigStatus};
use sqlx::FromRow;

#[derive(Clone, Debug, FromRow)]
pub struct LatestSync {
    pub panel_id: i64,
    pub started_at: i64,
    pub duration_ms: i64,
    #[sqlx(try_from = "Flag")]
    pub ok: bool,
    pub users_seen: i64,
    pub configs_updated: i64,
}

pub async fn latest_sync_per_panel(conn: &mut Conn) -> DbResult<Vec<LatestSync>> {
    q::all(
        conn,
        "SELECT s.panel_id, s.started_at, s.duration_ms, s.ok, s.users_seen, s.configs_updated FROM sync_runs s \
         WHERE s.id = (SELECT MAX(id) FROM sync_runs t WHERE t.panel_id = s.panel_id) ORDER BY s.panel_id",
        (),
    )
    .await
}

/// (toman charged, bytes billed) over all hourly snapshots.
pub async fn billing_totals(conn: &mut Conn) -> DbResult<(i64, i64)> {
    q::one(
        conn,
        "SELECT COALESCE(CAST(SUM(cost) AS BIGINT), 0), COALESCE(CAST(SUM(delta_bytes) AS BIGINT), 0) FROM usage_snapshots",
        (),
    )
    .await
}

/// Drift found on the panels (spec §13), counted from the `system` audit rows the sync writes:
/// (kind, action, count), the kind being the row's reason.
pub async fn drift_counts(conn: &mut Conn) -> DbResult<Vec<(String, String, i64)>> {
    let actions = [
        AuditAction::ConfigDriftCorrected,
        AuditAction::ConfigDriftReported,
        AuditAction::ConfigMissingOnPanel,
    ];
    q::all(
        conn,
        "SELECT COALESCE(reason, ''), action, COUNT(*) FROM audit_logs WHERE action IN ($1, $2, $3) \
         GROUP BY reason, action ORDER BY 1, 2",
        (actions[0].as_str(), actions[1].as_str(), actions[2].as_str()),
    )
    .await
}

/// Configs whose user is missing on its panel (not deleted by us).
pub async fn missing_on_panel(conn: &mut Conn) -> DbResult<i64> {
    q::scalar(
        conn,
        "SELECT COUNT(*) FROM configs WHERE missing_on_panel_at IS NOT NULL AND status <> $1",
        (ConfigStatus::Deleted.as_str(),),
    )
    .await
}

/// Resellers by lifetime growth since `since` (from the hourly table), largest first.
pub async fn top_resellers_by_traffic(
    conn: &mut Conn,
    since: i64,
    limit: i64,
) -> DbResult<Vec<(i64, String, i64)>> {
    q::all(
        conn,
        "SELECT r.id, r.display_name, CAST(SUM(h.bytes) AS BIGINT) AS total FROM reseller_usage_hourly h \
         JOIN resellers r ON r.id = h.reseller_id WHERE h.hour_start >= $1 \
         GROUP BY r.id, r.display_name ORDER BY total DESC, r.id LIMIT $2",
        (since, limit),
    )
    .await
}

/// A reseller's wallet balance after each ledger row since `since`, oldest first.
pub async fn balance_history(
    conn: &mut Conn,
    reseller_id: i64,
    since: i64,
) -> DbResult<Vec<(i64, i64)>> {
    q::all(
        conn,
        "SELECT created_at, balance_after FROM wallet_ledger WHERE reseller_id = $1 AND created_at >= $2 ORDER BY id",
        (reseller_id, since),
    )
    .await
}

/// What the admin's dashboard counts since `since` (the start of today in Tehran): traffic of
/// all resellers, wallet usage charged, top-ups approved.
#[derive(Clone, Debug, Default, FromRow)]
pub struct Today {
    pub traffic_bytes: i64,
    pub charged: i64,
    pub topups_approved: i64,
}

pub async fn today(conn: &mut Conn, since: i64) -> DbResult<Today> {
    q::one(
        conn,
        "SELECT \
           (SELECT COALESCE(CAST(SUM(bytes) AS BIGINT), 0) FROM reseller_usage_hourly WHERE hour_start >= $1) AS traffic_bytes, \
           (SELECT COALESCE(CAST(SUM(cost) AS BIGINT), 0) FROM usage_snapshots WHERE period_start >= $1) AS charged, \
           (SELECT COALESCE(CAST(SUM(amount) AS BIGINT), 0) FROM topups WHERE status = $2 AND decided_at >= $1) AS topups_approved",
        (since, domain::status::TopupStatus::Approved.as_str()),
    )
    .await
}

/// Active wallet resellers whose balance is within `headroom` toman of their threshold, lowest
/// balance first (the dashboard's "about to be suspended" list).
pub async fn low_balance_resellers(
    conn: &mut Conn,
    threshold: i64,
    headroom: i64,
    limit: i64,
) -> DbResult<Vec<(i64, String, i64)>> {
    q::all(
        conn,
        "SELECT id, display_name, wallet_balance FROM resellers \
         WHERE kind = $3 AND status = $4 AND wallet_balance <= $1 \
         ORDER BY wallet_balance, id LIMIT $2",
        (
            threshold.saturating_add(headroom),
            limit,
            domain::status::ResellerKind::Wallet.as_str(),
            domain::status::ResellerStatus::Active.as_str(),
        ),
    )
    .await
}
