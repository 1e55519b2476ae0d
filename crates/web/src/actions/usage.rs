//! Usage resets, shared by the pages and the API: per-config and reseller-wide, and how their
//! engine errors read.

use crate::actions::configs::load_config;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use serde::Serialize;
use utoipa::ToSchema;

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

#[derive(Serialize, ToSchema)]
pub struct JobStarted {
    pub job_id: i64,
}
