//! The reseller's config pages: the list (search, status filter, pagination), the create form,
//! and one config with its subscription URL, QR code, timeline, edit form and actions.

use crate::actions::configs::{
    create_config, patch_config, run_action, Action, CreateConfig, PatchConfig,
};
use crate::auth::{CurrentUser, PageUser, RequestOrigin};
use crate::csrf::CsrfForm;
use crate::error::{AppError, FieldErrors, PageResult};
use crate::locale::Locale;
use crate::pages::reseller_dashboard::gate;
use crate::pages::shell::Shell;
use crate::state::AppState;
use crate::views::configs::{ConfigQuery, ConfigView, PendingOperation};
use crate::views::{self, Label};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use db::configs::Config;
use domain::status::{ConfigEventKind, ConfigStatus, DisabledReason, OpKind, RemoteState};
use engine::access::Area;
use serde::Deserialize;

/// Every page route with a config id, for the router and for the isolation test.
pub const ID_ROUTES: &[(&str, &str)] = &[
    ("GET", "/configs/{id}"),
    ("POST", "/configs/{id}/edit"),
    ("POST", "/configs/{id}/disable"),
    ("POST", "/configs/{id}/enable"),
    ("POST", "/configs/{id}/delete"),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/configs", get(list))
        .route("/configs/new", get(new_form).post(create))
        .route(ID_ROUTES[0].1, get(show))
        .route(ID_ROUTES[1].1, post(edit))
        .route(ID_ROUTES[2].1, post(disable))
        .route(ID_ROUTES[3].1, post(enable))
        .route(ID_ROUTES[4].1, post(delete))
        .route("/configs/{id}/recreate", post(recreate))
}

pub use crate::views::configs::ConfigRow as Row;

impl Row {
    pub fn state_key(&self) -> &'static str {
        display_state(&self.c, chrono::Utc::now().timestamp()).0
    }
    pub fn badge(&self) -> &'static str {
        display_state(&self.c, chrono::Utc::now().timestamp()).1
    }
    pub fn days_left(&self) -> Option<i64> {
        self.c.expires_at.map(|e| {
            crate::pages::reseller_dashboard::days_until(e, chrono::Utc::now().timestamp())
        })
    }
}

/// What a customer's config really is right now, for its badge: our status, corrected by what
/// the panel reports and by the figures themselves, so a config out of data or past its date
/// never shows a green "active".
pub fn display_state(c: &Config, now: i64) -> (&'static str, &'static str) {
    match c.status {
        ConfigStatus::Deleted => ("configs.state.deleted", "badge-muted"),
        _ if c.missing_on_panel_at.is_some() => ("configs.state.missing_on_panel", "badge-danger"),
        ConfigStatus::Expired => ("configs.state.expired", "badge-danger"),
        ConfigStatus::Disabled => ("configs.state.disabled", "badge-warn"),
        ConfigStatus::Active => {
            let used_up = c.traffic_limit_bytes > 0 && c.usage_bytes >= c.traffic_limit_bytes;
            let past = c.expires_at.is_some_and(|e| e <= now);
            match c.remote_state {
                Some(RemoteState::Limited) => ("configs.state.limited", "badge-danger"),
                Some(RemoteState::Expired) => ("configs.state.expired", "badge-danger"),
                Some(RemoteState::Disabled) => ("configs.state.disabled_on_panel", "badge-warn"),
                _ if used_up => ("configs.state.limited", "badge-danger"),
                _ if past => ("configs.state.expired", "badge-danger"),
                Some(RemoteState::OnHold) => ("configs.state.on_hold", "badge-muted"),
                Some(RemoteState::Active) | None => ("configs.state.active", "badge-ok"),
            }
        }
    }
}
#[derive(Template)]
#[template(path = "configs.html")]
struct ListPage {
    shell: Shell,
    rows: Vec<Row>,
    q: String,
    status: String,
    /// Only when the reseller chose one, so the page links keep it.
    per_page: Option<i64>,
    page: i64,
    pages: i64,
    total: i64,
    /// The seed's "previous usage" column appears only when some config has settled usage.
    show_previous: bool,
    /// The reseller's panel's calls a second, for the bulk form's expected duration.
    pace: u32,
}

impl ListPage {
    fn status_key(&self, s: &ConfigStatus) -> &'static str {
        s.key()
    }
    /// How long one action over every listed config takes at the panel's pace, said before it
    /// runs; and 100 creates (two panel calls each).
    fn pace_text(&self) -> String {
        let rate = self.pace as i64;
        let loc = &self.shell.loc;
        loc.tf(
            "bulk.pace_figures",
            &[
                ("rate", loc.num(rate)),
                ("n", loc.num(self.total)),
                ("seconds", loc.num((self.total + rate - 1) / rate)),
            ],
        )
    }

    fn create_pace_text(&self) -> String {
        let rate = self.pace as i64;
        let loc = &self.shell.loc;
        loc.tf(
            "bulk.create_pace",
            &[
                ("rate", loc.num(rate)),
                ("seconds", loc.num((200 + rate - 1) / rate)),
            ],
        )
    }

    /// The list's filter as a query, for the exports of exactly what is shown.
    fn filter_query(&self) -> String {
        serde_urlencoded::to_string([("q", &self.q), ("status", &self.status)]).unwrap_or_default()
    }

    fn page_link(&self, page: i64) -> String {
        let mut query = vec![
            ("q", self.q.clone()),
            ("status", self.status.clone()),
            ("page", page.to_string()),
        ];
        if let Some(n) = self.per_page {
            query.push(("per_page", n.to_string()));
        }
        serde_urlencoded::to_string(query)
            .map(|q| format!("/configs?{q}"))
            .unwrap_or_else(|_| "/configs".into())
    }
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    page: Option<i64>,
    /// 1 to 200; the page shows 25 without it.
    per_page: Option<i64>,
}

const PER_PAGE: i64 = 25;

async fn list(
    State(state): State<AppState>,
    loc: Locale,
    PageUser(user): PageUser,
    Query(q): Query<ListQuery>,
) -> PageResult<Response> {
    let r = match gate(&state, loc, &user, Area::Configs, "/configs").await? {
        Ok(r) => r,
        Err(res) => return Ok(res),
    };
    let query = ConfigQuery {
        status: Some(q.status.clone()),
        q: Some(q.q.clone()),
        page: q.page,
        per_page: Some(q.per_page.unwrap_or(PER_PAGE)),
    };
    let (rows, total, p) = views::configs::row_page(&state, r.id, query).await?;
    let show_previous = rows.iter().any(|r| r.c.settled_usage_bytes() > 0);
    // The handle is built from the panel's row; no panel call is made for it.
    let pace = match state.engine.registry.handle(r.panel_id).await {
        Ok(h) => h.rate_per_sec.max(1),
        Err(_) => state.engine.settings.default_rate_per_sec.max(1),
    };
    let page = ListPage {
        shell: Shell::new(loc, Some(user), "/configs", "configs.title"),
        rows,
        q: q.q,
        status: q.status,
        per_page: q.per_page.map(|_| p.per_page()),
        page: p.page(),
        pages: ((total + p.per_page() - 1) / p.per_page()).max(1),
        total,
        show_previous,
        pace,
    };
    Ok(Html(page.render().map_err(anyhow::Error::from)?).into_response())
}

#[derive(Template)]
#[template(path = "configs_new.html")]
struct NewPage {
    shell: Shell,
    allow_names: bool,
    /// The reseller's whitelists, or with none every service (group) or node the panel lists.
    services: Vec<panels::Choice>,
    nodes: Vec<panels::Choice>,
    max_clients: bool,
    form: NewForm,
    errors: FieldErrors,
}

impl NewPage {
    fn err(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(|k| self.shell.t(k))
    }
    fn checked(&self, field: &str, id: &str) -> bool {
        let list = if field == "service_ids" {
            &self.form.service_ids
        } else {
            &self.form.node_ids
        };
        list.iter().any(|i| i.to_string() == id)
    }
}

#[derive(Default, Clone)]
pub struct NewForm {
    pub traffic_limit_gb: String,
    pub expires_in_days: String,
    pub comment: String,
    pub prefix: String,
    pub custom_name: String,
    pub service_ids: Vec<i64>,
    pub node_ids: Vec<i64>,
    pub max_clients: String,
}

impl NewForm {
    /// Repeated checkbox names need the pair list, which a struct cannot take.
    fn from_pairs(pairs: &[(String, String)]) -> NewForm {
        let mut f = NewForm::default();
        for (k, v) in pairs {
            match k.as_str() {
                "traffic_limit_gb" => f.traffic_limit_gb = v.clone(),
                "expires_in_days" => f.expires_in_days = v.clone(),
                "comment" => f.comment = v.clone(),
                "prefix" => f.prefix = v.trim().to_string(),
                "custom_name" => f.custom_name = v.trim().to_string(),
                "service_ids" => f.service_ids.extend(v.parse::<i64>().ok()),
                "node_ids" => f.node_ids.extend(v.parse::<i64>().ok()),
                "max_clients" => f.max_clients = v.trim().to_string(),
                _ => {}
            }
        }
        f
    }

    fn to_request(&self) -> Result<CreateConfig, FieldErrors> {
        let mut errors = FieldErrors::new();
        let limit = domain::units::parse_gb(&self.traffic_limit_gb).unwrap_or_else(|_| {
            errors.insert("traffic_limit_bytes".into(), "configs.err.gb".into());
            0
        });
        let days = parse_int(&self.expires_in_days).unwrap_or_else(|| {
            errors.insert("expires_in_days".into(), "configs.err.number".into());
            0
        });
        let max_clients = if self.max_clients.is_empty() {
            None
        } else {
            let m = parse_int(&self.max_clients);
            if m.is_none() {
                errors.insert("max_clients".into(), "configs.err.number".into());
            }
            m
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(CreateConfig {
            traffic_limit_bytes: limit,
            expires_in_days: days,
            comment: Some(self.comment.clone()),
            prefix: Some(self.prefix.clone()),
            custom_name: Some(self.custom_name.clone()),
            service_ids: self.service_ids.clone(),
            node_ids: self.node_ids.clone(),
            inbound_ids: vec![],
            max_clients,
        })
    }
}

/// A date typed in a form: Jalali (`1404/09/01`, Persian digits welcome) when the year is a
/// Jalali one, else passed on as typed (Gregorian `YYYY-MM-DD` or RFC 3339).
pub fn form_date(s: &str) -> Option<String> {
    let s = domain::units::to_latin_digits(s.trim());
    if s.is_empty() {
        return None;
    }
    let year: Option<i32> = s.split(['/', '-']).next().and_then(|y| y.parse().ok());
    if year.is_some_and(|y| y < 1700) {
        if let Some(d) = domain::jalali::parse_jalali_date(&s) {
            return Some(d.format("%Y-%m-%d").to_string());
        }
    }
    Some(s.replace('/', "-"))
}

/// Integers typed with Persian or Latin digits.
pub fn parse_int(s: &str) -> Option<i64> {
    domain::units::to_latin_digits(s.trim()).parse().ok()
}

async fn render_new(
    state: &AppState,
    loc: Locale,
    user: CurrentUser,
    r: &db::resellers::Reseller,
    form: NewForm,
    errors: FieldErrors,
) -> PageResult<Response> {
    let mut conn = state.db.acquire().await?;
    let panel_kind = db::panels::get(&mut conn, r.panel_id)
        .await?
        .map(|p| p.kind);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    // A panel that cannot list its services leaves the choice to its defaults.
    let placement = engine::configs::placement(&state.engine, r)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(panel = r.panel_id, "cannot list the panel's choices: {e}");
            engine::configs::Placement::default()
        });
    let page = NewPage {
        shell: Shell::new(loc, Some(user), "/configs/new", "configs.new"),
        allow_names: r.allow_custom_names,
        services: placement.services,
        nodes: placement.nodes,
        max_clients: panel_kind.is_some_and(|k| k.has_max_clients()),
        form,
        errors,
    };
    Ok((status, Html(page.render().map_err(anyhow::Error::from)?)).into_response())
}

async fn new_form(
    State(state): State<AppState>,
    loc: Locale,
    PageUser(user): PageUser,
) -> PageResult<Response> {
    let r = match gate(&state, loc, &user, Area::Configs, "/configs/new").await? {
        Ok(r) => r,
        Err(res) => return Ok(res),
    };
    let form = NewForm {
        expires_in_days: "30".into(),
        ..Default::default()
    };
    render_new(&state, loc, user, &r, form, FieldErrors::new()).await
}

async fn create(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    CsrfForm { user, form }: CsrfForm<Vec<(String, String)>>,
) -> PageResult<Response> {
    let r = match gate(&state, loc, &user, Area::Configs, "/configs/new").await? {
        Ok(r) => r,
        Err(res) => return Ok(res),
    };
    let form = NewForm::from_pairs(&form);
    let req = match form.to_request() {
        Ok(req) => req,
        Err(errors) => return render_new(&state, loc, user, &r, form, errors).await,
    };
    match create_config(&state, &user, &origin, req).await {
        Ok(c) => Ok(crate::request_context::done(
            &format!("/configs/{}", c.id),
            &loc.tf1("flash.config_created", "name", &c.username),
        )),
        Err(AppError::Validation(errors)) => render_new(&state, loc, user, &r, form, errors).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "configs_show.html")]
struct ShowPage {
    shell: Shell,
    c: Config,
    pending: Option<PendingOperation>,
    events: Vec<db::configs::ConfigEvent>,
    qr_svg: Option<String>,
    errors: FieldErrors,
    can_enable: bool,
    /// On an admin's view: the owner (id, name), linked.
    reseller: Option<(i64, String)>,
    /// What was typed, when the form comes back with errors.
    typed: Option<EditForm>,
}

impl ShowPage {
    fn status_key(&self) -> &'static str {
        display_state(&self.c, chrono::Utc::now().timestamp()).0
    }
    fn badge(&self) -> &'static str {
        display_state(&self.c, chrono::Utc::now().timestamp()).1
    }
    fn remote_key(&self, state: &RemoteState) -> &'static str {
        crate::humanize::panel_state_key(*state)
    }
    fn event(&self, kind: &ConfigEventKind) -> String {
        crate::humanize::event(&self.shell.loc, *kind)
    }
    fn actor(&self, name: &str) -> String {
        crate::humanize::actor_name(&self.shell.loc, name)
    }
    fn panel_error(&self, raw: &str) -> String {
        crate::humanize::panel_error(&self.shell.loc, raw)
    }
    /// A drift event's finding and what was done, as a sentence (None for other events).
    fn drift_sentence(&self, e: &db::configs::ConfigEvent) -> Option<String> {
        crate::humanize::drift(&self.shell.loc, e.kind, &e.meta)
    }
    /// The reported (not restored) differences of limit and expiry, as sentences.
    fn reported_drift(&self) -> Vec<String> {
        self.c
            .panel_drift
            .as_deref()
            .map(|d| crate::humanize::reported_drift(&self.shell.loc, d))
            .unwrap_or_default()
    }
    fn is_admin(&self) -> bool {
        self.shell.user.as_ref().is_some_and(|u| u.is_admin())
    }
    fn op_kind_key(&self, kind: &OpKind) -> &'static str {
        kind.key()
    }
    fn days_left(&self) -> Option<i64> {
        self.c.expires_at.map(|e| {
            crate::pages::reseller_dashboard::days_until(e, chrono::Utc::now().timestamp())
        })
    }
    fn limit_value(&self) -> String {
        match &self.typed {
            Some(f) => f.traffic_limit_gb.clone(),
            None => self.limit_gb(),
        }
    }
    fn expiry_value(&self) -> String {
        match &self.typed {
            Some(f) => f.expires_at.clone(),
            None => self.expiry_input(),
        }
    }
    fn max_clients_value(&self, current: &i64) -> String {
        match &self.typed {
            Some(f) => f.max_clients.clone(),
            None => self.shell.loc.num(current),
        }
    }
    /// Quick-extend choices: days from today and their label.
    fn extend_chips(&self) -> [(i64, &'static str); 5] {
        [
            (7, "configs.extend.week"),
            (30, "configs.extend.month"),
            (90, "configs.extend.three_months"),
            (180, "configs.extend.six_months"),
            (365, "configs.extend.year"),
        ]
    }
    /// The expiry as the form shows it: Jalali for Persian, ISO for English.
    fn expiry_input(&self) -> String {
        self.c
            .expires_at
            .map(|e| self.shell.loc.input_date(e))
            .unwrap_or_default()
    }
    fn reason_key(&self, r: &DisabledReason) -> &'static str {
        r.key()
    }
    fn err(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(|k| self.shell.t(k))
    }
    fn limit_gb(&self) -> String {
        self.shell
            .loc
            .num(domain::units::format_gb(self.c.traffic_limit_bytes, 2))
    }
}

async fn render_show(
    state: &AppState,
    loc: Locale,
    user: CurrentUser,
    c: Config,
    errors: FieldErrors,
    typed: Option<EditForm>,
) -> PageResult<Response> {
    let mut conn = state.db.acquire().await?;
    let view = ConfigView::load(&mut conn, &c).await?;
    let events = db::configs::events(&mut conn, c.id).await?;
    let reseller = if user.is_admin() {
        db::resellers::get(&mut conn, c.reseller_id)
            .await?
            .map(|r| (r.id, r.display_name))
    } else {
        None
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let can_enable = c.status == ConfigStatus::Disabled
        && (user.is_admin() || c.disabled_reason == Some(DisabledReason::Manual));
    let path = format!("/configs/{}", c.id);
    let page = ShowPage {
        shell: Shell::new(loc, Some(user), &path, "configs.title"),
        qr_svg: c
            .subscription_url
            .as_deref()
            .and_then(crate::views::qr::qr_svg),
        pending: view.pending_operation,
        events,
        errors,
        can_enable,
        reseller,
        typed,
        c,
    };
    Ok((status, Html(page.render().map_err(anyhow::Error::from)?)).into_response())
}

/// The config if the visitor may see it: another reseller's is a 404; a blocked reseller gets
/// the page that says why (after the ownership check, so existence is never revealed).
async fn load_page_config(
    state: &AppState,
    loc: Locale,
    user: &CurrentUser,
    id: i64,
) -> PageResult<Result<Config, Response>> {
    let scope = crate::actions::configs::scope_of(user)?;
    let mut conn = state.db.acquire().await?;
    let c = engine::configs::load(&mut conn, scope, id)
        .await
        .map_err(AppError::from)?;
    drop(conn);
    if !user.is_admin() {
        if let Err(res) = gate(state, loc, user, Area::Configs, &format!("/configs/{id}")).await? {
            return Ok(Err(res));
        }
    }
    Ok(Ok(c))
}

async fn show(
    State(state): State<AppState>,
    loc: Locale,
    PageUser(user): PageUser,
    Path(id): Path<i64>,
) -> PageResult<Response> {
    match load_page_config(&state, loc, &user, id).await? {
        Ok(c) => render_show(&state, loc, user, c, FieldErrors::new(), None).await,
        Err(res) => Ok(res),
    }
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct EditForm {
    traffic_limit_gb: String,
    expires_at: String,
    /// The expiry the form was shown with: an unchanged field changes nothing (re-saving the
    /// date would move the expiry to that day's midnight).
    expires_was: String,
    max_clients: String,
}

async fn edit(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<i64>,
    CsrfForm { user, form }: CsrfForm<EditForm>,
) -> PageResult<Response> {
    let c = match load_page_config(&state, loc, &user, id).await? {
        Ok(c) => c,
        Err(res) => return Ok(res),
    };
    let mut errors = FieldErrors::new();
    let limit = match form.traffic_limit_gb.trim() {
        "" => None,
        s => match domain::units::parse_gb(s) {
            // The limit as shown: no change is no change (rounding to two decimals must not
            // shrink a limit that was set in bytes).
            Ok(_)
                if domain::units::to_latin_digits(s).replace('\u{066B}', ".")
                    == domain::units::format_gb(c.traffic_limit_bytes, 2) =>
            {
                None
            }
            Ok(b) => Some(b),
            Err(_) => {
                errors.insert("traffic_limit_bytes".into(), "configs.err.gb".into());
                None
            }
        },
    };
    // `+30` (a quick-extend chip, or typed) means 30 days from today.
    let typed_expiry = form.expires_at.trim();
    let (expires_at, expires_in_days) = if typed_expiry == form.expires_was.trim() {
        (None, None)
    } else if let Some(days) = typed_expiry.strip_prefix('+') {
        match parse_int(days) {
            Some(d) => (None, Some(d)),
            None => {
                errors.insert("expires_in_days".into(), "configs.err.days".into());
                (None, None)
            }
        }
    } else {
        (form_date(typed_expiry), None)
    };
    let max_clients = match form.max_clients.trim() {
        "" => None,
        s => {
            let m = parse_int(s);
            if m.is_none() {
                errors.insert("max_clients".into(), "configs.err.number".into());
            }
            m.filter(|m| Some(*m) != c.max_clients)
        }
    };
    if !errors.is_empty() {
        return render_show(&state, loc, user, c, errors, Some(form)).await;
    }
    if limit.is_none() && expires_at.is_none() && expires_in_days.is_none() && max_clients.is_none()
    {
        return Ok(crate::request_context::redirect_with(
            &format!("/configs/{id}"),
            true,
            loc.t("flash.no_changes"),
        ));
    }
    let req = PatchConfig {
        traffic_limit_bytes: limit,
        expires_at,
        expires_in_days,
        max_clients,
    };
    match patch_config(&state, &user, &origin, id, req).await {
        Ok(_) => Ok(crate::request_context::done(
            &format!("/configs/{id}"),
            loc.t("flash.config_saved"),
        )),
        Err(AppError::Validation(errors)) => {
            render_show(&state, loc, user, c, errors, Some(form)).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct Empty {}

async fn act(
    state: &AppState,
    loc: Locale,
    origin: db::audit::Origin,
    user: CurrentUser,
    id: i64,
    action: Action,
) -> PageResult<Response> {
    if let Err(res) = load_page_config(state, loc, &user, id).await? {
        return Ok(res);
    }
    let key = match action {
        Action::Disable => "flash.config_disabled",
        Action::Enable => "flash.config_enabled",
        Action::Delete => "flash.config_deleted",
    };
    run_action(state, &user, &origin, id, action).await?;
    Ok(crate::request_context::done(
        &format!("/configs/{id}"),
        loc.t(key),
    ))
}

async fn disable(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<i64>,
    CsrfForm { user, .. }: CsrfForm<Empty>,
) -> PageResult<Response> {
    act(&state, loc, origin, user, id, Action::Disable).await
}

async fn enable(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<i64>,
    CsrfForm { user, .. }: CsrfForm<Empty>,
) -> PageResult<Response> {
    act(&state, loc, origin, user, id, Action::Enable).await
}

async fn delete(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<i64>,
    CsrfForm { user, .. }: CsrfForm<Empty>,
) -> PageResult<Response> {
    act(&state, loc, origin, user, id, Action::Delete).await
}

/// Admin: the user went missing on the panel; create it there again (audited).
async fn recreate(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<i64>,
    CsrfForm { user, .. }: CsrfForm<Empty>,
) -> PageResult<Response> {
    if !user.is_admin() {
        return Err(AppError::forbidden("admin_only", "administrators only").into());
    }
    engine::drift::recreate(&state.engine, &user.actor(), &origin, id)
        .await
        .map_err(AppError::from)?;
    Ok(crate::request_context::done(
        &format!("/configs/{id}"),
        loc.t("flash.config_recreated"),
    ))
}
