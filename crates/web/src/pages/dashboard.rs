//! `/`: the admin's overview or the reseller's dashboard, by role.

use crate::auth::PageUser;
use crate::error::PageResult;
use crate::locale::Locale;
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;

pub async fn show(
    state: State<AppState>,
    loc: Locale,
    PageUser(user): PageUser,
) -> PageResult<Response> {
    if user.is_admin() {
        crate::pages::admin_dashboard::show(state, loc, user).await
    } else {
        crate::pages::reseller_dashboard::show(state, loc, user).await
    }
}
