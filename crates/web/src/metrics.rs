//! `GET /metrics` in the Prometheus text format: HTTP latency (recorded by the request-id
//! middleware), per-panel sync results and health, pending remote operations, billing totals.
//! Aggregates only, but they name panels and revenue, so `/metrics` on the main address answers
//! only with `Authorization: Bearer <metrics_token>`; without a token it is served only on the
//! separate metrics listener ([`router`], `VPNMARKET_METRICS_LISTEN`).

use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use domain::status::{AuditAction, DriftAction};
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

struct Http {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
    by_class: [AtomicU64; 5],
}

static HTTP: Http = Http {
    buckets: [const { AtomicU64::new(0) }; BUCKETS.len()],
    count: AtomicU64::new(0),
    sum_micros: AtomicU64::new(0),
    by_class: [const { AtomicU64::new(0) }; 5],
};

/// Called once per response.
pub fn record_request(status: u16, elapsed: std::time::Duration) {
    let secs = elapsed.as_secs_f64();
    for (i, le) in BUCKETS.iter().enumerate() {
        if secs <= *le {
            HTTP.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
    }
    HTTP.count.fetch_add(1, Ordering::Relaxed);
    HTTP.sum_micros
        .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    let class = ((status / 100) as usize).clamp(1, 5) - 1;
    HTTP.by_class[class].fetch_add(1, Ordering::Relaxed);
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', " ")
}

/// `/metrics` on the main address: the bearer token of `metrics_token`, else not found.
pub async fn guarded(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<Response, crate::error::ApiError> {
    let Some(expected) = state.options.metrics_token.as_deref() else {
        return Err(crate::error::ApiError(crate::error::AppError::NotFound));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !crate::csrf::token_matches(expected, given.trim()) {
        return Err(crate::error::ApiError(crate::error::AppError::Unauthorized));
    }
    render(State(state)).await
}

/// The router of the separate metrics listener: `/metrics` without a token (the operator keeps
/// that address private).
pub fn router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(render))
        .with_state(state)
}

pub async fn render(State(state): State<AppState>) -> Result<Response, crate::error::ApiError> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP vpnmarket_http_request_duration_seconds Time to answer HTTP requests."
    );
    let _ = writeln!(
        out,
        "# TYPE vpnmarket_http_request_duration_seconds histogram"
    );
    for (i, le) in BUCKETS.iter().enumerate() {
        let _ = writeln!(
            out,
            "vpnmarket_http_request_duration_seconds_bucket{{le=\"{le}\"}} {}",
            HTTP.buckets[i].load(Ordering::Relaxed)
        );
    }
    let count = HTTP.count.load(Ordering::Relaxed);
    let _ = writeln!(
        out,
        "vpnmarket_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
    );
    let _ = writeln!(
        out,
        "vpnmarket_http_request_duration_seconds_sum {}",
        HTTP.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
    );
    let _ = writeln!(out, "vpnmarket_http_request_duration_seconds_count {count}");
    let _ = writeln!(
        out,
        "# HELP vpnmarket_http_responses_total Responses by status class."
    );
    let _ = writeln!(out, "# TYPE vpnmarket_http_responses_total counter");
    for (i, n) in HTTP.by_class.iter().enumerate() {
        let _ = writeln!(
            out,
            "vpnmarket_http_responses_total{{class=\"{}xx\"}} {}",
            i + 1,
            n.load(Ordering::Relaxed)
        );
    }
    let _ = writeln!(
        out,
        "# HELP vpnmarket_http_open_connections HTTP connections open now, on the main and the metrics listener."
    );
    let _ = writeln!(out, "# TYPE vpnmarket_http_open_connections gauge");
    let _ = writeln!(
        out,
        "vpnmarket_http_open_connections {}",
        crate::server::open_connections()
    );

    let mut conn = state.db.acquire().await?;
    let panels = db::panels::list(&mut conn).await?;
    let _ = writeln!(out, "# HELP vpnmarket_panel_consecutive_failures Failed contacts with a panel since its last success.");
    let _ = writeln!(out, "# TYPE vpnmarket_panel_consecutive_failures gauge");
    for p in &panels {
        let _ = writeln!(
            out,
            "vpnmarket_panel_consecutive_failures{{panel_id=\"{}\",panel=\"{}\",kind=\"{}\"}} {}",
            p.id,
            escape(&p.name),
            p.kind,
            p.consecutive_failures
        );
    }
    let runs = db::stats::latest_sync_per_panel(&mut conn).await?;
    let _ = writeln!(
        out,
        "# HELP vpnmarket_sync_last_duration_seconds Duration of each panel's last usage sync."
    );
    let _ = writeln!(out, "# TYPE vpnmarket_sync_last_duration_seconds gauge");
    for r in &runs {
        let _ = writeln!(
            out,
            "vpnmarket_sync_last_duration_seconds{{panel_id=\"{}\"}} {}",
            r.panel_id,
            r.duration_ms as f64 / 1000.0
        );
    }
    let _ = writeln!(out, "# HELP vpnmarket_sync_last_ok Whether each panel's last usage sync succeeded (1) or failed (0).");
    let _ = writeln!(out, "# TYPE vpnmarket_sync_last_ok gauge");
    for r in &runs {
        let _ = writeln!(
            out,
            "vpnmarket_sync_last_ok{{panel_id=\"{}\"}} {}",
            r.panel_id,
            i64::from(r.ok)
        );
    }
    let _ = writeln!(out, "# HELP vpnmarket_sync_last_configs_updated Configs whose usage changed in each panel's last sync.");
    let _ = writeln!(out, "# TYPE vpnmarket_sync_last_configs_updated gauge");
    for r in &runs {
        let _ = writeln!(
            out,
            "vpnmarket_sync_last_configs_updated{{panel_id=\"{}\"}} {}",
            r.panel_id, r.configs_updated
        );
    }
    let pending = db::operations::count_pending(&mut conn).await?;
    let _ = writeln!(
        out,
        "# HELP vpnmarket_operations_pending Remote operations not confirmed by their panel yet."
    );
    let _ = writeln!(out, "# TYPE vpnmarket_operations_pending gauge");
    let _ = writeln!(out, "vpnmarket_operations_pending {pending}");
    let drift = db::stats::drift_counts(&mut conn).await?;
    let _ = writeln!(
        out,
        "# HELP vpnmarket_panel_drift_total Differences found between the panels and the configs' desired state, by kind and what was done."
    );
    let _ = writeln!(out, "# TYPE vpnmarket_panel_drift_total counter");
    for (kind, action, n) in &drift {
        let handled = match action.parse::<AuditAction>() {
            Ok(AuditAction::ConfigDriftCorrected) => DriftAction::Corrected,
            _ => DriftAction::Reported,
        };
        let _ = writeln!(
            out,
            "vpnmarket_panel_drift_total{{kind=\"{}\",action=\"{handled}\"}} {n}",
            escape(kind)
        );
    }
    let missing = db::stats::missing_on_panel(&mut conn).await?;
    let _ = writeln!(
        out,
        "# HELP vpnmarket_configs_missing_on_panel Configs whose user is gone from its panel, waiting for an administrator."
    );
    let _ = writeln!(out, "# TYPE vpnmarket_configs_missing_on_panel gauge");
    let _ = writeln!(out, "vpnmarket_configs_missing_on_panel {missing}");
    let (billed_cost, billed_bytes) = db::stats::billing_totals(&mut conn).await?;
    let _ = writeln!(
        out,
        "# HELP vpnmarket_billing_cost_toman_total Toman charged by hourly wallet billing."
    );
    let _ = writeln!(out, "# TYPE vpnmarket_billing_cost_toman_total counter");
    let _ = writeln!(out, "vpnmarket_billing_cost_toman_total {billed_cost}");
    let _ = writeln!(
        out,
        "# HELP vpnmarket_billing_bytes_total Bytes billed by hourly wallet billing."
    );
    let _ = writeln!(out, "# TYPE vpnmarket_billing_bytes_total counter");
    let _ = writeln!(out, "vpnmarket_billing_bytes_total {billed_bytes}");
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response())
}
