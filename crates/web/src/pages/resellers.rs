//! The admin's reseller pages: the list (search, kind and status filters, usage bars), the new
//! and edit forms, and one reseller with its configs, recent config events, audit trail and actions.

use crate::actions::resellers::{
    create_reseller_with, patch_reseller, CreateReseller, PatchReseller,
};
use crate::auth::{CurrentUser, PageAdmin, RequestOrigin};
use crate::csrf::CsrfForm;
use crate::error::{AppError, FieldErrors, PageResult};
use crate::locale::Locale;
use crate::pages::audit::{audit_line, AuditLine};
use crate::pages::configs::{parse_int, Row};
use crate::pages::shell::Shell;
use crate::state::AppState;
use crate::views::Label;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use db::resellers::Reseller;
use domain::status::{
    AuditTarget, ConfigEventKind, PanelKind, ResellerKind, ResellerStatus, SuspendedBy,
};
use engine::resellers::Summary;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/resellers", get(list))
        .route("/admin/resellers/new", get(new_form).post(create))
        .route("/admin/resellers/{id}", get(show))
        .route("/admin/resellers/{id}/edit", get(edit_form).post(edit))
        .route("/admin/resellers/{id}/suspend", post(suspend))
        .route("/admin/resellers/{id}/activate", post(activate))
        .route("/admin/resellers/{id}/traffic", post(add_traffic))
        .route("/admin/resellers/{id}/window", post(extend_window))
        .route("/admin/resellers/{id}/password", post(set_password))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PasswordForm {
    password: String,
}

async fn set_password(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<i64>,
    CsrfForm { user, form }: CsrfForm<PasswordForm>,
) -> PageResult<Response> {
    admin_only(&user)?;
    match crate::accounts::set_reseller_password(&state, &user, &origin, id, &form.password).await {
        Ok(_) => {
            let mut conn = state.db.acquire().await?;
            let name = db::resellers::get(&mut conn, id)
                .await?
                .map(|r| r.display_name)
                .unwrap_or_default();
            Ok(crate::request_context::done(
                &format!("/admin/resellers/{id}"),
                &loc.tf1("resellers.password_set", "name", name),
            ))
        }
        Err(AppError::Validation(e)) => render_show(&state, loc, user, id, e).await,
        Err(e) => Err(e.into()),
    }
}

pub struct Item {
    pub r: Reseller,
    pub s: Summary,
    pub percent: i64,
}

async fn item(state: &AppState, r: Reseller) -> Result<Item, AppError> {
    let mut conn = state.db.acquire().await?;
    let s = engine::resellers::summary(&state.engine, &mut conn, &r).await?;
    Ok(Item {
        percent: s.used_percent(r.traffic_quota_bytes),
        r,
        s,
    })
}

#[derive(Template)]
#[template(path = "resellers.html")]
struct ListPage {
    shell: Shell,
    items: Vec<Item>,
    q: String,
    kind: String,
    status: String,
    sort: String,
    total: i64,
    page: i64,
    pages: i64,
}

/// Resellers a list page shows.
const PER_PAGE: i64 = 50;

/// The sorts offered, as (query value, label key).
const SORTS: &[(&str, &str)] = &[
    ("newest", "resellers.sort_newest"),
    ("oldest", "resellers.sort_oldest"),
    ("name", "resellers.sort_name"),
    ("balance", "resellers.sort_balance"),
];

impl ListPage {
    fn sorts(&self) -> &'static [(&'static str, &'static str)] {
        SORTS
    }

    /// Another page of the list, keeping the filter and the order.
    fn page_link(&self, page: i64) -> String {
        let query = serde_urlencoded::to_string([
            ("q", self.q.as_str()),
            ("kind", self.kind.as_str()),
            ("status", self.status.as_str()),
            ("sort", self.sort.as_str()),
            ("page", &page.to_string()),
        ])
        .unwrap_or_default();
        format!("/admin/resellers?{query}")
    }

    fn kind_key(&self, k: &ResellerKind) -> &'static str {
        k.key()
    }
    fn status_key(&self, s: &ResellerStatus) -> &'static str {
        s.key()
    }
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    sort: String,
    page: Option<i64>,
}

async fn list(
    State(state): State<AppState>,
    loc: Locale,
    PageAdmin(admin): PageAdmin,
    Query(q): Query<ListQuery>,
) -> PageResult<Response> {
    let filter = db::resellers::ResellerFilter {
        q: AppError::search(Some(&q.q))?,
        kind: AppError::choice("kind", Some(&q.kind))?,
        status: AppError::choice("status", Some(&q.status))?,
        sort: AppError::choice("sort", Some(&q.sort))?.unwrap_or_default(),
    };
    let page = q.page.unwrap_or(1).clamp(1, i64::MAX / PER_PAGE);
    let mut conn = state.db.acquire().await?;
    let (rows, total) =
        db::resellers::list(&mut conn, &filter, PER_PAGE, (page - 1) * PER_PAGE).await?;
    let summaries = engine::resellers::summaries(&state.engine, &mut conn, &rows).await?;
    drop(conn);
    let items = rows
        .into_iter()
        .zip(summaries)
        .map(|(r, s)| Item {
            percent: s.used_percent(r.traffic_quota_bytes),
            r,
            s,
        })
        .collect();
    let page = ListPage {
        shell: Shell::new(loc, Some(admin), "/admin/resellers", "resellers.title"),
        items,
        q: q.q,
        kind: q.kind,
        status: q.status,
        sort: q.sort,
        pages: ((total + PER_PAGE - 1) / PER_PAGE).max(1),
        page,
        total,
    };
    Ok(Html(page.render().map_err(anyhow::Error::from)?).into_response())
}

/// The create and edit form as typed; numbers are parsed here so errors name the field.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct ResellerForm {
    username: String,
    password: String,
    display_name: String,
    kind: String,
    panel_id: String,
    config_limit: String,
    username_prefix: String,
    allow_custom_names: Option<String>,
    quota_gb: String,
    window_days: String,
    window_starts_at: String,
    window_ends_at: String,
    wallet_balance: String,
    wallet_price_per_gb: String,
    service_whitelist: String,
    node_whitelist: String,
}

fn opt_int(errors: &mut FieldErrors, field: &str, v: &str) -> Option<i64> {
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    let n = parse_int(v);
    if n.is_none() {
        errors.insert(field.into(), "resellers.err.number".into());
    }
    n
}

fn ids(errors: &mut FieldErrors, field: &str, v: &str) -> Vec<i64> {
    let v = domain::units::to_latin_digits(v);
    let mut out = Vec::new();
    for part in v.split([',', '،', ' ']).filter(|p| !p.is_empty()) {
        match part.parse() {
            Ok(n) => out.push(n),
            Err(_) => {
                errors.insert(field.into(), "resellers.err.ids".into());
            }
        }
    }
    out
}

fn gb(errors: &mut FieldErrors, field: &str, v: &str) -> Option<i64> {
    if v.trim().is_empty() {
        return None;
    }
    match domain::units::parse_gb(v) {
        Ok(b) => Some(b),
        Err(_) => {
            errors.insert(field.into(), "resellers.err.gb".into());
            None
        }
    }
}

fn opt_text(v: &str) -> Option<String> {
    Some(domain::units::to_latin_digits(v.trim())).filter(|s| !s.is_empty())
}

impl ResellerForm {
    /// The request and the fields that did not parse (sent on together, so the engine still
    /// checks the rest and the form names every problem at once).
    fn to_create(&self) -> (CreateReseller, FieldErrors) {
        let mut e = FieldErrors::new();
        let req = CreateReseller {
            username: self.username.trim().to_string(),
            password: self.password.clone(),
            kind: self.kind.clone(),
            panel_id: opt_int(&mut e, "panel_id", &self.panel_id).unwrap_or(0),
            display_name: opt_text(&self.display_name),
            config_limit: opt_int(&mut e, "config_limit", &self.config_limit),
            username_prefix: opt_text(&self.username_prefix),
            allow_custom_names: self.allow_custom_names.is_some(),
            traffic_quota_bytes: gb(&mut e, "traffic_quota_bytes", &self.quota_gb),
            window_days: opt_int(&mut e, "window_days", &self.window_days),
            window_starts_at: crate::pages::configs::form_date(&self.window_starts_at),
            window_ends_at: crate::pages::configs::form_date(&self.window_ends_at),
            wallet_balance: opt_int(&mut e, "wallet_balance", &self.wallet_balance),
            wallet_price_per_gb: opt_int(&mut e, "wallet_price_per_gb", &self.wallet_price_per_gb),
            service_whitelist: ids(&mut e, "service_whitelist", &self.service_whitelist),
            node_whitelist: ids(&mut e, "node_whitelist", &self.node_whitelist),
        };
        (req, e)
    }

    fn to_patch(&self) -> Result<PatchReseller, FieldErrors> {
        let mut e = FieldErrors::new();
        let req = PatchReseller {
            display_name: opt_text(&self.display_name),
            config_limit: Some(opt_int(&mut e, "config_limit", &self.config_limit).unwrap_or(0)),
            username_prefix: Some(self.username_prefix.trim().to_string()),
            allow_custom_names: Some(self.allow_custom_names.is_some()),
            traffic_quota_bytes: gb(&mut e, "traffic_quota_bytes", &self.quota_gb),
            window_starts_at: crate::pages::configs::form_date(&self.window_starts_at),
            window_ends_at: crate::pages::configs::form_date(&self.window_ends_at),
            wallet_price_per_gb: opt_int(&mut e, "wallet_price_per_gb", &self.wallet_price_per_gb),
            service_whitelist: Some(ids(&mut e, "service_whitelist", &self.service_whitelist)),
            node_whitelist: Some(ids(&mut e, "node_whitelist", &self.node_whitelist)),
        };
        if e.is_empty() {
            Ok(req)
        } else {
            Err(e)
        }
    }

    /// The form filled from a stored reseller; dates as the reader types them (Jalali in fa).
    fn of(r: &Reseller, loc: &Locale) -> ResellerForm {
        let date = |t: Option<i64>| t.map(|t| loc.input_date(t)).unwrap_or_default();
        let list = |v: Vec<i64>| {
            v.iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        ResellerForm {
            display_name: r.display_name.clone(),
            kind: r.kind.to_string(),
            panel_id: r.panel_id.to_string(),
            config_limit: r.config_limit.map(|l| l.to_string()).unwrap_or_default(),
            username_prefix: r.username_prefix.clone().unwrap_or_default(),
            allow_custom_names: r.allow_custom_names.then(|| "on".into()),
            quota_gb: loc.num(domain::units::format_gb(r.traffic_quota_bytes, 2)),
            window_starts_at: date(r.window_starts_at),
            window_ends_at: date(r.window_ends_at),
            wallet_price_per_gb: r
                .wallet_price_per_gb
                .map(|p| p.to_string())
                .unwrap_or_default(),
            service_whitelist: list(r.service_ids()),
            node_whitelist: list(r.node_ids()),
            ..Default::default()
        }
    }
}

#[derive(Template)]
#[template(path = "resellers_form.html")]
struct FormPage {
    shell: Shell,
    /// None = new reseller.
    id: Option<i64>,
    form: ResellerForm,
    panels: Vec<db::panels::Panel>,
    errors: FieldErrors,
}

impl FormPage {
    fn panel_kind(&self, kind: &PanelKind) -> &'static str {
        kind.key()
    }
    fn err(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(|k| self.shell.t(k))
    }
    fn action(&self) -> String {
        match self.id {
            Some(id) => format!("/admin/resellers/{id}/edit"),
            None => "/admin/resellers/new".into(),
        }
    }
}

async fn render_form(
    state: &AppState,
    loc: Locale,
    admin: CurrentUser,
    id: Option<i64>,
    form: ResellerForm,
    errors: FieldErrors,
) -> PageResult<Response> {
    let mut conn = state.db.acquire().await?;
    let panels = db::panels::list(&mut conn).await?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let (path, title) = match id {
        Some(id) => (format!("/admin/resellers/{id}/edit"), "resellers.edit"),
        None => ("/admin/resellers/new".to_string(), "resellers.new"),
    };
    let page = FormPage {
        shell: Shell::new(loc, Some(admin), &path, title),
        id,
        form,
        panels,
        errors,
    };
    Ok((status, Html(page.render().map_err(anyhow::Error::from)?)).into_response())
}

async fn new_form(
    State(state): State<AppState>,
    loc: Locale,
    PageAdmin(admin): PageAdmin,
) -> PageResult<Response> {
    let form = ResellerForm {
        kind: ResellerKind::Traffic.to_string(),
        ..Default::default()
    };
    render_form(&state, loc, admin, None, form, FieldErrors::new()).await
}

async fn create(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    CsrfForm { user, form }: CsrfForm<ResellerForm>,
) -> PageResult<Response> {
    if !user.is_admin() {
        return Err(AppError::forbidden("admin_only", "admin only").into());
    }
    let (req, parse_errors) = form.to_create();
    match create_reseller_with(&state, &user, &origin, req, parse_errors).await {
        Ok(r) => Ok(crate::request_context::done(
            &format!("/admin/resellers/{}", r.id),
            &loc.tf1("flash.reseller_created", "name", &r.display_name),
        )),
        Err(AppError::Validation(e)) => render_form(&state, loc, user, None, form, e).await,
        Err(e) => Err(e.into()),
    }
}

async fn load(state: &AppState, id: i64) -> Result<Reseller, AppError> {
    let mut conn = state.db.acquire().await?;
    db::resellers::get(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)
}

async fn edit_form(
    State(state): State<AppState>,
    loc: Locale,
    PageAdmin(admin): PageAdmin,
    Path(id): Path<i64>,
) -> PageResult<Response> {
    let r = load(&state, id).await?;
    render_form(
        &state,
        loc,
        admin,
        Some(id),
        ResellerForm::of(&r, &loc),
        FieldErrors::new(),
    )
    .await
}

async fn edit(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<i64>,
    CsrfForm { user, form }: CsrfForm<ResellerForm>,
) -> PageResult<Response> {
    if !user.is_admin() {
        return Err(AppError::forbidden("admin_only", "admin only").into());
    }
    let mut form = form;
    form.kind = load(&state, id).await?.kind.to_string();
    let req = match form.to_patch() {
        Ok(r) => r,
        Err(e) => return render_form(&state, loc, user, Some(id), form, e).await,
    };
    match patch_reseller(&state, &user, &origin, id, req).await {
        Ok(r) => Ok(crate::request_context::done(
            &format!("/admin/resellers/{id}"),
            &loc.tf1("flash.reseller_saved", "name", &r.display_name),
        )),
        Err(AppError::Validation(e)) => render_form(&state, loc, user, Some(id), form, e).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "resellers_show.html")]
struct ShowPage {
    shell: Shell,
    it: Item,
    panel_name: String,
    configs: Vec<Row>,
    events: Vec<db::configs::ConfigEvent>,
    audit: Vec<AuditLine>,
    /// The audit rows' stored JSON, behind a toggle (admins only see this page).
    show_raw: bool,
    errors: FieldErrors,
    /// The reseller's login signs in with a second factor (the admin may remove it).
    two_factor: bool,
}

impl ShowPage {
    fn kind_key(&self) -> &'static str {
        self.it.r.kind.key()
    }
    fn status_key(&self) -> &'static str {
        self.it.r.status.key()
    }
    fn err(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(|k| self.shell.t(k))
    }
    /// Who or what suspended the reseller, in words.
    fn suspension_key(&self) -> Option<&'static str> {
        if self.it.r.status == ResellerStatus::Active {
            return None;
        }
        Some(match self.it.r.suspended_by {
            Some(SuspendedBy::Admin) => "resellers.suspended_by_admin",
            _ if self.it.r.status == ResellerStatus::SuspendedWallet => {
                "resellers.suspended_by_wallet"
            }
            _ if self
                .it
                .r
                .window_ends_at
                .is_some_and(|e| e <= chrono::Utc::now().timestamp()) =>
            {
                "resellers.suspended_by_window"
            }
            _ => "resellers.suspended_by_quota",
        })
    }
    fn config_name(&self, id: &i64) -> String {
        self.configs
            .iter()
            .find(|r| r.c.id == *id)
            .map(|r| r.c.username.clone())
            .unwrap_or_else(|| format!("#{}", self.shell.loc.num(id)))
    }
    fn event(&self, kind: &ConfigEventKind) -> String {
        crate::humanize::event(&self.shell.loc, *kind)
    }
    fn actor(&self, name: &str) -> String {
        crate::humanize::actor_name(&self.shell.loc, name)
    }
}

async fn render_show(
    state: &AppState,
    loc: Locale,
    admin: CurrentUser,
    id: i64,
    errors: FieldErrors,
) -> PageResult<Response> {
    let r = load(state, id).await?;
    let it = item(state, r).await?;
    let mut conn = state.db.acquire().await?;
    let panel_name = db::panels::get(&mut conn, it.r.panel_id)
        .await?
        .map(|p| p.name)
        .unwrap_or_default();
    let (list, _) =
        db::configs::list_for_reseller(&mut conn, id, &Default::default(), 200, 0).await?;
    let configs = crate::views::configs::rows(&mut conn, list).await?;
    let events = db::configs::events_of_reseller(&mut conn, id, 30).await?;
    let filter = db::audit::AuditFilter {
        target_type: Some(AuditTarget::Reseller),
        target_id: Some(id),
        ..Default::default()
    };
    let (audit, _) = db::audit::list(&mut conn, &filter, 30, 0).await?;
    let audit = audit.iter().map(|a| audit_line(&loc, a)).collect();
    let two_factor = match db::users::by_reseller(&mut conn, id).await? {
        Some(u) => db::two_factor::is_enabled(&mut conn, u.id).await?,
        None => false,
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = ShowPage {
        shell: Shell::new(
            loc,
            Some(admin),
            &format!("/admin/resellers/{id}"),
            "resellers.title",
        ),
        it,
        panel_name,
        configs,
        events,
        audit,
        show_raw: true,
        errors,
        two_factor,
    };
    Ok((status, Html(page.render().map_err(anyhow::Error::from)?)).into_response())
}

async fn show(
    State(state): State<AppState>,
    loc: Locale,
    PageAdmin(admin): PageAdmin,
    Path(id): Path<i64>,
) -> PageResult<Response> {
    render_show(&state, loc, admin, id, FieldErrors::new()).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ActionForm {
    add_gb: String,
    extend_days: String,
}

/// Runs an admin action and returns to the reseller page; field errors re-render it.
async fn after(
    state: &AppState,
    loc: Locale,
    user: CurrentUser,
    id: i64,
    result: Result<Reseller, AppError>,
    done_key: &str,
) -> PageResult<Response> {
    match result {
        Ok(r) => Ok(crate::request_context::done(
            &format!("/admin/resellers/{id}"),
            &loc.tf1(done_key, "name", &r.display_name),
        )),
        Err(AppError::Validation(e)) => render_show(state, loc, user, id, e).await,
        Err(e) => Err(e.into()),
    }
}

fn admin_only(user: &CurrentUser) -> Result<(), AppError> {
    if user.is_admin() {
        Ok(())
    } else {
        Err(AppError::forbidden("admin_only", "admin only"))
    }
}

async fn suspend(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<i64>,
    CsrfForm { user, .. }: CsrfForm<ActionForm>,
) -> PageResult<Response> {
    admin_only(&user)?;
    let r = engine::resellers::suspend(
        &state.engine,
        &user.actor(),
        &origin,
        id,
        chrono::Utc::now(),
    )
    .await
    .map_err(AppError::from);
    after(&state, loc, user, id, r, "flash.reseller_suspended").await
}

async fn activate(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<i64>,
    CsrfForm { user, .. }: CsrfForm<ActionForm>,
) -> PageResult<Response> {
    admin_only(&user)?;
    let r = engine::resellers::activate(
        &state.engine,
        &user.actor(),
        &origin,
        id,
        chrono::Utc::now(),
    )
    .await
    .map_err(AppError::from);
    after(&state, loc, user, id, r, "flash.reseller_activated").await
}

async fn add_traffic(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<i64>,
    CsrfForm { user, form }: CsrfForm<ActionForm>,
) -> PageResult<Response> {
    admin_only(&user)?;
    let mut e = FieldErrors::new();
    let bytes = gb(&mut e, "add_bytes", &form.add_gb).unwrap_or(0);
    if !e.is_empty() {
        return render_show(&state, loc, user, id, e).await;
    }
    let r = engine::resellers::add_traffic(
        &state.engine,
        &user.actor(),
        &origin,
        id,
        bytes,
        chrono::Utc::now(),
    )
    .await
    .map_err(AppError::from);
    after(&state, loc, user, id, r, "flash.traffic_added").await
}

async fn extend_window(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<i64>,
    CsrfForm { user, form }: CsrfForm<ActionForm>,
) -> PageResult<Response> {
    admin_only(&user)?;
    let mut e = FieldErrors::new();
    let days = opt_int(&mut e, "extend_days", &form.extend_days).unwrap_or(0);
    if !e.is_empty() {
        return render_show(&state, loc, user, id, e).await;
    }
    let r = engine::resellers::extend_window(
        &state.engine,
        &user.actor(),
        &origin,
        id,
        days,
        chrono::Utc::now(),
    )
    .await
    .map_err(AppError::from);
    after(&state, loc, user, id, r, "flash.window_extended").await
}
