//! `GET /healthz`: 200 when the database answers (503 otherwise), with what an operator watches:
//! remote operations still pending and panels whose usage has not synced recently.

use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;

/// A panel counts as stale when its last successful sync is older than this.
const STALE_AFTER_SECS: i64 = 15 * 60;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: String,
    pub pending_operations: i64,
    /// Active panels without a sync in the last 15 minutes (or never synced).
    pub stale_panels: Vec<i64>,
    /// Panels whose last contact failed.
    pub failing_panels: Vec<i64>,
}

async fn gather(state: &AppState) -> Result<Health, db::DbError> {
    state.db.ping().await?;
    let mut conn = state.db.acquire().await?;
    let pending_operations = db::operations::count_pending(&mut conn).await?;
    let now = chrono::Utc::now().timestamp();
    let panels = db::panels::list_active(&mut conn).await?;
    let stale_panels = panels
        .iter()
        .filter(|p| {
            p.last_sync_at.is_none_or(|t| now - t > STALE_AFTER_SECS)
                && now - p.created_at > STALE_AFTER_SECS
        })
        .map(|p| p.id)
        .collect();
    let failing_panels = panels
        .iter()
        .filter(|p| p.consecutive_failures > 0)
        .map(|p| p.id)
        .collect();
    Ok(Health {
        status: "ok".into(),
        pending_operations,
        stale_panels,
        failing_panels,
    })
}

#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    match gather(&state).await {
        Ok(h) => (StatusCode::OK, Json(h)),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "database_unreachable".into(),
                    pending_operations: 0,
                    stale_panels: vec![],
                    failing_panels: vec![],
                }),
            )
        }
    }
}
