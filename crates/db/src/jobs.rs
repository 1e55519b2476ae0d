//! Background jobs an admin starts (a reseller-wide usage reset), with progress and result.

use crate::{q, Conn, DbResult};
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
    q::scalar(
        conn,
        "INSERT INTO jobs (kind, target_id, status, created_by, created_at) VALUES ($1, $2, $5, $3, $4) RETURNING id",
        (kind.as_str(), target_id, created_by, now, JobStatus::Queued.as_str()),
    )
    .await
}

pub async fn get(conn: &mut Conn, id: i64) -> DbResult<Option<Job>> {
    q::optional(conn, "SELECT * FROM jobs WHERE id = $1", (id,)).await
}

pub async fn queued(conn: &mut Conn) -> DbResult<Vec<Job>> {
    q::all(
        conn,
        "SELECT * FROM jobs WHERE status IN ($1, $2) ORDER BY id",
        (JobStatus::Queued.as_str(), JobStatus::Running.as_str()),
    )
    .await
}

pub async fn start(conn: &mut Conn, id: i64, total: i64, now: i64) -> DbResult<()> {
    q::execute(
        conn,
        "UPDATE jobs SET status = $4, total = $1, started_at = COALESCE(started_at, $2) WHERE id = $3",
        (total, now, id, JobStatus::Running.as_str()),
    )
    .await?;
    Ok(())
}

pub async fn progress(
    conn: &mut Conn,
    id: i64,
    done: i64,
    result: &serde_json::Value,
) -> DbResult<()> {
    q::execute(
        conn,
        "UPDATE jobs SET done = $1, result = $2 WHERE id = $3",
        (done, result.to_string(), id),
    )
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
    q::execute(
        conn,
        "UPDATE jobs SET status = $1, result = $2, finished_at = $3 WHERE id = $4",
        (status.as_str(), result.to_string(), now, id),
    )
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
    q::execute(
        conn,
        "UPDATE jobs SET status = $4, result = $1, finished_at = $2 WHERE id = $3 AND status <> $5",
        (
            result.to_string(),
            now,
            id,
            JobStatus::Failed.as_str(),
            JobStatus::Done.as_str(),
        ),
    )
    .await?;
    Ok(())
}
