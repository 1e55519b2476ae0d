//! `/account/password`: a signed-in user changes their own password (the current one required);
//! the user's other sessions end, and the API tokens too if asked.

use crate::auth::{PageUser, RequestOrigin, SESSION_COOKIE};
use crate::csrf::CsrfForm;
use crate::error::{AppError, FieldErrors, PageResult};
use crate::locale::Locale;
use crate::pages::shell::Shell;
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "account_password.html")]
struct PasswordPage {
    shell: Shell,
    errors: FieldErrors,
}

impl PasswordPage {
    fn err(&self, field: &str) -> Option<String> {
        self.errors.get(field).map(|k| self.shell.t(k).to_string())
    }
}

fn render(
    loc: Locale,
    user: crate::auth::CurrentUser,
    errors: FieldErrors,
) -> PageResult<Response> {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = PasswordPage {
        shell: Shell::new(
            loc,
            Some(user),
            "/account/password",
            "account.password_title",
        ),
        errors,
    };
    Ok((status, Html(page.render().map_err(anyhow::Error::from)?)).into_response())
}

pub async fn show(loc: Locale, PageUser(user): PageUser) -> PageResult<Response> {
    render(loc, user, FieldErrors::new())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
    confirm: String,
    revoke_tokens: Option<String>,
}

pub async fn change(
    State(state): State<AppState>,
    loc: Locale,
    jar: CookieJar,
    RequestOrigin(origin): RequestOrigin,
    CsrfForm { user, form }: CsrfForm<PasswordForm>,
) -> PageResult<Response> {
    let keep = jar
        .get(SESSION_COOKIE)
        .map(|c| state.keys.hash_token(c.value()));
    let result = crate::accounts::change_own(
        &state,
        &user,
        &origin,
        crate::accounts::OwnChange {
            current: &form.current_password,
            new: &form.new_password,
            confirm: Some(&form.confirm),
            revoke_tokens: form.revoke_tokens.is_some(),
            keep_session: keep.as_deref(),
        },
    )
    .await;
    match result {
        Ok(ended) => Ok(crate::request_context::done(
            "/account/password",
            &loc.tf(
                "account.password_changed",
                &[
                    ("sessions", loc.num(ended.sessions_ended)),
                    ("tokens", loc.num(ended.tokens_revoked)),
                ],
            ),
        )),
        Err(AppError::Validation(f)) => render(loc, user, f),
        Err(e) => Err(e.into()),
    }
}
