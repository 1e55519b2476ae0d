//! API of the usage area: per-config and reseller-wide usage resets, sharing one code path
//! (`reset_config_for`, `start_reseller_reset_for`) with the pages.

use crate::api::configs::load_config;
use crate::api::extract::ApiPath;
use crate::auth::{ApiAdmin, ApiUser, CurrentUser, RequestOrigin};
use crate::error::{ApiResult, AppError};
use crate::state::AppState;
use crate::views::configs::ConfigView;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(reset_config))
        .routes(routes!(reset_reseller))
}

/// Engine errors of this area in the web's table: a deleted config cannot be reset (409).
pub fn engine_error(e: engine::EngineError) -> AppError {
    match e {
        engine::EngineError::Invalid(m) => AppError::conflict("invalid_state", m),
        other => engine::access::ActionError::Engine(other).into(),
    }
}

/// Resets one config the caller may touch (a reseller: its own, per the access matrix; an admin:
/// any) and returns it as stored afterwards; a reset the panel has not confirmed stays pending.
pub async fn reset_config_for(
    state: &AppState,
    user: &CurrentUser,
    origin: &db::audit::Origin,
    id: i64,
) -> Result<db::configs::Config, AppError> {
    let c = load_config(state, user, id).await?;
    engine::reset::reset_config(&state.engine, c.id, &user.actor(), origin)
        .await
        .map_err(engine_error)?;
    let mut conn = state.db.acquire().await?;
    db::configs::get(&mut conn, c.id)
        .await?
        .ok_or(AppError::NotFound)
}

/// Starts the reseller-wide reset job (admin); returns its id.
pub async fn start_reseller_reset_for(
    state: &AppState,
    admin: &CurrentUser,
    origin: &db::audit::Origin,
    reseller_id: i64,
) -> Result<i64, AppError> {
    engine::reset::start_reseller_reset(&state.engine, reseller_id, &admin.actor(), origin)
        .await
        .map_err(engine_error)
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

#[derive(Serialize, ToSchema)]
pub struct JobStarted {
    pub job_id: i64,
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
