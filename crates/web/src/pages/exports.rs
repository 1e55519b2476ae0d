//! A reseller's configs taken out of the product: `/configs/export.csv` (what the list shows,
//! for a spreadsheet: UTF-8 with a BOM so Persian text opens intact, every cell defused) and
//! `/configs/print`, a sheet of QR codes with names that prints as a grid on A4.

use crate::auth::PageUser;
use crate::error::PageResult;
use crate::locale::Locale;
use crate::pages::reseller_dashboard::gate;
use crate::pages::shell::Shell;
use crate::state::AppState;
use crate::views::csv::Csv;
use askama::Template;
use axum::extract::{Query, RawQuery, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use domain::status::ConfigStatus;
use engine::access::Area;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/configs/export.csv", get(export_csv))
        .route("/configs/print", get(print_sheet))
}

/// The most configs one export or sheet holds.
const MAX_ROWS: i64 = 10_000;

#[derive(Deserialize, Default)]
pub struct Filter {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
}

async fn configs(
    state: &AppState,
    reseller_id: i64,
    f: &Filter,
) -> Result<Vec<db::configs::Config>, crate::error::AppError> {
    let filter = db::configs::ConfigFilter {
        status: crate::error::AppError::choice::<ConfigStatus>("status", Some(&f.status))?,
        q: crate::error::AppError::search(Some(&f.q))?,
    };
    let mut conn = state.db.acquire().await?;
    let (rows, _) =
        db::configs::list_for_reseller(&mut conn, reseller_id, &filter, MAX_ROWS, 0).await?;
    Ok(rows)
}

fn gb(bytes: i64) -> String {
    domain::units::format_gb(bytes, 2)
}

/// The configs list as CSV, in plain digits and ISO dates, for the reseller's own books.
pub async fn export_csv(
    State(state): State<AppState>,
    loc: Locale,
    PageUser(user): PageUser,
    Query(f): Query<Filter>,
) -> PageResult<Response> {
    let r = match gate(&state, loc, &user, Area::Configs, "/configs").await? {
        Ok(r) => r,
        Err(res) => return Ok(res),
    };
    let mut out = Csv::new(
        "name,comment,status,panel_state,usage_gb,previous_usage_gb,limit_gb,expires_at,subscription_link",
    );
    for c in configs(&state, r.id, &f).await? {
        out.row(&[
            c.username.clone(),
            c.comment.clone().unwrap_or_default(),
            c.status.to_string(),
            c.remote_state.map(|s| s.to_string()).unwrap_or_default(),
            gb(c.usage_bytes),
            gb(c.settled_usage_bytes()),
            if c.traffic_limit_bytes > 0 {
                gb(c.traffic_limit_bytes)
            } else {
                String::new()
            },
            c.expires_at
                .map(|e| db::time::from_ts(e).format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            c.subscription_url.clone().unwrap_or_default(),
        ]);
    }
    Ok(out.download("configs.csv"))
}

struct Card {
    name: String,
    comment: Option<String>,
    qr_svg: String,
}

#[derive(Template)]
#[template(path = "configs_print.html")]
struct PrintPage {
    shell: Shell,
    cards: Vec<Card>,
}

/// The ticked configs (`?ids=1&ids=2`), or all that match the filter, one card each with its
/// subscription link as a QR code; a config without a link yet is left out.
pub async fn print_sheet(
    State(state): State<AppState>,
    loc: Locale,
    PageUser(user): PageUser,
    RawQuery(raw): RawQuery,
) -> PageResult<Response> {
    let r = match gate(&state, loc, &user, Area::Configs, "/configs").await? {
        Ok(r) => r,
        Err(res) => return Ok(res),
    };
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.as_deref().unwrap_or_default()).unwrap_or_default();
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let ids: Vec<i64> = pairs
        .iter()
        .filter(|(n, _)| n == "ids")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let filter = Filter {
        q: get("q"),
        status: get("status"),
    };
    let cards = configs(&state, r.id, &filter)
        .await?
        .into_iter()
        // Only this reseller's configs are listed at all; the ticks narrow them.
        .filter(|c| ids.is_empty() || ids.contains(&c.id))
        .filter(|c| c.status != ConfigStatus::Deleted)
        .filter_map(|c| {
            let qr_svg = c
                .subscription_url
                .as_deref()
                .and_then(crate::views::qr::qr_svg)?;
            Some(Card {
                name: c.username,
                comment: c.comment,
                qr_svg,
            })
        })
        .collect();
    let page = PrintPage {
        shell: Shell::new(loc, Some(user), "/configs", "exports.print_title"),
        cards,
    };
    Ok(Html(page.render().map_err(anyhow::Error::from)?).into_response())
}
