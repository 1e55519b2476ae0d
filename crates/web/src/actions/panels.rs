//! Panels in the back office, shared by the pages and the API: create, read, edit (secrets write-
//! only, encrypted at rest), the connection test and the choices a panel offers.

use crate::auth::CurrentUser;
use crate::error::{AppError, FieldErrors};
use crate::state::AppState;
use crate::views::rfc3339;
use db::audit::{NewAudit, Origin};
use domain::status::{AuditAction, AuditTarget, PanelKind};
use panels::PanelSettings;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The form and API field of the kind-specific settings.
const SETTINGS_FIELD: &str = "settings"; // a field name, not a state

/// A panel as the API shows it: never a secret, only whether one is set.
#[derive(Serialize, ToSchema)]
pub struct PanelView {
    pub id: i64,
    pub name: String,
    /// `marzban`, `marzneshin`, `xui`, `eylandoo` or `pasarguard`.
    #[schema(value_type = String)]
    pub kind: PanelKind,
    pub base_url: String,
    pub username: Option<String>,
    pub has_password: bool,
    pub has_api_key: bool,
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    pub is_active: bool,
    pub last_success_at: Option<String>,
    pub consecutive_failures: i64,
    pub last_error: Option<String>,
    pub last_sync_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<db::panels::Panel> for PanelView {
    fn from(p: db::panels::Panel) -> Self {
        PanelView {
            id: p.id,
            settings: serde_json::from_str(&p.settings).unwrap_or_else(|_| serde_json::json!({})),
            name: p.name,
            kind: p.kind,
            base_url: p.base_url,
            username: p.username,
            has_password: p.password_enc.is_some(),
            has_api_key: p.api_key_enc.is_some(),
            is_active: p.is_active,
            last_success_at: p.last_success_at.map(rfc3339),
            consecutive_failures: p.consecutive_failures,
            last_error: p.last_error,
            last_sync_at: p.last_sync_at.map(rfc3339),
            created_at: rfc3339(p.created_at),
            updated_at: rfc3339(p.updated_at),
        }
    }
}

/// Create and edit share one shape: on create `name`, `kind` and `base_url` are required; on
/// edit every omitted field (and a blank secret) stays as it was. `settings` keys are merged
/// over the stored ones (`null` drops a key back to its default).
#[derive(Deserialize, ToSchema, Default, Debug, Clone)]
pub struct PanelInput {
    #[schema(max_length = 100)]
    pub name: Option<String>,
    pub kind: Option<String>,
    #[schema(max_length = 2048)]
    pub base_url: Option<String>,
    #[schema(max_length = 128)]
    pub username: Option<String>,
    #[schema(max_length = 256)]
    pub password: Option<String>,
    #[schema(max_length = 4096)]
    pub api_key: Option<String>,
    #[schema(value_type = Object)]
    pub settings: Option<serde_json::Value>,
    pub is_active: Option<bool>,
}

/// The stored form of a validated input.
struct Valid {
    name: String,
    kind: PanelKind,
    base_url: String,
    username: Option<String>,
    password_enc: Option<String>,
    api_key_enc: Option<String>,
    settings: String,
    is_active: bool,
}

fn blank_to_none(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// An http(s) address with a host, no query and no `user:password@` (credentials go in their
/// own fields, which are encrypted; a URL's userinfo would be stored and shown in clear).
fn valid_base_url(s: &str) -> bool {
    match s.parse::<axum::http::Uri>() {
        Ok(u) => {
            matches!(u.scheme_str(), Some("http") | Some("https"))
                && u.host().is_some_and(|h| !h.is_empty())
                && u.query().is_none()
                && !u.authority().is_some_and(|a| a.as_str().contains('@'))
        }
        Err(_) => false,
    }
}

/// Loopback, private, link-local, shared (CGNAT) and unspecified addresses: what an operator
/// who sets `panel_deny_private` does not want a panel address to reach.
pub fn is_private_ip(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || o[0] == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private_ip(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

/// With `panel_deny_private`, refuses an address whose host is or resolves to a private range.
async fn check_target(state: &AppState, base_url: Option<&str>) -> Result<(), AppError> {
    if !state.options.panel_deny_private {
        return Ok(());
    }
    let Some(uri) = base_url.and_then(|u| u.trim().parse::<axum::http::Uri>().ok()) else {
        return Ok(());
    };
    let Some(host) = uri.host() else {
        return Ok(());
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        });
    let refused = || {
        let mut f = FieldErrors::new();
        f.insert("base_url".into(), "panels.err.private".into());
        AppError::Validation(f)
    };
    let addrs: Vec<std::net::IpAddr> = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => match tokio::net::lookup_host((host, port)).await {
            Ok(it) => it.map(|a| a.ip()).collect(),
            Err(_) => return Ok(()),
        },
    };
    if addrs.into_iter().any(is_private_ip) {
        return Err(refused());
    }
    Ok(())
}

/// A panel error in our own words: the kind and the HTTP status, never the text of the answer,
/// so a panel test cannot be used to read pages of the network the server sits in.
pub fn error_without_body(e: &panels::PanelError) -> String {
    use panels::PanelError as E;
    match e {
        E::Unreachable(m) => format!("panel unreachable: {m}"),
        E::Timeout(m) => format!("no answer from panel: {m}"),
        E::Auth(_) => "panel refused the credentials".to_string(),
        E::NotFound(_) => "not found on panel".to_string(),
        E::Rejected { status, .. } => format!("panel rejected the request (HTTP {status})"),
        E::BadResponse(_) => "unreadable answer from panel".to_string(),
        E::Config(m) => format!("panel configuration: {m}"),
    }
}

/// Validates `input` over `existing` (None on create) and encrypts new secrets.
fn validate(
    state: &AppState,
    existing: Option<&db::panels::Panel>,
    input: &PanelInput,
) -> Result<Valid, AppError> {
    let mut errors = FieldErrors::new();
    let name = blank_to_none(&input.name)
        .or_else(|| existing.map(|p| p.name.clone()))
        .unwrap_or_default();
    if name.is_empty() || name.chars().count() > 100 {
        errors.insert("name".into(), "panels.err.name".into());
    }
    let kind = match blank_to_none(&input.kind) {
        Some(k) => k.parse::<PanelKind>().ok(),
        None => existing.map(|p| p.kind),
    };
    if kind.is_none() {
        errors.insert("kind".into(), "panels.err.kind".into());
    }
    let base_url = blank_to_none(&input.base_url)
        .or_else(|| existing.map(|p| p.base_url.clone()))
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_string();
    if !valid_base_url(&base_url) {
        errors.insert("base_url".into(), "panels.err.base_url".into());
    }
    let username = match &input.username {
        Some(u) => blank_to_none(&Some(u.clone())),
        None => existing.and_then(|p| p.username.clone()),
    };
    let new_password = blank_to_none(&input.password);
    let new_api_key = blank_to_none(&input.api_key);
    // Bounded before anything is encrypted or stored (an address is also shown on every page).
    for (field, value, max) in [
        ("base_url", Some(&base_url), 2_048),
        ("username", username.as_ref(), 128),
        ("password", new_password.as_ref(), 256),
        ("api_key", new_api_key.as_ref(), 4_096),
    ] {
        if value.is_some_and(|v| v.chars().count() > max) {
            errors.insert(field.into(), "err.too_long".into());
        }
    }
    // A stored secret goes only to the host it was entered for: a new address needs it again.
    if let Some(p) = existing {
        if p.base_url.trim_end_matches('/') != base_url {
            if p.password_enc.is_some() && new_password.is_none() {
                errors.insert("password".into(), "panels.err.reenter".into());
            }
            if p.api_key_enc.is_some() && new_api_key.is_none() {
                errors.insert("api_key".into(), "panels.err.reenter".into());
            }
        }
    }
    let has_password = new_password.is_some() || existing.is_some_and(|p| p.password_enc.is_some());
    let has_api_key = new_api_key.is_some() || existing.is_some_and(|p| p.api_key_enc.is_some());
    match kind {
        Some(PanelKind::Eylandoo) if !has_api_key => {
            errors.insert("api_key".into(), "panels.err.api_key".into());
        }
        Some(PanelKind::Eylandoo) | None => {}
        // PasarGuard v5.1+ takes an API key instead of the admin login.
        Some(PanelKind::Pasarguard) if has_api_key => {}
        Some(_) => {
            if username.is_none() {
                errors.insert("username".into(), "panels.err.username".into());
            }
            if !has_password {
                errors.insert("password".into(), "panels.err.password".into());
            }
        }
    }
    let settings = match merge_settings(existing, input.settings.as_ref()) {
        Ok(s) => Some(s),
        Err(field) => {
            errors.insert(field, "panels.err.settings".into());
            None
        }
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let encrypt = |s: Option<String>| s.map(|v| state.keys.encrypt(&v));
    Ok(Valid {
        name,
        kind: kind.expect("checked above"),
        base_url,
        username,
        password_enc: encrypt(new_password)
            .or_else(|| existing.and_then(|p| p.password_enc.clone())),
        api_key_enc: encrypt(new_api_key).or_else(|| existing.and_then(|p| p.api_key_enc.clone())),
        settings: settings.expect("checked above"),
        is_active: input
            .is_active
            .unwrap_or_else(|| existing.is_none_or(|p| p.is_active)),
    })
}

/// Stored settings with `patch` merged over them, checked against the adapter's settings type.
/// Keys the adapter does not know are kept (a newer version may use them).
fn merge_settings(
    existing: Option<&db::panels::Panel>,
    patch: Option<&serde_json::Value>,
) -> Result<String, String> {
    let mut merged = existing
        .and_then(|p| serde_json::from_str::<serde_json::Value>(&p.settings).ok())
        .filter(|v| v.is_object())
        .unwrap_or_else(|| serde_json::json!({}));
    match patch {
        None => {}
        Some(serde_json::Value::Object(m)) => {
            let obj = merged.as_object_mut().expect("object");
            for (k, v) in m {
                if v.is_null() {
                    obj.remove(k);
                } else {
                    obj.insert(k.clone(), v.clone());
                }
            }
        }
        Some(_) => return Err(SETTINGS_FIELD.into()),
    }
    let typed: PanelSettings = serde_json::from_value(merged.clone()).map_err(|_| {
        // serde does not name the key on a type mismatch: find it by checking each alone.
        merged
            .as_object()
            .and_then(|m| {
                m.iter().find(|(k, v)| {
                    serde_json::from_value::<PanelSettings>(serde_json::json!({ k.as_str(): v }))
                        .is_err()
                })
            })
            .map(|(k, _)| format!("settings.{k}"))
            .unwrap_or_else(|| SETTINGS_FIELD.to_string())
    })?;
    if typed.rate_limit_per_sec == Some(0) {
        return Err("settings.rate_limit_per_sec".into());
    }
    if typed.max_concurrency == Some(0) {
        return Err("settings.max_concurrency".into());
    }
    if let Some(sub) = &typed.sub_base_url {
        if !valid_base_url(sub.trim_end_matches('/')) {
            return Err("settings.sub_base_url".into());
        }
    }
    Ok(merged.to_string())
}

fn name_taken(e: &db::DbError) -> bool {
    let text = e.to_string().to_ascii_lowercase();
    text.contains("unique") || text.contains("duplicate")
}

async fn audit(
    conn: &mut db::Conn,
    user: &CurrentUser,
    origin: &Origin,
    action: AuditAction,
    id: i64,
    meta: serde_json::Value,
) -> Result<(), AppError> {
    db::audit::record(
        conn,
        NewAudit {
            actor: &user.actor(),
            origin,
            action,
            target_type: Some(AuditTarget::Panel),
            target_id: Some(id),
            reason: None,
            meta,
        },
    )
    .await?;
    Ok(())
}

/// What the audit log keeps of a panel: everything but the secrets, which only say "changed".
fn audit_view(p: &db::panels::Panel) -> serde_json::Value {
    serde_json::json!({
        "name": p.name, "kind": p.kind, "base_url": p.base_url, "username": p.username,
        "settings": serde_json::from_str::<serde_json::Value>(&p.settings).unwrap_or_default(),
        "is_active": p.is_active,
    })
}

pub async fn get_panel(state: &AppState, id: i64) -> Result<db::panels::Panel, AppError> {
    let mut conn = state.db.acquire().await?;
    db::panels::get(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn create_panel(
    state: &AppState,
    user: &CurrentUser,
    origin: &Origin,
    input: &PanelInput,
) -> Result<db::panels::Panel, AppError> {
    check_target(state, input.base_url.as_deref()).await?;
    let v = validate(state, None, input)?;
    let mut tx = state.db.begin_write().await?;
    let created = db::panels::create(
        &mut tx,
        db::panels::NewPanel {
            name: &v.name,
            kind: v.kind,
            base_url: &v.base_url,
            username: v.username.as_deref(),
            password_enc: v.password_enc.as_deref(),
            api_key_enc: v.api_key_enc.as_deref(),
            settings: &v.settings,
        },
    )
    .await;
    let id = match created {
        Ok(id) => id,
        Err(e) if name_taken(&e) => return Err(AppError::field("name", "panels.err.name_taken")),
        Err(e) => return Err(e.into()),
    };
    if !v.is_active {
        db::panels::update(
            &mut tx,
            id,
            db::panels::NewPanel {
                name: &v.name,
                kind: v.kind,
                base_url: &v.base_url,
                username: v.username.as_deref(),
                password_enc: v.password_enc.as_deref(),
                api_key_enc: v.api_key_enc.as_deref(),
                settings: &v.settings,
            },
            false,
        )
        .await?;
    }
    let panel = db::panels::get(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    audit(
        &mut tx,
        user,
        origin,
        AuditAction::PanelCreated,
        id,
        serde_json::json!({ "after": audit_view(&panel),
            "has_password": panel.password_enc.is_some(), "has_api_key": panel.api_key_enc.is_some() }),
    )
    .await?;
    tx.commit().await.map_err(db::DbError::from)?;
    Ok(panel)
}

pub async fn update_panel(
    state: &AppState,
    user: &CurrentUser,
    origin: &Origin,
    id: i64,
    input: &PanelInput,
) -> Result<db::panels::Panel, AppError> {
    check_target(state, input.base_url.as_deref()).await?;
    let mut tx = state.db.begin_write().await?;
    let sql = format!(
        "SELECT * FROM panels WHERE id = $1{}",
        state.db.backend().for_update()
    );
    let before: db::panels::Panel = db::sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db::DbError::from)?
        .ok_or(AppError::NotFound)?;
    let v = validate(state, Some(&before), input)?;
    let updated = db::panels::update(
        &mut tx,
        id,
        db::panels::NewPanel {
            name: &v.name,
            kind: v.kind,
            base_url: &v.base_url,
            username: v.username.as_deref(),
            password_enc: v.password_enc.as_deref(),
            api_key_enc: v.api_key_enc.as_deref(),
            settings: &v.settings,
        },
        v.is_active,
    )
    .await;
    match updated {
        Ok(()) => {}
        Err(e) if name_taken(&e) => return Err(AppError::field("name", "panels.err.name_taken")),
        Err(e) => return Err(e.into()),
    }
    let after = db::panels::get(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    audit(
        &mut tx,
        user,
        origin,
        AuditAction::PanelUpdated,
        id,
        serde_json::json!({
            "before": audit_view(&before),
            "after": audit_view(&after),
            "password_changed": after.password_enc != before.password_enc,
            "api_key_changed": after.api_key_enc != before.api_key_enc,
        }),
    )
    .await?;
    tx.commit().await.map_err(db::DbError::from)?;
    // The cached client holds the old URL and credentials.
    state.engine.registry.invalidate(id);
    Ok(after)
}

#[derive(Serialize, ToSchema, Debug, Clone)]
pub struct TestResult {
    pub ok: bool,
    pub latency_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A client of its own (outside the registry's rate and concurrency limits), so the admin gets
/// an answer at once even while operations queue for the panel.
fn client_for(
    state: &AppState,
    panel: &db::panels::Panel,
) -> Result<std::sync::Arc<dyn panels::PanelClient>, String> {
    let cfg = engine::registry::panel_config(panel, &state.keys, &state.engine.settings)
        .map_err(|e| e.to_string())?;
    panels::connect(cfg).map_err(|e| e.to_string())
}

async fn record_health(state: &AppState, id: i64, error: Option<&str>) -> Result<(), AppError> {
    let mut conn = state.db.acquire().await?;
    match error {
        None => db::panels::record_success(&mut conn, id, chrono::Utc::now().timestamp()).await?,
        Some(e) => db::panels::record_failure(&mut conn, id, e).await?,
    }
    Ok(())
}

/// Logs in and makes one read; the result is recorded as the panel's health and audited.
pub async fn test_panel(
    state: &AppState,
    user: &CurrentUser,
    origin: &Origin,
    id: i64,
) -> Result<TestResult, AppError> {
    let panel = get_panel(state, id).await?;
    let started = std::time::Instant::now();
    check_target(state, Some(&panel.base_url)).await?;
    let result = match client_for(state, &panel) {
        Ok(client) => client
            .test_connection()
            .await
            .map_err(|e| error_without_body(&e)),
        Err(e) => Err(e),
    };
    let result = match result {
        Ok(info) => TestResult {
            ok: true,
            latency_ms: info.latency_ms,
            version: info.version,
            error: None,
        },
        Err(e) => TestResult {
            ok: false,
            latency_ms: started.elapsed().as_millis() as u64,
            version: None,
            error: Some(e),
        },
    };
    record_health(state, id, result.error.as_deref()).await?;
    let mut conn = state.db.acquire().await?;
    audit(
        &mut conn,
        user,
        origin,
        AuditAction::PanelTested,
        id,
        serde_json::json!({ "ok": result.ok, "latency_ms": result.latency_ms,
            "version": result.version, "error": result.error }),
    )
    .await?;
    Ok(result)
}

/// The inbounds, services and nodes the panel offers (for the settings pickers).
pub async fn panel_choices(state: &AppState, id: i64) -> Result<panels::Choices, AppError> {
    let panel = get_panel(state, id).await?;
    let client = client_for(state, &panel).map_err(AppError::Panel)?;
    match client.list_choices().await {
        Ok(c) => {
            record_health(state, id, None).await?;
            Ok(c)
        }
        Err(e) => {
            let msg = e.to_string();
            if !matches!(e, panels::PanelError::Config(_)) {
                record_health(state, id, Some(&msg)).await?;
            }
            Err(AppError::Panel(msg))
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ChoiceView {
    pub id: String,
    pub label: String,
}

#[derive(Serialize, ToSchema)]
pub struct ChoicesView {
    pub inbounds: Vec<ChoiceView>,
    pub services: Vec<ChoiceView>,
    pub nodes: Vec<ChoiceView>,
}

impl From<panels::Choices> for ChoicesView {
    fn from(c: panels::Choices) -> Self {
        let map = |v: Vec<panels::Choice>| {
            v.into_iter()
                .map(|c| ChoiceView {
                    id: c.id,
                    label: c.label,
                })
                .collect()
        };
        ChoicesView {
            inbounds: map(c.inbounds),
            services: map(c.services),
            nodes: map(c.nodes),
        }
    }
}
