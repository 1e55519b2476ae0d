//! The JSON API under `/api/v1`: every route registered through `utoipa-axum`, so the served
//! OpenAPI document is generated from the same list the router is built from.

pub mod account;
pub mod audit;
pub mod auth;
pub mod configs;
pub mod extract;
pub mod health;
pub mod import;
pub mod jobs;
pub mod operations;
pub mod panels;
pub mod quarantine;
pub mod resellers;
pub mod usage;
pub mod wallet;

use crate::state::AppState;
use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "VpnMarket API", version = "1", description = "Reseller and billing platform for VPN panels.", license(name = "MIT")),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorDetail)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

fn v1() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(auth::issue_token))
        .routes(routes!(auth::list_tokens, auth::create_token))
        .routes(routes!(auth::revoke_token))
        .routes(routes!(audit::list))
        .routes(routes!(account::change_password))
        .routes(routes!(account::set_reseller_password))
        .merge(panels::routes())
        .merge(import::routes())
        .merge(operations::routes())
        .merge(resellers::routes())
        .merge(configs::routes())
        .merge(jobs::routes())
        .merge(usage::routes())
        .merge(quarantine::routes())
        .merge(wallet::routes())
}

/// The API router and its OpenAPI document.
pub fn router() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .nest("/api/v1", v1())
        .split_for_parts();
    doc.paths.paths.insert(
        "/api/v1/openapi.json".into(),
        utoipa::openapi::path::PathItem::new(
            utoipa::openapi::HttpMethod::Get,
            utoipa::openapi::path::OperationBuilder::new()
                .tag("meta")
                .summary(Some("This OpenAPI document"))
                .response(
                    "200",
                    utoipa::openapi::ResponseBuilder::new().description("OpenAPI 3 document"),
                ),
        ),
    );
    (router, doc)
}
