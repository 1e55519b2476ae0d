//! Quota and window enforcement for traffic resellers (spec §8) — issue 5 fills this in.

use crate::{Ctx, EngineResult};

/// Evaluates the one predicate for a reseller and suspends/recovers it (and its configs).
/// Called after every sync and right after any admin change to the reseller.
pub async fn enforce_reseller(
    _ctx: &Ctx,
    _reseller_id: i64,
    _now: chrono::DateTime<chrono::Utc>,
    _origin: &db::audit::Origin,
) -> EngineResult<()> {
    Ok(())
}
