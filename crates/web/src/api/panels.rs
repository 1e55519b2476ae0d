//! Panels in the back office: create, list, read, edit (secrets write-only, encrypted at rest),
//! test the connection and read the inbounds/services/nodes a panel offers, through
//! `web::actions::panels` as the pages do.

use crate::actions::panels::{
    create_panel, get_panel, panel_choices, test_panel, update_panel, ChoicesView, PanelInput,
    PanelView, TestResult,
};
use crate::api::extract::{ApiJson, ApiPath};
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
        .routes(routes!(list, create))
        .routes(routes!(show, update))
        .routes(routes!(test))
        .routes(routes!(choices))
}

#[utoipa::path(get, path = "/panels", tag = "admin", operation_id = "list_panels",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<PanelView>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiAdmin(_admin): ApiAdmin,
) -> ApiResult<Json<Vec<PanelView>>> {
    let mut conn = state.db.acquire().await?;
    let rows = db::panels::list(&mut conn).await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

#[utoipa::path(post, path = "/panels", tag = "admin", operation_id = "create_panel",
    security(("bearer" = [])), request_body = PanelInput,
    responses((status = 201, body = PanelView), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ApiAdmin(user): ApiAdmin,
    RequestOrigin(origin): RequestOrigin,
    ApiJson(input): ApiJson<PanelInput>,
) -> ApiResult<(StatusCode, Json<PanelView>)> {
    let panel = create_panel(&state, &user, &origin, &input).await?;
    Ok((StatusCode::CREATED, Json(panel.into())))
}

#[utoipa::path(get, path = "/panels/{id}", tag = "admin", operation_id = "get_panel",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = PanelView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    ApiAdmin(_admin): ApiAdmin,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<PanelView>> {
    Ok(Json(get_panel(&state, id).await?.into()))
}

#[utoipa::path(patch, path = "/panels/{id}", tag = "admin", operation_id = "update_panel",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = PanelInput,
    responses((status = 200, body = PanelView), (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    ApiAdmin(user): ApiAdmin,
    RequestOrigin(origin): RequestOrigin,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<PanelInput>,
) -> ApiResult<Json<PanelView>> {
    Ok(Json(
        update_panel(&state, &user, &origin, id, &input)
            .await?
            .into(),
    ))
}

#[utoipa::path(post, path = "/panels/{id}/test", tag = "admin", operation_id = "test_panel",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = TestResult), (status = 404, body = crate::error::ErrorBody)))]
pub async fn test(
    State(state): State<AppState>,
    ApiAdmin(user): ApiAdmin,
    RequestOrigin(origin): RequestOrigin,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<TestResult>> {
    Ok(Json(test_panel(&state, &user, &origin, id).await?))
}

#[utoipa::path(get, path = "/panels/{id}/choices", tag = "admin", operation_id = "panel_choices",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ChoicesView), (status = 502, body = crate::error::ErrorBody)))]
pub async fn choices(
    State(state): State<AppState>,
    ApiAdmin(_admin): ApiAdmin,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ChoicesView>> {
    Ok(Json(panel_choices(&state, id).await?.into()))
}
