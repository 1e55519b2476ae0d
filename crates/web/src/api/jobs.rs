//! API of the jobs area: background job progress (`GET /jobs/{id}`) and running a usage sync
//! now (`POST /jobs/usage-sync`), both for admins.

use crate::actions::jobs::{load_job_for, run_sync, JobView, SyncResult};
use crate::api::extract::ApiPath;
use crate::auth::{ApiAdmin, ApiUser};
use crate::error::ApiResult;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_job))
        .routes(routes!(usage_sync))
}

#[utoipa::path(get, path = "/jobs/{job_id}", tag = "reseller", operation_id = "get_job",
    security(("bearer" = [])), params(("job_id" = i64, Path)),
    responses((status = 200, body = JobView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_job(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(job_id): ApiPath<i64>,
) -> ApiResult<Json<JobView>> {
    Ok(Json(load_job_for(&state, &user, job_id).await?.into()))
}

#[utoipa::path(post, path = "/jobs/usage-sync", tag = "admin", operation_id = "run_usage_sync",
    security(("bearer" = [])),
    responses((status = 200, body = SyncResult), (status = 409, body = crate::error::ErrorBody)))]
pub async fn usage_sync(
    State(state): State<AppState>,
    ApiAdmin(_admin): ApiAdmin,
) -> ApiResult<Json<SyncResult>> {
    Ok(Json(run_sync(&state).await?))
}
