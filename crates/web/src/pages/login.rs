//! `/login` and `/logout`: the sign-in form (double-submit CSRF cookie, since there is no
//! session yet), session creation with a secure cookie, and sign-out.

use crate::auth::{is_https, RequestOrigin, SESSION_COOKIE};
use crate::csrf::{token_matches, CsrfForm, LOGIN_CSRF_COOKIE};
use crate::error::{AppError, PageResult};
use crate::locale::Locale;
use crate::pages::shell::Shell;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    shell: Shell,
    login_csrf: String,
    next: String,
    username: String,
    error_key: Option<&'static str>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Only a same-site path: `/` then visible ASCII (no control characters, spaces or tabs, which
/// browsers strip so that `/\t/evil` becomes `//evil`), not `//` or `/\\`, and parsing as a URI
/// path with optional query. Anything else is `/`.
pub fn safe_next(next: Option<&str>) -> String {
    let Some(n) = next else {
        return "/".to_string();
    };
    let visible = n.bytes().all(|b| (0x21..0x7f).contains(&b));
    let rooted = n.starts_with('/') && !n.starts_with("//") && !n.contains('\\');
    let parses = n
        .parse::<axum::http::uri::PathAndQuery>()
        .is_ok_and(|pq| pq.as_str() == n);
    if visible && rooted && parses && n.len() <= 2048 {
        n.to_string()
    } else {
        "/".to_string()
    }
}

fn cookie<'a>(name: &'a str, value: String, secure: bool, max_age_secs: i64) -> Cookie<'a> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(time::Duration::seconds(max_age_secs))
        .build()
}

fn render_form(
    loc: Locale,
    jar: CookieJar,
    secure: bool,
    next: String,
    username: String,
    error_key: Option<&'static str>,
    status: StatusCode,
) -> Response {
    let login_csrf = engine::secrets::random_token();
    let page = LoginPage {
        shell: Shell::new(loc, None, "/login", "login.title"),
        login_csrf: login_csrf.clone(),
        next,
        username,
        error_key,
    };
    let jar = jar.add(cookie(LOGIN_CSRF_COOKIE, login_csrf, secure, 3600));
    match page.render() {
        Ok(html) => (status, jar, Html(html)).into_response(),
        Err(e) => crate::error::PageError(AppError::Internal(e.into())).into_response(),
    }
}

pub async fn show(
    State(state): State<AppState>,
    loc: Locale,
    headers: HeaderMap,
    jar: CookieJar,
    Query(q): Query<NextQuery>,
) -> Response {
    let secure = is_https(&headers, &state);
    render_form(
        loc,
        jar,
        secure,
        safe_next(q.next.as_deref()),
        String::new(),
        None,
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

pub async fn submit(
    State(state): State<AppState>,
    loc: Locale,
    headers: HeaderMap,
    jar: CookieJar,
    RequestOrigin(origin): RequestOrigin,
    Form(form): Form<LoginForm>,
) -> PageResult<Response> {
    let secure = is_https(&headers, &state);
    let next = safe_next(form.next.as_deref());
    let expected = jar
        .get(LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    if !token_matches(&expected, &form.csrf) {
        return Err(AppError::forbidden("csrf_failed", loc.t("error.csrf")).into());
    }
    let user =
        match crate::signin::check_credentials(&state, &origin, &form.username, &form.password)
            .await
        {
            Ok(u) => u,
            Err(AppError::RateLimited) => {
                return Ok(render_form(
                    loc,
                    jar,
                    secure,
                    next,
                    form.username,
                    Some("login.rate_limited"),
                    StatusCode::TOO_MANY_REQUESTS,
                ));
            }
            Err(AppError::Validation(f)) => {
                let key = if f.values().any(|k| k == "login.err.chars") {
                    "login.err.chars"
                } else {
                    "login.err.too_long"
                };
                return Ok(render_form(
                    loc,
                    jar,
                    secure,
                    next,
                    String::new(),
                    Some(key),
                    StatusCode::UNPROCESSABLE_ENTITY,
                ));
            }
            Err(AppError::InvalidCredentials) => {
                return Ok(render_form(
                    loc,
                    jar,
                    secure,
                    next,
                    form.username,
                    Some("login.invalid"),
                    StatusCode::UNAUTHORIZED,
                ));
            }
            Err(e) => return Err(e.into()),
        };
    let token = engine::secrets::random_token();
    let ttl = state.options.session_ttl.as_secs() as i64;
    let mut conn = state.db.acquire().await?;
    // Sign-ins are rare enough to carry the clean-up of sessions that have run out.
    db::tokens::delete_expired_sessions(&mut conn, chrono::Utc::now().timestamp()).await?;
    db::tokens::create_session(
        &mut conn,
        &state.keys.hash_token(&token),
        user.id,
        &engine::secrets::random_token(),
        origin.ip.as_deref(),
        origin.user_agent.as_deref(),
        chrono::Utc::now().timestamp() + ttl,
    )
    .await?;
    let jar = jar
        .remove(Cookie::build(LOGIN_CSRF_COOKIE).path("/"))
        .add(cookie(SESSION_COOKIE, token, secure, ttl));
    Ok((jar, Redirect::to(&next)).into_response())
}

#[derive(Deserialize)]
pub struct Empty {}

pub async fn logout(
    State(state): State<AppState>,
    jar: CookieJar,
    CsrfForm { .. }: CsrfForm<Empty>,
) -> PageResult<Response> {
    if let Some(c) = jar.get(SESSION_COOKIE) {
        let mut conn = state.db.acquire().await?;
        db::tokens::delete_session(&mut conn, &state.keys.hash_token(c.value())).await?;
    }
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    Ok((jar, Redirect::to("/login")).into_response())
}
