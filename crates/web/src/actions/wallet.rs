//! Wallets, shared by the pages and the API: balance, ledger and top-ups of a reseller; the admin's
//! adjustments, top-up queue and billing run; how wallet errors read.

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use crate::views::rfc3339;
use axum::body::Body;
use axum::extract::Multipart;
use axum::http::{header, StatusCode};
use axum::response::Response;
use db::audit::Origin;
use domain::status::{self, LedgerKind, ResellerKind, ResellerStatus, TopupStatus};
use engine::topups::{self, Decision, SubmitError};
use engine::{wallet, EngineError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Engine errors in the web's terms: invalid input names its field.
pub fn engine_error(e: EngineError) -> AppError {
    match e {
        EngineError::Db(d) => d.into(),
        EngineError::Invalid(f) if matches!(f.as_str(), "amount" | "note" | "reason") => {
            AppError::field(&f, &format!("wallet.err.{f}"))
        }
        EngineError::Invalid(f) if f == "kind" => {
            AppError::conflict("not_wallet_reseller", "this reseller is not wallet-based")
        }
        // A balance that would leave the range the ledger keeps: refused, never a 500.
        EngineError::Invalid(f) if f.contains("overflow") => {
            AppError::conflict("balance_overflow", f)
        }
        other => AppError::Internal(anyhow::Error::new(other)),
    }
}

fn submit_error(e: SubmitError) -> AppError {
    match e {
        SubmitError::Invalid { field, key, .. } => AppError::field(field, key),
        SubmitError::Engine(EngineError::Invalid(m)) if m.contains("only wallet") => {
            AppError::conflict("not_wallet_reseller", "only wallet resellers top up")
        }
        SubmitError::Engine(e) => engine_error(e),
    }
}

/// The caller's reseller account, if the access matrix leaves its wallet open: always for a
/// wallet reseller (also `suspended_wallet` or suspended by an admin, so it can top up); a
/// suspended traffic reseller is blocked.
pub async fn wallet_owner(
    state: &AppState,
    user: &CurrentUser,
) -> Result<db::resellers::Reseller, AppError> {
    let Some(rid) = user.reseller_id else {
        return Err(AppError::forbidden(
            "reseller_only",
            "the wallet belongs to reseller accounts",
        ));
    };
    let mut conn = state.db.acquire().await?;
    let r = db::resellers::get(&mut conn, rid)
        .await?
        .ok_or(AppError::NotFound)?;
    if r.kind != ResellerKind::Wallet && r.status != ResellerStatus::Active {
        return Err(AppError::forbidden(
            engine::access::RESELLER_SUSPENDED,
            "this reseller account is suspended",
        ));
    }
    Ok(r)
}

#[derive(Serialize, ToSchema)]
pub struct WalletView {
    pub balance: i64,
    pub price_per_gb: i64,
    pub suspension_threshold: i64,
    /// `active`, `suspended` or `suspended_wallet`.
    #[schema(value_type = String)]
    pub status: ResellerStatus,
}

pub async fn wallet_view(
    state: &AppState,
    r: &db::resellers::Reseller,
) -> Result<WalletView, AppError> {
    let mut conn = state.db.acquire().await?;
    let d = wallet::defaults(&mut conn, &state.engine.settings)
        .await
        .map_err(engine_error)?;
    Ok(WalletView {
        balance: r.wallet_balance,
        price_per_gb: wallet::effective_price(r.wallet_price_per_gb, &d),
        suspension_threshold: d.threshold,
        status: r.status,
    })
}

#[derive(Serialize, ToSchema)]
pub struct LedgerRef {
    /// `topup` or `usage_snapshot`.
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: status::LedgerRef,
    pub id: i64,
}

#[derive(Serialize, ToSchema)]
pub struct LedgerItem {
    pub id: i64,
    /// `opening_balance`, `usage_charge`, `topup`, `admin_adjustment`.
    #[schema(value_type = String)]
    pub kind: LedgerKind,
    pub amount: i64,
    pub balance_after: i64,
    pub created_at: String,
    pub note: Option<String>,
    #[serde(rename = "ref")]
    pub reference: Option<LedgerRef>,
}

impl From<wallet::LedgerRow> for LedgerItem {
    fn from(l: wallet::LedgerRow) -> Self {
        LedgerItem {
            id: l.id,
            kind: l.kind,
            amount: l.amount,
            balance_after: l.balance_after,
            created_at: rfc3339(l.created_at),
            note: l.note,
            reference: match (l.ref_type, l.ref_id) {
                (Some(kind), Some(id)) => Some(LedgerRef { kind, id }),
                _ => None,
            },
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TopupView {
    pub id: i64,
    pub reseller_id: i64,
    pub amount: i64,
    /// `pending`, `approved` or `rejected`.
    #[schema(value_type = String)]
    pub status: TopupStatus,
    pub reason: Option<String>,
    pub receipt_mime: String,
    pub created_at: String,
    pub decided_at: Option<String>,
}

impl From<topups::Topup> for TopupView {
    fn from(t: topups::Topup) -> Self {
        TopupView {
            id: t.id,
            reseller_id: t.reseller_id,
            amount: t.amount,
            status: t.status,
            reason: t.reason,
            receipt_mime: t.receipt_mime,
            created_at: rfc3339(t.created_at),
            decided_at: t.decided_at.map(rfc3339),
        }
    }
}

/// A top-up form as received (API multipart or page multipart).
#[derive(Default)]
pub struct TopupForm {
    pub amount: Option<String>,
    pub receipt: Vec<u8>,
    pub csrf: Option<String>,
    /// The page's "yes, send another while one is pending" box.
    pub confirm_second: bool,
}

/// Reads `amount`, `receipt` (and `_csrf` for pages) from a multipart body. A receipt over the
/// limit is refused as soon as the limit is crossed.
pub async fn read_topup_form(mut mp: Multipart) -> Result<TopupForm, AppError> {
    let mut form = TopupForm::default();
    // A body over the server's limit (5 MB) is a receipt that is too large, not a bad request.
    let bad = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::field("receipt", "wallet.err.receipt_too_large")
        } else {
            AppError::BadRequest(e.body_text())
        }
    };
    while let Some(mut field) = mp.next_field().await.map_err(bad)? {
        match field.name().unwrap_or("") {
            "amount" => form.amount = Some(field.text().await.map_err(bad)?),
            "_csrf" => form.csrf = Some(field.text().await.map_err(bad)?),
            "confirm_second" => form.confirm_second = !field.text().await.map_err(bad)?.is_empty(),
            "receipt" => {
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    form.receipt.extend_from_slice(&chunk);
                    if form.receipt.len() > topups::MAX_RECEIPT_BYTES {
                        return Err(AppError::field("receipt", "wallet.err.receipt_too_large"));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(form)
}

/// The one submission path of the API and the page.
pub async fn submit_topup_form(
    state: &AppState,
    user: &CurrentUser,
    origin: &Origin,
    form: &TopupForm,
) -> Result<topups::Topup, AppError> {
    let r = wallet_owner(state, user).await?;
    let amount = form
        .amount
        .as_deref()
        .map(|a| domain::units::parse_toman(&domain::units::to_latin_digits(a.trim())))
        .and_then(Result::ok)
        .ok_or_else(|| AppError::field("amount", "wallet.err.amount"))?;
    topups::submit(
        &state.engine,
        &state.options.data_dir,
        r.id,
        amount,
        &form.receipt,
        &user.actor(),
        origin,
    )
    .await
    .map_err(submit_error)
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TopupUpload {
    /// Toman, at least the minimum top-up (10,000 by default), at most 10¹².
    #[schema(maximum = 1_000_000_000_000_i64)]
    amount: i64,
    /// JPEG, PNG or WebP, up to 4 MB.
    #[schema(value_type = String, format = Binary)]
    receipt: Vec<u8>,
}

#[derive(Serialize, ToSchema)]
pub struct TopupCreated {
    pub id: i64,
    pub amount: i64,
    #[schema(value_type = String)]
    pub status: TopupStatus,
}

#[derive(Deserialize, ToSchema)]
pub struct AdjustmentInput {
    /// Signed toman: positive credits, negative debits; at most 10¹² either way.
    #[schema(minimum = -1_000_000_000_000_i64, maximum = 1_000_000_000_000_i64)]
    pub amount: i64,
    pub note: String,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TopupQuery {
    /// `pending`, `approved` or `rejected`; all when absent.
    pub status: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct TopupListItem {
    pub id: i64,
    pub reseller_id: i64,
    pub reseller_name: String,
    pub amount: i64,
    #[schema(value_type = String)]
    pub status: TopupStatus,
    pub reason: Option<String>,
    pub receipt_mime: String,
    pub created_at: String,
    pub decided_at: Option<String>,
}

/// The one approval path: approving twice answers the approved top-up again (no second credit).
pub async fn approve_topup(
    state: &AppState,
    admin: &CurrentUser,
    origin: &Origin,
    id: i64,
) -> Result<topups::Topup, AppError> {
    match topups::approve(&state.engine, id, &admin.actor(), origin)
        .await
        .map_err(engine_error)?
    {
        Decision::Done(t) | Decision::Unchanged(t) => Ok(t),
        Decision::Conflict(_) => Err(AppError::conflict(
            "topup_rejected",
            "this top-up was rejected and cannot be approved",
        )),
    }
}

pub async fn reject_topup(
    state: &AppState,
    admin: &CurrentUser,
    origin: &Origin,
    id: i64,
    reason: &str,
) -> Result<topups::Topup, AppError> {
    match topups::reject(&state.engine, id, reason, &admin.actor(), origin)
        .await
        .map_err(engine_error)?
    {
        Decision::Done(t) | Decision::Unchanged(t) => Ok(t),
        Decision::Conflict(_) => Err(AppError::conflict(
            "topup_approved",
            "this top-up was approved and cannot be rejected",
        )),
    }
}

#[derive(Deserialize, ToSchema)]
pub struct RejectInput {
    pub reason: String,
}

/// The receipt image of a top-up, served with its checked type (admins only).
pub async fn receipt_response(state: &AppState, id: i64) -> Result<Response, AppError> {
    let mut conn = state.db.acquire().await?;
    let t = topups::get(&mut conn, id)
        .await
        .map_err(engine_error)?
        .ok_or(AppError::NotFound)?;
    drop(conn);
    let path = topups::receipt_file(&state.options.data_dir, &t).ok_or(AppError::NotFound)?;
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|_| AppError::NotFound)?;
    // Stored under the extension of its checked type (`topups::check_submission`).
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("bin")
        .to_string();
    Response::builder()
        .header(header::CONTENT_TYPE, t.receipt_mime)
        .header(header::CACHE_CONTROL, "private, no-store")
        // An uploaded file runs nothing, even if a browser sniffs it; the site-wide policy
        // (`middleware::security_headers`) keeps a handler's own.
        .header(header::CONTENT_SECURITY_POLICY, "default-src 'none'")
        .header(
            header::CONTENT_DISPOSITION,
            format!("inline; filename=\"receipt-{}.{ext}\"", t.id),
        )
        .body(Body::from(bytes))
        .map_err(|e| AppError::Internal(e.into()))
}

#[derive(Serialize, ToSchema)]
pub struct BillingResult {
    pub resellers_charged: i64,
    pub resellers_suspended: i64,
    pub total_cost: i64,
}
