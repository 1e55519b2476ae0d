//! Sign-in accounts: admins and the logins of resellers. Password hashing happens in the
//! caller (web); this module stores and finds rows.

use crate::decode::Flag;
use crate::{Conn, DbResult};
use domain::status::Role;
use serde::Serialize;
use sqlx::FromRow;

#[derive(Clone, Debug, FromRow, Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    #[serde(skip)]
    pub password_hash: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub reseller_id: Option<i64>,
    #[sqlx(try_from = "Flag")]
    pub is_active: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

pub async fn create(
    conn: &mut Conn,
    username: &str,
    password_hash: &str,
    role: Role,
    reseller_id: Option<i64>,
) -> DbResult<i64> {
    let now = chrono::Utc::now().timestamp();
    Ok(sqlx::query_scalar(
        "INSERT INTO users (username, password_hash, role, reseller_id, is_active, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 1, $5, $5) RETURNING id",
    )
    .bind(username)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(reseller_id)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?)
}

/// The account of a login, whatever its case (logins are unique case-insensitively).
pub async fn by_username(conn: &mut Conn, username: &str) -> DbResult<Option<User>> {
    Ok(
        sqlx::query_as("SELECT * FROM users WHERE LOWER(username) = LOWER($1)")
            .bind(username)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

pub async fn by_id(conn: &mut Conn, id: i64) -> DbResult<Option<User>> {
    Ok(sqlx::query_as("SELECT * FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?)
}

pub async fn by_reseller(conn: &mut Conn, reseller_id: i64) -> DbResult<Option<User>> {
    Ok(
        sqlx::query_as("SELECT * FROM users WHERE reseller_id = $1 ORDER BY id LIMIT 1")
            .bind(reseller_id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// The login of each reseller of `ids` (its first user), in one statement.
pub async fn logins_of(
    conn: &mut Conn,
    reseller_ids: &[i64],
) -> DbResult<std::collections::HashMap<i64, String>> {
    if reseller_ids.is_empty() {
        return Ok(Default::default());
    }
    let sql = format!(
        "SELECT reseller_id, username FROM users WHERE reseller_id IN ({}) ORDER BY id DESC",
        crate::id_list(reseller_ids)
    );
    let rows: Vec<(i64, String)> = sqlx::query_as(&sql).fetch_all(&mut *conn).await?;
    // Newest first, so the first user of each reseller is the one left in the map.
    Ok(rows.into_iter().collect())
}

pub async fn count_admins(conn: &mut Conn) -> DbResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = $1")
            .bind(Role::Admin.as_str())
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// Every account's id, name and role, by name (the audit filter's choice of person; bounded by
/// `limit` for very large installations).
pub async fn names(conn: &mut Conn, limit: i64) -> DbResult<Vec<(i64, String, String)>> {
    Ok(
        sqlx::query_as("SELECT id, username, role FROM users ORDER BY username LIMIT $1")
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?,
    )
}
