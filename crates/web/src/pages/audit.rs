//! `/admin/audit`: the audit log with filters by action, target, actor and date, and a CSV
//! export of the same selection.

use crate::api::audit::AuditQuery;
use crate::api::extract::PageParams;
use crate::auth::PageAdmin;
use crate::error::{AppError, PageResult};
use crate::locale::Locale;
use crate::pages::shell::Shell;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/audit", get(show))
        .route("/admin/audit.csv", get(export_csv))
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    shell: Shell,
    rows: Vec<db::audit::AuditRow>,
    q: AuditQuery,
    page: i64,
    pages: i64,
    total: i64,
    query_string: String,
    error_key: Option<String>,
}

impl AuditPage {
    fn value<'a>(&self, v: &'a Option<String>) -> &'a str {
        v.as_deref().unwrap_or("")
    }
}

fn query_string(q: &AuditQuery) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    for (k, v) in [
        ("action", &q.action),
        ("target_type", &q.target_type),
        ("from", &q.from),
        ("to", &q.to),
    ] {
        if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
            pairs.push((k, v.clone()));
        }
    }
    if let Some(t) = q.target_id {
        pairs.push(("target_id", t.to_string()));
    }
    if let Some(a) = q.actor_id {
        pairs.push(("actor_id", a.to_string()));
    }
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

async fn show(
    State(state): State<AppState>,
    loc: Locale,
    PageAdmin(user): PageAdmin,
    Query(q): Query<AuditQuery>,
) -> PageResult<Response> {
    let p = PageParams {
        page: q.page,
        per_page: Some(50),
    };
    let (filter, error_key) = match q.filter() {
        Ok(f) => (f, None),
        Err(AppError::Validation(f)) => (Default::default(), f.values().next().cloned()),
        Err(e) => return Err(e.into()),
    };
    let mut conn = state.db.acquire().await?;
    let (rows, total) = db::audit::list(&mut conn, &filter, p.per_page(), p.offset()).await?;
    let page = AuditPage {
        shell: Shell::new(loc, Some(user), "/admin/audit", "nav.audit"),
        rows,
        page: p.page(),
        pages: ((total + p.per_page() - 1) / p.per_page()).max(1),
        total,
        query_string: query_string(&q),
        q,
        error_key,
    };
    Ok(Html(page.render().map_err(anyhow::Error::from)?).into_response())
}

/// RFC 4180 field quoting; a leading formula character is neutralised so a spreadsheet never
/// executes an attacker-chosen value (CSV injection).
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

async fn export_csv(
    State(state): State<AppState>,
    PageAdmin(_user): PageAdmin,
    Query(q): Query<AuditQuery>,
) -> PageResult<Response> {
    let filter = q.filter()?;
    let mut conn = state.db.acquire().await?;
    let (rows, _) = db::audit::list(&mut conn, &filter, 100_000, 0).await?;
    let mut out = String::from("id,created_at,actor_type,actor_id,actor_name,action,target_type,target_id,reason,request_id,ip,user_agent,meta\n");
    for r in rows {
        let fields = [
            r.id.to_string(),
            crate::api::auth::rfc3339(r.created_at),
            r.actor_type.to_string(),
            r.actor_id.map(|v| v.to_string()).unwrap_or_default(),
            r.actor_name,
            r.action.to_string(),
            r.target_type.map(|t| t.to_string()).unwrap_or_default(),
            r.target_id.map(|v| v.to_string()).unwrap_or_default(),
            r.reason.unwrap_or_default(),
            r.request_id.unwrap_or_default(),
            r.ip.unwrap_or_default(),
            r.user_agent.unwrap_or_default(),
            r.meta,
        ];
        out.push_str(
            &fields
                .iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }
}
