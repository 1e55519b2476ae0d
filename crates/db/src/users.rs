//! Sign-in accounts: admins and the logins of resellers. Password hashing happens in the
//! caller (web); this module stores and finds rows.

use crate::decode::Flag;
use crate::{q, Conn, DbResult};
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
    q::scalar(
        conn,
        "INSERT INTO users (username, password_hash, role, reseller_id, is_active, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 1, $5, $5) RETURNING id",
        (username, password_hash, role.as_str(), reseller_id, now),
    )
    .await
}

/// The account of a login, whatever its case (logins are unique case-insensitively).
pub async fn by_username(conn: &mut Conn, username: &str) -> DbResult<Option<User>> {
    q::optional(
        conn,
        "SELECT * FROM users WHERE LOWER(username) = LOWER($1)",
        (username,),
    )
    .await
}

pub async fn by_id(conn: &mut Conn, id: i64) -> DbResult<Option<User>> {
    q::optional(conn, "SELECT * FROM users WHERE id = $1", (id,)).await
}

pub async fn by_reseller(conn: &mut Conn, reseller_id: i64) -> DbResult<Option<User>> {
    q::optional(
        conn,
        "SELECT * FROM users WHERE reseller_id = $1 ORDER BY id LIMIT 1",
        (reseller_id,),
    )
    .await
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
    q::scalar(
        conn,
        "SELECT COUNT(*) FROM users WHERE role = $1",
        (Role::Admin.as_str(),),
    )
    .await
}

/// Every account's id, name and role, by name (the audit filter's choice of person; bounded by
/// `limit` for very large installations).
pub async fn names(conn: &mut Conn, limit: i64) -> DbResult<Vec<(i64, String, String)>> {
    q::all(
        conn,
        "SELECT id, username, role FROM users ORDER BY username LIMIT $1",
        (limit,),
    )
    .await
}

/// Replaces a user's password hash.
pub async fn set_password(conn: &mut Conn, id: i64, password_hash: &str) -> DbResult<bool> {
    Ok(q::execute(
        conn,
        "UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3",
        (password_hash, chrono::Utc::now().timestamp(), id),
    )
    .await?
        == 1)
}

/// Enables or disables an account (a disabled one cannot sign in; its sessions stop working).
pub async fn set_active(conn: &mut Conn, id: i64, active: bool) -> DbResult<bool> {
    Ok(q::execute(
        conn,
        "UPDATE users SET is_active = $1, updated_at = $2 WHERE id = $3",
        (i64::from(active), chrono::Utc::now().timestamp(), id),
    )
    .await?
        == 1)
}

/// Every admin account, by name.
pub async fn admins(conn: &mut Conn) -> DbResult<Vec<User>> {
    q::all(
        conn,
        "SELECT * FROM users WHERE role = $1 ORDER BY username",
        (Role::Admin.as_str(),),
    )
    .await
}

/// The active admins' ids, locked for the rest of the transaction on PostgreSQL, so two admins
/// disabling each other at once cannot leave none: the second waits, then sees one fewer.
pub async fn lock_active_admins(conn: &mut Conn, backend: crate::Backend) -> DbResult<Vec<i64>> {
    let sql = format!(
        "SELECT id FROM users WHERE role = $1 AND is_active = 1 ORDER BY id{}",
        backend.for_update()
    );
    Ok(sqlx::query_scalar(&sql)
        .bind(Role::Admin.as_str())
        .fetch_all(&mut *conn)
        .await?)
}
