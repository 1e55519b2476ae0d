//! Layers every response passes through: a request id (header and log span), security headers,
//! the language cookie when `?lang=` picks one, and localised error pages for HTML routes.

use crate::auth::RequestId;
use crate::error::ErrorPageMarker;
use crate::locale::{Locale, LANG_COOKIE};
use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Accepts a sane incoming `X-Request-Id` (so a proxy's id flows through), else makes one.
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
    let started = std::time::Instant::now();
    let mut res = next.run(req).instrument(span.clone()).await;
    let status = res.status();
    crate::metrics::record_request(status.as_u16(), started.elapsed());
    span.in_scope(|| {
        let ms = started.elapsed().as_millis() as u64;
        if status.is_server_error() {
            tracing::error!(status = status.as_u16(), ms, "request failed");
        } else {
            tracing::info!(status = status.as_u16(), ms, "request");
        }
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    res
}

pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    res
}

/// Remembers an explicit `?lang=` choice in a cookie.
pub async fn remember_lang(req: Request, next: Next) -> Response {
    let chosen = req.uri().query().and_then(|q| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(q)
            .ok()?
            .into_iter()
            .find(|(k, _)| k == "lang")
            .and_then(|(_, v)| crate::i18n::Lang::parse(&v))
    });
    let mut res = next.run(req).await;
    if let Some(lang) = chosen {
        let cookie = format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            lang.code()
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

/// Turns a bare error status from a page handler into the localised error page.
pub async fn error_pages(req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let locale = Locale::from_parts(&parts);
    let res = next.run(Request::from_parts(parts, body)).await;
    let Some(marker) = res.extensions().get::<ErrorPageMarker>().cloned() else {
        return res;
    };
    let status = res.status();
    let mut page = crate::pages::errors::render(locale, status, marker.message).into_response();
    *page.status_mut() = status;
    // Keep cookies a handler set on its way out (e.g. a cleared session).
    for v in res.headers().get_all(header::SET_COOKIE) {
        page.headers_mut().append(header::SET_COOKIE, v.clone());
    }
    page
}

/// The 404 for any path no route matched.
pub async fn not_found(req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        crate::error::ApiError(crate::error::AppError::NotFound).into_response()
    } else {
        let (parts, _) = req.into_parts();
        let locale = Locale::from_parts(&parts);
        let mut page =
            crate::pages::errors::render(locale, StatusCode::NOT_FOUND, None).into_response();
        *page.status_mut() = StatusCode::NOT_FOUND;
        page
    }
}
