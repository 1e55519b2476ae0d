//! The admin's overview at `/`: what needs a decision first (pending top-ups with their
//! receipts, suspended and low-balance resellers, failing panels and operations), then today's
//! traffic and money, then the general counters.

use crate::auth::CurrentUser;
use crate::error::PageResult;
use crate::locale::Locale;
use crate::pages::panels::PanelRow;
use crate::pages::shell::Shell;
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use domain::status::{ResellerStatus, SuspendedBy, TopupStatus};

/// How many items each decision list shows (the full lists are one click away).
const LIST: i64 = 6;

#[derive(Template)]
#[template(path = "dashboard_admin.html")]
struct AdminDashboard {
    shell: Shell,
    resellers: i64,
    panels: i64,
    /// Users on the panels that no config claims (last sync of each).
    unmanaged: i64,
    failing: Vec<PanelRow>,
    pending_operations: i64,
    failed_operations: Vec<crate::pages::operations::OpRow>,
    failed_total: i64,
    topups: Vec<engine::topups::TopupListRow>,
    topups_pending: i64,
    suspended: Vec<db::resellers::Reseller>,
    suspended_total: i64,
    low_balance: Vec<(i64, String, i64)>,
    today: db::stats::Today,
}

impl AdminDashboard {
    fn nothing_to_decide(&self) -> bool {
        self.failing.is_empty()
            && self.failed_operations.is_empty()
            && self.topups.is_empty()
            && self.suspended.is_empty()
            && self.low_balance.is_empty()
    }
    fn suspension_key(&self, r: &db::resellers::Reseller) -> &'static str {
        match r.suspended_by {
            Some(SuspendedBy::Admin) => "resellers.suspended_by_admin",
            _ if r.status == ResellerStatus::SuspendedWallet => "resellers.suspended_by_wallet",
            _ if r
                .window_ends_at
                .is_some_and(|e| e <= chrono::Utc::now().timestamp()) =>
            {
                "resellers.suspended_by_window"
            }
            _ => "resellers.suspended_by_quota",
        }
    }
    fn panel_error(&self, raw: &str) -> String {
        crate::humanize::panel_error(&self.shell.loc, raw)
    }
}

pub async fn show(
    State(state): State<AppState>,
    loc: Locale,
    user: CurrentUser,
) -> PageResult<Response> {
    let mut conn = state.db.acquire().await?;
    let all_panels = db::panels::list(&mut conn).await?;
    let panels = all_panels.len() as i64;
    let names: std::collections::HashMap<i64, String> =
        all_panels.iter().map(|p| (p.id, p.name.clone())).collect();
    let failing = all_panels
        .into_iter()
        .filter(|p| p.consecutive_failures > 0)
        .map(|panel| PanelRow { panel })
        .collect();
    let unmanaged = db::panels::unmanaged_counts(&mut conn)
        .await?
        .values()
        .sum();
    let pending_operations = db::operations::count_pending(&mut conn).await?;
    let (failed, failed_total) = db::operations::failing(&mut conn, LIST).await?;
    let failed_operations = failed
        .into_iter()
        .map(|op| crate::pages::operations::OpRow {
            panel_name: names.get(&op.panel_id).cloned().unwrap_or_default(),
            op,
        })
        .collect();
    let (topups, topups_pending) =
        engine::topups::list(&mut conn, Some(TopupStatus::Pending), LIST, 0)
            .await
            .map_err(crate::actions::wallet::engine_error)?;
    let (_, resellers) = db::resellers::list(&mut conn, &Default::default(), 1, 0).await?;
    let mut suspended = Vec::new();
    let mut suspended_total = 0;
    for status in [ResellerStatus::Suspended, ResellerStatus::SuspendedWallet] {
        let filter = db::resellers::ResellerFilter {
            status: Some(status),
            ..Default::default()
        };
        let (rows, n) = db::resellers::list(&mut conn, &filter, LIST, 0).await?;
        suspended.extend(rows);
        suspended_total += n;
    }
    suspended.truncate(LIST as usize);
    let d = engine::wallet::defaults(&mut conn, &state.engine.settings)
        .await
        .map_err(crate::actions::wallet::engine_error)?;
    // "Low": within five GB's worth of the threshold at the default price.
    let low_balance =
        db::stats::low_balance_resellers(&mut conn, d.threshold, d.price_per_gb * 5, LIST).await?;
    let today_start =
        domain::tehran::start_of_tehran_day(domain::tehran::tehran_date(chrono::Utc::now()))
            .timestamp();
    let today = db::stats::today(&mut conn, today_start).await?;
    drop(conn);
    let html = AdminDashboard {
        shell: Shell::new(loc, Some(user), "/", "dashboard.admin_title"),
        resellers,
        panels,
        unmanaged,
        failing,
        pending_operations,
        failed_operations,
        failed_total,
        topups,
        topups_pending,
        suspended,
        suspended_total,
        low_balance,
        today,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    Ok(Html(html).into_response())
}
