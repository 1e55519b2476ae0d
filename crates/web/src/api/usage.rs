//! API of the usage area: per-config and reseller-wide usage resets, sharing one code path
//! (`reset_config_for`, `start_reseller_reset_for`) with the pages.

use crate::actions::usage::{reset_config_for, start_reseller_reset_for, JobStarted};
use crate::api::extract::ApiPath;
use crate::auth::{ApiAdmin, ApiUser, RequestOrigin};
use crate::error::ApiResult;
use crate::state::AppState;
use crate::views::configs::ConfigView;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(reset_config))
        .routes(routes!(reset_reseller))
}

#[utoipa::path(post, path = "/configs/{id}/reset-usage", tag = "reseller", operation_id = "reset_config_usage",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ConfigView), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub async fn reset_config(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    RequestOrigin(origin): RequestOrigin,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ConfigView>> {
    let c = reset_config_for(&state, &user, &origin, id).await?;
    let mut conn = state.db.acquire().await?;
    Ok(Json(ConfigView::load(&mut conn, &c).await?))
}

#[utoipa::path(post, path = "/resellers/{id}/reset-usage", tag = "admin", operation_id = "reset_reseller_usage",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 202, body = JobStarted), (status = 404, body = crate::error::ErrorBody)))]
pub async fn reset_reseller(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    RequestOrigin(origin): RequestOrigin,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<(StatusCode, Json<JobStarted>)> {
    let job_id = start_reseller_reset_for(&state, &admin, &origin, id).await?;
    Ok((StatusCode::ACCEPTED, Json(JobStarted { job_id })))
}
