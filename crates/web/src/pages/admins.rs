//! `/admin/admins`: the admin accounts — create one, disable one (never the last active admin,
//! never oneself), enable one again; each audited.

use crate::admins::AdminRow;
use crate::auth::{CurrentUser, PageAdmin, RequestOrigin};
use crate::csrf::CsrfForm;
use crate::error::{AppError, FieldErrors, PageResult};
use crate::locale::Locale;
use crate::pages::login::Empty;
use crate::pages::shell::Shell;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/admins", get(show).post(create))
        .route("/admin/admins/{id}/disable", post(disable))
        .route("/admin/admins/{id}/enable", post(enable))
}

#[derive(Template)]
#[template(path = "admins.html")]
struct AdminsPage {
    shell: Shell,
    admins: Vec<AdminRow>,
    me: i64,
    username: String,
    errors: FieldErrors,
}

impl AdminsPage {
    fn err(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(|key| self.shell.t(key))
    }
}

async fn render(
    state: &AppState,
    loc: Locale,
    user: CurrentUser,
    username: String,
    errors: FieldErrors,
) -> PageResult<Html<String>> {
    let admins = crate::admins::list(&state.db).await?;
    let page = AdminsPage {
        me: user.id,
        shell: Shell::new(loc, Some(user), "/admin/admins", "admins.title"),
        admins,
        username,
        errors,
    };
    Ok(Html(page.render().map_err(anyhow::Error::from)?))
}

pub async fn show(
    State(state): State<AppState>,
    loc: Locale,
    PageAdmin(user): PageAdmin,
) -> PageResult<Html<String>> {
    render(&state, loc, user, String::new(), FieldErrors::new()).await
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

pub async fn create(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    CsrfForm { user, form }: CsrfForm<CreateForm>,
) -> PageResult<Response> {
    if !user.is_admin() {
        return Err(admin_only().into());
    }
    match crate::admins::create(
        &state.db,
        &form.username,
        &form.password,
        &user.actor(),
        &origin,
    )
    .await
    {
        Ok(_) => Ok(crate::request_context::done(
            "/admin/admins",
            &loc.tf(
                "admins.created",
                &[("login", form.username.trim().to_string())],
            ),
        )),
        Err(AppError::Validation(errors)) => {
            let page = render(&state, loc, user, form.username, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

fn admin_only() -> AppError {
    AppError::forbidden("admin_only", "admin only")
}

async fn set_active(
    state: &AppState,
    loc: Locale,
    origin: &db::audit::Origin,
    user: &CurrentUser,
    id: i64,
    active: bool,
) -> PageResult<Response> {
    if !user.is_admin() {
        return Err(admin_only().into());
    }
    let (ok, key) =
        match crate::admins::set_active(&state.db, id, active, &user.actor(), origin).await {
            Ok(()) if active => (true, "admins.enabled"),
            Ok(()) => (true, "admins.disabled"),
            Err(AppError::Conflict {
                code: "last_admin", ..
            }) => (false, "admins.err.last_admin"),
            Err(AppError::Conflict {
                code: "own_account",
                ..
            }) => (false, "admins.err.own_account"),
            Err(e) => return Err(e.into()),
        };
    Ok(crate::request_context::redirect_with(
        "/admin/admins",
        ok,
        loc.t(key),
    ))
}

pub async fn disable(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<i64>,
    CsrfForm { user, .. }: CsrfForm<Empty>,
) -> PageResult<Response> {
    set_active(&state, loc, &origin, &user, id, false).await
}

pub async fn enable(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<i64>,
    CsrfForm { user, .. }: CsrfForm<Empty>,
) -> PageResult<Response> {
    set_active(&state, loc, &origin, &user, id, true).await
}
