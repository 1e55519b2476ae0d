//! Wallet top-ups (spec §9): a reseller's request with a receipt image checked by its content,
//! and the admin's idempotent approval (credit + ledger row + reactivation) or rejection.

use crate::{wallet, Ctx, EngineError, EngineResult};
use db::audit::{Actor, NewAudit, Origin};
use domain::status::{AuditAction, AuditTarget, LedgerKind, LedgerRef, ResellerKind, TopupStatus};
use serde::Serialize;
use std::path::{Path, PathBuf};

pub const MAX_RECEIPT_BYTES: usize = 4 * 1024 * 1024;

#[derive(Clone, Debug, sqlx::FromRow, Serialize)]
pub struct Topup {
    pub id: i64,
    pub reseller_id: i64,
    pub amount: i64,
    #[serde(skip)]
    pub receipt_path: String,
    pub receipt_mime: String,
    #[sqlx(try_from = "String")]
    pub status: TopupStatus,
    pub reason: Option<String>,
    pub created_at: i64,
    pub decided_at: Option<i64>,
    pub decided_by: Option<i64>,
}

/// The image type of a receipt, from its first bytes (never from its name): (extension, MIME).
pub fn sniff_receipt(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(("jpg", "image/jpeg"))
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some(("png", "image/png"))
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(("webp", "image/webp"))
    } else {
        None
    }
}

/// Why a submission was refused: the form field and the message key (i18n `wallet.err.*`).
#[derive(Debug)]
pub enum SubmitError {
    Invalid {
        field: &'static str,
        key: &'static str,
        min: i64,
    },
    Engine(EngineError),
}

impl<E: Into<EngineError>> From<E> for SubmitError {
    fn from(e: E) -> Self {
        SubmitError::Engine(e.into())
    }
}

/// Checks the amount and the receipt; returns the receipt's (extension, MIME).
pub fn check_submission(
    amount: i64,
    receipt: &[u8],
    min: i64,
) -> Result<(&'static str, &'static str), SubmitError> {
    let invalid = |field, key| SubmitError::Invalid { field, key, min };
    if amount < min {
        return Err(invalid("amount", "wallet.err.amount_min"));
    }
    if amount > domain::units::MAX_TOMAN {
        return Err(invalid("amount", "wallet.err.amount_max"));
    }
    if receipt.is_empty() {
        return Err(invalid("receipt", "wallet.err.receipt_missing"));
    }
    if receipt.len() > MAX_RECEIPT_BYTES {
        return Err(invalid("receipt", "wallet.err.receipt_too_large"));
    }
    sniff_receipt(receipt).ok_or_else(|| invalid("receipt", "wallet.err.receipt_type"))
}

fn receipts_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("receipts")
}

/// Writes a receipt readable by the service's user only (directory 0700, file 0600): they are
/// bank transfers with names and card numbers.
async fn write_private(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut builder = tokio::fs::DirBuilder::new();
    builder.recursive(true);
    let mut file = tokio::fs::OpenOptions::new();
    file.write(true).create_new(true);
    #[cfg(unix)]
    {
        builder.mode(0o700);
        file.mode(0o600);
    }
    builder.create(dir).await?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tokio::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).await?;
    }
    use tokio::io::AsyncWriteExt;
    let mut f = file.open(path).await?;
    f.write_all(bytes).await?;
    f.flush().await
}

/// A reseller's top-up request: the receipt is stored under `<data_dir>/receipts/` with a random
/// name, then the pending row and its audit entry are written together.
pub async fn submit(
    ctx: &Ctx,
    data_dir: &Path,
    reseller_id: i64,
    amount: i64,
    receipt: &[u8],
    actor: &Actor,
    origin: &Origin,
) -> Result<Topup, SubmitError> {
    let d = {
        let mut conn = ctx.db.acquire().await?;
        let r = db::resellers::get(&mut conn, reseller_id)
            .await?
            .ok_or(db::DbError::NotFound)?;
        if r.kind != ResellerKind::Wallet {
            return Err(EngineError::Invalid("only wallet resellers top up".into()).into());
        }
        wallet::defaults(&mut conn, &ctx.settings).await?
    };
    let (ext, mime) = check_submission(amount, receipt, d.topup_min)?;
    let dir = receipts_dir(data_dir);
    let name = {
        use rand::RngCore;
        let mut b = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut b);
        format!("{}.{ext}", hex::encode(b))
    };
    let path = dir.join(&name);
    let written = write_private(&dir, &path, receipt).await;
    written.map_err(|e| EngineError::Invalid(format!("could not store the receipt: {e}")))?;
    let result = async {
        let now = chrono::Utc::now().timestamp();
        let mut tx = ctx.db.begin_write().await?;
        let id: i64 = db::q::scalar(
            &mut tx,
            "INSERT INTO topups (reseller_id, amount, receipt_path, receipt_mime, status, created_at) \
             VALUES ($1, $2, $3, $4, $6, $5) RETURNING id",
            (reseller_id, amount, &name, mime, now, TopupStatus::Pending.as_str()),
        )
        .await?;
        let audit_meta = serde_json::json!({ "reseller_id": reseller_id, "amount": amount, "mime": mime, "bytes": receipt.len() });
        let audit_row = NewAudit::about(actor, origin, AuditAction::WalletTopupSubmitted, (AuditTarget::Topup, id), audit_meta);
        db::audit::record(&mut tx, audit_row).await?;
        let t = get(&mut tx, id).await?.ok_or(db::DbError::NotFound)?;
        tx.commit().await?;
        EngineResult::Ok(t)
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&path).await;
    }
    Ok(result?)
}

pub async fn get(conn: &mut db::Conn, id: i64) -> EngineResult<Option<Topup>> {
    Ok(db::q::optional(&mut *conn, "SELECT * FROM topups WHERE id = $1", (id,)).await?)
}

/// A top-up with its reseller's name, for the admin's queue.
#[derive(Clone, Debug, sqlx::FromRow, Serialize)]
pub struct TopupListRow {
    pub id: i64,
    pub reseller_id: i64,
    pub reseller_name: String,
    pub amount: i64,
    pub receipt_mime: String,
    #[sqlx(try_from = "String")]
    pub status: TopupStatus,
    pub reason: Option<String>,
    pub created_at: i64,
    pub decided_at: Option<i64>,
}

/// Top-ups, optionally of one status, oldest pending first (a queue), with the total.
pub async fn list(
    conn: &mut db::Conn,
    status: Option<TopupStatus>,
    limit: i64,
    offset: i64,
) -> EngineResult<(Vec<TopupListRow>, i64)> {
    // No `$1 IS NULL` trick: PostgreSQL cannot type an untyped NULL parameter.
    let where_ = if status.is_some() {
        " WHERE t.status = $1"
    } else {
        ""
    };
    let n = if status.is_some() { 1 } else { 0 };
    let count_sql = format!("SELECT COUNT(*) FROM topups t{where_}");
    let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
    if let Some(s) = status {
        count = count.bind(s.as_str());
    }
    let total = count.fetch_one(&mut *conn).await?;
    let sql = format!(
        "SELECT t.id, t.reseller_id, r.display_name AS reseller_name, t.amount, t.receipt_mime, t.status, t.reason, \
         t.created_at, t.decided_at FROM topups t JOIN resellers r ON r.id = t.reseller_id{where_} \
         ORDER BY t.id LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2
    );
    let mut q = sqlx::query_as::<_, TopupListRow>(&sql);
    if let Some(s) = status {
        q = q.bind(s.as_str());
    }
    let rows = q.bind(limit).bind(offset).fetch_all(&mut *conn).await?;
    Ok((rows, total))
}

/// A reseller's own top-ups, newest first.
pub async fn of_reseller(
    conn: &mut db::Conn,
    reseller_id: i64,
    limit: i64,
) -> EngineResult<Vec<Topup>> {
    Ok(db::q::all(
        &mut *conn,
        "SELECT * FROM topups WHERE reseller_id = $1 ORDER BY id DESC LIMIT $2",
        (reseller_id, limit),
    )
    .await?)
}

pub async fn count_pending(conn: &mut db::Conn) -> EngineResult<i64> {
    Ok(db::q::scalar(
        &mut *conn,
        "SELECT COUNT(*) FROM topups WHERE status = $1",
        (TopupStatus::Pending.as_str(),),
    )
    .await?)
}

/// Where a receipt lives on disk (the stored name is ours, never the uploader's).
pub fn receipt_file(data_dir: &Path, t: &Topup) -> Option<PathBuf> {
    let name = t.receipt_path.as_str();
    let safe = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '.');
    safe.then(|| receipts_dir(data_dir).join(name))
}

/// What a decision did.
#[derive(Debug)]
pub enum Decision {
    /// This call decided it.
    Done(Topup),
    /// Already decided the same way before: nothing changed (idempotent).
    Unchanged(Topup),
    /// Already decided the other way: refused.
    Conflict(Topup),
}

/// Moves a pending top-up to `to` (a rejection with its reason) by one conditional update, so
/// two deciders cannot both win, and rereads it. `Err` when it was decided before: the same way
/// (`Unchanged`) or the other (`Conflict`); the caller then writes nothing.
async fn decide(
    conn: &mut db::Conn,
    id: i64,
    to: TopupStatus,
    reason: Option<&str>,
    actor: &Actor,
    now: i64,
) -> EngineResult<Result<Topup, Decision>> {
    // COALESCE: an approval has no reason and leaves the column as it is.
    let changed = db::q::execute(
        &mut *conn,
        "UPDATE topups SET status = $5, reason = COALESCE($1, reason), decided_at = $2, decided_by = $3 \
         WHERE id = $4 AND status = $6",
        (reason, now, actor.id, id, to.as_str(), TopupStatus::Pending.as_str()),
    )
    .await?;
    let t = get(conn, id).await?.ok_or(db::DbError::NotFound)?;
    Ok(match changed {
        0 if t.status == to => Err(Decision::Unchanged(t)),
        0 => Err(Decision::Conflict(t)),
        _ => Ok(t),
    })
}

/// Approves a pending top-up: status, ledger credit (key `topup:{id}`) and audit in one
/// transaction, then reactivation when the balance rose above the threshold. Approving twice
/// credits once.
pub async fn approve(ctx: &Ctx, id: i64, actor: &Actor, origin: &Origin) -> EngineResult<Decision> {
    let now = chrono::Utc::now().timestamp();
    let mut tx = ctx.db.begin_write().await?;
    let t = match decide(&mut tx, id, TopupStatus::Approved, None, actor, now).await? {
        Ok(t) => t,
        Err(decided) => return Ok(decided),
    };
    let d = wallet::defaults(&mut tx, &ctx.settings).await?;
    let before = db::resellers::get_for_update(&mut tx, ctx.db.backend(), t.reseller_id)
        .await?
        .ok_or(db::DbError::NotFound)?
        .wallet_balance;
    let ledger_id = wallet::post_entry(
        &mut tx,
        t.reseller_id,
        LedgerKind::Topup,
        t.amount,
        &format!("topup:{id}"),
        None,
        Some((LedgerRef::Topup, id)),
        actor.id,
    )
    .await?;
    let audit_meta = serde_json::json!({
        "reseller_id": t.reseller_id,
        "amount": t.amount,
        "before": {"status": TopupStatus::Pending, "balance": before},
        "after": {"status": TopupStatus::Approved, "balance": before + if ledger_id.is_some() { t.amount } else { 0 }},
        "ledger_id": ledger_id,
    });
    let audit_row = NewAudit::about(
        actor,
        origin,
        AuditAction::WalletTopupApproved,
        (AuditTarget::Topup, id),
        audit_meta,
    );
    db::audit::record(&mut tx, audit_row).await?;
    let reactivated =
        wallet::reactivate_if_funded(&mut tx, t.reseller_id, d.threshold, actor, origin, now)
            .await?;
    tx.commit().await?;
    if reactivated.is_some() {
        ctx.wake.notify_one();
    }
    Ok(Decision::Done(t))
}

/// Rejects a pending top-up with a reason (required). Rejecting twice changes nothing.
pub async fn reject(
    ctx: &Ctx,
    id: i64,
    reason: &str,
    actor: &Actor,
    origin: &Origin,
) -> EngineResult<Decision> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(EngineError::Invalid("reason".into()));
    }
    let now = chrono::Utc::now().timestamp();
    let mut tx = ctx.db.begin_write().await?;
    let t = match decide(&mut tx, id, TopupStatus::Rejected, Some(reason), actor, now).await? {
        Ok(t) => t,
        Err(decided) => return Ok(decided),
    };
    let audit_row = NewAudit::about(
        actor,
        origin,
        AuditAction::WalletTopupRejected,
        (AuditTarget::Topup, id),
        serde_json::json!({
            "reseller_id": t.reseller_id,
            "amount": t.amount,
            "before": {"status": TopupStatus::Pending},
            "after": {"status": TopupStatus::Rejected},
        }),
    )
    .because(reason);
    db::audit::record(&mut tx, audit_row).await?;
    tx.commit().await?;
    Ok(Decision::Done(t))
}
