//! API input extractors whose rejections use the error envelope: malformed JSON answers 400,
//! JSON of the wrong shape 422, bad query strings and path ids 400. Never a 500 for bad input.

use crate::error::{ApiError, AppError};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use serde::Deserialize;

#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::JsonDataError(e) => {
                // serde names the field in its message ("missing field `x`", "at line 1 column 9").
                let detail = e.body_text();
                // axum prefixes "Failed to deserialize …: "; then either "path: why" (wrong
                // type) or "missing field `x` …".
                let inner = detail.split_once(": ").map_or(detail.as_str(), |(_, r)| r);
                let path = inner
                    .split_once(": ")
                    .map(|(p, _)| p.trim())
                    .filter(|p| !p.is_empty() && !p.contains(' '));
                let field = path
                    .map(str::to_string)
                    .or_else(|| inner.split('`').nth(1).map(str::to_string))
                    .unwrap_or_else(|| "body".into());
                let mut fields = crate::error::FieldErrors::new();
                fields.insert(field, detail);
                ApiError(AppError::Validation(fields))
            }
            other => ApiError(AppError::BadRequest(other.body_text())),
        }
    }
}

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError(AppError::BadRequest(r.body_text()))
    }
}

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError(AppError::BadRequest(r.body_text()))
    }
}

/// `?page=1&per_page=50` (max 200).
#[derive(Debug, Clone, Copy, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

impl PageParams {
    pub fn page(&self) -> i64 {
        self.page.unwrap_or(1).max(1)
    }

    pub fn per_page(&self) -> i64 {
        self.per_page.unwrap_or(50).clamp(1, 200)
    }

    pub fn offset(&self) -> i64 {
        (self.page() - 1).saturating_mul(self.per_page())
    }
}

/// `{"items": [...], "total": N, "page": 1, "per_page": 50}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

impl<T> Paged<T> {
    pub fn new(items: Vec<T>, total: i64, p: PageParams) -> Self {
        Paged {
            items,
            total,
            page: p.page(),
            per_page: p.per_page(),
        }
    }
}
