//! Failed sign-ins, one row each, counted per (login, IP) and per IP over a window. In the
//! database so that every instance on it shares the counts. Logins are stored in their normal
//! form (at most 64 characters), and rows older than the window are deleted as new ones come.

use crate::{q, Conn, DbResult};
use sqlx::Row;

/// What the limiter decides from: failures since the window's start and the latest one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub pair: i64,
    pub pair_last: Option<i64>,
    pub ip: i64,
    pub ip_last: Option<i64>,
}

pub async fn counts(conn: &mut Conn, login: &str, ip: &str, since: i64) -> DbResult<Counts> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(CASE WHEN login = $1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS pair, \
                MAX(CASE WHEN login = $1 THEN failed_at END) AS pair_last, \
                COUNT(*) AS ip_n, MAX(failed_at) AS ip_last \
         FROM login_failures WHERE ip = $2 AND failed_at >= $3",
    )
    .bind(login)
    .bind(ip)
    .bind(since)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Counts {
        pair: row.try_get("pair")?,
        pair_last: row.try_get("pair_last")?,
        ip: row.try_get("ip_n")?,
        ip_last: row.try_get("ip_last")?,
    })
}

/// Records a failure and forgets those older than `forget_before`.
pub async fn record(
    conn: &mut Conn,
    login: &str,
    ip: &str,
    now: i64,
    forget_before: i64,
) -> DbResult<()> {
    q::execute(
        conn,
        "DELETE FROM login_failures WHERE failed_at < $1",
        (forget_before,),
    )
    .await?;
    q::execute(
        conn,
        "INSERT INTO login_failures (login, ip, failed_at) VALUES ($1, $2, $3)",
        (login, ip, now),
    )
    .await?;
    Ok(())
}

/// A correct password clears that login's failures from that IP (not the IP's others).
pub async fn clear_pair(conn: &mut Conn, login: &str, ip: &str) -> DbResult<()> {
    q::execute(
        conn,
        "DELETE FROM login_failures WHERE login = $1 AND ip = $2",
        (login, ip),
    )
    .await?;
    Ok(())
}

/// The IPs that failed for `login` since `since`, with their counts, most recent first.
pub async fn ips_for(conn: &mut Conn, login: &str, since: i64) -> DbResult<Vec<(String, i64)>> {
    let rows = sqlx::query(
        "SELECT ip, COUNT(*) AS n, MAX(failed_at) AS last FROM login_failures \
         WHERE login = $1 AND failed_at >= $2 GROUP BY ip ORDER BY last DESC LIMIT 50",
    )
    .bind(login)
    .bind(since)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("ip")?, r.try_get("n")?)))
        .collect()
}

/// Rows currently stored (for tests of the bound).
pub async fn stored(conn: &mut Conn) -> DbResult<i64> {
    q::scalar(conn, "SELECT COUNT(*) FROM login_failures", ()).await
}
