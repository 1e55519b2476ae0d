//! `/account/sessions`: where the signed-in user is signed in (sign-in time, last use, IP,
//! browser), with "sign out" per session and "sign out everywhere else".

use crate::auth::{PageUser, RequestOrigin, SESSION_COOKIE};
use crate::csrf::CsrfForm;
use crate::error::PageResult;
use crate::locale::Locale;
use crate::pages::login::Empty;
use crate::pages::shell::Shell;
use crate::sessions::SessionRow;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{Html, Response};
use axum_extra::extract::CookieJar;

#[derive(Template)]
#[template(path = "account_sessions.html")]
struct SessionsPage {
    shell: Shell,
    sessions: Vec<SessionRow>,
}

fn current_hash(state: &AppState, jar: &CookieJar) -> Option<String> {
    jar.get(SESSION_COOKIE)
        .map(|c| state.keys.hash_token(c.value()))
}

pub async fn show(
    State(state): State<AppState>,
    loc: Locale,
    jar: CookieJar,
    PageUser(user): PageUser,
) -> PageResult<Html<String>> {
    let sessions =
        crate::sessions::list(&state, &user, current_hash(&state, &jar).as_deref()).await?;
    let page = SessionsPage {
        shell: Shell::new(
            loc,
            Some(user),
            "/account/password",
            "account.sessions_title",
        ),
        sessions,
    };
    Ok(Html(page.render().map_err(anyhow::Error::from)?))
}

pub async fn end_one(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<i64>,
    CsrfForm { user, .. }: CsrfForm<Empty>,
) -> PageResult<Response> {
    crate::sessions::end_one(&state, &user, &origin, id).await?;
    Ok(crate::request_context::done(
        "/account/sessions",
        loc.t("account.session_ended"),
    ))
}

pub async fn end_others(
    State(state): State<AppState>,
    loc: Locale,
    jar: CookieJar,
    RequestOrigin(origin): RequestOrigin,
    CsrfForm { user, .. }: CsrfForm<Empty>,
) -> PageResult<Response> {
    let keep = current_hash(&state, &jar).unwrap_or_default();
    let ended = crate::sessions::end_others(&state, &user, &origin, &keep).await?;
    Ok(crate::request_context::done(
        "/account/sessions",
        &loc.tf("account.others_ended", &[("count", loc.num(ended))]),
    ))
}
