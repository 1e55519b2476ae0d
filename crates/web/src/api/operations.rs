//! The durable remote operations as the admin sees them: list (by status), one with its
//! attempts, retry now, cancel, through `web::actions::operations` as the pages do.

use crate::actions::operations::{
    cancel_operation, list_operations, operation_detail, parse_status, retry_operation,
    with_attempts, ListQuery, OperationView,
};
use crate::api::extract::{ApiPath, ApiQuery, PageParams, Paged};
use crate::auth::{ApiAdmin, RequestOrigin};
use crate::error::ApiResult;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(show))
        .routes(routes!(retry))
        .routes(routes!(cancel))
}

#[utoipa::path(get, path = "/operations", tag = "admin", operation_id = "list_operations",
    security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = Paged<OperationView>), (status = 422, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiAdmin(_admin): ApiAdmin,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Paged<OperationView>>> {
    let status = parse_status(q.status.as_deref())?;
    let p = PageParams {
        page: q.page,
        per_page: q.per_page,
    };
    let (rows, total) = list_operations(&state, status, p).await?;
    Ok(Json(Paged::new(
        rows.into_iter().map(Into::into).collect(),
        total,
        p,
    )))
}

#[utoipa::path(get, path = "/operations/{id}", tag = "admin", operation_id = "get_operation",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = OperationView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    ApiAdmin(_admin): ApiAdmin,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<OperationView>> {
    let (op, attempts) = operation_detail(&state, id).await?;
    Ok(Json(with_attempts(op, attempts)))
}

#[utoipa::path(post, path = "/operations/{id}/retry", tag = "admin", operation_id = "retry_operation",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = OperationView), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub async fn retry(
    State(state): State<AppState>,
    ApiAdmin(user): ApiAdmin,
    RequestOrigin(origin): RequestOrigin,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<OperationView>> {
    retry_operation(&state, &user, &origin, id).await?;
    let (op, attempts) = operation_detail(&state, id).await?;
    Ok(Json(with_attempts(op, attempts)))
}

#[utoipa::path(post, path = "/operations/{id}/cancel", tag = "admin", operation_id = "cancel_operation",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = OperationView), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub async fn cancel(
    State(state): State<AppState>,
    ApiAdmin(user): ApiAdmin,
    RequestOrigin(origin): RequestOrigin,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<OperationView>> {
    cancel_operation(&state, &user, &origin, id).await?;
    let (op, attempts) = operation_detail(&state, id).await?;
    Ok(Json(with_attempts(op, attempts)))
}
