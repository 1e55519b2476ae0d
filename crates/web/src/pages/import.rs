//! `/admin/panels/{id}/unmanaged`: the panel's users no config claims (by owner, searched,
//! paged), and the form that imports the ticked ones, or all that match, into a reseller; the
//! job's progress is then shown at `/admin/jobs/{id}`.

use crate::actions::import::{start_import, unmanaged_page, ImportRequest, UnmanagedQuery};
use crate::auth::{PageAdmin, RequestOrigin};
use crate::csrf::CsrfForm;
use crate::error::{AppError, PageResult};
use crate::locale::Locale;
use crate::pages::shell::Shell;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/panels/{id}/unmanaged", get(show).post(import))
}

#[derive(Template)]
#[template(path = "unmanaged.html")]
struct UnmanagedTemplate {
    shell: Shell,
    panel: db::panels::Panel,
    list: crate::actions::import::UnmanagedPage,
    resellers: Vec<(i64, String)>,
    owner: String,
    q: String,
    pages: usize,
    /// What the last import attempt was refused for, in the reader's language.
    error: Option<String>,
    /// The last attempt would pass the config limit: ask before importing anyway.
    ask_exceed: bool,
    /// Why the panel could not be listed, when it could not.
    panel_error: Option<String>,
    /// The users ticked in the last attempt, ticked again.
    selected: Vec<String>,
    reseller_id: i64,
}

impl UnmanagedTemplate {
    fn is_selected(&self, username: &str) -> bool {
        self.selected.iter().any(|s| s == username)
    }

    /// The address of another page of this list, keeping the filter.
    fn page_href(&self, page: usize) -> String {
        let query = serde_urlencoded::to_string([
            ("owner", self.owner.as_str()),
            ("q", self.q.as_str()),
            ("page", &page.to_string()),
        ])
        .unwrap_or_default();
        format!("/admin/panels/{}/unmanaged?{query}", self.panel.id)
    }
}

/// What a failed attempt gives back to the form.
struct Attempt {
    error: Option<String>,
    ask_exceed: bool,
    selected: Vec<String>,
    reseller_id: i64,
}

#[derive(Deserialize, Default)]
pub struct ShowQuery {
    #[serde(default)]
    owner: String,
    #[serde(default)]
    q: String,
    page: Option<usize>,
}

async fn render(
    state: &AppState,
    loc: Locale,
    user: crate::auth::CurrentUser,
    panel_id: i64,
    query: ShowQuery,
    attempt: Attempt,
) -> PageResult<Html<String>> {
    let panel = {
        let mut conn = state.db.acquire().await?;
        db::panels::get(&mut conn, panel_id)
            .await?
            .ok_or(AppError::NotFound)?
    };
    let listed = unmanaged_page(
        state,
        panel_id,
        &UnmanagedQuery {
            owner: Some(query.owner.clone()),
            q: Some(query.q.clone()),
            page: query.page,
            per_page: Some(100),
        },
    )
    .await;
    // A panel that does not answer is said on the page, which stays usable (no error page).
    let (list, panel_error) = match listed {
        Ok(list) => (list, None),
        Err(AppError::Panel(e)) => (crate::actions::import::UnmanagedPage::empty(), Some(e)),
        Err(e) => return Err(e.into()),
    };
    let resellers = {
        let mut conn = state.db.acquire().await?;
        db::resellers::on_panel(&mut conn, panel_id).await?
    };
    let page = UnmanagedTemplate {
        shell: Shell::new(loc, Some(user), "/admin/panels", "import.title"),
        pages: list.total.div_ceil(list.per_page).max(1),
        panel,
        list,
        resellers,
        owner: query.owner,
        q: query.q,
        error: attempt.error,
        panel_error,
        ask_exceed: attempt.ask_exceed,
        selected: attempt.selected,
        reseller_id: attempt.reseller_id,
    };
    Ok(Html(page.render().map_err(anyhow::Error::from)?))
}

pub async fn show(
    State(state): State<AppState>,
    loc: Locale,
    PageAdmin(user): PageAdmin,
    Path(id): Path<i64>,
    Query(q): Query<ShowQuery>,
) -> PageResult<Html<String>> {
    let attempt = Attempt {
        error: None,
        ask_exceed: false,
        selected: Vec::new(),
        reseller_id: 0,
    };
    render(&state, loc, user, id, q, attempt).await
}

/// The form as sent: the ticked users come as repeated `usernames` fields.
fn read_form(fields: &[(String, String)]) -> (ImportRequest, ShowQuery) {
    let get = |k: &str| {
        fields
            .iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let usernames: Vec<String> = fields
        .iter()
        .filter(|(k, _)| k == "usernames")
        .map(|(_, v)| v.clone())
        .collect();
    let all_matching = get("mode") == "matching";
    let owner = get("owner");
    let q = get("q");
    let choice = get("reseller_id");
    // "new": a reseller made in the same step, named after the owner unless a login is typed.
    let new_reseller = (choice == "new").then(|| {
        let quota_gb: f64 = domain::units::to_latin_digits(&get("new_quota_gb"))
            .parse()
            .unwrap_or(0.0);
        crate::actions::resellers::CreateReseller {
            username: get("new_login"),
            password: get("new_password"),
            kind: get("new_kind"),
            traffic_quota_bytes: Some((quota_gb * (1u64 << 30) as f64) as i64),
            window_days: Some(30),
            ..Default::default()
        }
    });
    let req = ImportRequest {
        new_reseller,
        reseller_id: domain::units::to_latin_digits(&choice).parse().ok(),
        usernames: (!all_matching).then_some(usernames),
        owner: (!owner.is_empty()).then(|| owner.clone()),
        all_matching,
        q: (!q.is_empty()).then(|| q.clone()),
        exceed_limit: !get("exceed_limit").is_empty(),
    };
    (
        req,
        ShowQuery {
            owner,
            q,
            page: None,
        },
    )
}

pub async fn import(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<i64>,
    CsrfForm { user, form }: CsrfForm<Vec<(String, String)>>,
) -> PageResult<Response> {
    if !user.is_admin() {
        return Err(AppError::forbidden("admin_only", "admin only").into());
    }
    let (req, query) = read_form(&form);
    let (error, ask_exceed) = match start_import(&state, &user, &origin, id, &req).await {
        Ok(accepted) => {
            return Ok(Redirect::to(&format!("/admin/jobs/{}", accepted.job_id)).into_response())
        }
        Err(AppError::Validation(fields)) => {
            (fields.values().next().map(|k| loc.t(k).to_string()), false)
        }
        Err(AppError::Conflict { code, message })
            if code == engine::access::CONFIG_LIMIT_REACHED =>
        {
            let over: String = message.chars().take_while(|c| c.is_ascii_digit()).collect();
            (
                Some(loc.tf("import.over_limit", &[("count", loc.num(over))])),
                true,
            )
        }
        Err(AppError::Conflict { .. }) => (Some(loc.t("import.nothing").to_string()), false),
        Err(e) => return Err(e.into()),
    };
    let attempt = Attempt {
        error,
        ask_exceed,
        selected: req.usernames.clone().unwrap_or_default(),
        reseller_id: req.reseller_id.unwrap_or(0),
    };
    let mut res = render(&state, loc, user, id, query, attempt)
        .await?
        .into_response();
    *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(res)
}
