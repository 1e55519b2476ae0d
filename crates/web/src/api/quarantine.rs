//! Held-back panel readings (issue 11): the admin lists them and accepts or discards each; the
//! page `/admin/sync` uses the same functions.

use crate::actions::quarantine::{decide, HeldReading};
use crate::api::extract::ApiPath;
use crate::auth::{ApiAdmin, RequestOrigin};
use crate::error::ApiResult;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_held))
        .routes(routes!(accept_held))
        .routes(routes!(discard_held))
}

#[utoipa::path(get, path = "/usage/held-readings", tag = "admin", operation_id = "list_held_readings",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<HeldReading>)))]
pub async fn list_held(
    State(state): State<AppState>,
    ApiAdmin(_admin): ApiAdmin,
) -> ApiResult<Json<Vec<HeldReading>>> {
    let rows = engine::quarantine::list(&state.engine, None, 500)
        .await
        .map_err(crate::actions::usage::engine_error)?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

#[utoipa::path(post, path = "/usage/held-readings/{id}/accept", tag = "admin", operation_id = "accept_held_reading",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = HeldReading), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub async fn accept_held(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    RequestOrigin(origin): RequestOrigin,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<HeldReading>> {
    Ok(Json(
        decide(&state, &admin, &origin, id, true).await?.into(),
    ))
}

#[utoipa::path(post, path = "/usage/held-readings/{id}/discard", tag = "admin", operation_id = "discard_held_reading",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = HeldReading), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub async fn discard_held(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    RequestOrigin(origin): RequestOrigin,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<HeldReading>> {
    Ok(Json(
        decide(&state, &admin, &origin, id, false).await?.into(),
    ))
}
