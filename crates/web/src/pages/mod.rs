//! Server-rendered HTML pages (askama templates), one module per area.

pub mod account;
pub mod admin_dashboard;
pub mod admins;
pub mod assets;
pub mod audit;
pub mod bulk;
pub mod charts;
pub mod configs;
pub mod dashboard;
pub mod errors;
pub mod exports;
pub mod import;
pub mod login;
pub mod operations;
pub mod panels;
pub mod reseller_dashboard;
pub mod resellers;
pub mod sessions;
pub mod settings;
pub mod shell;
pub mod tokens;
pub mod two_factor;
pub mod usage;
pub mod wallet;

use crate::state::AppState;
use axum::routing::{get, post};
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard::show))
        .route("/login", get(login::show).post(login::submit))
        .route(
            "/login/code",
            get(login::show_code).post(login::submit_code),
        )
        .route("/logout", post(login::logout))
        .route(
            "/account/password",
            get(account::show).post(account::change),
        )
        .route("/account/sessions", get(sessions::show))
        .route("/account/sessions/{id}/end", post(sessions::end_one))
        .route("/account/sessions/end-others", post(sessions::end_others))
        .route("/tokens", get(tokens::show).post(tokens::create))
        .route("/tokens/{id}/revoke", post(tokens::revoke))
        .merge(panels::router())
        .merge(operations::router())
        .merge(resellers::router())
        .merge(configs::router())
        .merge(wallet::router())
        .merge(usage::router())
        .merge(audit::router())
        .merge(charts::router())
        .merge(settings::router())
        .merge(two_factor::router())
        .merge(admins::router())
        .merge(import::router())
        .merge(bulk::router())
        .merge(exports::router())
}
