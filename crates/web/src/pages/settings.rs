//! `/admin/settings`: the wallet defaults the admin may edit (price per GB, suspension
//! threshold, minimum top-up); each save is audited `settings_updated` with before and after.

use crate::auth::{CurrentUser, PageAdmin, RequestOrigin};
use crate::csrf::CsrfForm;
use crate::error::FieldErrors;
use crate::error::{AppError, PageResult};
use crate::locale::Locale;
use crate::pages::shell::Shell;
use crate::pages::wallet::PaymentInstructions;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use db::audit::{NewAudit, Origin};
use domain::status::{AuditAction, AuditTarget};
use engine::wallet;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/settings", get(show).post(save))
        .route("/admin/settings/payment", post(save_payment))
        .route("/admin/settings/drift", post(save_drift))
        .route("/admin/settings/two-factor", post(save_two_factor))
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    shell: Shell,
    price: String,
    threshold: String,
    topup_min: String,
    saved: bool,
    invalid: bool,
    pay: PaymentInstructions,
    pay_errors: FieldErrors,
    /// Whether a limit or expiry changed on a panel is restored (else only reported).
    restore_limits: bool,
    /// Whether every admin must sign in with a second factor.
    two_factor_required: bool,
}

impl SettingsPage {
    fn pay_err(&self, field: &str) -> Option<&str> {
        self.pay_errors.get(field).map(|k| self.shell.t(k))
    }
}

async fn render(
    state: &AppState,
    loc: Locale,
    user: CurrentUser,
    saved: bool,
    input: Option<&SettingsForm>,
    pay_input: Option<(PaymentInstructions, FieldErrors)>,
) -> PageResult<Html<String>> {
    let mut conn = state.db.acquire().await?;
    let d = wallet::defaults(&mut conn, &state.engine.settings)
        .await
        .map_err(crate::actions::wallet::engine_error)?;
    let (pay, pay_errors) = match pay_input {
        Some(p) => p,
        None => (
            PaymentInstructions::load(&mut conn).await?,
            FieldErrors::new(),
        ),
    };
    let restore_limits = engine::drift::restores_limits(&mut conn)
        .await
        .map_err(crate::actions::wallet::engine_error)?;
    let two_factor_required = db::two_factor::required_for_admins(&mut conn).await?;
    let page = SettingsPage {
        restore_limits,
        two_factor_required,
        shell: Shell::new(loc, Some(user), "/admin/settings", "wallet_settings.title"),
        price: input.map_or(d.price_per_gb.to_string(), |f| f.price_per_gb.clone()),
        threshold: input.map_or(d.threshold.to_string(), |f| f.suspension_threshold.clone()),
        topup_min: input.map_or(d.topup_min.to_string(), |f| f.topup_min_amount.clone()),
        saved,
        invalid: input.is_some(),
        pay,
        pay_errors,
    };
    Ok(Html(page.render().map_err(anyhow::Error::from)?))
}

#[derive(Deserialize)]
pub struct ShowQuery {
    saved: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    loc: Locale,
    PageAdmin(user): PageAdmin,
    Query(q): Query<ShowQuery>,
) -> PageResult<Html<String>> {
    render(&state, loc, user, q.saved.is_some(), None, None).await
}

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    price_per_gb: String,
    #[serde(default)]
    suspension_threshold: String,
    #[serde(default)]
    topup_min_amount: String,
}

fn int(s: &str) -> Option<i64> {
    let s = domain::units::to_latin_digits(s.trim()).replace([',', '\u{066C}'], "");
    s.replace('\u{2212}', "-").parse().ok()
}

/// Saves the three defaults in one transaction with one audit row (before/after).
pub async fn update_wallet_defaults(
    state: &AppState,
    user: &CurrentUser,
    origin: &Origin,
    price: i64,
    threshold: i64,
    topup_min: i64,
) -> Result<(), AppError> {
    let backend = state.db.backend();
    let mut tx = state.db.begin_write().await?;
    let before = wallet::defaults(&mut tx, &state.engine.settings)
        .await
        .map_err(crate::actions::wallet::engine_error)?;
    for (key, v) in [
        (wallet::KEY_PRICE, price),
        (wallet::KEY_THRESHOLD, threshold),
        (wallet::KEY_TOPUP_MIN, topup_min),
    ] {
        db::settings::set(&mut tx, backend, key, &v.to_string()).await?;
    }
    db::audit::record(
        &mut tx,
        NewAudit {
            actor: &user.actor(),
            origin,
            action: AuditAction::SettingsUpdated,
            target_type: Some(AuditTarget::Settings),
            target_id: None,
            reason: None,
            meta: serde_json::json!({
                "before": before,
                "after": {"price_per_gb": price, "threshold": threshold, "topup_min": topup_min},
            }),
        },
    )
    .await?;
    tx.commit().await.map_err(db::DbError::from)?;
    Ok(())
}

pub async fn save(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    CsrfForm { user, form }: CsrfForm<SettingsForm>,
) -> PageResult<Response> {
    if !user.is_admin() {
        return Err(AppError::forbidden("admin_only", "admin only").into());
    }
    let parsed = (
        int(&form.price_per_gb).filter(|v| (0..=1_000_000_000).contains(v)),
        int(&form.suspension_threshold).filter(|v| (-1_000_000_000..=0).contains(v)),
        int(&form.topup_min_amount).filter(|v| (0..=1_000_000_000).contains(v)),
    );
    let (Some(price), Some(threshold), Some(min)) = parsed else {
        let mut res = render(&state, loc, user, false, Some(&form), None)
            .await?
            .into_response();
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(res);
    };
    update_wallet_defaults(&state, &user, &origin, price, threshold, min).await?;
    Ok(crate::request_context::done(
        "/admin/settings",
        loc.t("wallet_settings.saved"),
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PaymentForm {
    card_number: String,
    card_holder: String,
    bank: String,
    note: String,
}

/// A card number as people write it (`6037 9975 …`, Persian digits, dashes), kept as digits in
/// groups of four; empty is allowed (no card, instructions in the note instead).
fn card_number(s: &str) -> Option<String> {
    let digits: String = domain::units::to_latin_digits(s)
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '\u{200c}'))
        .collect();
    if digits.is_empty() {
        return Some(String::new());
    }
    if !(12..=26).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    Some(
        digits
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).to_string())
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// Saves where resellers pay (shown on their top-up form), audited with before and after.
pub async fn save_payment(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    CsrfForm { user, form }: CsrfForm<PaymentForm>,
) -> PageResult<Response> {
    if !user.is_admin() {
        return Err(AppError::forbidden("admin_only", "admin only").into());
    }
    let mut errors = FieldErrors::new();
    let card = card_number(&form.card_number).unwrap_or_else(|| {
        errors.insert(
            "card_number".into(),
            "wallet_settings.err.card_number".into(),
        );
        String::new()
    });
    for (field, value, max) in [
        ("card_holder", &form.card_holder, 100),
        ("bank", &form.bank, 100),
        ("note", &form.note, 1000),
    ] {
        if value.trim().chars().count() > max {
            errors.insert(field.into(), "wallet_settings.err.too_long".into());
        }
    }
    let new = PaymentInstructions {
        card_number: if errors.contains_key("card_number") {
            form.card_number.clone()
        } else {
            card
        },
        card_holder: form.card_holder.trim().to_string(),
        bank: form.bank.trim().to_string(),
        note: form.note.trim().to_string(),
    };
    if !errors.is_empty() {
        let mut res = render(&state, loc, user, false, None, Some((new, errors)))
            .await?
            .into_response();
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(res);
    }
    let backend = state.db.backend();
    let mut tx = state.db.begin_write().await?;
    let before = PaymentInstructions::load(&mut tx).await?;
    let values = [&new.card_number, &new.card_holder, &new.bank, &new.note];
    for (key, v) in PaymentInstructions::KEYS.iter().zip(values) {
        db::settings::set(&mut tx, backend, key, v).await?;
    }
    db::audit::record(
        &mut tx,
        NewAudit {
            actor: &user.actor(),
            origin: &origin,
            action: AuditAction::SettingsUpdated,
            target_type: Some(AuditTarget::Settings),
            target_id: None,
            reason: None,
            meta: serde_json::json!({
                "before": {"card_number": before.card_number, "card_holder": before.card_holder,
                           "bank": before.bank, "payment_note": before.note},
                "after": {"card_number": new.card_number, "card_holder": new.card_holder,
                          "bank": new.bank, "payment_note": new.note},
            }),
        },
    )
    .await?;
    tx.commit().await.map_err(db::DbError::from)?;
    Ok(crate::request_context::done(
        "/admin/settings",
        loc.t("wallet_settings.payment_saved"),
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DriftForm {
    /// A checkbox: present when ticked.
    restore_limits: Option<String>,
}

/// Saves whether a limit or expiry changed on a panel is restored or only reported (audited).
pub async fn save_drift(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    CsrfForm { user, form }: CsrfForm<DriftForm>,
) -> PageResult<Response> {
    if !user.is_admin() {
        return Err(AppError::forbidden("admin_only", "admin only").into());
    }
    engine::drift::set_restores_limits(
        &state.engine,
        &user.actor(),
        &origin,
        form.restore_limits.is_some(),
    )
    .await
    .map_err(crate::actions::wallet::engine_error)?;
    Ok(crate::request_context::done(
        "/admin/settings",
        loc.t("drift_settings.saved"),
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TwoFactorForm {
    /// A checkbox: present when ticked.
    required: Option<String>,
}

/// Saves whether every admin must sign in with a second factor (audited with before and
/// after). Admins without one are led to its set-up at their next page.
pub async fn save_two_factor(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    CsrfForm { user, form }: CsrfForm<TwoFactorForm>,
) -> PageResult<Response> {
    if !user.is_admin() {
        return Err(AppError::forbidden("admin_only", "admin only").into());
    }
    let required = form.required.is_some();
    let mut tx = state.db.begin_write().await?;
    let before = db::two_factor::required_for_admins(&mut tx).await?;
    db::settings::set(
        &mut tx,
        state.db.backend(),
        db::two_factor::SETTING_REQUIRED_FOR_ADMINS,
        if required { "1" } else { "0" },
    )
    .await?;
    db::audit::record(
        &mut tx,
        NewAudit {
            actor: &user.actor(),
            origin: &origin,
            action: AuditAction::SettingsUpdated,
            target_type: Some(AuditTarget::Settings),
            target_id: None,
            reason: None,
            meta: serde_json::json!({
                "before": {"two_factor_required_for_admins": before},
                "after": {"two_factor_required_for_admins": required},
            }),
        },
    )
    .await?;
    tx.commit().await.map_err(db::DbError::from)?;
    Ok(crate::request_context::done(
        "/admin/settings",
        loc.t("two_factor.setting_saved"),
    ))
}
