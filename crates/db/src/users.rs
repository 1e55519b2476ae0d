//! Sign-in accounts: admins and the logins of resellers. Password hashing happens in the
//! caller (web); this module stores and finds rows.

use crate::{Conn, DbResult};
use serde::Serialize;
use sqlx::FromRow;

#[derive(Clone, Debug, FromRow, Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    #[serde(skip)]
    pub password_hash: String,
    pub role: String,
    pub reseller_id: Option<i64>,
    pub is_active: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

pub async fn create(
    conn: &mut Conn,
    username: &str,
    password_hash: &str,
    role: &str,
    reseller_id: Option<i64>,
) -> DbResult<i64> {
    let now = chrono::Utc::now().timestamp();
    Ok(sqlx::query_scalar(
        "INSERT INTO users (username, password_hash, role, reseller_id, is_active, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 1, $5, $5) RETURNING id",
    )
    .bind(username)
    .bind(password_hash)
    .bind(role)
    .bind(reseller_id)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn by_username(conn: &mut Conn, username: &str) -> DbResult<Option<User>> {
    Ok(sqlx::query_as("SELECT * FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(&mut *conn)
        .await?)
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

pub async fn count_admins(conn: &mut Conn) -> DbResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin'")
            .fetch_one(&mut *conn)
            .await?,
    )
}
