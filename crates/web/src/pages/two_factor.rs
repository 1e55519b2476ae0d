//! `/account/two-factor`: a user turns two-factor sign-in on (QR code, first code, recovery
//! codes shown once), renews the recovery codes or turns it off; and the admin removes a
//! reseller's second factor from the reseller's page. The rules are in `web::two_factor`.

use crate::auth::{CurrentUser, PageUser, RequestOrigin};
use crate::csrf::CsrfForm;
use crate::error::{AppError, FieldErrors, PageResult};
use crate::locale::Locale;
use crate::pages::shell::Shell;
use crate::state::AppState;
use crate::two_factor;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account/two-factor", get(show))
        .route("/account/two-factor/start", post(start))
        .route("/account/two-factor/confirm", post(confirm))
        .route("/account/two-factor/recovery-codes", post(renew))
        .route("/account/two-factor/disable", post(disable))
        .route("/admin/resellers/{id}/two-factor/remove", post(remove))
}

/// Where the user stands, which decides what the page offers.
enum Stage {
    Off,
    /// A secret waits for its first code: the QR code and the secret as text.
    Enrolling {
        qr_svg: Option<String>,
        secret_text: String,
    },
    On {
        codes_left: i64,
    },
}

#[derive(Template)]
#[template(path = "account_two_factor.html")]
struct TwoFactorPage {
    shell: Shell,
    stage: Stage,
    /// Recovery codes just made, shown this once.
    new_codes: Vec<String>,
    /// The settings require a second factor of admins and this admin has none yet.
    required: bool,
    errors: FieldErrors,
}

impl TwoFactorPage {
    fn err(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(|k| self.shell.t(k))
    }
}

async fn render(
    state: &AppState,
    loc: Locale,
    user: CurrentUser,
    new_codes: Vec<String>,
    errors: FieldErrors,
) -> PageResult<Response> {
    let stage = match two_factor::recovery_codes_left(state, user.id).await? {
        Some(codes_left) => Stage::On { codes_left },
        None => match two_factor::pending(state, &user).await? {
            Some(e) => Stage::Enrolling {
                qr_svg: crate::views::qr::qr_svg(&e.otpauth_uri),
                secret_text: e.secret_text,
            },
            None => Stage::Off,
        },
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = TwoFactorPage {
        required: user.needs_second_factor,
        shell: Shell::new(loc, Some(user), "/account/two-factor", "two_factor.title"),
        stage,
        new_codes,
        errors,
    };
    let html = Html(page.render().map_err(anyhow::Error::from)?);
    // The secret and the recovery codes are on this page: no cache may keep it.
    Ok((status, [(header::CACHE_CONTROL, "no-store")], html).into_response())
}

pub async fn show(
    State(state): State<AppState>,
    loc: Locale,
    PageUser(user): PageUser,
) -> PageResult<Response> {
    render(&state, loc, user, Vec::new(), FieldErrors::new()).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Empty {}

pub async fn start(
    State(state): State<AppState>,
    loc: Locale,
    CsrfForm { user, .. }: CsrfForm<Empty>,
) -> PageResult<Response> {
    two_factor::begin(&state, &user).await?;
    render(&state, loc, user, Vec::new(), FieldErrors::new()).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CodeForm {
    code: String,
    password: String,
}

/// The form's answer: the page with the new codes, or with the fields' errors.
async fn answer(
    state: &AppState,
    loc: Locale,
    user: CurrentUser,
    result: Result<Vec<String>, AppError>,
) -> PageResult<Response> {
    match result {
        Ok(codes) => render(state, loc, user, codes, FieldErrors::new()).await,
        Err(AppError::Validation(f)) => render(state, loc, user, Vec::new(), f).await,
        Err(e) => Err(e.into()),
    }
}

pub async fn confirm(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    CsrfForm { mut user, form }: CsrfForm<CodeForm>,
) -> PageResult<Response> {
    let result = two_factor::confirm(&state, &user, &origin, &form.code).await;
    if result.is_ok() {
        user.needs_second_factor = false;
    }
    answer(&state, loc, user, result).await
}

pub async fn renew(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    CsrfForm { user, form }: CsrfForm<CodeForm>,
) -> PageResult<Response> {
    let result =
        two_factor::renew_recovery_codes(&state, &user, &origin, &form.password, &form.code).await;
    answer(&state, loc, user, result).await
}

pub async fn disable(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    CsrfForm { user, form }: CsrfForm<CodeForm>,
) -> PageResult<Response> {
    match two_factor::disable_own(&state, &user, &origin, &form.password, &form.code).await {
        Ok(()) => Ok(crate::request_context::done(
            "/account/two-factor",
            loc.t("two_factor.disabled"),
        )),
        Err(e) => answer(&state, loc, user, Err(e)).await,
    }
}

/// The admin removes a reseller's second factor, from the reseller's page.
pub async fn remove(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<i64>,
    CsrfForm { user, .. }: CsrfForm<Empty>,
) -> PageResult<Response> {
    if !user.is_admin() {
        return Err(AppError::forbidden("admin_only", "admin only").into());
    }
    let removed = two_factor::remove_for_reseller(&state, &user, &origin, id).await?;
    let key = if removed {
        "two_factor.removed"
    } else {
        "two_factor.none_to_remove"
    };
    Ok(crate::request_context::done(
        &format!("/admin/resellers/{id}"),
        loc.t(key),
    ))
}
