//! Charts a person would rather look at than read: a reseller's traffic per day (30 days) and
//! per hour (48 hours), a wallet's balance over time, and the admin's top resellers by traffic.

use crate::auth::{PageAdmin, PageUser};
use crate::charts::{bars, line, Point};
use crate::error::{AppError, PageResult};
use crate::locale::Locale;
use crate::pages::shell::Shell;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use chrono::{Duration, Utc};
use std::collections::BTreeMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/usage", get(own_usage))
        .route("/admin/resellers/{id}/usage", get(reseller_usage))
        .route("/admin/reports", get(top_resellers))
}

#[derive(Template)]
#[template(path = "charts.html")]
struct ChartsPage {
    shell: Shell,
    heading: String,
    charts: Vec<(String, String)>,
}

/// The reseller's own charts.
async fn own_usage(
    State(state): State<AppState>,
    loc: Locale,
    PageUser(user): PageUser,
) -> PageResult<Html<String>> {
    let reseller_id = user.reseller_id.ok_or(AppError::NotFound)?;
    render_reseller(&state, loc, user, reseller_id, "/usage").await
}

async fn reseller_usage(
    State(state): State<AppState>,
    loc: Locale,
    PageAdmin(user): PageAdmin,
    Path(id): Path<i64>,
) -> PageResult<Html<String>> {
    render_reseller(&state, loc, user, id, "/admin/resellers").await
}

async fn render_reseller(
    state: &AppState,
    loc: Locale,
    user: crate::auth::CurrentUser,
    reseller_id: i64,
    path: &str,
) -> PageResult<Html<String>> {
    let mut conn = state.db.acquire().await?;
    let reseller = db::resellers::get(&mut conn, reseller_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let now = Utc::now();
    let rtl = loc.dir() == "rtl";
    let since_days =
        domain::tehran::start_of_tehran_day(domain::tehran::tehran_date(now) - Duration::days(29));
    let hourly = db::usage_hourly::since(&mut conn, reseller_id, since_days.timestamp()).await?;

    let mut per_day: BTreeMap<chrono::NaiveDate, i64> = (0..30)
        .map(|d| (domain::tehran::tehran_date(now) - Duration::days(29 - d), 0))
        .collect();
    for (hour, bytes) in &hourly {
        *per_day
            .entry(domain::tehran::tehran_date(db::time::from_ts(*hour)))
            .or_default() += bytes;
    }
    let day_points: Vec<Point> = per_day
        .iter()
        .map(|(date, bytes)| {
            let at = domain::tehran::start_of_tehran_day(*date);
            let label = loc.date(at);
            let short = label
                .rsplit('/')
                .next()
                .unwrap_or(&label)
                .rsplit('-')
                .next()
                .unwrap_or(&label)
                .to_string();
            Point {
                tooltip: format!("{label}: {} GB", loc.gb(*bytes)),
                label: short,
                value: *bytes,
            }
        })
        .collect();

    let this_hour = domain::tehran::hour_start(now);
    let by_hour: BTreeMap<i64, i64> = hourly.iter().copied().collect();
    let hour_points: Vec<Point> = (0..48)
        .map(|i| {
            let at = this_hour - Duration::hours(47 - i);
            let bytes = by_hour.get(&at.timestamp()).copied().unwrap_or(0);
            let label = loc.datetime(at);
            let short = label.rsplit(' ').next().unwrap_or(&label).to_string();
            Point {
                tooltip: format!("{label}: {} GB", loc.gb(bytes)),
                label: short,
                value: bytes,
            }
        })
        .collect();

    let mut charts = vec![
        (
            loc.t("charts.per_day").to_string(),
            bars(&day_points, loc.t("charts.per_day"), rtl),
        ),
        (
            loc.t("charts.per_hour").to_string(),
            bars(&hour_points, loc.t("charts.per_hour"), rtl),
        ),
    ];
    if reseller.kind == domain::status::ResellerKind::Wallet {
        let history = db::stats::balance_history(
            &mut conn,
            reseller_id,
            (now - Duration::days(30)).timestamp(),
        )
        .await?;
        let points: Vec<Point> = history
            .iter()
            .map(|(at, balance)| {
                let label = loc.ts_date(at);
                Point {
                    tooltip: format!("{}: {}", loc.ts_datetime(at), loc.toman(balance)),
                    label,
                    value: *balance,
                }
            })
            .collect();
        charts.push((
            loc.t("charts.balance").to_string(),
            line(&points, loc.t("charts.balance"), rtl),
        ));
    }
    let page = ChartsPage {
        heading: format!("{} — {}", loc.t("charts.title"), reseller.display_name),
        shell: Shell::new(loc, Some(user), path, "charts.title"),
        charts,
    };
    Ok(Html(page.render().map_err(anyhow::Error::from)?))
}

async fn top_resellers(
    State(state): State<AppState>,
    loc: Locale,
    PageAdmin(user): PageAdmin,
) -> PageResult<Html<String>> {
    let mut conn = state.db.acquire().await?;
    let since = (Utc::now() - Duration::days(30)).timestamp();
    let top = db::stats::top_resellers_by_traffic(&mut conn, since, 10).await?;
    let points: Vec<Point> = top
        .iter()
        .map(|(id, name, bytes)| Point {
            label: format!("#{id}"),
            tooltip: format!("{name}: {} GB", loc.gb(bytes)),
            value: *bytes,
        })
        .collect();
    let chart = bars(&points, loc.t("charts.top"), loc.dir() == "rtl");
    let page = ChartsPage {
        heading: loc.t("charts.top").to_string(),
        shell: Shell::new(loc, Some(user), "/admin/reports", "charts.top"),
        charts: vec![(loc.t("charts.top_help").to_string(), chart)],
    };
    Ok(Html(page.render().map_err(anyhow::Error::from)?))
}
