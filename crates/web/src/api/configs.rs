//! Reseller API of the configs area: list, create, read, edit, delete, disable, enable and the
//! event timeline; the actions are `web::actions::configs`, shared with the pages.

use crate::actions::configs::{
    create_config, load_config, patch_config, reseller_for_configs, run_action, view_of, Action,
    CreateConfig, PatchConfig,
};
use crate::api::extract::{ApiJson, ApiPath, ApiQuery, Paged};
use crate::auth::{ApiAdmin, ApiUser, RequestOrigin};
use crate::error::ApiResult;
use crate::state::AppState;
use crate::views::configs::{config_page, ConfigQuery, ConfigView, EventView};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, patch, delete))
        .routes(routes!(disable))
        .routes(routes!(enable))
        .routes(routes!(recreate))
        .routes(routes!(events))
        .routes(routes!(bulk))
}

#[utoipa::path(post, path = "/configs/bulk", tag = "reseller", operation_id = "bulk_configs",
    security(("bearer" = [])), request_body = crate::actions::bulk::BulkRequest,
    responses((status = 202, body = crate::actions::bulk::BulkAccepted),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn bulk(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    RequestOrigin(origin): RequestOrigin,
    ApiJson(req): ApiJson<crate::actions::bulk::BulkRequest>,
) -> ApiResult<(
    axum::http::StatusCode,
    Json<crate::actions::bulk::BulkAccepted>,
)> {
    let accepted = crate::actions::bulk::start_bulk(&state, &user, &origin, req).await?;
    Ok((axum::http::StatusCode::ACCEPTED, Json(accepted)))
}

#[utoipa::path(get, path = "/configs", tag = "reseller", operation_id = "list_configs",
    security(("bearer" = [])), params(ConfigQuery),
    responses((status = 200, body = Paged<ConfigView>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(q): ApiQuery<ConfigQuery>,
) -> ApiResult<Json<Paged<ConfigView>>> {
    let r = reseller_for_configs(&state, &user).await?;
    Ok(Json(config_page(&state, r.id, q).await?))
}

#[utoipa::path(post, path = "/configs", tag = "reseller", operation_id = "create_config",
    security(("bearer" = [])), request_body = CreateConfig,
    responses((status = 201, body = ConfigView), (status = 403, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    RequestOrigin(origin): RequestOrigin,
    ApiJson(req): ApiJson<CreateConfig>,
) -> ApiResult<(StatusCode, Json<ConfigView>)> {
    let c = create_config(&state, &user, &origin, req).await?;
    Ok((StatusCode::CREATED, Json(view_of(&state, &c).await?)))
}

#[utoipa::path(get, path = "/configs/{id}", tag = "reseller", operation_id = "get_config",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ConfigView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_one(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ConfigView>> {
    let c = load_config(&state, &user, id).await?;
    Ok(Json(view_of(&state, &c).await?))
}

#[utoipa::path(patch, path = "/configs/{id}", tag = "reseller", operation_id = "update_config",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = PatchConfig,
    responses((status = 200, body = ConfigView), (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn patch(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    RequestOrigin(origin): RequestOrigin,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<PatchConfig>,
) -> ApiResult<Json<ConfigView>> {
    let c = patch_config(&state, &user, &origin, id, req).await?;
    Ok(Json(view_of(&state, &c).await?))
}

#[utoipa::path(delete, path = "/configs/{id}", tag = "reseller", operation_id = "delete_config",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ConfigView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    RequestOrigin(origin): RequestOrigin,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ConfigView>> {
    let c = run_action(&state, &user, &origin, id, Action::Delete).await?;
    Ok(Json(view_of(&state, &c).await?))
}

#[utoipa::path(post, path = "/configs/{id}/disable", tag = "reseller", operation_id = "disable_config",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ConfigView), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub async fn disable(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    RequestOrigin(origin): RequestOrigin,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ConfigView>> {
    let c = run_action(&state, &user, &origin, id, Action::Disable).await?;
    Ok(Json(view_of(&state, &c).await?))
}

#[utoipa::path(post, path = "/configs/{id}/enable", tag = "reseller", operation_id = "enable_config",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ConfigView), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub async fn enable(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    RequestOrigin(origin): RequestOrigin,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ConfigView>> {
    let c = run_action(&state, &user, &origin, id, Action::Enable).await?;
    Ok(Json(view_of(&state, &c).await?))
}

/// Admin: creates a config whose user went missing on its panel there again (audited
/// `config_recreated`); 409 `config_not_missing` when the user is on the panel.
#[utoipa::path(post, path = "/missing-configs/{id}/recreate", tag = "admin", operation_id = "recreate_config",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ConfigView), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub async fn recreate(
    State(state): State<AppState>,
    ApiAdmin(user): ApiAdmin,
    RequestOrigin(origin): RequestOrigin,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ConfigView>> {
    engine::drift::recreate(&state.engine, &user.actor(), &origin, id).await?;
    let c = load_config(&state, &user, id).await?;
    Ok(Json(view_of(&state, &c).await?))
}

#[utoipa::path(get, path = "/configs/{id}/events", tag = "reseller", operation_id = "list_config_events",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Vec<EventView>), (status = 404, body = crate::error::ErrorBody)))]
pub async fn events(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<EventView>>> {
    let c = load_config(&state, &user, id).await?;
    let mut conn = state.db.acquire().await?;
    let evs = db::configs::events(&mut conn, c.id).await?;
    Ok(Json(evs.into_iter().map(Into::into).collect()))
}
