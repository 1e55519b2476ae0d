//! `/`: the admin's overview or the reseller's dashboard, by role.

use crate::auth::PageUser;
use crate::error::PageResult;
use crate::locale::Locale;
use crate::pages::shell::Shell;
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Html;

#[derive(Template)]
#[template(path = "dashboard_admin.html")]
struct AdminDashboard {
    shell: Shell,
    admins: i64,
    audit_entries: i64,
}

#[derive(Template)]
#[template(path = "dashboard_reseller.html")]
struct ResellerDashboard {
    shell: Shell,
}

pub async fn show(
    State(state): State<AppState>,
    loc: Locale,
    PageUser(user): PageUser,
) -> PageResult<Html<String>> {
    let shell = Shell::new(loc, Some(user.clone()), "/", "nav.dashboard");
    let html = if user.is_admin() {
        let mut conn = state.db.acquire().await?;
        let admins = db::users::count_admins(&mut conn).await?;
        let (_, audit_entries) = db::audit::list(&mut conn, &Default::default(), 1, 0).await?;
        AdminDashboard {
            shell,
            admins,
            audit_entries,
        }
        .render()
    } else {
        ResellerDashboard { shell }.render()
    };
    Ok(Html(html.map_err(anyhow::Error::from)?))
}
