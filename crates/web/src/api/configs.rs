//! Reseller API of the configs area: list, create, read, edit, delete, disable, enable and the
//! event timeline; every rule lives in `engine::configs`, shared with the pages.

use crate::api::extract::{ApiJson, ApiPath, ApiQuery, Paged};
use crate::api::resellers::own_reseller;
use crate::auth::{ApiAdmin, ApiUser, CurrentUser, RequestOrigin};
use crate::error::{ApiResult, AppError};
use crate::state::AppState;
use crate::views::configs::{config_page, ConfigQuery, ConfigView, EventView};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use engine::access::Area;
use engine::configs::Scope;
use serde::Deserialize;
use utoipa::ToSchema;
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
}

/// Whose configs the caller may touch: its own (matrix applies), or any for an admin.
pub fn scope_of(user: &CurrentUser) -> Result<Scope, AppError> {
    if user.is_admin() {
        return Ok(Scope::Admin);
    }
    user.reseller_id
        .map(Scope::Reseller)
        .ok_or_else(|| AppError::forbidden("reseller_only", "this endpoint is for resellers"))
}

/// The reseller behind a request, refused per the access matrix for the configs area.
pub async fn reseller_for_configs(
    state: &AppState,
    user: &CurrentUser,
) -> Result<db::resellers::Reseller, AppError> {
    let r = own_reseller(state, user).await?;
    engine::access::require(&r, Area::Configs)?;
    Ok(r)
}

async fn view_of(state: &AppState, c: &db::configs::Config) -> Result<ConfigView, AppError> {
    let mut conn = state.db.acquire().await?;
    ConfigView::load(&mut conn, c).await
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

#[derive(Deserialize, ToSchema, Default)]
pub struct CreateConfig {
    pub traffic_limit_bytes: i64,
    pub expires_in_days: i64,
    pub comment: Option<String>,
    pub prefix: Option<String>,
    pub custom_name: Option<String>,
    #[serde(default)]
    pub service_ids: Vec<i64>,
    #[serde(default)]
    pub node_ids: Vec<i64>,
    #[serde(default)]
    pub inbound_ids: Vec<i64>,
    pub max_clients: Option<i64>,
}

/// The one create path for API and page.
pub async fn create_config(
    state: &AppState,
    user: &CurrentUser,
    origin: &db::audit::Origin,
    req: CreateConfig,
) -> Result<db::configs::Config, AppError> {
    let r = own_reseller(state, user).await?;
    let input = engine::configs::NewConfig {
        traffic_limit_bytes: req.traffic_limit_bytes,
        expires_in_days: req.expires_in_days,
        comment: req.comment,
        prefix: req.prefix,
        custom_name: req.custom_name,
        service_ids: req.service_ids,
        node_ids: req.node_ids,
        inbound_ids: req.inbound_ids,
        max_clients: req.max_clients,
    };
    let done = engine::configs::create(
        &state.engine,
        &user.actor(),
        origin,
        r.id,
        input,
        chrono::Utc::now(),
    )
    .await?;
    Ok(done.config)
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

/// Reads one config the caller may see: another reseller's answers 404. A blocked reseller is
/// refused per the matrix, after ownership, so existence is never revealed.
pub async fn load_config(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
) -> Result<db::configs::Config, AppError> {
    let scope = scope_of(user)?;
    let mut conn = state.db.acquire().await?;
    let c = engine::configs::load(&mut conn, scope, id).await?;
    drop(conn);
    if let Scope::Reseller(_) = scope {
        reseller_for_configs(state, user).await?;
    }
    Ok(c)
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

#[derive(Deserialize, ToSchema, Default)]
pub struct PatchConfig {
    pub traffic_limit_bytes: Option<i64>,
    /// `YYYY-MM-DD` or RFC 3339; stored as 00:00 Asia/Tehran of that date.
    pub expires_at: Option<String>,
    pub expires_in_days: Option<i64>,
    pub max_clients: Option<i64>,
}

pub async fn patch_config(
    state: &AppState,
    user: &CurrentUser,
    origin: &db::audit::Origin,
    id: i64,
    req: PatchConfig,
) -> Result<db::configs::Config, AppError> {
    let scope = scope_of(user)?;
    let expires_at = match req
        .expires_at
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(s) => Some(db::time::from_ts(crate::api::audit::parse_time(
            "expires_at",
            s,
        )?)),
        None => None,
    };
    let patch = engine::configs::ConfigPatch {
        traffic_limit_bytes: req.traffic_limit_bytes,
        expires_at,
        expires_in_days: req.expires_in_days,
        max_clients: req.max_clients,
    };
    Ok(engine::configs::edit(
        &state.engine,
        &user.actor(),
        origin,
        scope,
        id,
        patch,
        chrono::Utc::now(),
    )
    .await?
    .config)
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

/// The simple actions pages and API share.
#[derive(Clone, Copy, Debug)]
pub enum Action {
    Disable,
    Enable,
    Delete,
}

pub async fn run_action(
    state: &AppState,
    user: &CurrentUser,
    origin: &db::audit::Origin,
    id: i64,
    action: Action,
) -> Result<db::configs::Config, AppError> {
    let scope = scope_of(user)?;
    let (ctx, actor, now) = (&state.engine, user.actor(), chrono::Utc::now());
    let done = match action {
        Action::Disable => engine::configs::disable(ctx, &actor, origin, scope, id, now).await?,
        Action::Enable => engine::configs::enable(ctx, &actor, origin, scope, id, now).await?,
        Action::Delete => engine::configs::delete(ctx, &actor, origin, scope, id, now).await?,
    };
    Ok(done.config)
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
