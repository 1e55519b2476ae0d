//! Admin-editable settings stored as key/value text, with typed accessors for the ones the
//! engine reads. Defaults live with the caller so the environment can supply them.

use crate::{q, Backend, Conn, DbResult};

pub async fn get(conn: &mut Conn, key: &str) -> DbResult<Option<String>> {
    q::scalar_optional(conn, "SELECT value FROM settings WHERE key = $1", (key,)).await
}

pub async fn get_i64(conn: &mut Conn, key: &str) -> DbResult<Option<i64>> {
    Ok(get(conn, key).await?.and_then(|v| v.trim().parse().ok()))
}

pub async fn set(conn: &mut Conn, _backend: Backend, key: &str, value: &str) -> DbResult<()> {
    // ON CONFLICT .. DO UPDATE is spelled the same on SQLite (3.24+) and PostgreSQL.
    q::execute(
        conn,
        "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (key, value, chrono::Utc::now().timestamp()),
    )
    .await?;
    Ok(())
}

pub async fn all(conn: &mut Conn) -> DbResult<Vec<(String, String)>> {
    let rows: Vec<(String, String)> =
        q::all(conn, "SELECT key, value FROM settings ORDER BY key", ()).await?;
    Ok(rows)
}
