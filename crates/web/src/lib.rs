//! The web layer: axum routers for the HTML pages and the JSON API, the extractors for the
//! current user and locale, templates, translations and embedded assets. Handlers stay thin.

pub mod accounts;
pub mod actions;
pub mod admins;
pub mod api;
pub mod auth;
pub mod charts;
pub mod csrf;
pub mod error;
pub mod humanize;
pub mod i18n;
pub mod locale;
pub mod metrics;
pub mod middleware;
pub mod pages;
pub mod password;
pub mod ratelimit;
pub mod request_context;
pub mod server;
pub mod sessions;
pub mod signin;
pub mod state;
pub mod two_factor;
pub mod views;

pub use state::{AppState, WebOptions};

use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;

/// The whole application router with its layers.
pub fn app(state: AppState) -> Router {
    let (api, doc) = api::router();
    let doc = Arc::new(doc);
    let pages = pages::router().layer(axum::middleware::from_fn_with_state(
        state.clone(),
        middleware::error_pages,
    ));
    Router::new()
        .merge(api)
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { Json(doc.as_ref().clone()) }
            }),
        )
        .merge(pages)
        .route("/assets/{*path}", get(pages::assets::serve))
        .route("/favicon.svg", get(pages::assets::favicon))
        .route("/favicon.ico", get(pages::assets::favicon))
        .route("/metrics", get(metrics::guarded))
        .fallback(middleware::not_found)
        // Bodies over a few KB (a receipt upload: 5 MiB) are refused before a handler reads them.
        .layer(axum::middleware::from_fn(middleware::limit_body))
        .layer(axum::middleware::from_fn(request_context::layer))
        .layer(axum::middleware::from_fn(middleware::remember_lang))
        .layer(axum::middleware::from_fn(middleware::security_headers))
        .layer(axum::middleware::from_fn(middleware::request_id))
        .layer(axum::extract::DefaultBodyLimit::max(middleware::MAX_UPLOAD))
        .with_state(state)
}

/// The OpenAPI document (for tests and the route-coverage check).
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::router().1
}
