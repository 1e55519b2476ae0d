//! Wallet pages: the reseller's wallet (balance, burn rate, statement with CSV, top-up form) and
//! the admin's top-up queue and per-reseller credit/debit. Handlers call `api::wallet`.

use crate::actions::wallet::{
    approve_topup, engine_error, read_topup_form, receipt_response, reject_topup,
    submit_topup_form, wallet_owner, wallet_view, WalletView,
};
use crate::auth::{CurrentUser, PageAdmin, PageUser, RequestOrigin};
use crate::csrf::{token_matches, CsrfForm};
use crate::error::{AppError, PageError, PageResult};
use crate::locale::Locale;
use crate::pages::shell::Shell;
use crate::state::AppState;
use crate::views::csv::Csv;
use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use domain::status::{ResellerKind, ResellerStatus, TopupStatus};
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
    /// The newest top-up still waiting for the admin, if any.
    pending: Option<topups::Topup>,
    pay: PaymentInstructions,
    topup_min: i64,
    form: TopupTyped,
}

/// What the top-up form shows: the amount as typed and every field's error.
#[derive(Default)]
struct TopupTyped {
    amount: String,
    errors: FieldErrors,
    /// A top-up is pending and the reseller has not yet said "send another".
    ask_second: bool,
}

impl WalletPage {
    fn err(&self, field: &str) -> Option<&str> {
        self.form.errors.get(field).map(|k| self.shell.t(k))
    }
}

/// Where the reseller pays before uploading a receipt (set by the admin in settings).
#[derive(Default, Clone)]
pub struct PaymentInstructions {
    pub card_number: String,
    pub card_holder: String,
    pub bank: String,
    pub note: String,
}

impl PaymentInstructions {
    pub const KEYS: [&'static str; 4] = [
        "payment_card_number",
        "payment_card_holder",
        "payment_bank",
        "payment_note",
    ];

    pub async fn load(conn: &mut db::Conn) -> Result<PaymentInstructions, AppError> {
        let mut v = Vec::with_capacity(4);
        for k in Self::KEYS {
            v.push(db::settings::get(conn, k).await?.unwrap_or_default());
        }
        Ok(PaymentInstructions {
            card_number: v[0].clone(),
            card_holder: v[1].clone(),
            bank: v[2].clone(),
            note: v[3].clone(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.card_number.is_empty() && self.note.is_empty()
    }
}

use crate::error::FieldErrors;

async fn render_wallet(
    state: &AppState,
    loc: Locale,
    user: CurrentUser,
    r: db::resellers::Reseller,
    form: TopupTyped,
) -> PageResult<Response> {
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
    let pay = PaymentInstructions::load(&mut conn).await?;
    drop(conn);
    let suspended = r.status != ResellerStatus::Active;
    let status = if form.errors.is_empty() && !form.ask_second {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = WalletPage {
        near: !suspended
            && crate::pages::reseller_dashboard::near_threshold(
                view.balance,
                view.suspension_threshold,
                view.price_per_gb,
                hours,
            ),
        // "Lasts about 0 hours" says nothing to a suspended wallet: the alert above says it all.
        burn: hours
            .filter(|_| !suspended)
            .map(|h| loc.tf("wallet.burn_rate", &[("hours", loc.num(h))])),
        used: loc.gb_unit(used),
        lines: lines.iter().map(|l| line(&loc, l)).collect(),
        pending: my_topups
            .iter()
            .find(|t| t.status == TopupStatus::Pending)
            .cloned(),
        topups: my_topups,
        pay,
        topup_min: d.topup_min,
        suspended,
        view,
        form,
        shell: Shell::new(loc, Some(user), "/wallet", "wallet.title"),
    };
    Ok((status, Html(page.render().map_err(anyhow::Error::from)?)).into_response())
}

fn line(loc: &Locale, l: &wallet::StatementLine) -> Line {
    Line {
        time: loc.ts_datetime(l.period_start.unwrap_or(l.created_at)),
        kind_key: format!("wallet.kind_{}", l.kind),
        gb: l.delta_bytes.map(|b| loc.gb(b)).unwrap_or_default(),
        price: l.price_per_gb.map(|p| loc.toman(p)).unwrap_or_default(),
        amount: loc.toman(l.amount),
        balance: loc.toman(l.balance_after),
        // A note the system wrote is translated; one a person typed is shown as typed.
        note: l
            .note
            .as_deref()
            .map(|n| crate::humanize::reason(loc, n))
            .unwrap_or_default(),
        negative: l.amount < 0,
    }
}

/// The reseller's wallet, or the dashboard for a reseller that has none (a traffic reseller
/// is never shown a wallet).
async fn own_wallet(
    state: &AppState,
    user: &CurrentUser,
) -> PageResult<Result<db::resellers::Reseller, Response>> {
    let Some(rid) = user.reseller_id else {
        return Err(AppError::forbidden("reseller_only", "the wallet belongs to resellers").into());
    };
    let mut conn = state.db.acquire().await?;
    let r = db::resellers::get(&mut conn, rid)
        .await?
        .ok_or(AppError::NotFound)?;
    if r.kind != ResellerKind::Wallet {
        return Ok(Err(Redirect::to("/").into_response()));
    }
    Ok(Ok(r))
}

pub async fn show(
    State(state): State<AppState>,
    loc: Locale,
    PageUser(user): PageUser,
) -> PageResult<Response> {
    let r = match own_wallet(&state, &user).await? {
        Ok(r) => r,
        Err(res) => return Ok(res),
    };
    render_wallet(&state, loc, user, r, TopupTyped::default()).await
}

/// The top-up form is multipart (it carries a file), so the CSRF field is checked here.
pub async fn submit(
    State(state): State<AppState>,
    loc: Locale,
    PageUser(user): PageUser,
    RequestOrigin(origin): RequestOrigin,
    mp: Multipart,
) -> PageResult<Response> {
    let r = match own_wallet(&state, &user).await? {
        Ok(r) => r,
        Err(res) => return Ok(res),
    };
    let form = match read_topup_form(mp).await {
        Ok(f) => f,
        Err(AppError::Validation(errors)) => {
            let typed = TopupTyped {
                errors,
                ..Default::default()
            };
            return render_wallet(&state, loc, user, r, typed).await;
        }
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
    let amount_typed = form.amount.clone().unwrap_or_default();
    // Every field is checked before anything is sent, so the form names all its problems.
    let mut errors = FieldErrors::new();
    if domain::units::parse_toman(&domain::units::to_latin_digits(amount_typed.trim())).is_err() {
        errors.insert("amount".into(), "wallet.err.amount".into());
    }
    if form.receipt.is_empty() {
        errors.insert("receipt".into(), "wallet.err.receipt_missing".into());
    }
    let pending = {
        let mut conn = state.db.acquire().await?;
        topups::of_reseller(&mut conn, r.id, 20)
            .await
            .map_err(engine_error)?
            .into_iter()
            .any(|t| t.status == TopupStatus::Pending)
    };
    if !errors.is_empty() || (pending && !form.confirm_second) {
        let typed = TopupTyped {
            amount: amount_typed,
            ask_second: errors.is_empty(),
            errors,
        };
        return render_wallet(&state, loc, user, r, typed).await;
    }
    match submit_topup_form(&state, &user, &origin, &form).await {
        Ok(t) => Ok(crate::request_context::done(
            "/wallet",
            &loc.tf1("flash.topup_sent", "amount", loc.toman(t.amount)),
        )),
        Err(AppError::Validation(errors)) => {
            let typed = TopupTyped {
                amount: amount_typed,
                errors,
                ask_second: false,
            };
            render_wallet(&state, loc, user, r, typed).await
        }
        Err(e) => Err(e.into()),
    }
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
    let mut out = Csv::new("time_utc,kind,bytes,gb,price_per_gb,amount,balance_after,note");
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
        out.row(&fields);
    }
    Ok(out.download("wallet-statement.csv"))
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
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<i64>,
    CsrfForm { user, .. }: CsrfForm<Empty>,
) -> PageResult<Response> {
    require_admin(&user)?;
    let t = approve_topup(&state, &user, &origin, id).await?;
    let name = reseller_name(&state, t.reseller_id).await?;
    Ok(crate::request_context::done(
        "/admin/topups",
        &loc.tf2(
            "flash.topup_approved",
            "amount",
            loc.toman(t.amount),
            "name",
            name,
        ),
    ))
}

async fn reseller_name(state: &AppState, id: i64) -> Result<String, AppError> {
    let mut conn = state.db.acquire().await?;
    Ok(db::resellers::get(&mut conn, id)
        .await?
        .map(|r| r.display_name)
        .unwrap_or_default())
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
        Ok(t) => {
            let name = reseller_name(&state, t.reseller_id).await?;
            Ok(crate::request_context::done(
                "/admin/topups",
                &loc.tf2(
                    "flash.topup_rejected",
                    "amount",
                    loc.toman(t.amount),
                    "name",
                    name,
                ),
            ))
        }
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
    amount: String,
    note: String,
    error_key: Option<String>,
    /// Set when the admin must confirm: the parsed amount, named in the question.
    confirm: Option<i64>,
}

async fn render_admin_wallet(
    state: &AppState,
    loc: Locale,
    user: CurrentUser,
    id: i64,
    form: AdjustForm,
    error_key: Option<String>,
    confirm: Option<i64>,
) -> PageResult<Response> {
    let mut conn = state.db.acquire().await?;
    let r = db::resellers::get(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if r.kind != ResellerKind::Wallet {
        return Ok(Redirect::to(&format!("/admin/resellers/{id}")).into_response());
    }
    let lines = wallet::statement(&mut conn, r.id, PAGE_LINES)
        .await
        .map_err(engine_error)?;
    drop(conn);
    let view = wallet_view(state, &r).await?;
    let status = if error_key.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = AdminWalletPage {
        lines: lines.iter().map(|l| line(&loc, l)).collect(),
        shell: Shell::new(
            loc,
            Some(user),
            &format!("/admin/resellers/{id}/wallet"),
            "wallet_admin.title",
        ),
        reseller: r,
        view,
        amount: form.amount,
        note: form.note,
        error_key,
        confirm,
    };
    Ok((status, Html(page.render().map_err(anyhow::Error::from)?)).into_response())
}

pub async fn admin_wallet(
    State(state): State<AppState>,
    loc: Locale,
    PageAdmin(user): PageAdmin,
    Path(id): Path<i64>,
) -> PageResult<Response> {
    render_admin_wallet(&state, loc, user, id, AdjustForm::default(), None, None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AdjustForm {
    amount: String,
    note: String,
    /// Present on the confirmation step's button: the admin saw the reseller and the amount.
    confirmed: String,
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

/// Credit or debit: the first post asks "credit 50,000 toman to X?", the second does it.
pub async fn admin_adjust(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<i64>,
    CsrfForm { user, form }: CsrfForm<AdjustForm>,
) -> PageResult<Response> {
    require_admin(&user)?;
    let amount = parse_signed(&form.amount).filter(|a| *a != 0);
    let error_key = match (amount, form.note.trim()) {
        (None, _) => Some("wallet.err.adjust_amount"),
        (_, n) if n.is_empty() || n.chars().count() > 500 => Some("wallet.err.note"),
        _ => None,
    };
    if let Some(k) = error_key {
        return render_admin_wallet(&state, loc, user, id, form, Some(k.to_string()), None).await;
    }
    let amount = amount.unwrap_or_default();
    if form.confirmed.is_empty() {
        return render_admin_wallet(&state, loc, user, id, form, None, Some(amount)).await;
    }
    let result = wallet::adjust(
        &state.engine,
        id,
        amount,
        &form.note,
        &user.actor(),
        &origin,
    )
    .await
    .map_err(engine_error);
    match result {
        Ok(_) => {
            let name = reseller_name(&state, id).await?;
            let key = if amount > 0 {
                "flash.credited"
            } else {
                "flash.debited"
            };
            Ok(crate::request_context::done(
                &format!("/admin/resellers/{id}/wallet"),
                &loc.tf2(key, "amount", loc.toman(amount.abs()), "name", name),
            ))
        }
        Err(AppError::Validation(f)) => {
            let key = f.values().next().cloned();
            render_admin_wallet(&state, loc, user, id, form, key, None).await
        }
        Err(e) => Err(e.into()),
    }
}
