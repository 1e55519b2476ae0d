//! API of bringing panel users in (issue 15, admins only): `GET /panels/{id}/unmanaged` lists
//! the users no config claims; `POST /panels/{id}/import` starts a job that makes them a
//! reseller's configs (progress at `GET /jobs/{job_id}`).

use crate::actions::import::{
    start_import, unmanaged_page, ImportAccepted, ImportRequest, UnmanagedPage, UnmanagedQuery,
};
use crate::api::extract::{ApiJson, ApiPath, ApiQuery};
use crate::auth::{ApiAdmin, RequestOrigin};
use crate::error::ApiResult;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(unmanaged))
        .routes(routes!(import))
}

#[utoipa::path(get, path = "/panels/{id}/unmanaged", tag = "admin", operation_id = "list_unmanaged_users",
    security(("bearer" = [])),
    params(("id" = i64, Path), ("owner" = Option<String>, Query), ("q" = Option<String>, Query),
           ("page" = Option<usize>, Query), ("per_page" = Option<usize>, Query)),
    responses((status = 200, body = UnmanagedPage), (status = 404, body = crate::error::ErrorBody),
              (status = 502, body = crate::error::ErrorBody)))]
pub async fn unmanaged(
    State(state): State<AppState>,
    ApiAdmin(_admin): ApiAdmin,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<UnmanagedQuery>,
) -> ApiResult<Json<UnmanagedPage>> {
    Ok(Json(unmanaged_page(&state, id, &q).await?))
}

#[utoipa::path(post, path = "/panels/{id}/import", tag = "admin", operation_id = "import_panel_users",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = ImportRequest,
    responses((status = 202, body = ImportAccepted), (status = 409, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn import(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    RequestOrigin(origin): RequestOrigin,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<ImportRequest>,
) -> ApiResult<(StatusCode, Json<ImportAccepted>)> {
    let accepted = start_import(&state, &admin, &origin, id, &req).await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}
