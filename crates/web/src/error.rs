//! One error type for the web layer and one table from error to status and code. The API
//! renders it as the JSON envelope of spec/api.md; pages render a localised error page.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthorized,
    #[error("invalid username or password")]
    InvalidCredentials,
    /// The password was right, and the account signs in with a second factor too.
    #[error("this account signs in with a second factor: send the authenticator's code as `code`")]
    SecondFactorRequired,
    /// `code` is a stable snake_case string such as `reseller_suspended`.
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    #[error("not found")]
    NotFound,
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("validation failed")]
    Validation(FieldErrors),
    #[error("too many attempts, try again later")]
    RateLimited,
    #[error("panel unreachable: {0}")]
    Panel(String),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

/// Field name → message key (see `i18n`); the API sends the English text, pages the user's.
pub type FieldErrors = BTreeMap<String, String>;

impl AppError {
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Forbidden {
            code,
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn field(field: &str, message_key: &str) -> Self {
        let mut f = FieldErrors::new();
        f.insert(field.to_string(), message_key.to_string());
        AppError::Validation(f)
    }

    /// An optional choice from a query string (`?status=`, `?kind=`): empty means all, a value
    /// that is not one of the enum's spellings is a field error, never a silent "all".
    pub fn choice<T: std::str::FromStr>(
        field: &str,
        value: Option<&str>,
    ) -> Result<Option<T>, AppError> {
        match value.map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| AppError::field(field, "err.bad_choice")),
        }
    }

    /// A search from a query string (`?q=`): trimmed, empty means none, and at most 100
    /// characters (a search is matched against names no longer than that).
    pub fn search(value: Option<&str>) -> Result<Option<String>, AppError> {
        match value.map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) if v.chars().count() > 100 => Err(AppError::field("q", "err.too_long")),
            Some(v) => Ok(Some(v.to_string())),
        }
    }

    /// The one table: status and code for every error.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            AppError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            AppError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            AppError::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            AppError::SecondFactorRequired => (StatusCode::UNAUTHORIZED, "second_factor_required"),
            AppError::Forbidden { code, .. } => (StatusCode::FORBIDDEN, code),
            AppError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            AppError::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            AppError::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            AppError::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            AppError::Panel(_) => (StatusCode::BAD_GATEWAY, "panel_unreachable"),
            AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        }
    }

    fn log(&self) {
        if let AppError::Internal(e) = self {
            tracing::error!(error = ?e, "internal error");
        }
    }
}

impl From<db::DbError> for AppError {
    fn from(e: db::DbError) -> Self {
        match e {
            db::DbError::NotFound => AppError::NotFound,
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}

/// The API face of [`AppError`]: the JSON envelope.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.log();
        let (status, code) = self.0.status_and_code();
        let fields = match &self.0 {
            AppError::Validation(f) => f
                .iter()
                .map(|(k, v)| (k.clone(), crate::i18n::english(v).to_string()))
                .collect(),
            _ => BTreeMap::new(),
        };
        let message = match &self.0 {
            AppError::Validation(f) => format!(
                "invalid input: {}",
                f.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
            // Never leak internals to users; the log has the details.
            AppError::Internal(_) => "internal error".to_string(),
            other => other.to_string(),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_string(),
                message,
                fields,
            },
        };
        (status, Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The page face of [`AppError`]: a status plus a marker that the page middleware turns into a
/// localised error page (the middleware knows the request's locale; this value does not).
#[derive(Debug)]
pub struct PageError(pub AppError);

#[derive(Clone, Debug)]
pub struct ErrorPageMarker {
    /// A translation key explaining the refusal (not shown when it has no translation).
    pub message: Option<String>,
}

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.0.log();
        let (status, _) = self.0.status_and_code();
        // The page says why in the visitor's language: a key per refusal code, a short reason
        // for a panel error; the English message stays in the API and the log.
        let message = match &self.0 {
            AppError::Forbidden { code, .. } | AppError::Conflict { code, .. } => {
                Some(format!("error.code.{code}"))
            }
            AppError::Panel(m) => Some(crate::humanize::panel_error_key(m).to_string()),
            _ => None,
        };
        let mut res = status.into_response();
        res.extensions_mut().insert(ErrorPageMarker { message });
        res
    }
}

pub type PageResult<T> = Result<T, PageError>;
