//! The wallet API: a reseller's balance, ledger and top-ups; the admin's adjustments, top-up queue
//! and billing run, through `web::actions::wallet` as the wallet pages do, so both share one code
//! path.

use crate::actions::wallet::{
    approve_topup, engine_error, read_topup_form, receipt_response, reject_topup,
    submit_topup_form, wallet_owner, wallet_view, AdjustmentInput, BillingResult, LedgerItem,
    RejectInput, TopupCreated, TopupListItem, TopupQuery, TopupUpload, TopupView, WalletView,
};
use crate::api::extract::{ApiJson, ApiPath, ApiQuery, PageParams, Paged};
use crate::auth::{ApiAdmin, ApiUser, RequestOrigin};
use crate::error::{ApiResult, AppError};
use crate::state::AppState;
use crate::views::rfc3339;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use domain::status::TopupStatus;
use engine::topups::{self};
use engine::{billing, wallet};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(show))
        .routes(routes!(ledger))
        .routes(routes!(submit_topup))
        .routes(routes!(adjust))
        .routes(routes!(list_topups))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .routes(routes!(receipt))
        .routes(routes!(run_billing))
}

#[utoipa::path(get, path = "/wallet", tag = "reseller", operation_id = "get_wallet",
    security(("bearer" = [])),
    responses((status = 200, body = WalletView), (status = 403, body = crate::error::ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<Json<WalletView>> {
    let r = wallet_owner(&state, &user).await?;
    Ok(Json(wallet_view(&state, &r).await?))
}

#[utoipa::path(get, path = "/wallet/ledger", tag = "reseller", operation_id = "get_wallet_ledger",
    security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Paged<LedgerItem>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn ledger(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiQuery(p): ApiQuery<PageParams>,
) -> ApiResult<Json<Paged<LedgerItem>>> {
    let r = wallet_owner(&state, &user).await?;
    let mut conn = state.db.acquire().await?;
    let (rows, total) = wallet::ledger(&mut conn, r.id, p.per_page(), p.offset())
        .await
        .map_err(engine_error)?;
    Ok(Json(Paged::new(
        rows.into_iter().map(Into::into).collect(),
        total,
        p,
    )))
}

#[utoipa::path(post, path = "/wallet/topups", tag = "reseller", operation_id = "submit_wallet_topup",
    security(("bearer" = [])), request_body(content = TopupUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = TopupCreated), (status = 422, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody)))]
pub async fn submit_topup(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    RequestOrigin(origin): RequestOrigin,
    mp: Multipart,
) -> ApiResult<(StatusCode, Json<TopupCreated>)> {
    let form = read_topup_form(mp).await?;
    let t = submit_topup_form(&state, &user, &origin, &form).await?;
    Ok((
        StatusCode::CREATED,
        Json(TopupCreated {
            id: t.id,
            amount: t.amount,
            status: t.status,
        }),
    ))
}

#[utoipa::path(post, path = "/resellers/{id}/wallet/adjustments", tag = "admin", operation_id = "adjust_wallet",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = AdjustmentInput,
    responses((status = 201, body = LedgerItem), (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn adjust(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    RequestOrigin(origin): RequestOrigin,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<AdjustmentInput>,
) -> ApiResult<(StatusCode, Json<LedgerItem>)> {
    let row = wallet::adjust(
        &state.engine,
        id,
        input.amount,
        &input.note,
        &admin.actor(),
        &origin,
    )
    .await
    .map_err(engine_error)?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

#[utoipa::path(get, path = "/topups", tag = "admin", operation_id = "list_topups",
    security(("bearer" = [])), params(TopupQuery),
    responses((status = 200, body = Paged<TopupListItem>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list_topups(
    State(state): State<AppState>,
    ApiAdmin(_admin): ApiAdmin,
    ApiQuery(q): ApiQuery<TopupQuery>,
) -> ApiResult<Json<Paged<TopupListItem>>> {
    let p = PageParams {
        page: q.page,
        per_page: q.per_page,
    };
    let status: Option<TopupStatus> = q
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| s.parse())
        .transpose()
        .map_err(|_| AppError::field("status", "wallet.err.status"))?;
    let mut conn = state.db.acquire().await?;
    let (rows, total) = topups::list(&mut conn, status, p.per_page(), p.offset())
        .await
        .map_err(engine_error)?;
    let items = rows
        .into_iter()
        .map(|t| TopupListItem {
            id: t.id,
            reseller_id: t.reseller_id,
            reseller_name: t.reseller_name,
            amount: t.amount,
            status: t.status,
            reason: t.reason,
            receipt_mime: t.receipt_mime,
            created_at: rfc3339(t.created_at),
            decided_at: t.decided_at.map(rfc3339),
        })
        .collect();
    Ok(Json(Paged::new(items, total, p)))
}

#[utoipa::path(post, path = "/topups/{id}/approve", tag = "admin", operation_id = "approve_topup",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = TopupView), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub async fn approve(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    RequestOrigin(origin): RequestOrigin,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<TopupView>> {
    Ok(Json(
        approve_topup(&state, &admin, &origin, id).await?.into(),
    ))
}

#[utoipa::path(post, path = "/topups/{id}/reject", tag = "admin", operation_id = "reject_topup",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = RejectInput,
    responses((status = 200, body = TopupView), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn reject(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    RequestOrigin(origin): RequestOrigin,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<RejectInput>,
) -> ApiResult<Json<TopupView>> {
    Ok(Json(
        reject_topup(&state, &admin, &origin, id, &input.reason)
            .await?
            .into(),
    ))
}

#[utoipa::path(get, path = "/topups/{id}/receipt", tag = "admin", operation_id = "get_topup_receipt",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "the receipt image (JPEG, PNG or WebP)"),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn receipt(
    State(state): State<AppState>,
    ApiAdmin(_admin): ApiAdmin,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    Ok(receipt_response(&state, id).await?)
}

#[utoipa::path(post, path = "/jobs/wallet-billing", tag = "admin", operation_id = "run_wallet_billing",
    security(("bearer" = [])),
    responses((status = 200, body = BillingResult), (status = 403, body = crate::error::ErrorBody)))]
pub async fn run_billing(
    State(state): State<AppState>,
    ApiAdmin(_admin): ApiAdmin,
) -> ApiResult<Json<BillingResult>> {
    let r = billing::run_once(&state.engine, chrono::Utc::now())
        .await
        .map_err(engine_error)?;
    Ok(Json(BillingResult {
        resellers_charged: r.resellers_charged,
        resellers_suspended: r.resellers_suspended,
        total_cost: r.total_cost,
    }))
}
