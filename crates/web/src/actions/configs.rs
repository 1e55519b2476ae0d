//! What a user can do with configs, shared by the pages and the API: scope and access checks,
//! create, edit, the disable/enable/delete actions and loading one config the caller may see.

use crate::actions::resellers::own_reseller;
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::views::configs::ConfigView;
use engine::access::Area;
use engine::configs::Scope;
use serde::Deserialize;
use utoipa::ToSchema;

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

pub async fn view_of(state: &AppState, c: &db::configs::Config) -> Result<ConfigView, AppError> {
    let mut conn = state.db.acquire().await?;
    ConfigView::load(&mut conn, c).await
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
        Some(s) => Some(db::time::from_ts(crate::actions::audit::parse_time(
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
