//! The admin's overview at `/`.

use crate::auth::CurrentUser;
use crate::error::PageResult;
use crate::locale::Locale;
use crate::pages::shell::Shell;
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};

#[derive(Template)]
#[template(path = "dashboard_admin.html")]
struct AdminDashboard {
    shell: Shell,
    admins: i64,
    audit_entries: i64,
}

pub async fn show(
    State(state): State<AppState>,
    loc: Locale,
    user: CurrentUser,
) -> PageResult<Response> {
    let shell = Shell::new(loc, Some(user), "/", "nav.dashboard");
    let mut conn = state.db.acquire().await?;
    let admins = db::users::count_admins(&mut conn).await?;
    let (_, audit_entries) = db::audit::list(&mut conn, &Default::default(), 1, 0).await?;
    let html = AdminDashboard {
        shell,
        admins,
        audit_entries,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    Ok(Html(html).into_response())
}
