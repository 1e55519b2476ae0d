//! Panel rows: connection details (secrets stored encrypted by the caller), kind-specific
//! settings as JSON, and health from the last contacts.

use crate::decode::Flag;
use crate::{q, Conn, DbResult};
use domain::status::PanelKind;
use serde::Serialize;
use sqlx::FromRow;

#[derive(Clone, Debug, FromRow, Serialize)]
pub struct Panel {
    pub id: i64,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub kind: PanelKind,
    pub base_url: String,
    pub username: Option<String>,
    #[serde(skip)]
    pub password_enc: Option<String>,
    #[serde(skip)]
    pub api_key_enc: Option<String>,
    pub settings: String,
    #[sqlx(try_from = "Flag")]
    pub is_active: bool,
    pub last_success_at: Option<i64>,
    pub consecutive_failures: i64,
    pub last_error: Option<String>,
    pub last_sync_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

pub struct NewPanel<'a> {
    pub name: &'a str,
    pub kind: PanelKind,
    pub base_url: &'a str,
    pub username: Option<&'a str>,
    pub password_enc: Option<&'a str>,
    pub api_key_enc: Option<&'a str>,
    pub settings: &'a str,
}

pub async fn create(conn: &mut Conn, p: NewPanel<'_>) -> DbResult<i64> {
    let now = chrono::Utc::now().timestamp();
    q::scalar(
        conn,
        "INSERT INTO panels (name, kind, base_url, username, password_enc, api_key_enc, settings, is_active, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8) RETURNING id",
        (
            p.name,
            p.kind.as_str(),
            p.base_url,
            p.username,
            p.password_enc,
            p.api_key_enc,
            p.settings,
            now,
        ),
    )
    .await
}

pub async fn get(conn: &mut Conn, id: i64) -> DbResult<Option<Panel>> {
    q::optional(conn, "SELECT * FROM panels WHERE id = $1", (id,)).await
}

pub async fn list(conn: &mut Conn) -> DbResult<Vec<Panel>> {
    q::all(conn, "SELECT * FROM panels ORDER BY id", ()).await
}

pub async fn list_active(conn: &mut Conn) -> DbResult<Vec<Panel>> {
    q::all(
        conn,
        "SELECT * FROM panels WHERE is_active = 1 ORDER BY id",
        (),
    )
    .await
}

/// Replaces the editable fields; secrets are passed through unchanged by the caller when omitted.
pub async fn update(conn: &mut Conn, id: i64, p: NewPanel<'_>, is_active: bool) -> DbResult<()> {
    q::execute(
        conn,
        "UPDATE panels SET name = $1, kind = $2, base_url = $3, username = $4, password_enc = $5, api_key_enc = $6, \
         settings = $7, is_active = $8, updated_at = $9 WHERE id = $10",
        (
            p.name,
            p.kind.as_str(),
            p.base_url,
            p.username,
            p.password_enc,
            p.api_key_enc,
            p.settings,
            is_active as i64,
            chrono::Utc::now().timestamp(),
            id,
        ),
    )
    .await?;
    Ok(())
}

pub async fn record_success(conn: &mut Conn, id: i64, now: i64) -> DbResult<()> {
    q::execute(
        conn,
        "UPDATE panels SET last_success_at = $1, consecutive_failures = 0, last_error = NULL WHERE id = $2",
        (now, id),
    )
    .await?;
    Ok(())
}

pub async fn record_failure(conn: &mut Conn, id: i64, error: &str) -> DbResult<()> {
    let error: String = error.chars().take(500).collect();
    q::execute(
        conn,
        "UPDATE panels SET consecutive_failures = consecutive_failures + 1, last_error = $1 WHERE id = $2",
        (error, id),
    )
    .await?;
    Ok(())
}

pub async fn record_sync(conn: &mut Conn, id: i64, now: i64) -> DbResult<()> {
    q::execute(
        conn,
        "UPDATE panels SET last_sync_at = $1 WHERE id = $2",
        (now, id),
    )
    .await?;
    Ok(())
}

/// Each panel's count of users no config claims, as its last successful sync counted them.
pub async fn unmanaged_counts(conn: &mut Conn) -> DbResult<std::collections::HashMap<i64, i64>> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT s.panel_id, s.unknown_users FROM sync_runs s WHERE s.id = \
         (SELECT MAX(id) FROM sync_runs WHERE panel_id = s.panel_id AND ok = 1)",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().collect())
}
