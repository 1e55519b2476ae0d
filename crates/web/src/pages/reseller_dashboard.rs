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
    used_percent: i64,
}

impl ResellerDashboard {
    fn kind_key(&self) -> &'static str {
        self.r.kind.key()
    }

    fn status_key(&self) -> &'static str {
        self.r.status.key()
    }
}

/// Why a reseller is blocked, in words it can act on.
fn blocked_key(r: &Reseller) -> &'static str {
    if r.suspended_by == Some(SuspendedBy::Admin) {
        "resellers.blocked_admin"
    } else if r.status == ResellerStatus::SuspendedWallet {
        "resellers.blocked_wallet"
    } else {
        "resellers.blocked_quota"
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
    drop(conn);
    let page = ResellerDashboard {
        shell: Shell::new(loc, Some(user), path, "nav.dashboard"),
        used_percent: s.used_percent(r.traffic_quota_bytes),
        blocked_key: blocked.then(|| blocked_key(&r)),
        r,
        s,
    };
    let html = Html(page.render().map_err(anyhow::Error::from)?);
    Ok(if blocked {
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
    let r = crate::api::resellers::own_reseller(state, user).await?;
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
