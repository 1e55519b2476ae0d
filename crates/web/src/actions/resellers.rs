//! What the admin can do with resellers and what a reseller reads of itself, shared by the pages
//! and the API: the reseller view, create, edit, and the reseller of the signed-in user.

use crate::auth::CurrentUser;
use crate::error::{AppError, FieldErrors};
use crate::state::AppState;
use crate::views::rfc3339;
use domain::status::{ResellerKind, ResellerStatus, SuspendedBy};
use engine::access::ActionError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Serialize, ToSchema)]
pub struct TrafficTerms {
    pub quota_bytes: i64,
    pub used_bytes: i64,
    pub remaining_bytes: i64,
    pub grace_bytes: i64,
    pub window_starts_at: Option<String>,
    pub window_ends_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WalletTerms {
    pub balance: i64,
    pub price_per_gb: i64,
    pub suspension_threshold: i64,
    pub used_bytes: i64,
}

/// The Reseller object of spec/api.md (plus a few fields the admin forms need).
#[derive(Serialize, ToSchema)]
pub struct ResellerView {
    pub id: i64,
    /// The reseller's login.
    pub username: String,
    pub display_name: String,
    #[schema(value_type = String)]
    pub kind: ResellerKind,
    #[schema(value_type = String)]
    pub status: ResellerStatus,
    #[schema(value_type = Option<String>)]
    pub suspended_by: Option<SuspendedBy>,
    pub panel_id: i64,
    pub config_limit: Option<i64>,
    pub configs_count: i64,
    pub username_prefix: Option<String>,
    pub allow_custom_names: bool,
    pub service_whitelist: Vec<i64>,
    pub node_whitelist: Vec<i64>,
    pub traffic: Option<TrafficTerms>,
    pub wallet: Option<WalletTerms>,
    pub created_at: String,
}

impl ResellerView {
    pub async fn load(
        state: &AppState,
        r: &db::resellers::Reseller,
    ) -> Result<ResellerView, AppError> {
        let mut conn = state.db.acquire().await?;
        let s = engine::resellers::summary(&state.engine, &mut conn, r).await?;
        Ok(ResellerView::new(r, &s))
    }

    /// The views of a list of resellers, in a fixed number of statements.
    pub async fn load_all(
        state: &AppState,
        rows: &[db::resellers::Reseller],
    ) -> Result<Vec<ResellerView>, AppError> {
        let mut conn = state.db.acquire().await?;
        let all = engine::resellers::summaries(&state.engine, &mut conn, rows).await?;
        Ok(rows
            .iter()
            .zip(&all)
            .map(|(r, s)| ResellerView::new(r, s))
            .collect())
    }

    pub fn new(r: &db::resellers::Reseller, s: &engine::resellers::Summary) -> ResellerView {
        ResellerView {
            id: r.id,
            username: s.login.clone().unwrap_or_default(),
            display_name: r.display_name.clone(),
            kind: r.kind,
            status: r.status,
            suspended_by: r.suspended_by,
            panel_id: r.panel_id,
            config_limit: r.config_limit,
            configs_count: s.configs_count,
            username_prefix: r.username_prefix.clone(),
            allow_custom_names: r.allow_custom_names,
            service_whitelist: r.service_ids(),
            node_whitelist: r.node_ids(),
            traffic: (r.kind == ResellerKind::Traffic).then(|| TrafficTerms {
                quota_bytes: r.traffic_quota_bytes,
                used_bytes: s.used_bytes,
                remaining_bytes: s.remaining_bytes,
                grace_bytes: s.grace_bytes,
                window_starts_at: r.window_starts_at.map(rfc3339),
                window_ends_at: r.window_ends_at.map(rfc3339),
            }),
            wallet: (r.kind == ResellerKind::Wallet).then_some(WalletTerms {
                balance: r.wallet_balance,
                price_per_gb: s.price_per_gb,
                suspension_threshold: s.suspension_threshold,
                used_bytes: s.lifetime_total,
            }),
            created_at: rfc3339(r.created_at),
        }
    }

    pub async fn by_id(state: &AppState, id: i64) -> Result<ResellerView, AppError> {
        let mut conn = state.db.acquire().await?;
        let r = db::resellers::get(&mut conn, id)
            .await?
            .ok_or(AppError::NotFound)?;
        drop(conn);
        Self::load(state, &r).await
    }
}

#[derive(Deserialize, ToSchema, Default, Clone)]
pub struct CreateReseller {
    pub username: String,
    pub password: String,
    /// `traffic` or `wallet`.
    pub kind: String,
    pub panel_id: i64,
    #[schema(max_length = 100)]
    pub display_name: Option<String>,
    pub config_limit: Option<i64>,
    pub username_prefix: Option<String>,
    #[serde(default)]
    pub allow_custom_names: bool,
    pub traffic_quota_bytes: Option<i64>,
    pub window_days: Option<i64>,
    /// `YYYY-MM-DD` or RFC 3339; stored as 00:00 Asia/Tehran of that date.
    pub window_starts_at: Option<String>,
    pub window_ends_at: Option<String>,
    /// Opening balance in toman, at most 10¹² either way.
    #[schema(minimum = -1_000_000_000_000_i64, maximum = 1_000_000_000_000_i64)]
    pub wallet_balance: Option<i64>,
    #[schema(minimum = 0, maximum = 1_000_000_000_i64)]
    pub wallet_price_per_gb: Option<i64>,
    #[serde(default)]
    pub service_whitelist: Vec<i64>,
    #[serde(default)]
    pub node_whitelist: Vec<i64>,
}

fn opt_time(
    field: &str,
    v: &Option<String>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, AppError> {
    match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => crate::actions::audit::parse_time(field, s).map(|t| Some(db::time::from_ts(t))),
    }
}

/// The one create path for the API and the admin form: password rules, hashing, the engine.
pub async fn create_reseller(
    state: &AppState,
    admin: &CurrentUser,
    origin: &db::audit::Origin,
    req: CreateReseller,
) -> Result<db::resellers::Reseller, AppError> {
    create_reseller_with(state, admin, origin, req, FieldErrors::new()).await
}

/// `create_reseller` for a form that already found some fields unreadable (`pre`): nothing is
/// created then, but every other field is still checked, so all the errors come back at once.
pub async fn create_reseller_with(
    state: &AppState,
    admin: &CurrentUser,
    origin: &db::audit::Origin,
    req: CreateReseller,
    mut pre: FieldErrors,
) -> Result<db::resellers::Reseller, AppError> {
    if let Err(key) = crate::password::check_strength_for(&req.password, &req.username) {
        pre.insert("password".into(), key.into());
    }
    let mut time = |field: &str, v: &Option<String>| match opt_time(field, v) {
        Ok(t) => t,
        Err(_) => {
            pre.insert(field.into(), "err.bad_time".into());
            None
        }
    };
    let window_starts_at = time("window_starts_at", &req.window_starts_at);
    let window_ends_at = time("window_ends_at", &req.window_ends_at);
    let mut input = engine::resellers::NewReseller {
        username: req.username,
        password_hash: String::new(),
        display_name: req.display_name,
        kind: req.kind,
        panel_id: req.panel_id,
        config_limit: req.config_limit,
        username_prefix: req.username_prefix,
        allow_custom_names: req.allow_custom_names,
        traffic_quota_bytes: req.traffic_quota_bytes,
        window_days: req.window_days,
        window_starts_at,
        window_ends_at,
        wallet_balance: req.wallet_balance,
        wallet_price_per_gb: req.wallet_price_per_gb,
        service_whitelist: req.service_whitelist,
        node_whitelist: req.node_whitelist,
    };
    if !pre.is_empty() {
        let mut all =
            engine::resellers::validate_new(&state.engine, &input, chrono::Utc::now()).await?;
        // The form's own reading of a field wins: "not a number" says more than "must be > 0".
        all.extend(pre);
        return Err(AppError::Validation(all.into_iter().collect()));
    }
    input.password_hash = crate::password::hash_async(req.password).await?;
    Ok(engine::resellers::create(
        &state.engine,
        &admin.actor(),
        origin,
        input,
        chrono::Utc::now(),
    )
    .await?)
}

#[derive(Deserialize, IntoParams, Default, Clone)]
#[into_params(parameter_in = Query)]
pub struct ResellerQuery {
    #[param(max_length = 100)]
    pub q: Option<String>,
    pub kind: Option<String>,
    pub status: Option<String>,
    /// `newest` (the default), `oldest`, `name` or `balance` (lowest first).
    pub sort: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[derive(Deserialize, ToSchema, Default)]
pub struct PatchReseller {
    #[schema(max_length = 100)]
    pub display_name: Option<String>,
    pub config_limit: Option<i64>,
    pub username_prefix: Option<String>,
    pub allow_custom_names: Option<bool>,
    pub traffic_quota_bytes: Option<i64>,
    pub window_starts_at: Option<String>,
    pub window_ends_at: Option<String>,
    #[schema(minimum = 0, maximum = 1_000_000_000_i64)]
    pub wallet_price_per_gb: Option<i64>,
    pub service_whitelist: Option<Vec<i64>>,
    pub node_whitelist: Option<Vec<i64>>,
}

pub async fn patch_reseller(
    state: &AppState,
    admin: &CurrentUser,
    origin: &db::audit::Origin,
    id: i64,
    req: PatchReseller,
) -> Result<db::resellers::Reseller, AppError> {
    let patch = engine::resellers::ResellerPatch {
        display_name: req.display_name,
        config_limit: req.config_limit,
        username_prefix: req.username_prefix,
        allow_custom_names: req.allow_custom_names,
        traffic_quota_bytes: req.traffic_quota_bytes,
        window_starts_at: opt_time("window_starts_at", &req.window_starts_at)?,
        window_ends_at: opt_time("window_ends_at", &req.window_ends_at)?,
        wallet_price_per_gb: req.wallet_price_per_gb,
        service_whitelist: req.service_whitelist,
        node_whitelist: req.node_whitelist,
    };
    Ok(engine::resellers::update(
        &state.engine,
        &admin.actor(),
        origin,
        id,
        patch,
        chrono::Utc::now(),
    )
    .await?)
}

#[derive(Deserialize, ToSchema)]
pub struct AddTraffic {
    pub add_bytes: i64,
}

#[derive(Deserialize, ToSchema)]
pub struct ExtendWindow {
    pub extend_days: i64,
}

/// The caller's reseller, for API and pages; an admin has none.
pub async fn own_reseller(
    state: &AppState,
    user: &CurrentUser,
) -> Result<db::resellers::Reseller, AppError> {
    let id = user
        .reseller_id
        .ok_or_else(|| AppError::forbidden("reseller_only", "this endpoint is for resellers"))?;
    let mut conn = state.db.acquire().await?;
    db::resellers::get(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)
}

impl From<ActionError> for AppError {
    fn from(e: ActionError) -> Self {
        match e {
            ActionError::NotFound => AppError::NotFound,
            ActionError::Blocked { code } => AppError::forbidden(
                code,
                if code == engine::access::WALLET_SUSPENDED {
                    "the wallet balance is too low: top up to continue"
                } else {
                    "the reseller account is suspended"
                },
            ),
            ActionError::Conflict { code, message } => AppError::conflict(code, message),
            ActionError::Invalid(fields) => AppError::Validation(fields.into_iter().collect()),
            ActionError::Engine(engine::EngineError::Panel(p)) => AppError::Panel(p.to_string()),
            ActionError::Engine(engine::EngineError::Db(db::DbError::NotFound)) => {
                AppError::NotFound
            }
            ActionError::Engine(other) => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}
