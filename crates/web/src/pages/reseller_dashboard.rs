//! The reseller's dashboard at `/`.

use crate::auth::CurrentUser;
use crate::error::PageResult;
use crate::locale::Locale;
use crate::pages::shell::Shell;
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};

#[derive(Template)]
#[template(path = "dashboard_reseller.html")]
struct ResellerDashboard {
    shell: Shell,
}

pub async fn show(
    State(_state): State<AppState>,
    loc: Locale,
    user: CurrentUser,
) -> PageResult<Response> {
    let shell = Shell::new(loc, Some(user), "/", "nav.dashboard");
    let html = ResellerDashboard { shell }
        .render()
        .map_err(anyhow::Error::from)?;
    Ok(Html(html).into_response())
}
