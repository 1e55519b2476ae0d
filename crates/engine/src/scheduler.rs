//! The periodic jobs of one process (`VPNMARKET_JOBS=auto`): a usage sync every interval and
//! wallet billing checked every minute (billing an hour twice is a no-op, so a check is cheap).

use crate::Ctx;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

/// The clock that picks the hour billing bills. The demo runs it faster so an "hour" passes in
/// a minute; everything billing writes or schedules still uses the real time.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

pub struct Schedule {
    pub sync_every: Duration,
    pub billing_every: Duration,
    pub billing_clock: Clock,
}

impl Schedule {
    pub fn standard(sync_every: Duration) -> Schedule {
        Schedule {
            sync_every,
            billing_every: Duration::from_secs(60),
            billing_clock: Arc::new(Utc::now),
        }
    }
}

/// Starts both loops; they run until the process stops. A failing run is logged and retried
/// at the next tick; nothing is half-written because each step commits on its own.
pub fn spawn(ctx: Ctx, schedule: Schedule) -> Vec<tokio::task::JoinHandle<()>> {
    let sync_ctx = ctx.clone();
    let sync = tokio::spawn(async move {
        loop {
            let started = std::time::Instant::now();
            match crate::sync::run_once(&sync_ctx, Utc::now()).await {
                Ok(r) if !r.skipped_lease_held => tracing::info!(
                    panels_ok = r.panels_ok,
                    panels_failed = r.panels_failed,
                    configs_updated = r.configs_updated,
                    ms = started.elapsed().as_millis() as u64,
                    "usage sync"
                ),
                Ok(_) => tracing::debug!("usage sync skipped: another instance holds the lease"),
                Err(e) => tracing::error!(error = %e, "usage sync failed"),
            }
            tokio::time::sleep(schedule.sync_every).await;
        }
    });
    let billing = tokio::spawn(async move {
        loop {
            let hour_of = (schedule.billing_clock)();
            match crate::billing::run_once_at(&ctx, hour_of, Utc::now()).await {
                Ok(r) if r.resellers_charged > 0 || r.resellers_suspended > 0 => tracing::info!(
                    charged = r.resellers_charged,
                    suspended = r.resellers_suspended,
                    total_cost = r.total_cost,
                    "wallet billing"
                ),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "wallet billing failed"),
            }
            tokio::time::sleep(schedule.billing_every).await;
        }
    });
    vec![sync, billing]
}
