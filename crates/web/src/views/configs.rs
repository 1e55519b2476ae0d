//! A config as pages and the API show it (spec/api.md's Config object), and a reseller's
//! configs a page at a time in a fixed number of statements.

use crate::error::AppError;
use crate::state::AppState;
use crate::views::paging::{PageParams, Paged};
use crate::views::rfc3339;
use domain::status::{ConfigEventKind, ConfigStatus, DisabledReason, OpKind, RemoteState};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

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
    /// The user is gone from the panel (deleted there by hand): an admin may re-create it.
    pub missing_on_panel: bool,
    pub missing_on_panel_since: Option<String>,
    /// The panel's limit or expiry where it differs from ours and is only reported (admin
    /// setting): `{"limit_changed": {"panel": …, "ours": …}, "expiry_changed": …}`.
    #[schema(value_type = Option<Object>)]
    pub panel_drift: Option<serde_json::Value>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<db::operations::Operation> for PendingOperation {
    fn from(op: db::operations::Operation) -> Self {
        PendingOperation {
            kind: op.kind,
            attempts: op.attempts,
            last_error: op.last_error,
        }
    }
}

impl ConfigView {
    /// The view of one stored config, with its unfinished panel operation if any.
    pub async fn load(
        conn: &mut db::Conn,
        c: &db::configs::Config,
    ) -> Result<ConfigView, AppError> {
        let pending = db::operations::pending_for_config(conn, c.id).await?;
        Ok(ConfigView::new(c, pending.map(Into::into)))
    }

    pub fn new(c: &db::configs::Config, pending: Option<PendingOperation>) -> ConfigView {
        ConfigView {
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
            missing_on_panel: c.missing_on_panel_at.is_some(),
            missing_on_panel_since: c.missing_on_panel_at.map(rfc3339),
            panel_drift: c
                .panel_drift
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok()),
            created_at: rfc3339(c.created_at),
            updated_at: rfc3339(c.updated_at),
        }
    }
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

/// A listed config with its unfinished panel operation: what a page row and a Config object
/// are both made from.
pub struct ConfigRow {
    pub c: db::configs::Config,
    pub pending: Option<PendingOperation>,
}

/// Rows for a list of configs: one statement for all their pending operations.
pub async fn rows(
    conn: &mut db::Conn,
    configs: Vec<db::configs::Config>,
) -> Result<Vec<ConfigRow>, AppError> {
    let ids: Vec<i64> = configs.iter().map(|c| c.id).collect();
    let mut pending = db::operations::pending_for_configs(conn, &ids).await?;
    Ok(configs
        .into_iter()
        .map(|c| ConfigRow {
            pending: pending.remove(&c.id).map(Into::into),
            c,
        })
        .collect())
}

#[derive(Deserialize, IntoParams, Default, Clone)]
#[into_params(parameter_in = Query)]
pub struct ConfigQuery {
    pub status: Option<String>,
    #[param(max_length = 100)]
    pub q: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// One page of a reseller's configs as Config objects (API and pages, admin and reseller
/// alike): the count, the rows and their pending operations, whatever the page's length.
pub async fn config_page(
    state: &AppState,
    reseller_id: i64,
    q: ConfigQuery,
) -> Result<Paged<ConfigView>, AppError> {
    let (rows, total, p) = row_page(state, reseller_id, q).await?;
    let items = rows
        .iter()
        .map(|r| ConfigView::new(&r.c, r.pending.clone()))
        .collect();
    Ok(Paged::new(items, total, p))
}

/// One page of a reseller's config rows with the total: count, rows, pending operations.
pub async fn row_page(
    state: &AppState,
    reseller_id: i64,
    q: ConfigQuery,
) -> Result<(Vec<ConfigRow>, i64, PageParams), AppError> {
    let p = PageParams {
        page: q.page,
        per_page: q.per_page,
    };
    let filter = db::configs::ConfigFilter {
        status: AppError::choice("status", q.status.as_deref())?,
        q: AppError::search(q.q.as_deref())?,
    };
    let mut conn = state.db.acquire().await?;
    let (rows, total) =
        db::configs::list_for_reseller(&mut conn, reseller_id, &filter, p.per_page(), p.offset())
            .await?;
    Ok((self::rows(&mut conn, rows).await?, total, p))
}
