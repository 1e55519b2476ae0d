//! The append-only audit log (spec §10): one function every state change calls, and the
//! filtered listing the admin reads. Rows are never updated or deleted.

use crate::{Conn, DbResult};
use serde::Serialize;
use sqlx::{FromRow, QueryBuilder};

/// Who did it: a signed-in user or the system itself (scheduler, workers).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Actor {
    /// `admin`, `reseller` or `system`.
    pub kind: String,
    pub id: Option<i64>,
    pub name: String,
}

impl Actor {
    pub fn system() -> Actor {
        Actor {
            kind: "system".into(),
            id: None,
            name: "system".into(),
        }
    }

    pub fn user(role: &str, id: i64, name: &str) -> Actor {
        Actor {
            kind: role.to_string(),
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
    pub action: &'a str,
    pub target_type: Option<&'a str>,
    pub target_id: Option<i64>,
    pub reason: Option<&'a str>,
    /// Before/after values and remote results.
    pub meta: serde_json::Value,
}

#[derive(Clone, Debug, FromRow, Serialize)]
pub struct AuditRow {
    pub id: i64,
    pub created_at: i64,
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
    pub meta: String,
}

pub async fn record(conn: &mut Conn, entry: NewAudit<'_>) -> DbResult<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO audit_logs (created_at, actor_type, actor_id, actor_name, action, target_type, \
         target_id, reason, request_id, ip, user_agent, meta) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
    )
    .bind(chrono::Utc::now().timestamp())
    .bind(&entry.actor.kind)
    .bind(entry.actor.id)
    .bind(&entry.actor.name)
    .bind(entry.action)
    .bind(entry.target_type)
    .bind(entry.target_id)
    .bind(entry.reason)
    .bind(entry.origin.request_id.as_deref())
    .bind(entry.origin.ip.as_deref())
    .bind(entry.origin.user_agent.as_deref())
    .bind(entry.meta.to_string())
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<i64>,
    pub actor_id: Option<i64>,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

fn push_filter(qb: &mut QueryBuilder<'_, sqlx::Any>, f: &AuditFilter) {
    qb.push(" WHERE 1=1");
    if let Some(a) = &f.action {
        qb.push(" AND action = ").push_bind(a.clone());
    }
    if let Some(t) = &f.target_type {
        qb.push(" AND target_type = ").push_bind(t.clone());
    }
    if let Some(t) = f.target_id {
        qb.push(" AND target_id = ").push_bind(t);
    }
    if let Some(a) = f.actor_id {
        qb.push(" AND actor_id = ").push_bind(a);
    }
    if let Some(t) = f.from {
        qb.push(" AND created_at >= ").push_bind(t);
    }
    if let Some(t) = f.to {
        qb.push(" AND created_at < ").push_bind(t);
    }
}

/// Newest first, with the total for pagination.
pub async fn list(
    conn: &mut Conn,
    filter: &AuditFilter,
    limit: i64,
    offset: i64,
) -> DbResult<(Vec<AuditRow>, i64)> {
    let mut count = QueryBuilder::new("SELECT COUNT(*) FROM audit_logs");
    push_filter(&mut count, filter);
    let total: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;
    let mut qb = QueryBuilder::new("SELECT * FROM audit_logs");
    push_filter(&mut qb, filter);
    qb.push(" ORDER BY id DESC LIMIT ")
        .push_bind(limit)
        .push(" OFFSET ")
        .push_bind(offset);
    let rows = qb.build_query_as().fetch_all(&mut *conn).await?;
    Ok((rows, total))
}
