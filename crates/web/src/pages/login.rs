//! `/login` and `/logout`: the sign-in form (double-submit CSRF cookie, since there is no
//! session yet), the second step for a user with two-factor sign-in (`/login/code`), session
//! creation with a secure cookie, and sign-out.

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
    if crate::two_factor::is_enabled(&state, user.id).await? {
        return second_step(&state, jar, secure, user.id, &next).await;
    }
    start_session(&state, jar, secure, user.id, &origin, &next).await
}

/// Signs the user in: a new session, its secure cookie, and on to `next`.
async fn start_session(
    state: &AppState,
    jar: CookieJar,
    secure: bool,
    user_id: i64,
    origin: &db::audit::Origin,
    next: &str,
) -> PageResult<Response> {
    let token = engine::secrets::random_token();
    let ttl = state.options.session_ttl.as_secs() as i64;
    let mut conn = state.db.acquire().await?;
    // Sign-ins are rare enough to carry the clean-up of sessions that have run out.
    db::tokens::delete_expired_sessions(&mut conn, chrono::Utc::now().timestamp()).await?;
    db::tokens::create_session(
        &mut conn,
        &state.keys.hash_token(&token),
        user_id,
        &engine::secrets::random_token(),
        origin.ip.as_deref(),
        origin.user_agent.as_deref(),
        chrono::Utc::now().timestamp() + ttl,
    )
    .await?;
    let jar = jar
        .remove(Cookie::build(LOGIN_CSRF_COOKIE).path("/"))
        .remove(Cookie::build(CHALLENGE_COOKIE).path("/"))
        .add(cookie(SESSION_COOKIE, token, secure, ttl));
    Ok((jar, Redirect::to(next)).into_response())
}

/// The cookie of a sign-in waiting for its second step.
const CHALLENGE_COOKIE: &str = "vm_signin";
/// How long the second step may take, and how many codes it may try.
const CHALLENGE_SECS: i64 = 300;
const CHALLENGE_ATTEMPTS: i64 = 5;

/// The password was right and the user has a second factor: remember the sign-in (for five
/// minutes, in the database so any instance can finish it) and ask for a code.
async fn second_step(
    state: &AppState,
    jar: CookieJar,
    secure: bool,
    user_id: i64,
    next: &str,
) -> PageResult<Response> {
    let token = engine::secrets::random_token();
    let now = chrono::Utc::now().timestamp();
    let mut conn = state.db.acquire().await?;
    db::two_factor::create_challenge(
        &mut conn,
        &state.keys.hash_token(&token),
        user_id,
        next,
        now,
        now + CHALLENGE_SECS,
    )
    .await?;
    let jar = jar.add(cookie(CHALLENGE_COOKIE, token, secure, CHALLENGE_SECS));
    Ok((jar, Redirect::to("/login/code")).into_response())
}

#[derive(Template)]
#[template(path = "login_code.html")]
struct CodePage {
    shell: Shell,
    login_csrf: String,
    error_key: Option<&'static str>,
}

fn render_code_form(
    loc: Locale,
    jar: CookieJar,
    secure: bool,
    error_key: Option<&'static str>,
    status: StatusCode,
) -> Response {
    let login_csrf = engine::secrets::random_token();
    let page = CodePage {
        shell: Shell::new(loc, None, "/login/code", "two_factor.step_title"),
        login_csrf: login_csrf.clone(),
        error_key,
    };
    let jar = jar.add(cookie(LOGIN_CSRF_COOKIE, login_csrf, secure, 3600));
    match page.render() {
        Ok(html) => (status, jar, Html(html)).into_response(),
        Err(e) => crate::error::PageError(AppError::Internal(e.into())).into_response(),
    }
}

/// The sign-in this browser is in the middle of, if it is still open.
async fn open_challenge(
    state: &AppState,
    jar: &CookieJar,
) -> Result<Option<db::two_factor::Challenge>, AppError> {
    let Some(c) = jar.get(CHALLENGE_COOKIE) else {
        return Ok(None);
    };
    let mut conn = state.db.acquire().await?;
    Ok(db::two_factor::challenge_by_hash(
        &mut conn,
        &state.keys.hash_token(c.value()),
        chrono::Utc::now().timestamp(),
        CHALLENGE_ATTEMPTS,
    )
    .await?)
}

pub async fn show_code(
    State(state): State<AppState>,
    loc: Locale,
    headers: HeaderMap,
    jar: CookieJar,
) -> PageResult<Response> {
    if open_challenge(&state, &jar).await?.is_none() {
        return Ok(Redirect::to("/login").into_response());
    }
    let secure = is_https(&headers, &state);
    Ok(render_code_form(loc, jar, secure, None, StatusCode::OK))
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

pub async fn submit_code(
    State(state): State<AppState>,
    loc: Locale,
    headers: HeaderMap,
    jar: CookieJar,
    RequestOrigin(origin): RequestOrigin,
    Form(form): Form<CodeForm>,
) -> PageResult<Response> {
    let secure = is_https(&headers, &state);
    let expected = jar
        .get(LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    if !token_matches(&expected, &form.csrf) {
        return Err(AppError::forbidden("csrf_failed", loc.t("error.csrf")).into());
    }
    let Some(challenge) = open_challenge(&state, &jar).await? else {
        // Expired, used up, or never started: the password step again.
        return Ok(Redirect::to("/login").into_response());
    };
    let user = {
        let mut conn = state.db.acquire().await?;
        db::users::by_id(&mut conn, challenge.user_id).await?
    };
    let Some(user) = user.filter(|u| u.is_active) else {
        return Ok(Redirect::to("/login").into_response());
    };
    let refused = |key, status| {
        Ok(render_code_form(
            loc,
            jar.clone(),
            secure,
            Some(key),
            status,
        ))
    };
    match crate::signin::check_second_factor(&state, &origin, &user, &form.code).await {
        Ok(_) => {}
        Err(AppError::RateLimited) => {
            return refused("login.rate_limited", StatusCode::TOO_MANY_REQUESTS)
        }
        Err(AppError::InvalidCredentials) => {
            let mut conn = state.db.acquire().await?;
            db::two_factor::count_attempt(&mut conn, challenge.id).await?;
            return refused("two_factor.err.code", StatusCode::UNAUTHORIZED);
        }
        Err(e) => return Err(e.into()),
    }
    // Two tabs sending good codes at once: only the one that ends the challenge signs in.
    let finished = {
        let mut conn = state.db.acquire().await?;
        db::two_factor::finish_challenge(&mut conn, challenge.id).await?
    };
    if !finished {
        return Ok(Redirect::to("/login").into_response());
    }
    start_session(&state, jar, secure, user.id, &origin, &challenge.next_path).await
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
