//! Named leases: with several instances on one database, the holder of a job's lease runs it.
//! A lease expires by itself, so a crashed holder never blocks the job for longer than its TTL.

use crate::{q, Conn, DbResult};

/// Takes the lease `name` for `owner` until `now + ttl_secs` if it is free, expired, or already
/// ours. Returns whether we hold it. One conditional statement, so two instances cannot both win.
pub async fn try_acquire(
    conn: &mut Conn,
    name: &str,
    owner: &str,
    now: i64,
    ttl_secs: i64,
) -> DbResult<bool> {
    let affected = q::execute(
        conn,
        "INSERT INTO job_leases (name, owner, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at \
         WHERE job_leases.expires_at <= $4 OR job_leases.owner = excluded.owner",
        (name, owner, now + ttl_secs, now),
    )
    .await?;
    Ok(affected == 1)
}

pub async fn release(conn: &mut Conn, name: &str, owner: &str) -> DbResult<()> {
    q::execute(
        conn,
        "DELETE FROM job_leases WHERE name = $1 AND owner = $2",
        (name, owner),
    )
    .await?;
    Ok(())
}
