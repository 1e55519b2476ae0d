//! The wallet ledger (spec §9): every balance change is an append-only, idempotent ledger row
//! written with the balance update in one transaction, plus the wallet status transitions.

use crate::{ops, EngineError, EngineResult, EngineSettings};
use db::audit::{Actor, NewAudit, Origin};
use domain::status::{
    AuditAction, AuditTarget, ConfigEventKind, ConfigStatus, DisabledReason, LedgerKind, LedgerRef,
    ResellerKind, ResellerStatus, SuspendedBy,
};
use serde::Serialize;

pub const KEY_PRICE: &str = "wallet_price_per_gb";
pub const KEY_THRESHOLD: &str = "wallet_suspension_threshold";
pub const KEY_TOPUP_MIN: &str = "topup_min_amount";
pub const DEFAULT_TOPUP_MIN: i64 = 10_000;

/// The wallet defaults in force: the admin's settings, else the environment's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct WalletDefaults {
    pub price_per_gb: i64,
    pub threshold: i64,
    pub topup_min: i64,
}

pub async fn defaults(conn: &mut db::Conn, env: &EngineSettings) -> EngineResult<WalletDefaults> {
    Ok(WalletDefaults {
        price_per_gb: db::settings::get_i64(conn, KEY_PRICE)
            .await?
            .unwrap_or(env.wallet_price_per_gb),
        threshold: db::settings::get_i64(conn, KEY_THRESHOLD)
            .await?
            .unwrap_or(env.wallet_suspension_threshold),
        topup_min: db::settings::get_i64(conn, KEY_TOPUP_MIN)
            .await?
            .unwrap_or(DEFAULT_TOPUP_MIN),
    })
}

/// The reseller's own price when it has one, else the default.
pub fn effective_price(override_price: Option<i64>, d: &WalletDefaults) -> i64 {
    override_price.unwrap_or(d.price_per_gb)
}

/// What a ledger row means to the reader: one row per balance change.
#[derive(Clone, Debug, sqlx::FromRow, Serialize)]
pub struct LedgerRow {
    pub id: i64,
    pub reseller_id: i64,
    #[sqlx(try_from = "String")]
    pub kind: LedgerKind,
    pub amount: i64,
    pub balance_after: i64,
    pub idempotency_key: String,
    pub note: Option<String>,
    #[sqlx(try_from = "db::decode::MaybeText")]
    pub ref_type: Option<LedgerRef>,
    pub ref_id: Option<i64>,
    pub actor_id: Option<i64>,
    pub created_at: i64,
}

/// One balance change to post (see [`post_entries`]).
#[derive(Clone, Debug)]
pub struct Entry<'a> {
    pub reseller_id: i64,
    pub kind: LedgerKind,
    pub amount: i64,
    pub idempotency_key: String,
    pub note: Option<&'a str>,
    pub reference: Option<(LedgerRef, i64)>,
    pub actor_id: Option<i64>,
}

fn is_postgres(conn: &db::Conn) -> bool {
    conn.backend_name()
        .to_ascii_lowercase()
        .contains("postgres")
}

/// `(?, ?, …)` on SQLite, `($k+1, $k+2, …)` on PostgreSQL. SQLite looks each `$n` up in a list
/// of the names seen so far, which makes a statement with thousands of them slow to prepare;
/// plain `?` is numbered in order at no cost.
pub(crate) fn row_placeholders(pg: bool, start: usize, count: usize) -> String {
    let mut out = String::with_capacity(count * 6 + 2);
    out.push('(');
    for i in 0..count {
        if i > 0 {
            out.push_str(", ");
        }
        if pg {
            out.push_str(&format!("${}", start + i + 1));
        } else {
            out.push('?');
        }
    }
    out.push(')');
    out
}

fn backend_of(conn: &db::Conn) -> db::Backend {
    if is_postgres(conn) {
        db::Backend::Postgres
    } else {
        db::Backend::Sqlite
    }
}

/// Appends a ledger row and moves the balance by `amount` in the caller's write transaction.
/// Idempotent on `idempotency_key`: returns None when that key was already posted.
#[allow(clippy::too_many_arguments)]
pub async fn post_entry(
    conn: &mut db::Conn,
    reseller_id: i64,
    kind: LedgerKind,
    amount: i64,
    idempotency_key: &str,
    note: Option<&str>,
    r#ref: Option<(LedgerRef, i64)>,
    actor_id: Option<i64>,
) -> EngineResult<Option<i64>> {
    let backend = backend_of(conn);
    let Some(r) = db::resellers::get_for_update(conn, backend, reseller_id).await? else {
        return Err(db::DbError::NotFound.into());
    };
    let entry = Entry {
        reseller_id,
        kind,
        amount,
        idempotency_key: idempotency_key.to_string(),
        note,
        reference: r#ref,
        actor_id,
    };
    let posted = post_locked(conn, &[(entry, r.wallet_balance)]).await?;
    Ok(posted.first().map(|p| p.ledger_id))
}

/// A ledger row that was written: its id and the balance after it.
#[derive(Clone, Copy, Debug)]
pub struct Posted {
    pub reseller_id: i64,
    pub ledger_id: i64,
    pub balance_after: i64,
}

/// Posts entries for resellers whose rows the caller has already locked in this write
/// transaction, each paired with that reseller's current balance (at most one entry per reseller).
/// Duplicates (an idempotency key already posted) change nothing and are left out of the result.
/// One multi-row insert and one update, so billing thousands of wallets stays fast.
pub async fn post_locked(
    conn: &mut db::Conn,
    entries: &[(Entry<'_>, i64)],
) -> EngineResult<Vec<Posted>> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let pg = is_postgres(conn);
    let now = chrono::Utc::now().timestamp();
    let mut after = std::collections::HashMap::with_capacity(entries.len());
    let mut sql = String::from(
        "INSERT INTO wallet_ledger (reseller_id, kind, amount, balance_after, idempotency_key, note, \
         ref_type, ref_id, actor_id, created_at) VALUES ",
    );
    for (i, (e, balance)) in entries.iter().enumerate() {
        let balance_after = balance.checked_add(e.amount).ok_or_else(|| {
            EngineError::Invalid(format!("wallet {} would overflow", e.reseller_id))
        })?;
        if after.insert(e.reseller_id, balance_after).is_some() {
            return Err(EngineError::Invalid(format!(
                "two entries for reseller {} in one batch",
                e.reseller_id
            )));
        }
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&row_placeholders(pg, i * 10, 10));
    }
    sql.push_str(" ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, reseller_id");
    let mut q = sqlx::query_as::<_, (i64, i64)>(&sql);
    for (e, _) in entries {
        q = q
            .bind(e.reseller_id)
            .bind(e.kind.to_string())
            .bind(e.amount)
            .bind(after[&e.reseller_id])
            .bind(e.idempotency_key.clone())
            .bind(e.note.map(str::to_string))
            .bind(e.reference.map(|r| r.0.to_string()))
            .bind(e.reference.map(|r| r.1))
            .bind(e.actor_id)
            .bind(now);
    }
    let inserted = q.fetch_all(&mut *conn).await?;
    if inserted.is_empty() {
        return Ok(Vec::new());
    }
    // The balance moves only for rows actually written, in one statement: each reseller adds the
    // amount of its (single) ledger row of this batch.
    let n = inserted.len();
    let upd = format!(
        "UPDATE resellers SET wallet_balance = wallet_balance + \
         (SELECT l.amount FROM wallet_ledger l WHERE l.reseller_id = resellers.id AND l.id IN {}) \
         WHERE id IN {}",
        row_placeholders(pg, 0, n),
        row_placeholders(pg, n, n)
    );
    let mut q = sqlx::query(&upd);
    for (lid, _) in &inserted {
        q = q.bind(*lid);
    }
    for (_, rid) in &inserted {
        q = q.bind(*rid);
    }
    let affected = q.execute(&mut *conn).await?.rows_affected();
    if affected as usize != inserted.len() {
        return Err(EngineError::Invalid(
            "wallet balance update missed a row".into(),
        ));
    }
    Ok(inserted
        .into_iter()
        .map(|(ledger_id, reseller_id)| Posted {
            reseller_id,
            ledger_id,
            balance_after: after[&reseller_id],
        })
        .collect())
}

/// Records the reseller's total at this moment as its first snapshot (zero delta, zero cost), so
/// traffic from before it became wallet-based is never billed. A second call in the same hour
/// does nothing. Call it in the transaction that makes the reseller wallet-based.
pub async fn start_wallet(
    conn: &mut db::Conn,
    reseller_id: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> EngineResult<()> {
    let total = db::resellers::lifetime_total(conn, reseller_id).await?;
    let hour = domain::tehran::hour_start(now).timestamp();
    db::q::execute(
        &mut *conn,
        "INSERT INTO usage_snapshots (reseller_id, period_start, total_bytes, delta_bytes, price_per_gb, cost, created_at) \
         VALUES ($1, $2, $3, 0, 0, 0, $4) ON CONFLICT (reseller_id, period_start) DO NOTHING",
        (reseller_id, hour, total, now.timestamp()),
    )
    .await?;
    Ok(())
}

/// The reseller's ledger, newest first, with the total for paging.
pub async fn ledger(
    conn: &mut db::Conn,
    reseller_id: i64,
    limit: i64,
    offset: i64,
) -> EngineResult<(Vec<LedgerRow>, i64)> {
    let total: i64 = db::q::scalar(
        &mut *conn,
        "SELECT COUNT(*) FROM wallet_ledger WHERE reseller_id = $1",
        (reseller_id,),
    )
    .await?;
    let rows = db::q::all(
        &mut *conn,
        "SELECT * FROM wallet_ledger WHERE reseller_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3",
        (reseller_id, limit, offset),
    )
    .await?;
    Ok((rows, total))
}

/// Σ of the reseller's ledger (equals the stored balance at all times).
pub async fn ledger_sum(conn: &mut db::Conn, reseller_id: i64) -> EngineResult<i64> {
    Ok(db::q::scalar(
        &mut *conn,
        "SELECT COALESCE(CAST(SUM(amount) AS BIGINT), 0) FROM wallet_ledger WHERE reseller_id = $1",
        (reseller_id,),
    )
    .await?)
}

/// One line of the statement: a ledger row with, for hourly charges, the hour's traffic and price.
#[derive(Clone, Debug, sqlx::FromRow, Serialize)]
pub struct StatementLine {
    pub id: i64,
    pub created_at: i64,
    #[sqlx(try_from = "String")]
    pub kind: LedgerKind,
    pub amount: i64,
    pub balance_after: i64,
    pub note: Option<String>,
    pub period_start: Option<i64>,
    pub delta_bytes: Option<i64>,
    pub price_per_gb: Option<i64>,
}

pub async fn statement(
    conn: &mut db::Conn,
    reseller_id: i64,
    limit: i64,
) -> EngineResult<Vec<StatementLine>> {
    Ok(db::q::all(
        &mut *conn,
        "SELECT l.id, l.created_at, l.kind, l.amount, l.balance_after, l.note, s.period_start, s.delta_bytes, s.price_per_gb \
         FROM wallet_ledger l LEFT JOIN usage_snapshots s ON l.ref_type = $3 AND s.id = l.ref_id \
         WHERE l.reseller_id = $1 ORDER BY l.id DESC LIMIT $2",
        (reseller_id, limit, LedgerRef::UsageSnapshot.as_str()),
    )
    .await?)
}

/// Σ of hourly charges since `since` (the burn rate of the last 24 hours).
pub async fn spent_since(conn: &mut db::Conn, reseller_id: i64, since: i64) -> EngineResult<i64> {
    Ok(db::q::scalar(
        &mut *conn,
        "SELECT COALESCE(CAST(SUM(cost) AS BIGINT), 0) FROM usage_snapshots WHERE reseller_id = $1 AND period_start >= $2",
        (reseller_id, since),
    )
    .await?)
}

/// Suspends an active wallet reseller at or below the threshold: status `suspended_wallet`,
/// every active config disabled with reason `wallet` (operations queued, events, audit).
/// Runs in the caller's write transaction with the reseller row locked; returns the configs
/// disabled, or None when nothing changed. The caller wakes the worker after commit.
pub async fn suspend_if_depleted(
    conn: &mut db::Conn,
    reseller_id: i64,
    balance: i64,
    threshold: i64,
    actor: &Actor,
    origin: &Origin,
    now: i64,
) -> EngineResult<Option<usize>> {
    let Some(r) = db::resellers::get(conn, reseller_id).await? else {
        return Ok(None);
    };
    if r.kind != ResellerKind::Wallet
        || r.status != ResellerStatus::Active
        || !domain::billing::should_suspend_wallet(balance, threshold)
    {
        return Ok(None);
    }
    db::resellers::set_status(
        conn,
        reseller_id,
        ResellerStatus::SuspendedWallet,
        Some(SuspendedBy::System),
    )
    .await?;
    let configs =
        db::configs::of_reseller_with_status(conn, reseller_id, ConfigStatus::Active).await?;
    for c in &configs {
        db::configs::set_status(
            conn,
            c.id,
            ConfigStatus::Disabled,
            Some(DisabledReason::Wallet),
        )
        .await?;
        let op = ops::enqueue_for(conn, c.panel_id, c.id, ops::OpKind::Disable, now).await?;
        let meta = serde_json::json!({ "reason": DisabledReason::Wallet, "balance": balance, "threshold": threshold, "operation_id": op });
        db::configs::add_event(
            conn,
            c.id,
            ConfigEventKind::AutoDisabled,
            &actor.name,
            None,
            None,
            meta.clone(),
        )
        .await?;
        let audit_meta = serde_json::json!({ "before": {"status": ConfigStatus::Active}, "after": {"status": ConfigStatus::Disabled, "disabled_reason": DisabledReason::Wallet}, "operation_id": op });
        let audit_row = NewAudit::about(
            actor,
            origin,
            AuditAction::ConfigAutoDisabled,
            (AuditTarget::Config, c.id),
            audit_meta,
        )
        .because(DisabledReason::Wallet.as_str());
        db::audit::record(conn, audit_row).await?;
    }
    let audit_row = NewAudit::about(
        actor,
        origin,
        AuditAction::ResellerSuspendedWallet,
        (AuditTarget::Reseller, reseller_id),
        serde_json::json!({
            "before": {"status": r.status},
            "after": {"status": ResellerStatus::SuspendedWallet},
            "balance": balance,
            "threshold": threshold,
            "configs_disabled": configs.len(),
        }),
    )
    .because("wallet balance at or below the threshold");
    db::audit::record(conn, audit_row).await?;
    Ok(Some(configs.len()))
}

/// A `suspended_wallet` reseller whose balance rose above the threshold returns to `active`, and
/// only the configs disabled for reason `wallet` are enabled again. Same transaction as the
/// credit; returns the configs enabled, or None when nothing changed.
pub async fn reactivate_if_funded(
    conn: &mut db::Conn,
    reseller_id: i64,
    threshold: i64,
    actor: &Actor,
    origin: &Origin,
    now: i64,
) -> EngineResult<Option<usize>> {
    let backend = backend_of(conn);
    let Some(r) = db::resellers::get_for_update(conn, backend, reseller_id).await? else {
        return Ok(None);
    };
    if r.status != ResellerStatus::SuspendedWallet
        || !domain::billing::credit_reactivates(r.wallet_balance, threshold)
    {
        return Ok(None);
    }
    db::resellers::set_status(conn, reseller_id, ResellerStatus::Active, None).await?;
    let configs: Vec<db::configs::Config> = db::q::all(
        &mut *conn,
        "SELECT * FROM configs WHERE reseller_id = $1 AND status = $2 AND disabled_reason = $3 ORDER BY id",
        (reseller_id, ConfigStatus::Disabled.as_str(), DisabledReason::Wallet.as_str()),
    )
    .await?;
    for c in &configs {
        db::configs::set_status(conn, c.id, ConfigStatus::Active, None).await?;
        let op = ops::enqueue_for(conn, c.panel_id, c.id, ops::OpKind::Enable, now).await?;
        db::configs::add_event(
            conn,
            c.id,
            ConfigEventKind::AutoEnabled,
            &actor.name,
            None,
            None,
            serde_json::json!({ "reason": "wallet_funded", "balance": r.wallet_balance, "operation_id": op }),
        )
        .await?;
        let audit_meta = serde_json::json!({ "before": {"status": ConfigStatus::Disabled, "disabled_reason": DisabledReason::Wallet}, "after": {"status": ConfigStatus::Active}, "operation_id": op });
        let audit_row = NewAudit::about(
            actor,
            origin,
            AuditAction::ConfigAutoEnabled,
            (AuditTarget::Config, c.id),
            audit_meta,
        )
        .because("wallet funded");
        db::audit::record(conn, audit_row).await?;
    }
    let audit_row = NewAudit::about(
        actor,
        origin,
        AuditAction::ResellerActivated,
        (AuditTarget::Reseller, reseller_id),
        serde_json::json!({
            "before": {"status": ResellerStatus::SuspendedWallet},
            "after": {"status": ResellerStatus::Active},
            "balance": r.wallet_balance,
            "threshold": threshold,
            "configs_enabled": configs.len(),
        }),
    )
    .because("wallet balance above the threshold");
    db::audit::record(conn, audit_row).await?;
    Ok(Some(configs.len()))
}

/// An admin's credit (positive) or debit (negative) with a note: ledger row `admin_adjustment`,
/// audit `wallet_adjusted`, then the wallet status follows the new balance either way.
pub async fn adjust(
    ctx: &crate::Ctx,
    reseller_id: i64,
    amount: i64,
    note: &str,
    actor: &Actor,
    origin: &Origin,
) -> EngineResult<LedgerRow> {
    let note = note.trim();
    if amount == 0 || amount.unsigned_abs() > domain::units::MAX_TOMAN.unsigned_abs() {
        return Err(EngineError::Invalid("amount".into()));
    }
    if note.is_empty() || note.chars().count() > 500 {
        return Err(EngineError::Invalid("note".into()));
    }
    let now = chrono::Utc::now().timestamp();
    let mut tx = ctx.db.begin_write().await?;
    let backend = ctx.db.backend();
    let r = db::resellers::get_for_update(&mut tx, backend, reseller_id)
        .await?
        .ok_or(db::DbError::NotFound)?;
    if r.kind != ResellerKind::Wallet {
        return Err(EngineError::Invalid("kind".into()));
    }
    let d = defaults(&mut tx, &ctx.settings).await?;
    let key = format!("adjust:{}", crate::secrets::random_token());
    let id = post_entry(
        &mut tx,
        reseller_id,
        LedgerKind::AdminAdjustment,
        amount,
        &key,
        Some(note),
        None,
        actor.id,
    )
    .await?
    .ok_or_else(|| EngineError::Invalid("duplicate adjustment".into()))?;
    let row: LedgerRow =
        db::q::one(&mut tx, "SELECT * FROM wallet_ledger WHERE id = $1", (id,)).await?;
    let audit_row = NewAudit::about(
        actor,
        origin,
        AuditAction::WalletAdjusted,
        (AuditTarget::Reseller, reseller_id),
        serde_json::json!({
            "before": {"balance": r.wallet_balance},
            "after": {"balance": row.balance_after},
            "amount": amount,
            "ledger_id": id,
        }),
    )
    .because(note);
    db::audit::record(&mut tx, audit_row).await?;
    let changed = if amount > 0 {
        reactivate_if_funded(&mut tx, reseller_id, d.threshold, actor, origin, now).await?
    } else {
        suspend_if_depleted(
            &mut tx,
            reseller_id,
            row.balance_after,
            d.threshold,
            actor,
            origin,
            now,
        )
        .await?
    };
    tx.commit().await?;
    if changed.is_some() {
        ctx.wake.notify_one();
    }
    Ok(row)
}
