//! The localised error pages (400, 403, 404, 405, 409, 429, 500, 502, …), drawn inside the usual
//! layout with the visitor's navigation, so an error is never a dead end.

use crate::auth::CurrentUser;
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
    /// Where "back" leads: the page a form address belongs to, else the dashboard.
    back: String,
}

/// What the visitor sees on an error page: the status's title and explanation, an optional
/// sentence from the handler (already in the visitor's language, or a translation key), and a
/// way back.
pub struct ErrorView {
    pub status: StatusCode,
    pub message: Option<String>,
    pub user: Option<CurrentUser>,
    pub path: String,
}

fn keys(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 | 422 => ("error.400.title", "error.400.detail"),
        403 => ("error.403.title", "error.403.detail"),
        404 => ("error.404.title", "error.404.detail"),
        405 => ("error.405.title", "error.405.detail"),
        409 => ("error.409.title", "error.409.detail"),
        413 => ("error.413.title", "error.413.detail"),
        429 => ("error.429.title", "error.429.detail"),
        502 | 503 => ("error.502.title", "error.502.detail"),
        _ => ("error.500.title", "error.500.detail"),
    }
}

/// The page a form's address belongs to: `/admin/resellers/3/traffic` → `/admin/resellers/3`.
pub fn parent_of(path: &str) -> String {
    match path.trim_end_matches('/').rsplit_once('/') {
        Some((p, _)) if !p.is_empty() => p.to_string(),
        _ => "/".to_string(),
    }
}

pub fn render(loc: Locale, view: ErrorView) -> Html<String> {
    let (title_key, detail_key) = keys(view.status);
    let back = if view.status == StatusCode::METHOD_NOT_ALLOWED {
        parent_of(&view.path)
    } else {
        "/".to_string()
    };
    // Markers carry translation keys; one without a translation is not shown (an English
    // developer sentence has no place on a Persian page).
    let message = view
        .message
        .filter(|k| crate::i18n::has(loc.lang, k))
        .map(|k| loc.t(&k).to_string());
    let page = ErrorPage {
        shell: Shell::new(loc, view.user, &view.path, title_key),
        status: view.status.as_u16(),
        title_key,
        detail_key,
        // Internal errors never show details to users.
        message: if view.status.is_server_error() && view.status != StatusCode::BAD_GATEWAY {
            None
        } else {
            message
        },
        back,
    };
    Html(
        page.render()
            .unwrap_or_else(|_| format!("<h1>{}</h1>", view.status)),
    )
}
