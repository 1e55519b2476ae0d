//! Recording a panel counter reading for one config: the accounting of spec §7 applied with a
//! conditional update, so concurrent readers (sync, a reset) never lose or double a byte.

use crate::EngineResult;
use domain::status::RemoteState;
use domain::usage::{observe, UsageCounters};

/// What the panel reported, in the domain's terms (the one mapping from the adapters' type;
/// a state added to `panels` fails to compile here until it is given its stored name).
pub fn remote_state(u: &panels::RemoteUser) -> RemoteState {
    match u.state {
        panels::RemoteState::Active => RemoteState::Active,
        panels::RemoteState::Disabled => RemoteState::Disabled,
        panels::RemoteState::Limited => RemoteState::Limited,
        panels::RemoteState::Expired => RemoteState::Expired,
        panels::RemoteState::OnHold => RemoteState::OnHold,
    }
}

fn counters(c: &db::configs::Config) -> UsageCounters {
    UsageCounters {
        usage_bytes: c.usage_bytes,
        lifetime_usage_bytes: c.lifetime_usage_bytes,
    }
}

/// Applies a reading taken AFTER `before` was read from our database, only if our counters are
/// still what they were then. Returns the bytes added to lifetime usage, or None when another
/// writer (a sync, a reset) stored a reading in between: this one may be older than theirs, so
/// it is dropped, and the next reading counts the traffic. The counters and the hourly total
/// change in one transaction.
pub async fn record_since(
    db: &db::Db,
    before: &db::configs::Config,
    observed: i64,
    remote_state: Option<RemoteState>,
    now: i64,
) -> EngineResult<Option<i64>> {
    let prev = counters(before);
    let next = observe(prev, observed);
    let mut tx = db.begin_write().await?;
    let (id, reseller) = (before.id, before.reseller_id);
    let added =
        db::configs::store_reading(&mut tx, id, reseller, prev, next, remote_state, now).await?;
    if added.is_some() {
        tx.commit().await?;
    }
    Ok(added)
}

/// [`record_since`] for a reading from a panel: one too large to believe is held back for the
/// admin (`quarantine`) instead, and Some(0) is returned (nothing counted).
pub async fn record_checked(
    ctx: &crate::Ctx,
    before: &db::configs::Config,
    observed: i64,
    remote_state: Option<RemoteState>,
    now: i64,
) -> EngineResult<Option<i64>> {
    let prev = counters(before);
    let next = observe(prev, observed);
    let elapsed = now - before.last_observed_at.unwrap_or(before.created_at);
    let ceiling = &ctx.settings.quarantine;
    let limit = before.traffic_limit_bytes;
    if let Some(delta) = ceiling.implausible(prev, next, elapsed, limit) {
        let mut tx = ctx.db.begin_write().await?;
        let suspect = crate::quarantine::Suspect {
            config_id: before.id,
            reseller_id: before.reseller_id,
            panel_id: before.panel_id,
            reading: observed,
            prev,
            delta,
            ceiling: ceiling.max_delta(elapsed, limit),
        };
        crate::quarantine::hold(&mut tx, &suspect, now).await?;
        tx.commit().await?;
        return Ok(Some(0));
    }
    record_since(&ctx.db, before, observed, remote_state, now).await
}

/// Applies a reading that is current now (the caller holds no older snapshot of our counters),
/// retrying when a concurrent writer gets there first. Returns the bytes added to lifetime usage.
pub async fn record(
    db: &db::Db,
    config_id: i64,
    observed: i64,
    remote_state: Option<RemoteState>,
    now: i64,
) -> EngineResult<i64> {
    for _ in 0..20 {
        let mut conn = db.acquire().await?;
        let Some(c) = db::configs::get(&mut conn, config_id).await? else {
            return Ok(0);
        };
        drop(conn);
        if let Some(added) = record_since(db, &c, observed, remote_state, now).await? {
            return Ok(added);
        }
    }
    Err(crate::EngineError::Invalid(format!(
        "config {config_id}: observation kept losing races"
    )))
}
