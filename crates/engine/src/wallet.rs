//! The wallet ledger (spec §9) — issue 6 fills this in.

use crate::EngineResult;

/// Appends a ledger row and moves the balance by `amount` in the caller's write transaction.
/// Idempotent on `idempotency_key`: returns None when that key was already posted.
#[allow(clippy::too_many_arguments)]
pub async fn post_entry(
    _conn: &mut db::Conn,
    _reseller_id: i64,
    _kind: &str,
    _amount: i64,
    _idempotency_key: &str,
    _note: Option<&str>,
    _ref: Option<(&str, i64)>,
    _actor_id: Option<i64>,
) -> EngineResult<Option<i64>> {
    Ok(None)
}
