//! `/admin/audit`: the audit log in words (who did what to which object, and what changed), with
//! filters offered as named choices, Jalali dates on Persian pages, and a CSV export of the same
//! selection with every stored field.

use crate::auth::PageAdmin;
use crate::error::PageResult;
use crate::humanize;
use crate::locale::Locale;
use crate::pages::shell::Shell;
use crate::state::AppState;
use crate::views::csv::Csv;
use crate::views::paging::PageParams;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/audit", get(show))
        .route("/admin/audit.csv", get(export_csv))
}

/// One audit row as the pages show it.
pub struct AuditLine {
    pub time: String,
    pub actor: String,
    pub ip: Option<String>,
    pub action: String,
    pub reason: Option<String>,
    pub target: Option<(String, Option<String>)>,
    pub details: Vec<String>,
    pub raw: String,
}

pub fn audit_line(loc: &Locale, r: &db::audit::AuditRow) -> AuditLine {
    AuditLine {
        time: loc.ts_datetime(r.created_at),
        actor: humanize::actor(loc, r.actor_type, &r.actor_name),
        ip: r.ip.clone(),
        action: humanize::action(loc, r.action),
        reason: r.reason.as_deref().map(|x| humanize::reason(loc, x)),
        target: r.target_type.map(|t| {
            let label = match r.target_id {
                Some(id) => format!("{} {}", humanize::target_type(loc, t), loc.num(id)),
                None => humanize::target_type(loc, t),
            };
            (
                label,
                r.target_id.and_then(|id| humanize::target_href(t, id)),
            )
        }),
        details: humanize::details(loc, &r.meta),
        raw: r.meta.clone(),
    }
}

/// A named choice of a filter.
pub struct Choice {
    pub value: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    shell: Shell,
    audit: Vec<AuditLine>,
    show_raw: bool,
    q: AuditForm,
    actions: Vec<Choice>,
    targets: Vec<Choice>,
    actors: Vec<Choice>,
    page: i64,
    pages: i64,
    total: i64,
    query_string: String,
    error_key: Option<String>,
}

/// The filter form as typed: every field a string, so an empty choice is "any" and a date may
/// be Jalali; parsed into the database filter here.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AuditForm {
    action: String,
    target_type: String,
    target_id: String,
    actor_id: String,
    from: String,
    to: String,
    page: String,
}

impl AuditForm {
    fn filter(&self) -> Result<db::audit::AuditFilter, &'static str> {
        let int = |s: &str| -> Result<Option<i64>, &'static str> {
            match s.trim() {
                "" => Ok(None),
                v => crate::pages::configs::parse_int(v)
                    .map(Some)
                    .ok_or("audit.err.number"),
            }
        };
        // A value no choice offers is a bad address, not "any".
        fn choice<T: std::str::FromStr>(s: &str) -> Result<Option<T>, &'static str> {
            match s.trim() {
                "" => Ok(None),
                v => v.parse().map(Some).map_err(|_| "err.bad_choice"),
            }
        }
        let time = |s: &str| -> Result<Option<i64>, &'static str> {
            match crate::pages::configs::form_date(s) {
                None => Ok(None),
                Some(d) => crate::actions::audit::parse_time("from", &d)
                    .map(Some)
                    .map_err(|_| "audit.err.date"),
            }
        };
        Ok(db::audit::AuditFilter {
            action: choice(&self.action)?,
            target_type: choice(&self.target_type)?,
            target_id: int(&self.target_id)?,
            actor_id: int(&self.actor_id)?,
            from: time(&self.from)?,
            // "To" a date includes that whole day.
            to: time(&self.to)?.map(|t| t + 86_400),
        })
    }

    fn query_string(&self) -> String {
        let pairs: Vec<(&str, &str)> = [
            ("action", &self.action),
            ("target_type", &self.target_type),
            ("target_id", &self.target_id),
            ("actor_id", &self.actor_id),
            ("from", &self.from),
            ("to", &self.to),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k, v.as_str()))
        .collect();
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

fn choices(loc: &Locale, prefix: &str) -> Vec<Choice> {
    crate::i18n::entries(loc.lang, prefix)
        .into_iter()
        .filter(|(code, _)| code != "other")
        .map(|(value, label)| Choice { value, label })
        .collect()
}

async fn show(
    State(state): State<AppState>,
    loc: Locale,
    PageAdmin(user): PageAdmin,
    Query(q): Query<AuditForm>,
) -> PageResult<Response> {
    let p = PageParams {
        page: crate::pages::configs::parse_int(&q.page),
        per_page: Some(50),
    };
    let (filter, error_key) = match q.filter() {
        Ok(f) => (f, None),
        Err(k) => (Default::default(), Some(k.to_string())),
    };
    let mut conn = state.db.acquire().await?;
    let (rows, total) = db::audit::list(&mut conn, &filter, p.per_page(), p.offset()).await?;
    let actors = db::users::names(&mut conn, 500)
        .await?
        .into_iter()
        .map(|(id, name, role)| Choice {
            value: id.to_string(),
            label: format!("{name} · {}", loc.t(&format!("role.{role}"))),
        })
        .collect();
    drop(conn);
    let page = AuditPage {
        audit: rows.iter().map(|r| audit_line(&loc, r)).collect(),
        show_raw: true,
        actions: choices(&loc, "audit.actions."),
        targets: choices(&loc, "audit.targets."),
        actors,
        page: p.page(),
        pages: ((total + p.per_page() - 1) / p.per_page()).max(1),
        total,
        query_string: q.query_string(),
        q,
        error_key,
        shell: Shell::new(loc, Some(user), "/admin/audit", "nav.audit"),
    };
    Ok(Html(page.render().map_err(anyhow::Error::from)?).into_response())
}

async fn export_csv(
    State(state): State<AppState>,
    PageAdmin(_user): PageAdmin,
    Query(q): Query<AuditForm>,
) -> PageResult<Response> {
    let filter = q
        .filter()
        .map_err(|k| crate::error::AppError::field("filter", k))?;
    let mut conn = state.db.acquire().await?;
    let (rows, _) = db::audit::list(&mut conn, &filter, 100_000, 0).await?;
    let mut out = Csv::new("id,created_at,actor_type,actor_id,actor_name,action,target_type,target_id,reason,request_id,ip,user_agent,meta");
    for r in rows {
        let fields = [
            r.id.to_string(),
            crate::views::rfc3339(r.created_at),
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
        out.row(&fields);
    }
    Ok(out.download("audit.csv"))
}
