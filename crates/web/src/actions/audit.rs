//! The audit log as the admin reads it, shared by the page and the API: its view, filter and time
//! parsing.

use crate::error::AppError;
use crate::views::rfc3339;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub action: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<i64>,
    pub actor_id: Option<i64>,
    /// RFC 3339 or YYYY-MM-DD (UTC midnight).
    pub from: Option<String>,
    pub to: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditView {
    pub id: i64,
    pub created_at: String,
    pub actor_type: String,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<i64>,
    pub reason: Option<String>,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[schema(value_type = Object)]
    pub meta: serde_json::Value,
}

impl From<db::audit::AuditRow> for AuditView {
    fn from(r: db::audit::AuditRow) -> Self {
        AuditView {
            id: r.id,
            created_at: rfc3339(r.created_at),
            actor_type: r.actor_type.to_string(),
            actor_id: r.actor_id,
            actor_name: r.actor_name,
            action: r.action.to_string(),
            target_type: r.target_type.map(|t| t.to_string()),
            target_id: r.target_id,
            reason: r.reason,
            request_id: r.request_id,
            ip: r.ip,
            user_agent: r.user_agent,
            meta: serde_json::from_str(&r.meta).unwrap_or(serde_json::Value::Null),
        }
    }
}

pub fn parse_time(field: &str, value: &str) -> Result<i64, AppError> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(value) {
        return Ok(t.timestamp());
    }
    chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map(|d| {
            d.and_hms_opt(0, 0, 0)
                .expect("midnight exists")
                .and_utc()
                .timestamp()
        })
        .map_err(|_| AppError::field(field, "err.bad_time"))
}

impl AuditQuery {
    pub fn filter(&self) -> Result<db::audit::AuditFilter, AppError> {
        Ok(db::audit::AuditFilter {
            action: AppError::choice("action", self.action.as_deref())?,
            target_type: AppError::choice("target_type", self.target_type.as_deref())?,
            target_id: self.target_id,
            actor_id: self.actor_id,
            from: self
                .from
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(|v| parse_time("from", v))
                .transpose()?,
            to: self
                .to
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(|v| parse_time("to", v))
                .transpose()?,
        })
    }
}
