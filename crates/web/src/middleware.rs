//! Layers every response passes through: a request id (header and log span), security headers,
//! the language cookie when `?lang=` picks one, and localised error pages for HTML routes.

use crate::auth::RequestId;
use crate::error::ErrorPageMarker;
use crate::locale::{Locale, LANG_COOKIE};
use crate::pages::errors::ErrorView;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The largest body of any request but an upload (JSON, forms): a few KB is plenty.
pub const MAX_BODY: usize = 32 * 1024;
/// The largest upload (a receipt, multipart).
pub const MAX_UPLOAD: usize = 5 * 1024 * 1024;

/// Refuses a body over [`MAX_BODY`] with 413, except multipart uploads (up to [`MAX_UPLOAD`]):
/// by its declared length at once, and a body without one (chunked) as soon as it passes it.
pub async fn limit_body(req: Request, next: Next) -> Response {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if multipart {
        // The upload handlers read up to MAX_UPLOAD (DefaultBodyLimit) and name the field
        // that is too large.
        return next.run(req).await;
    }
    let limit = MAX_BODY;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large(limit);
    }
    let (parts, body) = req.into_parts();
    let limited = axum::body::Body::new(http_body_util::Limited::new(body, limit));
    next.run(Request::from_parts(parts, limited)).await
}

fn too_large(limit: usize) -> Response {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("request body over {limit} bytes"),
    )
        .into_response()
}

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
    // A handler that set a stricter policy of its own (a receipt download) keeps it.
    h.entry(header::CONTENT_SECURITY_POLICY).or_insert(
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

/// Turns an error from a page route into the localised error page, inside the layout with the
/// visitor's navigation: a handler's `PageError`, and also what axum answers by itself (a query
/// or path that does not parse, a GET on a form's address), which would otherwise be plain text
/// or an empty body.
pub async fn error_pages(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let locale = Locale::from_parts(&parts);
    let path = parts.uri.path().to_string();
    let head_parts = parts.clone();
    let res = next.run(Request::from_parts(parts, body)).await;
    let status = res.status();
    let marker = res.extensions().get::<ErrorPageMarker>().cloned();
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let framework_error = marker.is_none() && status.is_client_error() && !is_html;
    if marker.is_none() && !framework_error {
        return res;
    }
    // Keep cookies a handler set on its way out (e.g. a cleared session).
    let cookies: Vec<HeaderValue> = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .cloned()
        .collect();
    let (status, message) = match marker {
        Some(m) => (status, m.message),
        // axum's own rejections: a path segment that is not a number names nothing (404); a
        // query it cannot read is a bad address (400); a GET on a POST-only form address (405).
        None => {
            let bytes = axum::body::to_bytes(res.into_body(), 4096)
                .await
                .unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            if status == StatusCode::BAD_REQUEST && text.starts_with("Invalid URL") {
                (StatusCode::NOT_FOUND, None)
            } else if status == StatusCode::BAD_REQUEST {
                (status, Some("error.bad_query".to_string()))
            } else {
                (status, None)
            }
        }
    };
    let user = crate::auth::user_from_session(&head_parts, &state)
        .await
        .ok()
        .flatten();
    let view = ErrorView {
        status,
        message,
        user,
        path,
    };
    let mut page = crate::pages::errors::render(locale, view).into_response();
    *page.status_mut() = status;
    for v in cookies {
        page.headers_mut().append(header::SET_COOKIE, v);
    }
    page
}

/// The 404 for any path no route matched.
pub async fn not_found(State(state): State<AppState>, req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        crate::error::ApiError(crate::error::AppError::NotFound).into_response()
    } else {
        let (parts, _) = req.into_parts();
        let locale = Locale::from_parts(&parts);
        let user = crate::auth::user_from_session(&parts, &state)
            .await
            .ok()
            .flatten();
        let view = ErrorView {
            status: StatusCode::NOT_FOUND,
            message: None,
            user,
            path: parts.uri.path().to_string(),
        };
        let mut page = crate::pages::errors::render(locale, view).into_response();
        *page.status_mut() = StatusCode::NOT_FOUND;
        page
    }
}
