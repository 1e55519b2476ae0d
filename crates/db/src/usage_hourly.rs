//! Lifetime growth per reseller and UTC hour: written with every observation, read by charts
//! and the wallet's burn rate. Additive upsert, so concurrent writers sum correctly.

use crate::{q, Conn, DbResult};

pub async fn add(conn: &mut Conn, reseller_id: i64, hour_start: i64, bytes: i64) -> DbResult<()> {
    q::execute(
        conn,
        "INSERT INTO reseller_usage_hourly (reseller_id, hour_start, bytes) VALUES ($1, $2, $3) \
         ON CONFLICT (reseller_id, hour_start) DO UPDATE SET bytes = reseller_usage_hourly.bytes + excluded.bytes",
        (reseller_id, hour_start, bytes),
    )
    .await?;
    Ok(())
}

/// (hour_start, bytes) from `since` on, oldest first.
pub async fn since(conn: &mut Conn, reseller_id: i64, since: i64) -> DbResult<Vec<(i64, i64)>> {
    q::all(
        conn,
        "SELECT hour_start, bytes FROM reseller_usage_hourly WHERE reseller_id = $1 AND hour_start >= $2 ORDER BY hour_start",
        (reseller_id, since),
    )
    .await
}
