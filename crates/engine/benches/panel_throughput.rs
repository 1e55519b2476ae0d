//! How many creates, updates and resets per second the REAL panels of
//! `../shared/real-panels/start.sh` sustain on this machine (issue 18), at 1, 2 and 4 calls in
//! flight, through our adapters over real sockets; prints a table with the errors of each run.
//! Run: `bash ../shared/real-panels/start.sh && . /tmp/panels/panels.env &&
//! cargo bench -p engine --bench panel_throughput`. `VPNMARKET_BENCH_USERS` (default 40) users
//! per run; every user made is deleted again. Without the `REAL_*` variables a panel is skipped,
//! said so.

use futures::StreamExt;
use panel_sim::real::{RealKind, RealPanel};
use panels::{NewUser, PanelClient, UserLimits};
use std::sync::Arc;
use std::time::Instant;

const GIB: i64 = 1 << 30;

fn users() -> usize {
    std::env::var("VPNMARKET_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40)
}

/// Runs `call` on every name with `in_flight` at once: (calls per second, errors, first error).
async fn measure<F, Fut>(
    names: &[String],
    in_flight: usize,
    call: F,
) -> (f64, usize, Option<String>)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<(), panels::PanelError>>,
{
    let started = Instant::now();
    let results: Vec<_> = futures::stream::iter(names.iter().cloned())
        .map(&call)
        .buffer_unordered(in_flight)
        .collect()
        .await;
    let secs = started.elapsed().as_secs_f64();
    let errors: Vec<String> = results
        .into_iter()
        .filter_map(|r| r.err().map(|e| e.to_string()))
        .collect();
    (
        names.len() as f64 / secs,
        errors.len(),
        errors.into_iter().next(),
    )
}

async fn bench(kind: RealKind) {
    let Some(real) = RealPanel::from_env(kind) else {
        return;
    };
    let client: Arc<dyn PanelClient> = panels::connect(real.panel_config()).unwrap();
    for in_flight in [1, 2, 4] {
        let names: Vec<String> = (0..users())
            .map(|i| real.username(&format!("tp{in_flight}x{i}")))
            .collect();
        let expires = chrono::Utc::now() + chrono::Duration::days(30);
        let create = measure(&names, in_flight, |name| {
            let client = client.clone();
            async move {
                let user = NewUser {
                    username: name,
                    limit_bytes: 10 * GIB,
                    expires_at: Some(expires),
                    ..Default::default()
                };
                client.create_user(&user).await.map(|_| ())
            }
        })
        .await;
        let update = measure(&names, in_flight, |name| {
            let client = client.clone();
            async move {
                let limits = UserLimits {
                    limit_bytes: Some(20 * GIB),
                    ..Default::default()
                };
                client.update_user(&name, &limits).await
            }
        })
        .await;
        let reset = measure(&names, in_flight, |name| {
            let client = client.clone();
            async move { client.reset_usage(&name).await }
        })
        .await;
        for (what, (rate, errors, first)) in
            [("create", create), ("update", update), ("reset", reset)]
        {
            println!(
                "{kind}\t{what}\t{in_flight} in flight\t{rate:.1}/s\t{errors} errors{}",
                first.map(|e| format!(" (first: {e})")).unwrap_or_default()
            );
        }
        real.cleanup().await;
    }
}

#[tokio::main]
async fn main() {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "real panel throughput, {} users a run, load {}",
        users(),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("panel\tcall\tconcurrency\trate\terrors");
    for kind in [
        RealKind::Marzban,
        RealKind::Marzneshin,
        RealKind::PasarGuard,
    ] {
        bench(kind).await;
    }
}
