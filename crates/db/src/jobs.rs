//! Background jobs an admin starts (a reseller-wide usage reset), with progress and result.

use crate::{Conn, DbResult};
use domain::status::{JobKind, JobStatus};
use serde::Serialize;
use sqlx::FromRow;

#[derive(Clone, Debug, FromRow, Serialize)]
pub struct Job {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub kind: JobKind,
    pub target_id: Option<i64>,
    #[sqlx(try_from = "String")]
    pub status: JobStatus,
    pub total: i64,
    pub done: i64,
    pub result: String,
    pub created_by: Option<i64>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

pub async fn create(
    conn: &mut Conn,
    kind: JobKind,
    target_id: Option<i64>,
    created_by: Option<i64>,
    now: i64,
) -> DbResult<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO jobs (kind, target_id, status, created_by, created_at) VALUES ($1, $2, $5, $3, $4) RETURNING id",
    )
    .bind(kind.as_str())
    .bind(target_id)
    .bind(created_by)
    .bind(now)
    .bind(JobStatus::Queued.as_str())
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn get(conn: &mut Conn, id: i64) -> DbResult<Option<Job>> {
    Ok(sqlx::query_as("SELECT * FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?)
}

pub async fn queued(conn: &mut Conn) -> DbResult<Vec<Job>> {
    Ok(
        sqlx::query_as("SELECT * FROM jobs WHERE status IN ($1, $2) ORDER BY id")
            .bind(JobStatus::Queued.as_str())
            .bind(JobStatus::Running.as_str())
            .fetch_all(&mut *conn)
            .await?,
    )
}

pub async fn start(conn: &mut Conn, id: i64, total: i64, now: i64) -> DbResult<()> {
    sqlx::query("UPDATE jobs SET status = $4, total = $1, started_at = COALESCE(started_at, $2) WHERE id = $3")
        .bind(total)
        .bind(now)
        .bind(id)
        .bind(JobStatus::Running.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn progress(
    conn: &mut Conn,
    id: i64,
    done: i64,
    result: &serde_json::Value,
) -> DbResult<()> {
    sqlx::query("UPDATE jobs SET done = $1, result = $2 WHERE id = $3")
        .bind(done)
        .bind(result.to_string())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn finish(
    conn: &mut Conn,
    id: i64,
    status: JobStatus,
    result: &serde_json::Value,
    now: i64,
) -> DbResult<()> {
    sqlx::query("UPDATE jobs SET status = $1, result = $2, finished_at = $3 WHERE id = $4")
        .bind(status.as_str())
        .bind(result.to_string())
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Marks a job failed unless it already finished (a late error never undoes a completed job).
pub async fn fail_unless_done(
    conn: &mut Conn,
    id: i64,
    result: &serde_json::Value,
    now: i64,
) -> DbResult<()> {
    sqlx::query(
        "UPDATE jobs SET status = $4, result = $1, finished_at = $2 WHERE id = $3 AND status <> $5",
    )
    .bind(result.to_string())
    .bind(now)
    .bind(id)
    .bind(JobStatus::Failed.as_str())
    .bind(JobStatus::Done.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}
