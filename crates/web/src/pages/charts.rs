//! Charts a person would rather look at than read: a reseller's traffic per day (30 days) and
//! per hour (48 hours), a wallet's balance over time, and the admin's top resellers by traffic.

use crate::auth::{PageAdmin, PageUser};
use crate::charts::{bars, line, Chart, Point};
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
    charts: Vec<Chart>,
    /// Totals printed under the charts (label, value).
    totals: Vec<(String, String)>,
    /// The admin's top resellers, as rows with names and bars rather than a chart of ids.
    top: Option<Vec<TopRow>>,
    /// Set on an admin's view of one reseller: links back to it.
    reseller_id: Option<i64>,
}

struct TopRow {
    id: i64,
    name: String,
    bytes: i64,
    max: i64,
}

/// The reseller's own charts.
async fn own_usage(
    State(state): State<AppState>,
    loc: Locale,
    PageUser(user): PageUser,
) -> PageResult<Html<String>> {
    let reseller_id = user.reseller_id.ok_or(AppError::NotFound)?;
    render_reseller(&state, loc, user, reseller_id, "/usage", false).await
}

async fn reseller_usage(
    State(state): State<AppState>,
    loc: Locale,
    PageAdmin(user): PageAdmin,
    Path(id): Path<i64>,
) -> PageResult<Html<String>> {
    render_reseller(&state, loc, user, id, "/admin/resellers", true).await
}

/// GB on an axis: as many decimals as the axis' steps need (`۰٫۵`, `۲`, `۰٫۰۲`).
fn gb_tick(loc: Locale) -> impl Fn(i64, i64) -> String {
    move |v, span| {
        let step = span / 5;
        let decimals = if step >= GIB {
            0
        } else if step >= GIB / 10 {
            1
        } else {
            2
        };
        let n = loc.num(domain::units::format_gb(v, decimals));
        // The top of the axis names the unit once.
        if v == span && v > 0 {
            format!("{n} {}", loc.t("common.gb"))
        } else {
            n
        }
    }
}

/// Toman on an axis, shortened to thousands when the amounts are large.
fn toman_tick(loc: Locale) -> impl Fn(i64, i64) -> String {
    move |v, span| {
        if span >= 10_000 && v % 1000 == 0 {
            loc.tf(
                "charts.thousand",
                &[("n", loc.signed(domain::units::format_toman(v / 1000)))],
            )
        } else {
            loc.signed(domain::units::format_toman(v))
        }
    }
}

const GIB: i64 = domain::units::GIB;

async fn render_reseller(
    state: &AppState,
    loc: Locale,
    user: crate::auth::CurrentUser,
    reseller_id: i64,
    path: &str,
    admin_view: bool,
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
            // Month and day ("09/10"): the year is the same on every bar.
            let short = label
                .split(['/', '-'])
                .skip(1)
                .collect::<Vec<_>>()
                .join("/");
            Point {
                tooltip: format!("{label}: {}", loc.gb_unit(*bytes)),
                label: short,
                value: *bytes,
            }
        })
        .collect();
    let month_total: i64 = per_day.values().sum();

    let this_hour = domain::tehran::hour_start(now);
    let by_hour: BTreeMap<i64, i64> = hourly.iter().copied().collect();
    let hour_points: Vec<Point> = (0..48)
        .map(|i| {
            let at = this_hour - Duration::hours(47 - i);
            let bytes = by_hour.get(&at.timestamp()).copied().unwrap_or(0);
            let label = loc.datetime(at);
            let short = label.rsplit(' ').next().unwrap_or(&label).to_string();
            Point {
                tooltip: format!("{label}: {}", loc.gb_unit(bytes)),
                label: short,
                value: bytes,
            }
        })
        .collect();
    let day_total: i64 = hour_points[24..].iter().map(|p| p.value).sum();

    let gb_fmt = gb_tick(loc);
    let mut charts = vec![
        Chart {
            title: loc.t("charts.per_day").to_string(),
            svg: bars(
                &day_points,
                loc.t("charts.per_day"),
                rtl,
                GIB / 100,
                &gb_fmt,
            ),
        },
        Chart {
            title: loc.t("charts.per_hour").to_string(),
            svg: bars(
                &hour_points,
                loc.t("charts.per_hour"),
                rtl,
                GIB / 100,
                &gb_fmt,
            ),
        },
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
                let short = label
                    .split(['/', '-'])
                    .skip(1)
                    .collect::<Vec<_>>()
                    .join("/");
                Point {
                    tooltip: format!("{}: {}", loc.ts_datetime(at), loc.toman(balance)),
                    label: short,
                    value: *balance,
                }
            })
            .collect();
        charts.push(Chart {
            title: loc.t("charts.balance").to_string(),
            svg: line(&points, loc.t("charts.balance"), rtl, &toman_tick(loc)),
        });
    }
    let page = ChartsPage {
        heading: if admin_view {
            format!("{} · {}", loc.t("charts.title"), reseller.display_name)
        } else {
            loc.t("charts.title").to_string()
        },
        totals: vec![
            (
                loc.t("charts.total_24h").to_string(),
                loc.gb_unit(day_total),
            ),
            (
                loc.t("charts.total_30d").to_string(),
                loc.gb_unit(month_total),
            ),
        ],
        shell: Shell::new(loc, Some(user), path, "charts.title"),
        charts,
        top: None,
        reseller_id: admin_view.then_some(reseller_id),
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
    let max = top.iter().map(|t| t.2).max().unwrap_or(0);
    let total: i64 = top.iter().map(|t| t.2).sum();
    let page = ChartsPage {
        heading: loc.t("charts.top").to_string(),
        totals: vec![(loc.t("charts.top_total").to_string(), loc.gb_unit(total))],
        shell: Shell::new(loc, Some(user), "/admin/reports", "charts.top"),
        charts: vec![],
        top: Some(
            top.into_iter()
                .map(|(id, name, bytes)| TopRow {
                    id,
                    name,
                    bytes,
                    max,
                })
                .collect(),
        ),
        reseller_id: None,
    };
    Ok(Html(page.render().map_err(anyhow::Error::from)?))
}
