//! Admin API of the resellers area: create, list, read, edit, suspend, activate, add traffic,
//! extend the window, and a reseller's configs; `GET /me` for the reseller itself.

use crate::actions::resellers::{
    create_reseller, own_reseller, patch_reseller, AddTraffic, CreateReseller, ExtendWindow,
    PatchReseller, ResellerQuery, ResellerView,
};
use crate::api::extract::{ApiJson, ApiPath, ApiQuery, PageParams, Paged};
use crate::auth::{ApiAdmin, ApiUser, RequestOrigin};
use crate::error::{ApiResult, AppError};
use crate::state::AppState;
use crate::views::configs::{config_page, ConfigQuery, ConfigView};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get_one, patch))
        .routes(routes!(suspend))
        .routes(routes!(activate))
        .routes(routes!(add_traffic))
        .routes(routes!(extend_window))
        .routes(routes!(configs_of))
        .routes(routes!(me))
}

#[utoipa::path(post, path = "/resellers", tag = "admin", operation_id = "create_reseller",
    security(("bearer" = [])), request_body = CreateReseller,
    responses((status = 201, body = ResellerView), (status = 422, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    RequestOrigin(origin): RequestOrigin,
    ApiJson(req): ApiJson<CreateReseller>,
) -> ApiResult<(StatusCode, Json<ResellerView>)> {
    let r = create_reseller(&state, &admin, &origin, req).await?;
    Ok((
        StatusCode::CREATED,
        Json(ResellerView::load(&state, &r).await?),
    ))
}

#[utoipa::path(get, path = "/resellers", tag = "admin", operation_id = "list_resellers",
    security(("bearer" = [])), params(ResellerQuery),
    responses((status = 200, body = Paged<ResellerView>)))]
pub async fn list(
    State(state): State<AppState>,
    ApiAdmin(_admin): ApiAdmin,
    ApiQuery(q): ApiQuery<ResellerQuery>,
) -> ApiResult<Json<Paged<ResellerView>>> {
    let p = PageParams {
        page: q.page,
        per_page: q.per_page,
    };
    let filter = db::resellers::ResellerFilter {
        q: AppError::search(q.q.as_deref())?,
        kind: AppError::choice("kind", q.kind.as_deref())?,
        status: AppError::choice("status", q.status.as_deref())?,
        sort: AppError::choice("sort", q.sort.as_deref())?.unwrap_or_default(),
    };
    let mut conn = state.db.acquire().await?;
    let (rows, total) = db::resellers::list(&mut conn, &filter, p.per_page(), p.offset()).await?;
    drop(conn);
    let items = ResellerView::load_all(&state, &rows).await?;
    Ok(Json(Paged::new(items, total, p)))
}

#[utoipa::path(get, path = "/resellers/{id}", tag = "admin", operation_id = "get_reseller",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ResellerView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_one(
    State(state): State<AppState>,
    ApiAdmin(_admin): ApiAdmin,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ResellerView>> {
    Ok(Json(ResellerView::by_id(&state, id).await?))
}

#[utoipa::path(patch, path = "/resellers/{id}", tag = "admin", operation_id = "update_reseller",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = PatchReseller,
    responses((status = 200, body = ResellerView), (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn patch(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    RequestOrigin(origin): RequestOrigin,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<PatchReseller>,
) -> ApiResult<Json<ResellerView>> {
    let r = patch_reseller(&state, &admin, &origin, id, req).await?;
    Ok(Json(ResellerView::load(&state, &r).await?))
}

#[utoipa::path(post, path = "/resellers/{id}/suspend", tag = "admin", operation_id = "suspend_reseller",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ResellerView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn suspend(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    RequestOrigin(origin): RequestOrigin,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ResellerView>> {
    let r = engine::resellers::suspend(
        &state.engine,
        &admin.actor(),
        &origin,
        id,
        chrono::Utc::now(),
    )
    .await
    .map_err(AppError::from)?;
    Ok(Json(ResellerView::load(&state, &r).await?))
}

#[utoipa::path(post, path = "/resellers/{id}/activate", tag = "admin", operation_id = "activate_reseller",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ResellerView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn activate(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    RequestOrigin(origin): RequestOrigin,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ResellerView>> {
    let r = engine::resellers::activate(
        &state.engine,
        &admin.actor(),
        &origin,
        id,
        chrono::Utc::now(),
    )
    .await
    .map_err(AppError::from)?;
    Ok(Json(ResellerView::load(&state, &r).await?))
}

#[utoipa::path(post, path = "/resellers/{id}/traffic", tag = "admin", operation_id = "add_reseller_traffic",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = AddTraffic,
    responses((status = 200, body = ResellerView), (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn add_traffic(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    RequestOrigin(origin): RequestOrigin,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<AddTraffic>,
) -> ApiResult<Json<ResellerView>> {
    let r = engine::resellers::add_traffic(
        &state.engine,
        &admin.actor(),
        &origin,
        id,
        req.add_bytes,
        chrono::Utc::now(),
    )
    .await
    .map_err(AppError::from)?;
    Ok(Json(ResellerView::load(&state, &r).await?))
}

#[utoipa::path(post, path = "/resellers/{id}/window", tag = "admin", operation_id = "extend_reseller_window",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = ExtendWindow,
    responses((status = 200, body = ResellerView), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn extend_window(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    RequestOrigin(origin): RequestOrigin,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<ExtendWindow>,
) -> ApiResult<Json<ResellerView>> {
    let r = engine::resellers::extend_window(
        &state.engine,
        &admin.actor(),
        &origin,
        id,
        req.extend_days,
        chrono::Utc::now(),
    )
    .await
    .map_err(AppError::from)?;
    Ok(Json(ResellerView::load(&state, &r).await?))
}

#[utoipa::path(get, path = "/resellers/{id}/configs", tag = "admin", operation_id = "list_reseller_configs",
    security(("bearer" = [])), params(("id" = i64, Path), ConfigQuery),
    responses((status = 200, body = Paged<ConfigView>), (status = 404, body = crate::error::ErrorBody)))]
pub async fn configs_of(
    State(state): State<AppState>,
    ApiAdmin(_admin): ApiAdmin,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ConfigQuery>,
) -> ApiResult<Json<Paged<ConfigView>>> {
    let mut conn = state.db.acquire().await?;
    db::resellers::get(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    drop(conn);
    Ok(Json(config_page(&state, id, q).await?))
}

#[utoipa::path(get, path = "/me", tag = "reseller", operation_id = "get_me",
    security(("bearer" = [])),
    responses((status = 200, body = ResellerView), (status = 403, body = crate::error::ErrorBody)))]
pub async fn me(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<Json<ResellerView>> {
    // Answers in every status, so a blocked reseller can see why.
    let r = own_reseller(&state, &user).await?;
    Ok(Json(ResellerView::load(&state, &r).await?))
}
