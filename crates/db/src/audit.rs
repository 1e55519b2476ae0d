//! The append-only audit log (spec §10): one function every state change calls, and the
//! filtered listing the admin reads. Rows are never updated or deleted.

use crate::decode::MaybeText;
use crate::{q, Conn, DbResult};
use domain::status::{ActorType, AuditAction, AuditTarget, Role};
use serde::Serialize;
use sqlx::FromRow;

/// Who did it: a signed-in user or the system itself (scheduler, workers).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Actor {
    pub kind: ActorType,
    pub id: Option<i64>,
    pub name: String,
}

impl Actor {
    pub fn system() -> Actor {
        Actor {
            kind: ActorType::System,
            id: None,
            name: ActorType::System.as_str().into(),
        }
    }

    pub fn user(role: Role, id: i64, name: &str) -> Actor {
        Actor {
            kind: role.into(),
            id: Some(id),
            name: name.to_string(),
        }
    }
}

/// Where a change came from, carried from the HTTP request into every audit row it causes.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Origin {
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

pub struct NewAudit<'a> {
    pub actor: &'a Actor,
    pub origin: &'a Origin,
    pub action: AuditAction,
    pub target_type: Option<AuditTarget>,
    pub target_id: Option<i64>,
    pub reason: Option<&'a str>,
    /// Before/after values and remote results.
    pub meta: serde_json::Value,
}

impl<'a> NewAudit<'a> {
    /// A row about one target (a config, a reseller, a top-up, …) and no reason yet; what most
    /// changes write, without spelling out every field.
    pub fn about(
        actor: &'a Actor,
        origin: &'a Origin,
        action: AuditAction,
        (target_type, target_id): (AuditTarget, i64),
        meta: serde_json::Value,
    ) -> NewAudit<'a> {
        NewAudit {
            actor,
            origin,
            action,
            target_type: Some(target_type),
            target_id: Some(target_id),
            reason: None,
            meta,
        }
    }

    /// The reason the change gives (a state's name or a short sentence); `None` leaves none.
    pub fn because(self, reason: impl Into<Option<&'a str>>) -> NewAudit<'a> {
        NewAudit {
            reason: reason.into(),
            ..self
        }
    }
}

#[derive(Clone, Debug, FromRow, Serialize)]
pub struct AuditRow {
    pub id: i64,
    pub created_at: i64,
    #[sqlx(try_from = "String")]
    pub actor_type: ActorType,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    #[sqlx(try_from = "String")]
    pub action: AuditAction,
    #[sqlx(try_from = "MaybeText")]
    pub target_type: Option<AuditTarget>,
    pub target_id: Option<i64>,
    pub reason: Option<String>,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub meta: String,
}

pub async fn record(conn: &mut Conn, entry: NewAudit<'_>) -> DbResult<i64> {
    let id: i64 = q::scalar(
        conn,
        "INSERT INTO audit_logs (created_at, actor_type, actor_id, actor_name, action, target_type, \
         target_id, reason, request_id, ip, user_agent, meta) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        (
            chrono::Utc::now().timestamp(),
            entry.actor.kind.as_str(),
            entry.actor.id,
            &entry.actor.name,
            entry.action.as_str(),
            entry.target_type.map(|t| t.as_str()),
            entry.target_id,
            entry.reason,
            entry.origin.request_id.as_deref(),
            entry.origin.ip.as_deref(),
            entry.origin.user_agent.as_deref(),
            entry.meta.to_string(),
        ),
    )
    .await?;
    Ok(id)
}

#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub action: Option<AuditAction>,
    pub target_type: Option<AuditTarget>,
    pub target_id: Option<i64>,
    pub actor_id: Option<i64>,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

fn filter_sql(f: &AuditFilter) -> (String, Vec<q::Value>) {
    let mut sql = String::from(" WHERE 1=1");
    let mut binds = Vec::new();
    let mut add = |sql: &mut String, cond: &str, b: q::Value| {
        binds.push(b);
        sql.push_str(&format!(" AND {cond} ${}", binds.len()));
    };
    if let Some(a) = f.action {
        add(&mut sql, "action =", q::Value::Text(a.as_str().into()));
    }
    if let Some(t) = f.target_type {
        add(&mut sql, "target_type =", q::Value::Text(t.as_str().into()));
    }
    if let Some(t) = f.target_id {
        add(&mut sql, "target_id =", q::Value::Int(t));
    }
    if let Some(a) = f.actor_id {
        add(&mut sql, "actor_id =", q::Value::Int(a));
    }
    if let Some(t) = f.from {
        add(&mut sql, "created_at >=", q::Value::Int(t));
    }
    if let Some(t) = f.to {
        add(&mut sql, "created_at <", q::Value::Int(t));
    }
    (sql, binds)
}

/// Newest first, with the total for pagination.
pub async fn list(
    conn: &mut Conn,
    filter: &AuditFilter,
    limit: i64,
    offset: i64,
) -> DbResult<(Vec<AuditRow>, i64)> {
    let (where_, values) = filter_sql(filter);
    q::page(conn, "audit_logs", &where_, &values, limit, offset).await
}
