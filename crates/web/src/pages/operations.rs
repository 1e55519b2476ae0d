//! `/admin/operations`: the durable remote operations by status, one with its attempts, and
//! the admin's "retry now" and "cancel" buttons (the same functions the API calls).

use crate::actions::operations::{
    cancel_operation, list_operations, operation_detail, parse_status, retry_operation,
};
use crate::auth::{CurrentUser, PageAdmin, RequestOrigin};
use crate::csrf::CsrfForm;
use crate::error::{AppError, PageResult};
use crate::locale::Locale;
use crate::pages::shell::Shell;
use crate::state::AppState;
use crate::views::paging::PageParams;
use crate::views::{Badge, Label};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Response};
use axum::routing::{get, post};
use axum::Router;
use domain::status::OpStatus;
use serde::Deserialize;
use std::collections::HashMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/operations", get(list))
        .route("/admin/operations/{id}", get(show))
        .route("/admin/operations/{id}/retry", post(retry))
        .route("/admin/operations/{id}/cancel", post(cancel))
}

/// A row with what the admin needs to recognise it.
pub struct OpRow {
    pub op: db::operations::Operation,
    pub panel_name: String,
}

impl OpRow {
    pub fn status_class(&self) -> &'static str {
        self.op.status.badge()
    }

    pub fn status_key(&self) -> &'static str {
        self.op.status.key()
    }

    pub fn kind_key(&self) -> &'static str {
        self.op.kind.key()
    }

    pub fn retryable(&self) -> bool {
        matches!(self.op.status, OpStatus::Pending | OpStatus::Failed)
    }

    pub fn cancellable(&self) -> bool {
        self.op.status == OpStatus::Pending
    }
}

/// The label of a status filter link ("" = all).
pub fn status_key(s: &str) -> &'static str {
    s.parse::<OpStatus>()
        .map(|s| s.key())
        .unwrap_or("operations.status.all")
}

async fn panel_names(state: &AppState) -> Result<HashMap<i64, String>, AppError> {
    let mut conn = state.db.acquire().await?;
    Ok(db::panels::list(&mut conn)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect())
}

fn row(op: db::operations::Operation, names: &HashMap<i64, String>) -> OpRow {
    OpRow {
        panel_name: names
            .get(&op.panel_id)
            .cloned()
            .unwrap_or_else(|| format!("#{}", op.panel_id)),
        op,
    }
}

#[derive(Template)]
#[template(path = "operations.html")]
struct ListPage {
    shell: Shell,
    rows: Vec<OpRow>,
    status: String,
    statuses: Vec<&'static str>,
    total: i64,
    page: i64,
    prev: Option<String>,
    next: Option<String>,
}

impl ListPage {
    fn status_label(&self, s: &str) -> &'static str {
        status_key(s)
    }
    fn panel_error(&self, raw: &str) -> String {
        crate::humanize::panel_error(&self.shell.loc, raw)
    }
}

impl DetailPage {
    fn panel_error(&self, raw: &str) -> String {
        crate::humanize::panel_error(&self.shell.loc, raw)
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    page: Option<i64>,
}

pub async fn list(
    State(state): State<AppState>,
    loc: Locale,
    PageAdmin(user): PageAdmin,
    Query(q): Query<ListQuery>,
) -> PageResult<Html<String>> {
    let status = parse_status(q.status.as_deref())
        .map_err(|_| AppError::BadRequest("unknown status".into()))?;
    let p = PageParams {
        page: q.page,
        per_page: Some(50),
    };
    let (ops, total) = list_operations(&state, status, p).await?;
    let names = panel_names(&state).await?;
    let status = status.map(|s| s.as_str()).unwrap_or_default().to_string();
    let link = |page: i64| format!("/admin/operations?status={status}&page={page}");
    let page = ListPage {
        shell: Shell::new(loc, Some(user), "/admin/operations", "operations.title"),
        rows: ops.into_iter().map(|o| row(o, &names)).collect(),
        prev: (p.page() > 1).then(|| link(p.page() - 1)),
        next: (p.offset() + p.per_page() < total).then(|| link(p.page() + 1)),
        status,
        statuses: OpStatus::ALL.iter().map(|s| s.as_str()).collect(),
        total,
        page: p.page(),
    };
    Ok(Html(page.render().map_err(anyhow::Error::from)?))
}

#[derive(Template)]
#[template(path = "operations_detail.html")]
struct DetailPage {
    shell: Shell,
    row: OpRow,
    attempts: Vec<db::operations::Attempt>,
}

async fn render_detail(
    state: &AppState,
    loc: Locale,
    user: CurrentUser,
    id: i64,
) -> PageResult<Html<String>> {
    let (op, attempts) = operation_detail(state, id).await?;
    let names = panel_names(state).await?;
    let page = DetailPage {
        shell: Shell::new(
            loc,
            Some(user),
            &format!("/admin/operations/{id}"),
            "operations.detail_title",
        ),
        row: row(op, &names),
        attempts,
    };
    Ok(Html(page.render().map_err(anyhow::Error::from)?))
}

pub async fn show(
    State(state): State<AppState>,
    loc: Locale,
    PageAdmin(user): PageAdmin,
    Path(id): Path<i64>,
) -> PageResult<Html<String>> {
    render_detail(&state, loc, user, id).await
}

#[derive(Deserialize)]
pub struct Empty {}

fn forbid_non_admin(user: &CurrentUser) -> Result<(), AppError> {
    if user.is_admin() {
        Ok(())
    } else {
        Err(AppError::forbidden("admin_only", "admin only"))
    }
}

pub async fn retry(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<i64>,
    CsrfForm { user, .. }: CsrfForm<Empty>,
) -> PageResult<Response> {
    forbid_non_admin(&user)?;
    retry_operation(&state, &user, &origin, id).await?;
    Ok(crate::request_context::done(
        &format!("/admin/operations/{id}"),
        loc.t("flash.operation_retried"),
    ))
}

pub async fn cancel(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<i64>,
    CsrfForm { user, .. }: CsrfForm<Empty>,
) -> PageResult<Response> {
    forbid_non_admin(&user)?;
    cancel_operation(&state, &user, &origin, id).await?;
    Ok(crate::request_context::done(
        &format!("/admin/operations/{id}"),
        loc.t("flash.operation_cancelled"),
    ))
}
