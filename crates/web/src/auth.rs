//! Who is calling: extractors for a signed-in page user (session cookie) and an API caller
//! (Bearer token), with admin-only variants, plus the request origin every audit row records.

use crate::error::{ApiError, AppError, PageError};
use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use db::audit::{Actor, Origin};
use domain::status::{Role, TokenScope};
use std::net::SocketAddr;

pub const SESSION_COOKIE: &str = "vm_session";

#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub reseller_id: Option<i64>,
    /// The reseller's kind, so the navigation offers a wallet only to wallet resellers.
    pub reseller_kind: Option<domain::status::ResellerKind>,
    /// The access matrix keeps this reseller out of its configs (suspended): the navigation then
    /// offers only what still opens.
    pub reseller_blocked: bool,
    /// The session's CSRF token (page users only).
    pub csrf: Option<String>,
    /// An admin signed in while the settings require a second factor it has not set up: its
    /// pages lead to the set-up until it has (page users only; API tokens are unaffected).
    pub needs_second_factor: bool,
    /// Signed in with a read-only API token: only GET and HEAD are let through.
    pub read_only: bool,
}

impl CurrentUser {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn actor(&self) -> Actor {
        Actor::user(self.role, self.id, &self.username)
    }
}

#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Client IP: the socket peer, or behind a trusted proxy the right-most `X-Forwarded-For` hop
/// (the one the proxy itself added; the hops left of it are whatever the client sent), parsed as
/// an IP. An unparsable hop falls back to the socket peer.
pub fn client_ip(parts: &Parts, trust_proxy: bool) -> String {
    if trust_proxy {
        if let Some(ip) = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|hop| hop.trim().parse::<std::net::IpAddr>().ok())
        {
            return ip.to_string();
        }
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Whether the browser reached us over https (directly or through a trusted proxy).
pub fn is_https(headers: &HeaderMap, state: &AppState) -> bool {
    state.options.always_secure_cookies
        || (state.options.trust_proxy
            && headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.eq_ignore_ascii_case("https")))
}

/// Request id, IP and user agent of the request, for audit rows.
#[derive(Clone, Debug)]
pub struct RequestOrigin(pub Origin);

impl<S> FromRequestParts<S> for RequestOrigin
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        Ok(RequestOrigin(Origin {
            request_id: parts.extensions.get::<RequestId>().map(|r| r.0.clone()),
            ip: Some(client_ip(parts, state.options.trust_proxy)),
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(300).collect()),
        }))
    }
}

/// A request refreshes a session's last use at most this often, so pages do not write on every hit.
pub const TOUCH_EVERY_SECS: i64 = 60;

/// The oldest last use a session may have at `now` and still be valid (`WebOptions::session_idle`).
pub fn idle_cutoff(state: &AppState, now: i64) -> i64 {
    now.saturating_sub(state.options.session_idle.as_secs() as i64)
}

/// The signed-in page user of a request, if any (also used by the error pages' navigation).
pub(crate) async fn user_from_session(
    parts: &Parts,
    state: &AppState,
) -> Result<Option<CurrentUser>, AppError> {
    let jar = CookieJar::from_headers(&parts.headers);
    let Some(cookie) = jar.get(SESSION_COOKIE) else {
        return Ok(None);
    };
    let hash = state.keys.hash_token(cookie.value());
    let mut conn = state.db.acquire().await?;
    let now = chrono::Utc::now().timestamp();
    let cutoff = idle_cutoff(state, now);
    let Some(session) = db::tokens::session_by_hash(&mut conn, &hash, now, cutoff).await? else {
        return Ok(None);
    };
    if now - session.active_at() >= TOUCH_EVERY_SECS {
        db::tokens::touch_session(&mut conn, session.id, now).await?;
    }
    let Some(mut user) = load_user(&mut conn, session.user_id, Some(session.csrf_token)).await?
    else {
        return Ok(None);
    };
    user.needs_second_factor = user.is_admin()
        && db::two_factor::required_for_admins(&mut conn).await?
        && !db::two_factor::is_enabled(&mut conn, user.id).await?;
    Ok(Some(user))
}

async fn load_user(
    conn: &mut db::Conn,
    user_id: i64,
    csrf: Option<String>,
) -> Result<Option<CurrentUser>, AppError> {
    let Some(user) = db::users::by_id(conn, user_id).await? else {
        return Ok(None);
    };
    if !user.is_active {
        return Ok(None);
    }
    let reseller = match user.reseller_id {
        Some(rid) => db::resellers::get(conn, rid).await?,
        None => None,
    };
    let reseller_kind = reseller.as_ref().map(|r| r.kind);
    let reseller_blocked = reseller.as_ref().is_some_and(|r| {
        engine::access::check_row(r, engine::access::Area::Configs)
            != engine::access::Access::Allowed
    });
    Ok(Some(CurrentUser {
        id: user.id,
        username: user.username,
        role: user.role,
        reseller_id: user.reseller_id,
        reseller_kind,
        reseller_blocked,
        csrf,
        needs_second_factor: false,
        read_only: false,
    }))
}

async fn user_from_bearer(
    parts: &Parts,
    state: &AppState,
) -> Result<Option<CurrentUser>, AppError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or(AppError::Unauthorized)?;
    let hash = state.keys.hash_token(token);
    let mut conn = state.db.acquire().await?;
    let now = chrono::Utc::now().timestamp();
    let Some(t) = db::tokens::api_token_by_hash(&mut conn, &hash, now).await? else {
        return Ok(None);
    };
    let mut user = load_user(&mut conn, t.user_id, None).await?;
    if let Some(u) = &mut user {
        u.read_only = t.scope == TokenScope::ReadOnly;
    }
    Ok(user)
}

/// A page visitor who must be signed in; others are sent to `/login`.
pub struct PageUser(pub CurrentUser);

/// Rejection for pages: redirect to sign-in, or an error page.
pub enum PageRejection {
    Login(String),
    /// An admin who must set up a second factor first.
    Enrol,
    Error(PageError),
}

/// What an admin who must set up a second factor may still open: the set-up, and sign-out.
fn may_enrol(path: &str) -> bool {
    path.starts_with("/account/two-factor") || path == "/logout"
}

impl IntoResponse for PageRejection {
    fn into_response(self) -> Response {
        match self {
            PageRejection::Login(next) => {
                Redirect::to(&format!("/login?next={}", urlencode(&next))).into_response()
            }
            PageRejection::Enrol => Redirect::to("/account/two-factor").into_response(),
            PageRejection::Error(e) => e.into_response(),
        }
    }
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|v| v.trim_start_matches('=').to_string())
        .unwrap_or_default()
}

impl<S> FromRequestParts<S> for PageUser
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = PageRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        match user_from_session(parts, &state).await {
            Ok(Some(u)) if u.needs_second_factor && !may_enrol(parts.uri.path()) => {
                Err(PageRejection::Enrol)
            }
            Ok(Some(u)) => Ok(PageUser(u)),
            Ok(None) => Err(PageRejection::Login(
                parts
                    .uri
                    .path_and_query()
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
            )),
            Err(e) => Err(PageRejection::Error(PageError(e))),
        }
    }
}

/// An admin page visitor; a reseller gets 403.
pub struct PageAdmin(pub CurrentUser);

impl<S> FromRequestParts<S> for PageAdmin
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = PageRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let PageUser(u) = PageUser::from_request_parts(parts, state).await?;
        if u.is_admin() {
            Ok(PageAdmin(u))
        } else {
            Err(PageRejection::Error(PageError(AppError::forbidden(
                "admin_only",
                "admin only",
            ))))
        }
    }
}

/// An authenticated API caller (Bearer token).
pub struct ApiUser(pub CurrentUser);

impl<S> FromRequestParts<S> for ApiUser
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        match user_from_bearer(parts, &state).await? {
            // One gate for every route: whatever changes something is refused to a read-only
            // token, so a new endpoint cannot forget the check.
            Some(u) if u.read_only && !parts.method.is_safe() => Err(ApiError(
                AppError::forbidden("token_read_only", "this token may only read"),
            )),
            Some(u) => Ok(ApiUser(u)),
            None => Err(ApiError(AppError::Unauthorized)),
        }
    }
}

/// An admin API caller; a reseller gets 403 `admin_only`.
pub struct ApiAdmin(pub CurrentUser);

impl<S> FromRequestParts<S> for ApiAdmin
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ApiUser(u) = ApiUser::from_request_parts(parts, state).await?;
        if u.is_admin() {
            Ok(ApiAdmin(u))
        } else {
            Err(ApiError(AppError::forbidden(
                "admin_only",
                "this endpoint is for admins",
            )))
        }
    }
}
