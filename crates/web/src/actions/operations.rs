//! The durable remote operations as the admin sees them, shared by the pages and the API: views,
//! retry now and cancel.

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::views::paging::PageParams;
use crate::views::rfc3339;
use db::audit::{NewAudit, Origin};
use domain::status::{AuditAction, AuditTarget, ConfigEventKind, OpKind, OpStatus};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::ToSchema;

/// How long "retry now" waits for the panel before answering with the operation still pending;
/// short, so a dead panel never holds the admin's page.
const RETRY_WAIT: Duration = Duration::from_secs(5);

#[derive(Serialize, ToSchema, Clone)]
pub struct AttemptView {
    pub started_at: String,
    pub finished_at: String,
    pub ok: bool,
    pub error: Option<String>,
}

#[derive(Serialize, ToSchema, Clone)]
pub struct OperationView {
    pub id: i64,
    pub panel_id: i64,
    pub config_id: Option<i64>,
    pub job_id: Option<i64>,
    /// `create`, `update`, `enable`, `disable`, `reset` or `delete`.
    #[schema(value_type = String)]
    pub kind: OpKind,
    /// `pending`, `done`, `failed` or `cancelled`.
    #[schema(value_type = String)]
    pub status: OpStatus,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub completed_at: Option<String>,
    /// Only on `GET /operations/{id}` and the actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt_log: Option<Vec<AttemptView>>,
}

impl From<db::operations::Operation> for OperationView {
    fn from(o: db::operations::Operation) -> Self {
        OperationView {
            id: o.id,
            panel_id: o.panel_id,
            config_id: o.config_id,
            job_id: o.job_id,
            kind: o.kind,
            next_attempt_at: (o.status == OpStatus::Pending).then(|| rfc3339(o.next_attempt_at)),
            status: o.status,
            attempts: o.attempts,
            last_error: o.last_error,
            created_at: rfc3339(o.created_at),
            updated_at: rfc3339(o.updated_at),
            completed_at: o.completed_at.map(rfc3339),
            attempt_log: None,
        }
    }
}

impl From<db::operations::Attempt> for AttemptView {
    fn from(a: db::operations::Attempt) -> Self {
        AttemptView {
            started_at: rfc3339(a.started_at),
            finished_at: rfc3339(a.finished_at),
            ok: a.ok,
            error: a.error,
        }
    }
}

/// `?status=` must be an operation status (or empty for all).
pub fn parse_status(s: Option<&str>) -> Result<Option<OpStatus>, AppError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|_| AppError::field("status", "operations.err.status")),
    }
}

pub async fn list_operations(
    state: &AppState,
    status: Option<OpStatus>,
    p: PageParams,
) -> Result<(Vec<db::operations::Operation>, i64), AppError> {
    let mut conn = state.db.acquire().await?;
    Ok(db::operations::list(&mut conn, status, p.per_page(), p.offset()).await?)
}

/// One operation with its attempts.
pub async fn operation_detail(
    state: &AppState,
    id: i64,
) -> Result<(db::operations::Operation, Vec<db::operations::Attempt>), AppError> {
    let mut conn = state.db.acquire().await?;
    let op = db::operations::get(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let attempts = db::operations::attempts(&mut conn, id).await?;
    Ok((op, attempts))
}

async fn record(
    conn: &mut db::Conn,
    user: &CurrentUser,
    origin: &Origin,
    (action, event): (AuditAction, ConfigEventKind),
    before: &db::operations::Operation,
) -> Result<(), AppError> {
    db::audit::record(
        conn,
        NewAudit {
            actor: &user.actor(),
            origin,
            action,
            target_type: Some(AuditTarget::Operation),
            target_id: Some(before.id),
            reason: None,
            meta: serde_json::json!({
                "kind": before.kind, "panel_id": before.panel_id, "config_id": before.config_id,
                "before": { "status": before.status, "attempts": before.attempts, "last_error": before.last_error },
            }),
        },
    )
    .await?;
    if let Some(cid) = before.config_id {
        db::configs::add_event(
            conn,
            cid,
            event,
            &user.username,
            None,
            None,
            serde_json::json!({ "operation": before.kind, "operation_id": before.id }),
        )
        .await?;
    }
    Ok(())
}

/// What an admin does to an operation by hand.
#[derive(Clone, Copy)]
enum Change {
    Retry,
    Cancel,
}

/// Applies `change` to operation `id` with its audit row and config event, in one transaction;
/// refused (409) when the operation's status does not allow it.
async fn change_operation(
    state: &AppState,
    user: &CurrentUser,
    origin: &Origin,
    id: i64,
    change: Change,
) -> Result<(), AppError> {
    let mut tx = state.db.begin_write().await?;
    let before = db::operations::get(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let now = chrono::Utc::now().timestamp();
    let (done, code, allowed, what) = match change {
        Change::Retry => (
            db::operations::retry_now(&mut tx, id, now).await?,
            "operation_not_retryable",
            "only pending or failed ones can be retried",
            (
                AuditAction::OperationRetried,
                ConfigEventKind::OperationRetried,
            ),
        ),
        Change::Cancel => (
            db::operations::cancel(&mut tx, id, now).await?,
            "operation_not_pending",
            "only pending ones can be cancelled",
            (
                AuditAction::OperationCancelled,
                ConfigEventKind::OperationCancelled,
            ),
        ),
    };
    if !done {
        return Err(AppError::conflict(
            code,
            format!("operation {id} is {}; {allowed}", before.status),
        ));
    }
    record(&mut tx, user, origin, what, &before).await?;
    tx.commit().await.map_err(db::DbError::from)?;
    Ok(())
}

/// Makes a pending or failed operation due now and runs it (bounded wait); what the panel does
/// not finish in time stays pending for the worker.
pub async fn retry_operation(
    state: &AppState,
    user: &CurrentUser,
    origin: &Origin,
    id: i64,
) -> Result<db::operations::Operation, AppError> {
    change_operation(state, user, origin, id, Change::Retry).await?;
    state.engine.wake.notify_one();
    let wait = state.engine.settings.wait_for_panel.min(RETRY_WAIT);
    engine::ops::run_now(&state.engine, id, wait)
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(operation_detail(state, id).await?.0)
}

pub async fn cancel_operation(
    state: &AppState,
    user: &CurrentUser,
    origin: &Origin,
    id: i64,
) -> Result<db::operations::Operation, AppError> {
    change_operation(state, user, origin, id, Change::Cancel).await?;
    Ok(operation_detail(state, id).await?.0)
}

pub fn with_attempts(
    op: db::operations::Operation,
    attempts: Vec<db::operations::Attempt>,
) -> OperationView {
    let mut v = OperationView::from(op);
    v.attempt_log = Some(attempts.into_iter().map(Into::into).collect());
    v
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `pending`, `done`, `failed` or `cancelled`; all when omitted.
    pub status: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}
