//! `/admin/panels`: the panel list with health, create and edit forms (secrets write-only), the
//! connection test and the inbound/service/node pickers loaded from the panel.

use crate::actions::panels::{
    create_panel, get_panel, panel_choices, test_panel, update_panel, PanelInput, TestResult,
};
use crate::auth::{CurrentUser, PageAdmin, RequestOrigin};
use crate::csrf::CsrfForm;
use crate::error::{AppError, FieldErrors, PageResult};
use crate::locale::Locale;
use crate::pages::shell::Shell;
use crate::state::AppState;
use crate::views::Label;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use domain::status::PanelKind;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/panels", get(list).post(create))
        .route("/admin/panels/new", get(new_form))
        .route("/admin/panels/{id}", get(edit_form).post(update))
        .route("/admin/panels/{id}/test", post(test))
}

/// The settings key the picker fills for each kind, and whether its ids are numbers.
fn pick_key(kind: PanelKind) -> (&'static str, bool) {
    match kind {
        PanelKind::Marzban => ("inbound_tags", false),
        PanelKind::Marzneshin => ("service_ids", true),
        PanelKind::Xui => ("inbound_ids", true),
        PanelKind::Eylandoo => ("node_ids", true),
        // Groups go where Marzneshin's services go.
        PanelKind::Pasarguard => ("service_ids", true),
    }
}

fn pick_label_key(kind: PanelKind) -> &'static str {
    match kind {
        PanelKind::Marzban => "panels.pick_inbound_tags",
        PanelKind::Marzneshin => "panels.pick_service_ids",
        PanelKind::Xui => "panels.pick_inbound_ids",
        PanelKind::Eylandoo => "panels.pick_node_ids",
        PanelKind::Pasarguard => "panels.pick_group_ids",
    }
}

/// The kind the form names; an unknown one is refused by validation, the picker meanwhile
/// behaves as for the first kind.
fn form_kind(kind: &str) -> PanelKind {
    kind.parse().unwrap_or(PanelKind::ALL[0])
}

fn forbid_non_admin(user: &CurrentUser) -> Result<(), AppError> {
    if user.is_admin() {
        Ok(())
    } else {
        Err(AppError::forbidden("admin_only", "admin only"))
    }
}

/// One row of the list, with its health already sorted into a badge.
pub struct PanelRow {
    pub panel: db::panels::Panel,
}

impl PanelRow {
    /// The last error as a short reason (the raw text goes behind a "details" toggle).
    pub fn error_key(&self) -> Option<&'static str> {
        self.panel
            .last_error
            .as_deref()
            .map(crate::humanize::panel_error_key)
    }

    pub fn kind_key(&self) -> &'static str {
        self.panel.kind.key()
    }

    pub fn health_class(&self) -> &'static str {
        if self.panel.consecutive_failures > 0 {
            "badge-danger"
        } else if self.panel.last_success_at.is_some() {
            "badge-ok"
        } else {
            "badge-muted"
        }
    }

    pub fn health_key(&self) -> &'static str {
        if self.panel.consecutive_failures > 0 {
            "panels.health_failing"
        } else if self.panel.last_success_at.is_some() {
            "panels.health_ok"
        } else {
            "panels.health_unknown"
        }
    }
}

#[derive(Template)]
#[template(path = "panels.html")]
struct ListPage {
    shell: Shell,
    rows: Vec<PanelRow>,
    /// Users no config claims, per panel, at its last sync.
    unmanaged: std::collections::HashMap<i64, i64>,
}

impl ListPage {
    fn unmanaged_of(&self, panel_id: &i64) -> i64 {
        self.unmanaged.get(panel_id).copied().unwrap_or(0)
    }
}

pub async fn list(
    State(state): State<AppState>,
    loc: Locale,
    PageAdmin(user): PageAdmin,
) -> PageResult<Html<String>> {
    let mut conn = state.db.acquire().await?;
    let rows = db::panels::list(&mut conn)
        .await?
        .into_iter()
        .map(|panel| PanelRow { panel })
        .collect();
    let unmanaged = db::panels::unmanaged_counts(&mut conn).await?;
    let page = ListPage {
        shell: Shell::new(loc, Some(user), "/admin/panels", "panels.title"),
        rows,
        unmanaged,
    };
    Ok(Html(page.render().map_err(anyhow::Error::from)?))
}

/// What the form shows: the stored values, or what the admin just sent (never a secret).
#[derive(Default, Clone)]
pub struct FormValues {
    pub name: String,
    pub kind: String,
    pub base_url: String,
    pub username: String,
    pub sub_base_url: String,
    pub accept_invalid_certs: bool,
    pub rate_limit_per_sec: String,
    pub max_concurrency: String,
    pub picks: Vec<String>,
    pub is_active: bool,
}

impl FormValues {
    fn from_panel(p: &db::panels::Panel) -> FormValues {
        let s: serde_json::Value = serde_json::from_str(&p.settings).unwrap_or_default();
        let (key, _) = pick_key(p.kind);
        let picks = s[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|v| match v {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let num = |k: &str| s[k].as_u64().map(|n| n.to_string()).unwrap_or_default();
        FormValues {
            name: p.name.clone(),
            kind: p.kind.to_string(),
            base_url: p.base_url.clone(),
            username: p.username.clone().unwrap_or_default(),
            sub_base_url: s["sub_base_url"].as_str().unwrap_or("").to_string(),
            accept_invalid_certs: s["accept_invalid_certs"].as_bool().unwrap_or(false),
            rate_limit_per_sec: num("rate_limit_per_sec"),
            max_concurrency: num("max_concurrency"),
            picks,
            is_active: p.is_active,
        }
    }

    pub fn picks_text(&self) -> String {
        self.picks.join(", ")
    }
}

/// A checkbox of the picker.
pub struct Pick {
    pub id: String,
    pub label: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "panels_form.html")]
struct FormPage {
    shell: Shell,
    panel: Option<PanelRow>,
    form: FormValues,
    errors: FieldErrors,
    test: Option<TestResult>,
    picks: Option<Vec<Pick>>,
    picks_error: Option<String>,
    saved: bool,
    kinds: &'static [PanelKind],
}

impl FormPage {
    fn panel_error(&self, raw: &str) -> String {
        crate::humanize::panel_error(&self.shell.loc, raw)
    }
    fn err(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }

    fn kind_label(&self, kind: &PanelKind) -> &'static str {
        kind.key()
    }

    /// Before the panel is saved its kind may still change, so the label names every kind.
    fn pick_label(&self) -> &'static str {
        if self.panel.is_some() {
            pick_label_key(form_kind(&self.form.kind))
        } else {
            "panels.pick_any"
        }
    }

    fn action(&self) -> String {
        match &self.panel {
            Some(p) => format!("/admin/panels/{}", p.panel.id),
            None => "/admin/panels".into(),
        }
    }

    fn has_password(&self) -> bool {
        self.panel
            .as_ref()
            .is_some_and(|p| p.panel.password_enc.is_some())
    }

    fn has_api_key(&self) -> bool {
        self.panel
            .as_ref()
            .is_some_and(|p| p.panel.api_key_enc.is_some())
    }
}

struct Extras {
    errors: FieldErrors,
    test: Option<TestResult>,
    picks: Option<Vec<Pick>>,
    picks_error: Option<String>,
    saved: bool,
}

fn no_extras() -> Extras {
    Extras {
        errors: FieldErrors::new(),
        test: None,
        picks: None,
        picks_error: None,
        saved: false,
    }
}

fn render_form(
    loc: Locale,
    user: CurrentUser,
    panel: Option<db::panels::Panel>,
    form: FormValues,
    extras: Extras,
) -> PageResult<Html<String>> {
    let (path, title) = match &panel {
        Some(p) => (format!("/admin/panels/{}", p.id), "panels.edit_title"),
        None => ("/admin/panels/new".to_string(), "panels.new_title"),
    };
    let page = FormPage {
        shell: Shell::new(loc, Some(user), &path, title),
        panel: panel.map(|panel| PanelRow { panel }),
        form,
        errors: extras.errors,
        test: extras.test,
        picks: extras.picks,
        picks_error: extras.picks_error,
        saved: extras.saved,
        kinds: PanelKind::ALL,
    };
    Ok(Html(page.render().map_err(anyhow::Error::from)?))
}

pub async fn new_form(loc: Locale, PageAdmin(user): PageAdmin) -> PageResult<Html<String>> {
    let form = FormValues {
        kind: PanelKind::ALL[0].to_string(),
        is_active: true,
        ..Default::default()
    };
    render_form(loc, user, None, form, no_extras())
}

#[derive(Deserialize)]
pub struct EditQuery {
    /// `1`: load the inbounds/services/nodes from the panel for the picker.
    #[serde(default)]
    choices: Option<String>,
    #[serde(default)]
    saved: Option<String>,
}

pub async fn edit_form(
    State(state): State<AppState>,
    loc: Locale,
    PageAdmin(user): PageAdmin,
    Path(id): Path<i64>,
    Query(q): Query<EditQuery>,
) -> PageResult<Html<String>> {
    let panel = get_panel(&state, id).await?;
    let form = FormValues::from_panel(&panel);
    let mut extras = no_extras();
    extras.saved = q.saved.is_some();
    if q.choices.is_some() {
        match panel_choices(&state, id).await {
            Ok(c) => {
                let offered = match panel.kind {
                    PanelKind::Marzneshin | PanelKind::Pasarguard => c.services,
                    PanelKind::Eylandoo => c.nodes,
                    PanelKind::Marzban | PanelKind::Xui => c.inbounds,
                };
                extras.picks = Some(
                    offered
                        .into_iter()
                        .map(|c| Pick {
                            checked: form.picks.contains(&c.id),
                            id: c.id,
                            label: c.label,
                        })
                        .collect(),
                );
            }
            Err(AppError::Panel(msg)) => extras.picks_error = Some(msg),
            Err(e) => return Err(e.into()),
        }
    }
    // Health may have changed while loading the choices.
    let panel = get_panel(&state, id).await?;
    render_form(loc, user, Some(panel), form, extras)
}

/// The form as posted: pairs, because the picker sends one `pick` per checked box.
type Pairs = Vec<(String, String)>;

fn field<'a>(pairs: &'a Pairs, name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .unwrap_or("")
}

/// Turns the posted form into the shared input (and the values to show again on an error).
fn parse_form(pairs: &Pairs) -> (PanelInput, FormValues, FieldErrors) {
    let mut errors = FieldErrors::new();
    let kind = field(pairs, "kind").to_string();
    let picks: Vec<String> = if field(pairs, "picks_loaded") == "1" {
        pairs
            .iter()
            .filter(|(k, _)| k == "pick")
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect()
    } else {
        field(pairs, "picks_text")
            .split([',', ' ', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    let (pick_key, numeric) = pick_key(form_kind(&kind));
    let picks_json = if numeric {
        let ids: Result<Vec<i64>, _> = picks.iter().map(|s| s.parse::<i64>()).collect();
        match ids {
            Ok(ids) => serde_json::json!(ids),
            Err(_) => {
                errors.insert("picks".into(), "panels.err.picks".into());
                serde_json::json!([])
            }
        }
    } else {
        serde_json::json!(picks)
    };
    let mut number = |name: &str| -> serde_json::Value {
        let raw = field(pairs, name);
        if raw.is_empty() {
            return serde_json::Value::Null;
        }
        match raw.parse::<u32>() {
            Ok(n) if n > 0 => serde_json::json!(n),
            _ => {
                errors.insert(name.to_string(), "panels.err.number".into());
                serde_json::Value::Null
            }
        }
    };
    let rate = number("rate_limit_per_sec");
    let conc = number("max_concurrency");
    let sub = field(pairs, "sub_base_url");
    let accept = field(pairs, "accept_invalid_certs") == "on";
    let active = field(pairs, "is_active") == "on";
    let mut settings = serde_json::Map::new();
    settings.insert(pick_key.into(), picks_json);
    settings.insert(
        "sub_base_url".into(),
        if sub.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::json!(sub)
        },
    );
    settings.insert("accept_invalid_certs".into(), serde_json::json!(accept));
    settings.insert("rate_limit_per_sec".into(), rate);
    settings.insert("max_concurrency".into(), conc);
    let input = PanelInput {
        name: Some(field(pairs, "name").to_string()),
        kind: Some(kind.clone()),
        base_url: Some(field(pairs, "base_url").to_string()),
        username: Some(field(pairs, "username").to_string()),
        password: Some(field(pairs, "password").to_string()),
        api_key: Some(field(pairs, "api_key").to_string()),
        settings: Some(serde_json::Value::Object(settings)),
        is_active: Some(active),
    };
    let values = FormValues {
        name: field(pairs, "name").to_string(),
        kind,
        base_url: field(pairs, "base_url").to_string(),
        username: field(pairs, "username").to_string(),
        sub_base_url: sub.to_string(),
        accept_invalid_certs: accept,
        rate_limit_per_sec: field(pairs, "rate_limit_per_sec").to_string(),
        max_concurrency: field(pairs, "max_concurrency").to_string(),
        picks,
        is_active: active,
    };
    (input, values, errors)
}

/// Field errors of the shared validation, under the names the form uses.
fn form_errors(errors: FieldErrors) -> FieldErrors {
    errors
        .into_iter()
        .map(|(k, v)| {
            let k = match k.strip_prefix("settings.") {
                Some("inbound_tags" | "service_ids" | "inbound_ids" | "node_ids") => {
                    "picks".to_string()
                }
                Some(rest) => rest.to_string(),
                None => k,
            };
            (k, v)
        })
        .collect()
}

fn unprocessable(html: Html<String>) -> Response {
    let mut res = html.into_response();
    *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    res
}

pub async fn create(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    CsrfForm { user, form }: CsrfForm<Pairs>,
) -> PageResult<Response> {
    forbid_non_admin(&user)?;
    let (input, values, mut errors) = parse_form(&form);
    if errors.is_empty() {
        match create_panel(&state, &user, &origin, &input).await {
            Ok(p) => {
                return Ok(Redirect::to(&format!("/admin/panels/{}?saved=1", p.id)).into_response())
            }
            Err(AppError::Validation(f)) => errors = form_errors(f),
            Err(e) => return Err(e.into()),
        }
    }
    let mut extras = no_extras();
    extras.errors = errors;
    Ok(unprocessable(render_form(loc, user, None, values, extras)?))
}

pub async fn update(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<i64>,
    CsrfForm { user, form }: CsrfForm<Pairs>,
) -> PageResult<Response> {
    forbid_non_admin(&user)?;
    let (input, values, mut errors) = parse_form(&form);
    if errors.is_empty() {
        match update_panel(&state, &user, &origin, id, &input).await {
            Ok(_) => {
                return Ok(Redirect::to(&format!("/admin/panels/{id}?saved=1")).into_response())
            }
            Err(AppError::Validation(f)) => errors = form_errors(f),
            Err(e) => return Err(e.into()),
        }
    }
    let panel = get_panel(&state, id).await?;
    let mut extras = no_extras();
    extras.errors = errors;
    Ok(unprocessable(render_form(
        loc,
        user,
        Some(panel),
        values,
        extras,
    )?))
}

#[derive(Deserialize)]
pub struct Empty {}

pub async fn test(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<i64>,
    CsrfForm { user, .. }: CsrfForm<Empty>,
) -> PageResult<Html<String>> {
    forbid_non_admin(&user)?;
    let result = test_panel(&state, &user, &origin, id).await?;
    let panel = get_panel(&state, id).await?;
    let form = FormValues::from_panel(&panel);
    let mut extras = no_extras();
    extras.test = Some(result);
    render_form(loc, user, Some(panel), form, extras)
}
