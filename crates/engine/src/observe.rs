//! Recording a panel counter reading for one config: the accounting of spec §7 applied with a
//! conditional update, so concurrent readers (sync, a reset) never lose or double a byte.

use crate::EngineResult;
use domain::usage::{observe, UsageCounters};

/// Applies `observed` to the config's counters; returns the bytes added to lifetime usage.
pub async fn record(
    db: &db::Db,
    config_id: i64,
    observed: i64,
    remote_state: Option<&str>,
    now: i64,
) -> EngineResult<i64> {
    let mut conn = db.acquire().await?;
    // A conditional update that lost a race re-reads and applies again: at most a few rounds.
    for _ in 0..20 {
        let Some(c) = db::configs::get(&mut conn, config_id).await? else {
            return Ok(0);
        };
        let prev = UsageCounters {
            usage_bytes: c.usage_bytes,
            lifetime_usage_bytes: c.lifetime_usage_bytes,
        };
        let next = observe(prev, observed);
        if db::configs::store_observation(&mut conn, config_id, prev, next, remote_state, now)
            .await?
        {
            let added = next.lifetime_usage_bytes - prev.lifetime_usage_bytes;
            if added > 0 {
                db::usage_hourly::add(
                    &mut conn,
                    c.reseller_id,
                    domain::tehran::hour_start(db::time::from_ts(now)).timestamp(),
                    added,
                )
                .await?;
            }
            return Ok(added);
        }
    }
    Err(crate::EngineError::Invalid(format!(
        "config {config_id}: observation kept losing races"
    )))
}
