//! The localised 403, 404 and 500 pages (and any other error status a page produces).

use crate::locale::Locale;
use crate::pages::shell::Shell;
use askama::Template;
use axum::http::StatusCode;
use axum::response::Html;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    shell: Shell,
    status: u16,
    title_key: &'static str,
    detail_key: &'static str,
    message: Option<String>,
}

pub fn render(loc: Locale, status: StatusCode, message: Option<String>) -> Html<String> {
    let (title_key, detail_key) = match status.as_u16() {
        400 | 422 => ("error.400.title", "error.400.detail"),
        403 => ("error.403.title", "error.403.detail"),
        404 => ("error.404.title", "error.404.detail"),
        409 => ("error.409.title", "error.409.detail"),
        429 => ("error.429.title", "error.429.detail"),
        502 | 503 => ("error.502.title", "error.502.detail"),
        _ => ("error.500.title", "error.500.detail"),
    };
    let page = ErrorPage {
        shell: Shell::new(loc, None, "/", title_key),
        status: status.as_u16(),
        title_key,
        detail_key,
        // Internal errors never show details to users.
        message: if status.is_server_error() && status != StatusCode::BAD_GATEWAY {
            None
        } else {
            message
        },
    };
    Html(
        page.render()
            .unwrap_or_else(|_| format!("<h1>{}</h1>", status)),
    )
}
