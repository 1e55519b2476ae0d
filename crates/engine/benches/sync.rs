//! Sync benchmark: 100,000 configs over the four simulated panels, metered by `sync::run_once`;
//! prints wall time, panel requests and peak memory. Run: `cargo bench -p engine --bench sync`.

#[path = "../tests/support/mod.rs"]
mod support;

use panel_sim::SimKind;
use std::time::Instant;

const TOTAL: usize = 100_000;

fn vm_hwm_kib() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(-1)
}

fn vm_rss_kib() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(-1)
}

fn reset_peak() -> bool {
    // "5" resets the peak resident set size (Linux ≥ 4.0), so the figure covers the sync only.
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

async fn insert_configs(env: &support::Env, reseller: i64, panel: i64, prefix: &str, n: usize) {
    let now = chrono::Utc::now().timestamp();
    let mut tx = env.ctx.db.begin_write().await.unwrap();
    let ids: Vec<usize> = (0..n).collect();
    for chunk in ids.chunks(500) {
        let mut sql = String::from(
            "INSERT INTO configs (reseller_id, panel_id, username, traffic_limit_bytes, status, remote_confirmed, created_at, updated_at) VALUES ",
        );
        for (k, _) in chunk.iter().enumerate() {
            if k > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("($1, $2, ${}, $3, 'active', 1, $4, $4)", k + 5));
        }
        let mut q = sqlx::query(&sql)
            .bind(reseller)
            .bind(panel)
            .bind(1i64 << 40)
            .bind(now);
        for i in chunk {
            q = q.bind(format!("{prefix}{i}"));
        }
        q.execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let env = support::env_with(engine::EngineSettings {
        panel_request_timeout: std::time::Duration::from_secs(60),
        ..support::quick_settings()
    })
    .await;
    let per = TOTAL / SimKind::ALL.len();
    let mut sims = Vec::new();
    let mut panel_ids = Vec::new();
    let setup = Instant::now();
    for kind in SimKind::ALL {
        let (panel, sim) = env.panel(kind).await;
        let prefix = format!("bench_{}_", kind.as_str());
        sim.seed_users(&prefix, per, 1_000_000);
        let reseller = env.reseller(panel, 1 << 50, None).await;
        insert_configs(&env, reseller, panel, &prefix, per).await;
        sims.push((kind, sim));
        panel_ids.push(panel);
    }
    println!(
        "setup: {} configs over {} panels in {:.1} s (database: {:?})",
        per * sims.len(),
        sims.len(),
        setup.elapsed().as_secs_f64(),
        env.ctx.db.backend()
    );
    let page_sizes: Vec<usize> = {
        let mut v = Vec::new();
        for id in &panel_ids {
            let h = env.ctx.registry.handle(*id).await.unwrap();
            v.push(h.client.page_size());
        }
        v
    };

    for (label, traffic) in [
        ("first sync (every config changed)", false),
        ("steady sync (nothing changed)", false),
        ("sync after traffic on every config", true),
    ] {
        if traffic {
            for (_, sim) in &sims {
                sim.add_traffic_all(4096);
            }
        }
        for (_, sim) in &sims {
            sim.reset_request_counts();
        }
        if !traffic && label.starts_with("first") {
            // The panels' own share of the time: one bulk listing each, in parallel.
            let t = Instant::now();
            let lists = panel_ids.iter().map(|id| {
                let ctx = env.ctx.clone();
                let id = *id;
                async move {
                    let h = ctx.registry.handle(id).await.unwrap();
                    h.client.list_users().await.unwrap().len()
                }
            });
            let n: usize = futures::future::join_all(lists).await.into_iter().sum();
            println!(
                "listing alone (simulators included): {n} users in {:.2} s",
                t.elapsed().as_secs_f64()
            );
            for (_, sim) in &sims {
                sim.reset_request_counts();
            }
        }
        let rss_before = vm_rss_kib();
        let peak_reset = reset_peak();
        let t = Instant::now();
        let rep = engine::sync::run_once(&env.ctx, chrono::Utc::now())
            .await
            .unwrap();
        let wall = t.elapsed();
        println!("\n== {label}");
        println!(
            "wall time: {:.2} s; panels ok {} failed {}; users seen {}; configs updated {}; raced {}",
            wall.as_secs_f64(),
            rep.panels_ok,
            rep.panels_failed,
            rep.users_seen,
            rep.configs_updated,
            rep.raced
        );
        for ((kind, sim), page) in sims.iter().zip(&page_sizes) {
            let pages = if *page == usize::MAX {
                1
            } else {
                per.div_ceil(*page)
            };
            println!(
                "  {:<10} requests {:>4} (list {:>4}, auth {}), pages of {} = {}",
                kind.as_str(),
                sim.total_requests(),
                sim.requests(panel_sim::SimOp::List),
                sim.requests(panel_sim::SimOp::Auth),
                if *page == usize::MAX {
                    "all".to_string()
                } else {
                    page.to_string()
                },
                pages
            );
        }
        println!(
            "peak memory (VmHWM{}): {} MiB; resident before the sync {} MiB (simulators and their 100k users live in this process)",
            if peak_reset {
                ", reset before the sync"
            } else {
                ", whole process"
            },
            vm_hwm_kib() / 1024,
            rss_before / 1024
        );
    }
    let mut conn = env.conn().await;
    let total: i64 = sqlx::query_scalar(
        "SELECT COALESCE(CAST(SUM(lifetime_usage_bytes) AS BIGINT), 0) FROM configs",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(
        total,
        (TOTAL as i64) * (1_000_000 + 4096),
        "every byte counted once"
    );
    println!("\nlifetime total checked: {total} bytes");
}
