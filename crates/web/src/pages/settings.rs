//! `/admin/settings`: the wallet defaults the admin may edit (price per GB, suspension
//! threshold, minimum top-up); each save is audited `settings_updated` with before and after.

use crate::auth::{CurrentUser, PageAdmin, RequestOrigin};
use crate::csrf::CsrfForm;
use crate::error::{AppError, PageResult};
use crate::locale::Locale;
use crate::pages::shell::Shell;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use db::audit::{NewAudit, Origin};
use domain::status::{AuditAction, AuditTarget};
use engine::wallet;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/settings", get(show).post(save))
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
}

async fn render(
    state: &AppState,
    loc: Locale,
    user: CurrentUser,
    saved: bool,
    input: Option<&SettingsForm>,
) -> PageResult<Html<String>> {
    let mut conn = state.db.acquire().await?;
    let d = wallet::defaults(&mut conn, &state.engine.settings)
        .await
        .map_err(crate::api::wallet::engine_error)?;
    let page = SettingsPage {
        shell: Shell::new(loc, Some(user), "/admin/settings", "wallet_settings.title"),
        price: input.map_or(d.price_per_gb.to_string(), |f| f.price_per_gb.clone()),
        threshold: input.map_or(d.threshold.to_string(), |f| f.suspension_threshold.clone()),
        topup_min: input.map_or(d.topup_min.to_string(), |f| f.topup_min_amount.clone()),
        saved,
        invalid: input.is_some(),
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
    render(&state, loc, user, q.saved.is_some(), None).await
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
        .map_err(crate::api::wallet::engine_error)?;
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
        let mut res = render(&state, loc, user, false, Some(&form))
            .await?
            .into_response();
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(res);
    };
    update_wallet_defaults(&state, &user, &origin, price, threshold, min).await?;
    Ok(Redirect::to("/admin/settings?saved=1").into_response())
}
