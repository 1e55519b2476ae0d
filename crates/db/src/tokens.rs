//! Web sessions and named API tokens. Only keyed hashes of the secrets are stored, so a
//! database leak does not hand out working sessions or tokens.

use crate::{Conn, DbResult};
use domain::status::TokenScope;
use serde::Serialize;
use sqlx::FromRow;

#[derive(Clone, Debug, FromRow)]
pub struct Session {
    pub id: i64,
    pub token_hash: String,
    pub user_id: i64,
    pub csrf_token: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    /// Last request made with it; None until the first one after sign-in.
    pub last_seen_at: Option<i64>,
}

impl Session {
    /// When it was last used: its last request, else its sign-in.
    pub fn active_at(&self) -> i64 {
        self.last_seen_at.unwrap_or(self.created_at)
    }
}

pub async fn create_session(
    conn: &mut Conn,
    token_hash: &str,
    user_id: i64,
    csrf_token: &str,
    ip: Option<&str>,
    user_agent: Option<&str>,
    expires_at: i64,
) -> DbResult<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, ip, user_agent, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(csrf_token)
    .bind(ip)
    .bind(user_agent)
    .bind(chrono::Utc::now().timestamp())
    .bind(expires_at)
    .fetch_one(&mut *conn)
    .await?)
}

/// The session of a cookie, if it has neither expired (`now`) nor gone unused since
/// `idle_cutoff`.
pub async fn session_by_hash(
    conn: &mut Conn,
    token_hash: &str,
    now: i64,
    idle_cutoff: i64,
) -> DbResult<Option<Session>> {
    Ok(sqlx::query_as(
        "SELECT * FROM sessions WHERE token_hash = $1 AND expires_at > $2 \
         AND COALESCE(last_seen_at, created_at) > $3",
    )
    .bind(token_hash)
    .bind(now)
    .bind(idle_cutoff)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Records a request made with a session.
pub async fn touch_session(conn: &mut Conn, id: i64, now: i64) -> DbResult<()> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A user's sessions still in force (as [`session_by_hash`] would accept them), the most
/// recently used first.
pub async fn sessions_of(
    conn: &mut Conn,
    user_id: i64,
    now: i64,
    idle_cutoff: i64,
) -> DbResult<Vec<Session>> {
    Ok(sqlx::query_as(
        "SELECT * FROM sessions WHERE user_id = $1 AND expires_at > $2 \
         AND COALESCE(last_seen_at, created_at) > $3 \
         ORDER BY COALESCE(last_seen_at, created_at) DESC, id DESC",
    )
    .bind(user_id)
    .bind(now)
    .bind(idle_cutoff)
    .fetch_all(&mut *conn)
    .await?)
}

/// Ends one session of a user (never another user's); whether there was one.
pub async fn delete_session_of(conn: &mut Conn, user_id: i64, id: i64) -> DbResult<bool> {
    Ok(
        sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
            == 1,
    )
}

pub async fn delete_session(conn: &mut Conn, token_hash: &str) -> DbResult<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Ends every session of a user but the one whose hash is `keep`; returns how many ended.
pub async fn delete_sessions_of(
    conn: &mut Conn,
    user_id: i64,
    keep: Option<&str>,
) -> DbResult<u64> {
    Ok(
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(user_id)
            .bind(keep.unwrap_or(""))
            .execute(&mut *conn)
            .await?
            .rows_affected(),
    )
}

/// Revokes every API token of a user still in force; returns how many.
pub async fn revoke_all_api_tokens(conn: &mut Conn, user_id: i64, now: i64) -> DbResult<u64> {
    Ok(sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

pub async fn delete_expired_sessions(conn: &mut Conn, now: i64) -> DbResult<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

#[derive(Clone, Debug, FromRow, Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    #[serde(skip)]
    pub token_hash: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    #[sqlx(try_from = "String")]
    pub scope: TokenScope,
}

/// What a new API token is: its owner, name, access and end.
pub struct NewApiToken<'a> {
    pub user_id: i64,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub scope: TokenScope,
    pub expires_at: Option<i64>,
}

pub async fn create_api_token(conn: &mut Conn, t: NewApiToken<'_>) -> DbResult<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_at, expires_at, scope) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(t.user_id)
    .bind(t.name)
    .bind(t.token_hash)
    .bind(chrono::Utc::now().timestamp())
    .bind(t.expires_at)
    .bind(t.scope.as_str())
    .fetch_one(&mut *conn)
    .await?)
}

/// A live token: not revoked, not expired. Touches `last_used_at` at most once a minute.
pub async fn api_token_by_hash(
    conn: &mut Conn,
    token_hash: &str,
    now: i64,
) -> DbResult<Option<ApiToken>> {
    let token: Option<ApiToken> = sqlx::query_as(
        "SELECT * FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL \
         AND (expires_at IS NULL OR expires_at > $2)",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(t) = &token {
        if t.last_used_at.is_none_or(|at| now - at >= 60) {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(t.id)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(token)
}

/// Named tokens a user created on the web page (the short-lived ones from `/auth/token` too).
pub async fn list_api_tokens(conn: &mut Conn, user_id: i64) -> DbResult<Vec<ApiToken>> {
    Ok(
        sqlx::query_as("SELECT * FROM api_tokens WHERE user_id = $1 ORDER BY id DESC")
            .bind(user_id)
            .fetch_all(&mut *conn)
            .await?,
    )
}

/// Revokes one of the user's own tokens; false when it is not theirs or already revoked.
pub async fn revoke_api_token(conn: &mut Conn, user_id: i64, token_id: i64) -> DbResult<bool> {
    Ok(sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
    )
    .bind(chrono::Utc::now().timestamp())
    .bind(token_id)
    .bind(user_id)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}
