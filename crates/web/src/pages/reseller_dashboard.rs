//! The reseller's dashboard at `/`, laid out per kind as seed 004 draws it, and the gate every
//! reseller page passes: the access matrix, with a page that says why or a redirect to `/wallet`.

use crate::auth::CurrentUser;
use crate::error::{AppError, PageResult};
use crate::locale::Locale;
use crate::pages::shell::Shell;
use crate::state::AppState;
use crate::views::Label;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use db::resellers::Reseller;
use domain::status::{ResellerKind, ResellerStatus, SuspendedBy};
use engine::access::{Access, Area};
use engine::resellers::Summary;

#[derive(Template)]
#[template(path = "dashboard_reseller.html")]
struct ResellerDashboard {
    shell: Shell,
    r: Reseller,
    s: Summary,
    /// Set when the matrix blocks the page: the translation key of the reason.
    blocked_key: Option<&'static str>,
    /// Whole days until the traffic window ends (traffic resellers with a window).
    days_left: Option<i64>,
    /// Wallet: hours the balance lasts at the last day's rate, and whether to warn.
    hours_left: Option<i64>,
    low_balance: bool,
}

impl ResellerDashboard {
    fn kind_key(&self) -> &'static str {
        self.r.kind.key()
    }

    fn status_key(&self) -> &'static str {
        self.r.status.key()
    }
}

/// Why a reseller is blocked, in words it can act on: an admin's decision, an empty wallet, an
/// ended window or a used-up quota (a traffic reseller needs to know which to ask for).
fn blocked_key(r: &Reseller, now: i64) -> &'static str {
    if r.suspended_by == Some(SuspendedBy::Admin) {
        "resellers.blocked_admin"
    } else if r.status == ResellerStatus::SuspendedWallet || r.kind == ResellerKind::Wallet {
        "resellers.blocked_wallet"
    } else if r.window_ends_at.is_some_and(|end| end <= now) {
        "resellers.blocked_window"
    } else {
        "resellers.blocked_quota"
    }
}

/// Whole days from `now` until `end` (0 on the last day, negative once past).
pub fn days_until(end: i64, now: i64) -> i64 {
    (end - now).div_euclid(86_400)
}

/// Worth a warning: the balance lasts less than a day at the last day's rate, or (with no
/// recent spending to go by) it is within five GB's worth of the threshold.
pub fn near_threshold(balance: i64, threshold: i64, price_per_gb: i64, hours: Option<i64>) -> bool {
    match hours {
        Some(h) => h < 24,
        None => balance.saturating_sub(threshold) <= price_per_gb.saturating_mul(5),
    }
}

async fn render(
    state: &AppState,
    loc: Locale,
    user: CurrentUser,
    r: Reseller,
    blocked: bool,
    path: &str,
) -> PageResult<Response> {
    let mut conn = state.db.acquire().await?;
    let s = engine::resellers::summary(&state.engine, &mut conn, &r)
        .await
        .map_err(AppError::from)?;
    let now = chrono::Utc::now().timestamp();
    let hours_left = if r.kind == ResellerKind::Wallet {
        let spent = engine::wallet::spent_since(&mut conn, r.id, now - 24 * 3600)
            .await
            .map_err(crate::actions::wallet::engine_error)?;
        domain::billing::hours_remaining(r.wallet_balance, s.suspension_threshold, spent)
    } else {
        None
    };
    drop(conn);
    let low_balance = r.kind == ResellerKind::Wallet
        && r.status == ResellerStatus::Active
        && near_threshold(
            r.wallet_balance,
            s.suspension_threshold,
            s.price_per_gb,
            hours_left,
        );
    let page = ResellerDashboard {
        shell: Shell::new(
            loc,
            Some(user),
            path,
            if blocked {
                "resellers.blocked_title"
            } else {
                "nav.dashboard"
            },
        ),
        days_left: r.window_ends_at.map(|end| days_until(end, now)),
        blocked_key: blocked.then(|| blocked_key(&r, now)),
        hours_left,
        low_balance,
        r,
        s,
    };
    let html = Html(page.render().map_err(anyhow::Error::from)?);
    // The dashboard is a suspended reseller's home: it answers normally and says why. Any other
    // address it was sent from (configs) keeps the 403 the matrix calls for.
    Ok(if blocked && path != "/" {
        (StatusCode::FORBIDDEN, html).into_response()
    } else {
        html.into_response()
    })
}

/// Lets a reseller into `area` or answers for it: a 403 page that says why, or the wallet.
pub async fn gate(
    state: &AppState,
    loc: Locale,
    user: &CurrentUser,
    area: Area,
    path: &str,
) -> PageResult<Result<Reseller, Response>> {
    let r = crate::actions::resellers::own_reseller(state, user).await?;
    match engine::access::check_row(&r, area) {
        Access::Allowed => Ok(Ok(r)),
        Access::RedirectToWallet => Ok(Err(Redirect::to("/wallet").into_response())),
        Access::Blocked { .. } => Ok(Err(render(state, loc, user.clone(), r, true, path).await?)),
    }
}

pub async fn show(
    State(state): State<AppState>,
    loc: Locale,
    user: CurrentUser,
) -> PageResult<Response> {
    let r = match gate(&state, loc, &user, Area::Dashboard, "/").await? {
        Ok(r) => r,
        Err(res) => return Ok(res),
    };
    render(&state, loc, user, r, false, "/").await
}
