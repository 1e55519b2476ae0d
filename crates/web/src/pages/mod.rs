//! Server-rendered HTML pages (askama templates), one module per area.

pub mod assets;
pub mod dashboard;
pub mod errors;
pub mod login;
pub mod shell;
pub mod tokens;

use crate::state::AppState;
use axum::routing::{get, post};
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard::show))
        .route("/login", get(login::show).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/tokens", get(tokens::show).post(tokens::create))
        .route("/tokens/{id}/revoke", post(tokens::revoke))
}
