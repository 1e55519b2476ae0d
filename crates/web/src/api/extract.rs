//! API input extractors whose rejections use the error envelope: malformed JSON answers 400,
//! JSON of the wrong shape 422, bad query strings and path ids 400. Never a 500 for bad input.

use crate::error::{ApiError, AppError};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};

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

pub use crate::views::paging::{PageParams, Paged};
