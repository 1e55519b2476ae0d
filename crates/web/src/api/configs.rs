//! Reseller API of the configs area: list, create, read, edit, delete, disable, enable and the
//! event timeline; every rule lives in `engine::configs`, shared with the pages.

use crate::api::auth::rfc3339;
use crate::api::extract::{ApiJson, ApiPath, ApiQuery, Paged};
use crate::api::resellers::{config_page, own_reseller, ConfigQuery};
use crate::auth::{ApiUser, CurrentUser, RequestOrigin};
use crate::error::{ApiResult, AppError};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use domain::status::{ConfigEventKind, ConfigStatus, DisabledReason, OpKind, RemoteState};
use engine::access::Area;
use engine::configs::Scope;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, patch, delete))
        .routes(routes!(disable))
        .routes(routes!(enable))
        .routes(routes!(events))
}

#[derive(Serialize, ToSchema, Clone)]
pub struct PendingOperation {
    #[schema(value_type = String)]
    pub kind: OpKind,
    pub attempts: i64,
    pub last_error: Option<String>,
}

/// The Config object of spec/api.md (plus what the panel last reported).
#[derive(Serialize, ToSchema, Clone)]
pub struct ConfigView {
    pub id: i64,
    pub username: String,
    pub panel_id: i64,
    pub reseller_id: i64,
    #[schema(value_type = String)]
    pub status: ConfigStatus,
    #[schema(value_type = Option<String>)]
    pub disabled_reason: Option<DisabledReason>,
    pub traffic_limit_bytes: i64,
    pub usage_bytes: i64,
    pub settled_usage_bytes: i64,
    pub lifetime_usage_bytes: i64,
    pub expires_at: Option<String>,
    pub subscription_url: Option<String>,
    pub comment: Option<String>,
    pub max_clients: Option<i64>,
    pub service_ids: Vec<i64>,
    pub node_ids: Vec<i64>,
    pub inbound_ids: Vec<i64>,
    /// What the panel last reported: active, limited, expired, on_hold, disabled.
    #[schema(value_type = Option<String>)]
    pub remote_state: Option<RemoteState>,
    /// The panel confirmed the config's current desired state.
    pub remote_confirmed: bool,
    pub pending_operation: Option<PendingOperation>,
    pub created_at: String,
    pub updated_at: String,
}

impl ConfigView {
    /// The view of a stored config, with its unfinished panel operation if any.
    pub async fn load(
        conn: &mut db::Conn,
        c: &db::configs::Config,
    ) -> Result<ConfigView, AppError> {
        let pending = db::operations::pending_for_config(conn, c.id)
            .await?
            .map(|op| PendingOperation {
                kind: op.kind,
                attempts: op.attempts,
                last_error: op.last_error,
            });
        Ok(ConfigView {
            id: c.id,
            username: c.username.clone(),
            panel_id: c.panel_id,
            reseller_id: c.reseller_id,
            status: c.status,
            disabled_reason: c.disabled_reason,
            traffic_limit_bytes: c.traffic_limit_bytes,
            usage_bytes: c.usage_bytes,
            settled_usage_bytes: c.settled_usage_bytes(),
            lifetime_usage_bytes: c.lifetime_usage_bytes,
            expires_at: c.expires_at.map(rfc3339),
            subscription_url: c.subscription_url.clone(),
            comment: c.comment.clone(),
            max_clients: c.max_clients,
            service_ids: db::configs::Config::ids(&c.service_ids),
            node_ids: db::configs::Config::ids(&c.node_ids),
            inbound_ids: db::configs::Config::ids(&c.inbound_ids),
            remote_state: c.remote_state,
            remote_confirmed: c.remote_confirmed,
            pending_operation: pending,
            created_at: rfc3339(c.created_at),
            updated_at: rfc3339(c.updated_at),
        })
    }
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

#[derive(Serialize, ToSchema)]
pub struct EventView {
    pub id: i64,
    #[schema(value_type = String)]
    pub kind: ConfigEventKind,
    pub actor: String,
    pub remote_ok: Option<bool>,
    pub remote_error: Option<String>,
    #[schema(value_type = Object)]
    pub meta: serde_json::Value,
    pub created_at: String,
}

impl From<db::configs::ConfigEvent> for EventView {
    fn from(e: db::configs::ConfigEvent) -> Self {
        EventView {
            id: e.id,
            kind: e.kind,
            actor: e.actor_name,
            remote_ok: e.remote_ok,
            remote_error: e.remote_error,
            meta: serde_json::from_str(&e.meta).unwrap_or(serde_json::Value::Null),
            created_at: rfc3339(e.created_at),
        }
    }
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
