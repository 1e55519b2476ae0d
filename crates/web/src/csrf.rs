//! CSRF protection for every HTML form: signed-in forms carry the session's token, the sign-in
//! form a token bound to a short-lived cookie (double submit). A mismatch answers 403.

use crate::auth::{PageRejection, PageUser};
use crate::error::{AppError, PageError};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use subtle_eq::constant_time_eq;

pub const LOGIN_CSRF_COOKIE: &str = "vm_login_csrf";
pub const FIELD: &str = "_csrf";

#[derive(Deserialize)]
struct CsrfField {
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

mod subtle_eq {
    /// Comparison whose time does not depend on where the strings differ.
    pub fn constant_time_eq(a: &str, b: &str) -> bool {
        a.len() == b.len()
            && a.bytes()
                .zip(b.bytes())
                .fold(0u8, |acc, (x, y)| acc | (x ^ y))
                == 0
    }
}

pub fn token_matches(expected: &str, given: &str) -> bool {
    !expected.is_empty() && constant_time_eq(expected, given)
}

/// A urlencoded form posted by a signed-in user, accepted only with the session's CSRF token.
pub struct CsrfForm<T> {
    pub user: crate::auth::CurrentUser,
    pub form: T,
}

impl<S, T> FromRequest<S> for CsrfForm<T>
where
    AppState: FromRef<S>,
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = PageRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let PageUser(user) = PageUser::from_request_parts(&mut parts, state).await?;
        let req = Request::from_parts(parts, body);
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| PageRejection::Error(PageError(AppError::BadRequest(e.to_string()))))?;
        let field: CsrfField = serde_urlencoded::from_bytes(&bytes)
            .map_err(|e| PageRejection::Error(PageError(AppError::BadRequest(e.to_string()))))?;
        if !token_matches(user.csrf.as_deref().unwrap_or(""), &field.csrf) {
            return Err(PageRejection::Error(PageError(AppError::forbidden(
                "csrf_failed",
                "the form expired or did not come from this site; reload the page and try again",
            ))));
        }
        let form = serde_urlencoded::from_bytes(&bytes)
            .map_err(|e| PageRejection::Error(PageError(AppError::BadRequest(e.to_string()))))?;
        Ok(CsrfForm { user, form })
    }
}
