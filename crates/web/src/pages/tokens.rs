//! `/tokens`: a user's named API tokens — create (the token is shown once), list, revoke.

use crate::actions::tokens::{create_named_token, revoke_named_token, NewTokenRequest};
use crate::auth::{PageUser, RequestOrigin};
use crate::csrf::CsrfForm;
use crate::error::{AppError, PageResult};
use crate::locale::Locale;
use crate::pages::shell::Shell;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use domain::status::TokenScope;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    shell: Shell,
    tokens: Vec<db::tokens::ApiToken>,
    created: Option<String>,
    error_key: Option<String>,
    now: i64,
}

impl TokensPage {
    /// Past its end: listed, no longer usable, nothing left to revoke.
    fn is_expired(&self, t: &db::tokens::ApiToken) -> bool {
        t.expires_at.is_some_and(|e| e <= self.now)
    }
}

async fn render(
    state: &AppState,
    loc: Locale,
    user: crate::auth::CurrentUser,
    created: Option<String>,
    error_key: Option<String>,
) -> PageResult<Html<String>> {
    let mut conn = state.db.acquire().await?;
    let tokens = db::tokens::list_api_tokens(&mut conn, user.id).await?;
    let page = TokensPage {
        shell: Shell::new(loc, Some(user), "/tokens", "nav.tokens"),
        tokens,
        created,
        error_key,
        now: chrono::Utc::now().timestamp(),
    };
    Ok(Html(page.render().map_err(anyhow::Error::from)?))
}

pub async fn show(
    State(state): State<AppState>,
    loc: Locale,
    PageUser(user): PageUser,
) -> PageResult<Html<String>> {
    render(&state, loc, user, None, None).await
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    scope: String,
    /// Empty for a token that lasts until revoked.
    #[serde(default)]
    expires_in_days: String,
}

impl CreateForm {
    fn request(&self) -> Result<NewTokenRequest, AppError> {
        let scope = AppError::choice("scope", Some(&self.scope))?.unwrap_or(TokenScope::Full);
        let days = domain::units::to_latin_digits(self.expires_in_days.trim());
        let expires_in_days = match days.as_str() {
            "" => None,
            d => Some(
                d.parse()
                    .map_err(|_| AppError::field("expires_in_days", "err.token_expiry"))?,
            ),
        };
        Ok(NewTokenRequest {
            name: self.name.clone(),
            scope,
            expires_in_days,
        })
    }
}

pub async fn create(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    CsrfForm { user, form }: CsrfForm<CreateForm>,
) -> PageResult<Response> {
    let created = match form.request() {
        Ok(req) => create_named_token(&state, &user, &origin, &req).await,
        Err(e) => Err(e),
    };
    match created {
        // The token is shown once: no browser or proxy cache may keep the page.
        Ok(created) => Ok((
            [(axum::http::header::CACHE_CONTROL, "no-store")],
            render(&state, loc, user, Some(created.token), None).await?,
        )
            .into_response()),
        Err(AppError::Validation(f)) => {
            let key = f.values().next().cloned();
            let mut res = render(&state, loc, user, None, key).await?.into_response();
            *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct Empty {}

pub async fn revoke(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<i64>,
    CsrfForm { user, .. }: CsrfForm<Empty>,
) -> PageResult<Redirect> {
    revoke_named_token(&state, &user, &origin, id).await?;
    Ok(Redirect::to("/tokens"))
}
