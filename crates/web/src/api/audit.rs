//! `GET /api/v1/audit-logs`: the admin's filtered view of the audit log.

use crate::actions::audit::{AuditQuery, AuditView};
use crate::api::extract::{ApiQuery, PageParams, Paged};
use crate::auth::ApiAdmin;
use crate::error::ApiResult;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;

#[utoipa::path(get, path = "/audit-logs", tag = "admin", operation_id = "list_audit_logs", security(("bearer" = [])), params(AuditQuery),
    responses((status = 200, body = Paged<AuditView>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiAdmin(_admin): ApiAdmin,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Paged<AuditView>>> {
    let filter = q.filter()?;
    let p = PageParams {
        page: q.page,
        per_page: q.per_page,
    };
    let mut conn = state.db.acquire().await?;
    let (rows, total) = db::audit::list(&mut conn, &filter, p.per_page(), p.offset()).await?;
    Ok(Json(Paged::new(
        rows.into_iter().map(Into::into).collect(),
        total,
        p,
    )))
}
