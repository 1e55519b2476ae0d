//! Sync benchmark: 100,000 configs over the five simulated panels, metered by `sync::run_once`;
//! prints wall time, panel requests and peak memory. Run: `cargo bench -p engine --bench sync`.
//! `VPNMARKET_BENCH_CONFIGS` and `VPNMARKET_BENCH_PANELS` change the size (the kinds take turns):
//! `VPNMARKET_BENCH_CONFIGS=1000000 VPNMARKET_BENCH_PANELS=10 cargo bench -p engine --bench sync`;
//! `VPNMARKET_BENCH_TIMEOUT_SECS` (default 60) is the panel request timeout, which a million needs longer.

#[path = "../tests/support/mod.rs"]
mod support;

use panel_sim::SimKind;
use std::time::Instant;

/// A size from the environment, or its default.
fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}: expected a number, got {v}"))
        })
        .unwrap_or(default)
}

fn total() -> usize {
    setting("VPNMARKET_BENCH_CONFIGS", 100_000)
}

/// The simulated panels, kinds in turn; one of each kind by default.
fn kinds() -> Vec<SimKind> {
    let n = setting("VPNMARKET_BENCH_PANELS", SimKind::ALL.len());
    (0..n)
        .map(|i| SimKind::ALL[i % SimKind::ALL.len()])
        .collect()
}

/// Each panel's users are `bench_{index}_{kind}_{n}`.
fn user_prefix(index: usize, kind: SimKind) -> String {
    format!("bench_{index}_{}_", kind.as_str())
}

/// A figure of `/proc/self/status` in KiB ("VmHWM", "VmRSS"); -1 where there is none.
fn proc_status_kib(field: &str) -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))
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
    if std::env::var("SYNC_BENCH_ROLE").as_deref() == Ok("sims") {
        rt.block_on(sims_child());
    } else {
        rt.block_on(run());
    }
}

/// The simulators live in a child process, so the peak memory measured is the sync's alone.
/// Protocol on stdin/stdout, one line each: `reset`, `traffic N`, `stats` → `ok` / stat lines.
async fn sims_child() {
    use std::io::BufRead;
    let kinds = kinds();
    let per = total() / kinds.len();
    let mut sims = Vec::new();
    for (i, kind) in kinds.into_iter().enumerate() {
        let sim = panel_sim::spawn(kind).await;
        sim.seed_users(&user_prefix(i, kind), per, 1_000_000);
        println!(
            "sim {} {} {} {} {} {} {i}",
            kind.as_str(),
            sim.base_url(),
            sim.root_url(),
            sim.admin_username(),
            sim.admin_password(),
            sim.api_key()
        );
        sims.push(sim);
    }
    println!("ready");
    let lines = tokio::task::spawn_blocking(|| {
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            for l in std::io::stdin().lock().lines() {
                if tx.send(l.unwrap_or_default()).is_err() {
                    break;
                }
            }
        });
        rx
    })
    .await
    .unwrap();
    while let Ok(line) = tokio::task::block_in_place(|| lines.recv()) {
        let mut parts = line.split_whitespace();
        match parts.next() {
            Some("reset") => sims.iter().for_each(|s| s.reset_request_counts()),
            Some("traffic") => {
                let n: i64 = parts.next().and_then(|v| v.parse().ok()).unwrap_or(0);
                sims.iter().for_each(|s| {
                    s.add_traffic_all(n);
                });
            }
            Some("stats") => {
                for s in &sims {
                    println!(
                        "stat {} {} {} {}",
                        s.kind().as_str(),
                        s.total_requests(),
                        s.requests(panel_sim::SimOp::List),
                        s.requests(panel_sim::SimOp::Auth)
                    );
                }
            }
            _ => {}
        }
        println!("ok");
    }
}

struct SimsProcess {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    out: std::io::BufReader<std::process::ChildStdout>,
}

impl SimsProcess {
    fn start() -> (SimsProcess, Vec<Vec<String>>) {
        use std::io::BufRead;
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .env("SYNC_BENCH_ROLE", "sims")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start the simulators' process");
        let stdin = child.stdin.take().unwrap();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut sims = Vec::new();
        loop {
            let mut l = String::new();
            out.read_line(&mut l).unwrap();
            let l = l.trim();
            if l == "ready" || l.is_empty() {
                break;
            }
            if let Some(rest) = l.strip_prefix("sim ") {
                sims.push(rest.split(' ').map(str::to_string).collect());
            }
        }
        (SimsProcess { child, stdin, out }, sims)
    }

    /// Sends a command; returns the lines before `ok`.
    fn cmd(&mut self, c: &str) -> Vec<String> {
        use std::io::{BufRead, Write};
        writeln!(self.stdin, "{c}").unwrap();
        let mut lines = Vec::new();
        loop {
            let mut l = String::new();
            self.out.read_line(&mut l).unwrap();
            let l = l.trim().to_string();
            if l == "ok" || l.is_empty() {
                return lines;
            }
            lines.push(l);
        }
    }
}

impl Drop for SimsProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn register(env: &support::Env, s: &[String]) -> (SimKind, i64) {
    let kind = SimKind::ALL
        .into_iter()
        .find(|k| k.as_str() == s[0])
        .unwrap();
    let keys = &env.ctx.keys;
    let (user, pass, key) = match kind {
        SimKind::Eylandoo => (None, None, Some(keys.encrypt(&s[5]))),
        _ => (Some(s[3].clone()), Some(keys.encrypt(&s[4])), None),
    };
    let settings = match kind {
        SimKind::Xui => serde_json::json!({ "inbound_ids": [1], "sub_base_url": s[2] }),
        SimKind::Marzneshin => serde_json::json!({ "service_ids": [1] }),
        _ => serde_json::json!({}),
    };
    let mut conn = env.conn().await;
    let id = db::panels::create(
        &mut conn,
        db::panels::NewPanel {
            name: &format!("bench-{}-{}", s[0], s[6]),
            kind: s[0].parse().unwrap(),
            base_url: &s[1],
            username: user.as_deref(),
            password_enc: pass.as_deref(),
            api_key_enc: key.as_deref(),
            settings: &settings.to_string(),
        },
    )
    .await
    .unwrap();
    (kind, id)
}

async fn run() {
    let env = support::env_with(engine::EngineSettings {
        panel_request_timeout: std::time::Duration::from_secs(setting(
            "VPNMARKET_BENCH_TIMEOUT_SECS",
            60,
        ) as u64),
        ..support::quick_settings()
    })
    .await;
    let per = total() / kinds().len();
    let setup = Instant::now();
    let (mut proc_, described) = SimsProcess::start();
    let mut sims = Vec::new();
    let mut panel_ids = Vec::new();
    for d in &described {
        let (kind, panel) = register(&env, d).await;
        let reseller = env.reseller(panel, 1 << 50, None).await;
        let index: usize = d[6].parse().unwrap();
        insert_configs(&env, reseller, panel, &user_prefix(index, kind), per).await;
        sims.push(kind);
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
            proc_.cmd("traffic 4096");
        }
        proc_.cmd("reset");
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
            proc_.cmd("reset");
        }
        let rss_before = proc_status_kib("VmRSS");
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
        let stats = proc_.cmd("stats");
        for ((kind, stat), page) in sims.iter().zip(&stats).zip(&page_sizes) {
            let f: Vec<&str> = stat.split(' ').collect();
            let pages = if *page == usize::MAX {
                1
            } else {
                per.div_ceil(*page)
            };
            println!(
                "  {:<10} requests {:>4} (list {:>4}, auth {}), pages of {} = {}",
                kind.as_str(),
                f[2],
                f[3],
                f[4],
                if *page == usize::MAX {
                    "all".to_string()
                } else {
                    page.to_string()
                },
                pages
            );
        }
        println!(
            "peak memory (VmHWM{}): {} MiB; resident before the sync {} MiB (the simulators run in a child process)",
            if peak_reset {
                ", reset before the sync"
            } else {
                ", whole process"
            },
            proc_status_kib("VmHWM") / 1024,
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
        (per * sims.len()) as i64 * (1_000_000 + 4096),
        "every byte counted once"
    );
    println!("\nlifetime total checked: {total} bytes");
}
