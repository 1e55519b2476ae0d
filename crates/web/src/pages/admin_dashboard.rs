//! The admin's overview at `/`: failing panels first (spec §11: a panel in trouble shows up
//! here), then the pending remote operations and the general counters.

use crate::auth::CurrentUser;
use crate::error::PageResult;
use crate::locale::Locale;
use crate::pages::panels::PanelRow;
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
    panels: i64,
    failing: Vec<PanelRow>,
    pending_operations: i64,
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
    let all_panels = db::panels::list(&mut conn).await?;
    let panels = all_panels.len() as i64;
    let failing = all_panels
        .into_iter()
        .filter(|p| p.consecutive_failures > 0)
        .map(|panel| PanelRow { panel })
        .collect();
    let pending_operations = db::operations::count_pending(&mut conn).await?;
    let html = AdminDashboard {
        shell,
        admins,
        audit_entries,
        panels,
        failing,
        pending_operations,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    Ok(Html(html).into_response())
}
