//! Wallet pages: the reseller's wallet (balance, burn rate, statement with CSV, top-up form) and
//! the admin's top-up queue and per-reseller credit/debit. Handlers call `api::wallet`.

use crate::api::wallet::{
    approve_topup, engine_error, read_topup_form, receipt_response, reject_topup,
    submit_topup_form, wallet_owner, wallet_view, WalletView,
};
use crate::auth::{CurrentUser, PageAdmin, PageUser, RequestOrigin};
use crate::csrf::{token_matches, CsrfForm};
use crate::error::{AppError, PageError, PageResult};
use crate::locale::Locale;
use crate::pages::shell::Shell;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use domain::status::{ResellerStatus, TopupStatus};
use engine::{topups, wallet};
use serde::Deserialize;

/// The queue filter that shows every top-up.
const ALL_TOPUPS: &str = "all";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/wallet", get(show))
        .route("/wallet/topups", post(submit))
        .route("/wallet/statement.csv", get(statement_csv))
        .route("/admin/topups", get(queue))
        .route("/admin/topups/{id}/approve", post(approve))
        .route("/admin/topups/{id}/reject", post(reject))
        .route("/admin/topups/{id}/receipt", get(receipt))
        .route(
            "/admin/resellers/{id}/wallet",
            get(admin_wallet).post(admin_adjust),
        )
}

/// How many statement lines the page shows (the CSV has more).
const PAGE_LINES: i64 = 100;
const CSV_LINES: i64 = 100_000;

/// One statement line, formatted for the page.
pub struct Line {
    pub time: String,
    pub kind_key: String,
    pub gb: String,
    pub price: String,
    pub amount: String,
    pub balance: String,
    pub note: String,
    pub negative: bool,
}

#[derive(Template)]
#[template(path = "wallet.html")]
struct WalletPage {
    shell: Shell,
    view: WalletView,
    used: String,
    suspended: bool,
    near: bool,
    burn: Option<String>,
    lines: Vec<Line>,
    topups: Vec<topups::Topup>,
    topup_min: i64,
    sent: bool,
    error_key: Option<String>,
}

/// Near the threshold: less than a day left at the current rate, or headroom below five GB's
/// worth (for wallets with no recent traffic).
fn near_threshold(v: &WalletView, hours: Option<i64>) -> bool {
    let headroom = v.balance.saturating_sub(v.suspension_threshold);
    hours.is_some_and(|h| h < 24) || headroom <= v.price_per_gb.saturating_mul(5)
}

async fn render_wallet(
    state: &AppState,
    loc: Locale,
    user: CurrentUser,
    sent: bool,
    error_key: Option<String>,
) -> PageResult<Html<String>> {
    let r = wallet_owner(state, &user).await?;
    let view = wallet_view(state, &r).await?;
    let now = chrono::Utc::now().timestamp();
    let mut conn = state.db.acquire().await?;
    let d = wallet::defaults(&mut conn, &state.engine.settings)
        .await
        .map_err(engine_error)?;
    let spent = wallet::spent_since(&mut conn, r.id, now - 24 * 3600)
        .await
        .map_err(engine_error)?;
    let hours = domain::billing::hours_remaining(view.balance, view.suspension_threshold, spent);
    let used = db::resellers::lifetime_total(&mut conn, r.id).await?;
    let lines = wallet::statement(&mut conn, r.id, PAGE_LINES)
        .await
        .map_err(engine_error)?;
    let my_topups = topups::of_reseller(&mut conn, r.id, 20)
        .await
        .map_err(engine_error)?;
    drop(conn);
    let suspended = r.status == ResellerStatus::SuspendedWallet;
    let page = WalletPage {
        near: !suspended && near_threshold(&view, hours),
        burn: hours.map(|h| loc.tf("wallet.burn_rate", &[("hours", loc.num(h))])),
        used: loc.gb(used),
        lines: lines.iter().map(|l| line(&loc, l)).collect(),
        topups: my_topups,
        topup_min: d.topup_min,
        suspended,
        view,
        sent,
        error_key,
        shell: Shell::new(loc, Some(user), "/wallet", "wallet.title"),
    };
    Ok(Html(page.render().map_err(anyhow::Error::from)?))
}

fn line(loc: &Locale, l: &wallet::StatementLine) -> Line {
    Line {
        time: loc.ts_datetime(l.period_start.unwrap_or(l.created_at)),
        kind_key: format!("wallet.kind_{}", l.kind),
        gb: l.delta_bytes.map(|b| loc.gb(b)).unwrap_or_default(),
        price: l.price_per_gb.map(|p| loc.toman(p)).unwrap_or_default(),
        amount: loc.toman(l.amount),
        balance: loc.toman(l.balance_after),
        note: l.note.clone().unwrap_or_default(),
        negative: l.amount < 0,
    }
}

#[derive(Deserialize)]
pub struct ShowQuery {
    sent: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    loc: Locale,
    PageUser(user): PageUser,
    Query(q): Query<ShowQuery>,
) -> PageResult<Html<String>> {
    render_wallet(&state, loc, user, q.sent.is_some(), None).await
}

/// The top-up form is multipart (it carries a file), so the CSRF field is checked here.
pub async fn submit(
    State(state): State<AppState>,
    loc: Locale,
    PageUser(user): PageUser,
    RequestOrigin(origin): RequestOrigin,
    mp: Multipart,
) -> PageResult<Response> {
    let form = match read_topup_form(mp).await {
        Ok(f) => f,
        Err(AppError::Validation(f)) => return refused(&state, loc, user, f).await,
        Err(e) => return Err(e.into()),
    };
    if !token_matches(
        user.csrf.as_deref().unwrap_or(""),
        form.csrf.as_deref().unwrap_or(""),
    ) {
        return Err(AppError::forbidden(
            "csrf_failed",
            "the form expired or did not come from this site; reload the page and try again",
        )
        .into());
    }
    match submit_topup_form(&state, &user, &origin, &form).await {
        Ok(_) => Ok(Redirect::to("/wallet?sent=1").into_response()),
        Err(AppError::Validation(f)) => refused(&state, loc, user, f).await,
        Err(e) => Err(e.into()),
    }
}

async fn refused(
    state: &AppState,
    loc: Locale,
    user: CurrentUser,
    f: crate::error::FieldErrors,
) -> PageResult<Response> {
    let key = f.values().next().cloned();
    let mut res = render_wallet(state, loc, user, false, key)
        .await?
        .into_response();
    *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(res)
}

fn csv_field(s: &str) -> String {
    // Quote every field; a leading formula character is defused for spreadsheet apps.
    let s = if s.starts_with(['=', '+', '-', '@']) && s.parse::<i64>().is_err() {
        format!("'{s}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// The whole statement as CSV (hour, kind, bytes, GB, price, cost, balance), in plain digits.
pub async fn statement_csv(
    State(state): State<AppState>,
    PageUser(user): PageUser,
) -> PageResult<Response> {
    let r = wallet_owner(&state, &user).await?;
    let mut conn = state.db.acquire().await?;
    let lines = wallet::statement(&mut conn, r.id, CSV_LINES)
        .await
        .map_err(engine_error)?;
    let mut out = String::from("time_utc,kind,bytes,gb,price_per_gb,amount,balance_after,note\n");
    for l in lines.iter().rev() {
        let at = db::time::from_ts(l.period_start.unwrap_or(l.created_at))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let fields = [
            at,
            l.kind.to_string(),
            l.delta_bytes.map(|b| b.to_string()).unwrap_or_default(),
            l.delta_bytes
                .map(|b| domain::units::format_gb(b, 3))
                .unwrap_or_default(),
            l.price_per_gb.map(|p| p.to_string()).unwrap_or_default(),
            l.amount.to_string(),
            l.balance_after.to_string(),
            l.note.clone().unwrap_or_default(),
        ];
        out.push_str(
            &fields
                .iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"wallet-statement.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "topups.html")]
struct QueuePage {
    shell: Shell,
    rows: Vec<topups::TopupListRow>,
    pending: i64,
    filters: Vec<FilterLink>,
    error_key: Option<String>,
}

struct FilterLink {
    value: &'static str,
    key: &'static str,
    current: bool,
}

#[derive(Deserialize)]
pub struct QueueQuery {
    status: Option<String>,
}

async fn render_queue(
    state: &AppState,
    loc: Locale,
    user: CurrentUser,
    filter: Option<TopupStatus>,
    error_key: Option<String>,
) -> PageResult<Html<String>> {
    let mut conn = state.db.acquire().await?;
    let (rows, _) = topups::list(&mut conn, filter, 200, 0)
        .await
        .map_err(engine_error)?;
    let pending = topups::count_pending(&mut conn)
        .await
        .map_err(engine_error)?;
    let page = QueuePage {
        shell: Shell::new(loc, Some(user), "/admin/topups", "topups.title"),
        rows,
        pending,
        filters: TopupStatus::ALL
            .iter()
            .copied()
            .map(Some)
            .chain([None])
            .map(|v| FilterLink {
                value: v.map_or(ALL_TOPUPS, |s| s.as_str()),
                key: match v {
                    Some(TopupStatus::Pending) => "topups.filter_pending",
                    Some(TopupStatus::Approved) => "topups.filter_approved",
                    Some(TopupStatus::Rejected) => "topups.filter_rejected",
                    None => "topups.filter_all",
                },
                current: v == filter,
            })
            .collect(),
        error_key,
    };
    Ok(Html(page.render().map_err(anyhow::Error::from)?))
}

pub async fn queue(
    State(state): State<AppState>,
    loc: Locale,
    PageAdmin(user): PageAdmin,
    Query(q): Query<QueueQuery>,
) -> PageResult<Html<String>> {
    // The queue opens on what waits for a decision; `all` lifts the filter.
    let filter = match q.status.as_deref() {
        Some(ALL_TOPUPS) => None,
        other => Some(
            other
                .and_then(|s| s.parse().ok())
                .unwrap_or(TopupStatus::Pending),
        ),
    };
    render_queue(&state, loc, user, filter, None).await
}

fn require_admin(user: &CurrentUser) -> Result<(), PageError> {
    if user.is_admin() {
        Ok(())
    } else {
        Err(AppError::forbidden("admin_only", "admin only").into())
    }
}

#[derive(Deserialize)]
pub struct Empty {}

pub async fn approve(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<i64>,
    CsrfForm { user, .. }: CsrfForm<Empty>,
) -> PageResult<Redirect> {
    require_admin(&user)?;
    approve_topup(&state, &user, &origin, id).await?;
    Ok(Redirect::to("/admin/topups"))
}

#[derive(Deserialize)]
pub struct RejectForm {
    #[serde(default)]
    reason: String,
}

pub async fn reject(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<i64>,
    CsrfForm { user, form }: CsrfForm<RejectForm>,
) -> PageResult<Response> {
    require_admin(&user)?;
    match reject_topup(&state, &user, &origin, id, &form.reason).await {
        Ok(_) => Ok(Redirect::to("/admin/topups").into_response()),
        Err(AppError::Validation(f)) => {
            let key = f.values().next().cloned();
            let mut res = render_queue(&state, loc, user, Some(TopupStatus::Pending), key)
                .await?
                .into_response();
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn receipt(
    State(state): State<AppState>,
    PageAdmin(_user): PageAdmin,
    Path(id): Path<i64>,
) -> PageResult<Response> {
    Ok(receipt_response(&state, id).await?)
}

#[derive(Template)]
#[template(path = "wallet_admin.html")]
struct AdminWalletPage {
    shell: Shell,
    reseller: db::resellers::Reseller,
    view: WalletView,
    lines: Vec<Line>,
    done: bool,
    error_key: Option<String>,
}

async fn render_admin_wallet(
    state: &AppState,
    loc: Locale,
    user: CurrentUser,
    id: i64,
    done: bool,
    error_key: Option<String>,
) -> PageResult<Html<String>> {
    let mut conn = state.db.acquire().await?;
    let r = db::resellers::get(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let lines = wallet::statement(&mut conn, r.id, PAGE_LINES)
        .await
        .map_err(engine_error)?;
    drop(conn);
    let view = wallet_view(state, &r).await?;
    let page = AdminWalletPage {
        lines: lines.iter().map(|l| line(&loc, l)).collect(),
        shell: Shell::new(
            loc,
            Some(user),
            &format!("/admin/resellers/{id}/wallet"),
            "wallet.title",
        ),
        reseller: r,
        view,
        done,
        error_key,
    };
    Ok(Html(page.render().map_err(anyhow::Error::from)?))
}

#[derive(Deserialize)]
pub struct AdminWalletQuery {
    done: Option<String>,
}

pub async fn admin_wallet(
    State(state): State<AppState>,
    loc: Locale,
    PageAdmin(user): PageAdmin,
    Path(id): Path<i64>,
    Query(q): Query<AdminWalletQuery>,
) -> PageResult<Html<String>> {
    render_admin_wallet(&state, loc, user, id, q.done.is_some(), None).await
}

#[derive(Deserialize)]
pub struct AdjustForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    note: String,
}

/// A signed whole toman amount as typed (`-5,000`, `۲۰۰۰۰`).
fn parse_signed(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, rest) = match s.strip_prefix(['-', '\u{2212}']) {
        Some(r) => (true, r),
        None => (false, s),
    };
    let v = domain::units::parse_toman(rest).ok()?;
    Some(if neg { -v } else { v })
}

pub async fn admin_adjust(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<i64>,
    CsrfForm { user, form }: CsrfForm<AdjustForm>,
) -> PageResult<Response> {
    require_admin(&user)?;
    let result = match parse_signed(&form.amount).filter(|a| *a != 0) {
        None => Err(AppError::field("amount", "wallet.err.adjust_amount")),
        Some(amount) => wallet::adjust(
            &state.engine,
            id,
            amount,
            &form.note,
            &user.actor(),
            &origin,
        )
        .await
        .map_err(engine_error),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/admin/resellers/{id}/wallet?done=1")).into_response()),
        Err(AppError::Validation(f)) => {
            let key = f.values().next().cloned();
            let mut res = render_admin_wallet(&state, loc, user, id, false, key)
                .await?
                .into_response();
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
        Err(e) => Err(e.into()),
    }
}
