//! Bulk work on configs (issue 15), shared by the configs page and `POST /api/v1/configs/bulk`:
//! which configs (ids, or all matching a filter), the action's terms, and the job it starts.

use crate::actions::configs::{reseller_for_configs, scope_of};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use domain::status::{BulkAction, ConfigStatus};
use engine::configs::Scope;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema, Default, Clone)]
pub struct BulkFilter {
    /// `active`, `disabled`, `expired` or `deleted`.
    pub status: Option<String>,
    pub q: Option<String>,
}

#[derive(Deserialize, ToSchema, Default, Clone)]
pub struct BulkTemplate {
    pub traffic_limit_bytes: i64,
    pub expires_in_days: i64,
    /// The configs are named `{name} 1` … `{name} N`.
    pub name: String,
}

#[derive(Deserialize, ToSchema)]
pub struct BulkRequest {
    /// `create`, `extend`, `add_traffic`, `set_limit`, `disable`, `enable`, `reset_usage` or
    /// `delete`.
    #[schema(value_type = String)]
    pub action: BulkAction,
    /// The configs (at most 1,000); or `filter` for all that match it.
    pub ids: Option<Vec<i64>>,
    pub filter: Option<BulkFilter>,
    /// For `create`: how many (1 to 500), and their terms.
    pub count: Option<i64>,
    pub template: Option<BulkTemplate>,
    /// For `extend`: days added to each config's expiry (from today when it has passed).
    pub days: Option<i64>,
    /// For `add_traffic`: bytes added to each config's limit.
    pub add_bytes: Option<i64>,
    /// For `set_limit`: each config's new limit in bytes.
    pub limit_bytes: Option<i64>,
    /// An admin names the reseller whose configs these are.
    pub reseller_id: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct BulkAccepted {
    pub job_id: i64,
    /// How many configs the job does.
    pub configs: usize,
    /// At least this long at the panel's rate limit.
    pub expected_seconds: u64,
}

/// Checks the whole batch and starts its job.
pub async fn start_bulk(
    state: &AppState,
    user: &CurrentUser,
    origin: &db::audit::Origin,
    req: BulkRequest,
) -> Result<BulkAccepted, AppError> {
    let scope = scope_of(user)?;
    let action = req.action;
    let reseller = match scope {
        Scope::Reseller(_) => reseller_for_configs(state, user).await?,
        Scope::Admin => {
            let id = req
                .reseller_id
                .ok_or_else(|| AppError::field("reseller_id", "bulk.err.reseller"))?;
            let mut conn = state.db.acquire().await?;
            db::resellers::get(&mut conn, id)
                .await?
                .ok_or(AppError::NotFound)?
        }
    };
    let ids = match (req.ids, req.filter) {
        _ if action == BulkAction::Create => Vec::new(),
        (Some(ids), None) => ids,
        (None, Some(f)) => {
            let status: Option<ConfigStatus> = AppError::choice("status", f.status.as_deref())?;
            let q = AppError::search(f.q.as_deref())?;
            let mut conn = state.db.acquire().await?;
            engine::bulk::ids_matching(&mut conn, reseller.id, status, q)
                .await
                .map_err(|e| AppError::from(engine::access::ActionError::Engine(e)))?
        }
        _ => return Err(AppError::field("ids", "bulk.err.ids_or_filter")),
    };
    let batch = engine::bulk::Batch {
        ids,
        count: req.count.unwrap_or(0),
        template: req.template.map(|t| engine::bulk::Template {
            traffic_limit_bytes: t.traffic_limit_bytes,
            expires_in_days: t.expires_in_days,
            name: t.name,
        }),
        days: req.days,
        add_bytes: req.add_bytes,
        limit_bytes: req.limit_bytes,
    };
    let (job_id, configs) = engine::bulk::start(
        &state.engine,
        scope,
        reseller.id,
        action,
        batch,
        &user.actor(),
        origin,
    )
    .await?;
    let expected_seconds =
        engine::bulk::expected_seconds(&state.engine, reseller.panel_id, action, configs)
            .await
            .map_err(|e| AppError::from(engine::access::ActionError::Engine(e)))?;
    Ok(BulkAccepted {
        job_id,
        configs,
        expected_seconds,
    })
}
