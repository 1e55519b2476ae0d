//! Background jobs, shared by the pages and the API: a job's progress and running a usage sync now.

use crate::error::AppError;
use crate::state::AppState;
use crate::views::rfc3339;
use domain::status::{JobKind, JobStatus};
use serde::Serialize;
use utoipa::ToSchema;

/// A background job: `status` is queued, running, done or failed; `result` holds its counts.
#[derive(Serialize, ToSchema)]
pub struct JobView {
    pub id: i64,
    #[schema(value_type = String)]
    pub kind: JobKind,
    pub target_id: Option<i64>,
    #[schema(value_type = String)]
    pub status: JobStatus,
    pub done: i64,
    pub total: i64,
    #[schema(value_type = Object)]
    pub result: serde_json::Value,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

impl From<db::jobs::Job> for JobView {
    fn from(j: db::jobs::Job) -> Self {
        let mut result: serde_json::Value =
            serde_json::from_str(&j.result).unwrap_or(serde_json::json!({}));
        // Bookkeeping of the runner (who asked, from where) is the audit log's, not the result's.
        if let Some(o) = result.as_object_mut() {
            o.remove("origin");
            o.remove("settled_before");
        }
        JobView {
            id: j.id,
            kind: j.kind,
            target_id: j.target_id,
            status: j.status,
            done: j.done,
            total: j.total,
            result,
            created_at: rfc3339(j.created_at),
            started_at: j.started_at.map(rfc3339),
            finished_at: j.finished_at.map(rfc3339),
        }
    }
}

pub async fn load_job(state: &AppState, id: i64) -> Result<db::jobs::Job, AppError> {
    let mut conn = state.db.acquire().await?;
    db::jobs::get(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// A job the user may follow: an admin any, anyone else only the jobs it started (another's
/// answers 404, as if it did not exist).
pub async fn load_job_for(
    state: &AppState,
    user: &crate::auth::CurrentUser,
    id: i64,
) -> Result<db::jobs::Job, AppError> {
    let job = load_job(state, id).await?;
    if user.is_admin() || job.created_by == Some(user.id) {
        Ok(job)
    } else {
        Err(AppError::NotFound)
    }
}

#[derive(Serialize, ToSchema)]
pub struct SyncResult {
    pub panels_ok: i64,
    pub panels_failed: i64,
    pub configs_updated: i64,
    pub users_seen: i64,
    pub unknown_users: i64,
    pub missing_configs: i64,
    pub bytes_added: i64,
    /// Readings too large to believe, held back for the admin (`/usage/held-readings`).
    pub quarantined: i64,
}

/// Runs one usage sync now, after any sync already running (here or, for up to 30 s, in
/// another instance); 409 `sync_in_progress` when another instance's run outlasts that.
pub async fn run_sync(state: &AppState) -> Result<SyncResult, AppError> {
    let r = engine::sync::run_now(&state.engine)
        .await
        .map_err(crate::actions::usage::engine_error)?;
    if r.skipped_lease_held {
        return Err(AppError::conflict(
            "sync_in_progress",
            "a usage sync is already running",
        ));
    }
    Ok(SyncResult {
        panels_ok: r.panels_ok,
        panels_failed: r.panels_failed,
        configs_updated: r.configs_updated,
        users_seen: r.users_seen,
        unknown_users: r.unknown_users,
        missing_configs: r.missing_configs,
        bytes_added: r.bytes_added,
        quarantined: r.quarantined,
    })
}
