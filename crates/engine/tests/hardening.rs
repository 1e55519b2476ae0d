//! Issue 11's usage and money findings, each as the user or the admin meets it: parallel syncs,
//! absurd panel readings, and billing that one broken reseller cannot stop for the others.

mod support;

use panel_sim::SimKind;
use support::*;

async fn hourly_total(env: &Env, reseller: i64) -> i64 {
    env.scalar(
        "SELECT COALESCE(CAST(SUM(bytes) AS BIGINT), 0) FROM reseller_usage_hourly WHERE reseller_id = $1",
        reseller,
    )
    .await
}

/// A wallet at 1,000 toman a GiB with that opening balance, created two hours ago and started an
/// hour ago, so the hour that just ended is billed.
async fn wallet_reseller(env: &Env, panel_id: i64, opening: i64) -> i64 {
    let now = chrono::Utc::now();
    let wallet = Wallet {
        started_at: now - chrono::Duration::hours(1),
        ..Wallet::at(opening, Some(1000), now - chrono::Duration::seconds(7200))
    };
    env.wallet_reseller(panel_id, wallet).await
}

/// 20 concurrent syncs on one instance, then 10 on each of two instances over one database:
/// `vpnmarket check` stays consistent and the metered usage equals the panel's growth exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_syncs_do_not_double_count() {
    let names = ["par_a", "par_b", "par_c"];
    let Scene {
        env,
        sim,
        reseller: r,
        ..
    } = given(SimKind::Marzban)
        .quota(1000 * GIB)
        .configs(names)
        .start()
        .await;
    for (i, n) in names.iter().enumerate() {
        sim.add_traffic(n, (i as i64 + 1) * 7 * MIB + 13);
    }
    let runs = (0..20).map(|_| engine::sync::run_now(&env.ctx));
    for rep in futures::future::join_all(runs).await {
        rep.unwrap();
    }
    let grown: i64 = names.iter().map(|n| sim.traffic_counted(n)).sum();
    assert_eq!(
        engine::sync::check_aggregates(&env.ctx).await.unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(hourly_total(&env, r).await, grown, "one instance, 20 syncs");

    // A second instance on the same database.
    let other = ctx_on(&env.ctx.db, quick_settings());
    for n in names {
        sim.add_traffic(n, 3 * MIB + 1);
    }
    let runs = (0..20).map(|i| {
        let ctx = if i % 2 == 0 {
            env.ctx.clone()
        } else {
            other.clone()
        };
        async move { engine::sync::run_now(&ctx).await }
    });
    for rep in futures::future::join_all(runs).await {
        rep.unwrap();
    }
    let grown: i64 = names.iter().map(|n| sim.traffic_counted(n)).sum();
    assert_eq!(
        engine::sync::check_aggregates(&env.ctx).await.unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        hourly_total(&env, r).await,
        grown,
        "two instances, 10 syncs each"
    );
    let lifetime: i64 = {
        let mut conn = env.conn().await;
        sqlx::query_scalar("SELECT CAST(SUM(lifetime_usage_bytes) AS BIGINT) FROM configs")
            .fetch_one(&mut *conn)
            .await
            .unwrap()
    };
    assert_eq!(lifetime, grown);
}

/// A panel reports 4.7·10¹⁸ bytes for one config: that reading is held back, the other
/// reseller's traffic is metered and billed, nothing errors, and the books stay consistent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_reading_is_quarantined_not_billed() {
    let env = env().await;
    let (panel, sim) = env.panel(SimKind::Marzban).await;
    let bad = wallet_reseller(&env, panel, 50_000).await;
    let good = wallet_reseller(&env, panel, 50_000).await;
    let a = env.config(bad, panel, "absurd_a").await;
    let b = env.config(good, panel, "fine_b").await;
    sim.add_traffic("absurd_a", GIB);
    sim.add_traffic("fine_b", GIB);
    env.sync().await;
    sim.add_traffic("absurd_a", 4_700_000_000_000_000_000);
    sim.add_traffic("fine_b", GIB);
    let rep = env.sync().await;
    assert_eq!(rep.panels_ok, 1);
    // The absurd delta is held back; the config keeps its last plausible counters.
    assert_eq!(env.get(a).await.lifetime_usage_bytes, GIB);
    assert_eq!(env.get(b).await.lifetime_usage_bytes, 2 * GIB);
    assert_eq!(
        engine::sync::check_aggregates(&env.ctx).await.unwrap(),
        Vec::<String>::new()
    );
    // Billing runs for both wallets: the good one pays for its 2 GiB, the other for its 1 GiB.
    let report = engine::billing::run_once(&env.ctx, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(report.snapshots, 2);
    assert_eq!(env.reseller_row(good).await.wallet_balance, 50_000 - 2000);
    assert_eq!(env.reseller_row(bad).await.wallet_balance, 50_000 - 1000);
    // Shown to the admin, who may discard it.
    let held = engine::quarantine::pending(&env.ctx).await.unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].config_id, a);
    assert_eq!(held[0].delta_bytes, 4_700_000_000_000_000_000);
}

/// A wallet whose charge cannot be posted (its balance would overflow) is left for the next
/// run; every other wallet is billed in the same run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_failing_wallet_does_not_stop_billing() {
    let env = env().await;
    let (panel, sim) = env.panel(SimKind::Marzban).await;
    let broken = wallet_reseller(&env, panel, 50_000).await;
    let fine = wallet_reseller(&env, panel, 50_000).await;
    env.config(broken, panel, "brk_a").await;
    env.config(fine, panel, "fin_b").await;
    sim.add_traffic("brk_a", GIB);
    sim.add_traffic("fin_b", GIB);
    env.sync().await;
    {
        let mut conn = env.conn().await;
        sqlx::query("UPDATE resellers SET wallet_balance = $1 WHERE id = $2")
            .bind(i64::MIN + 10)
            .bind(broken)
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    let report = engine::billing::run_once(&env.ctx, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(report.resellers_failed, 1);
    assert_eq!(env.reseller_row(fine).await.wallet_balance, 50_000 - 1000);
    assert_eq!(env.reseller_row(broken).await.wallet_balance, i64::MIN + 10);
}

/// The ceiling is configurable; a held-back reading the admin accepts is counted once, this hour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accepted_reading_is_counted_once() {
    let Scene {
        env,
        reseller: r,
        configs: [a],
        ..
    } = given(SimKind::Marzban)
        .settings(engine::EngineSettings {
            quarantine: domain::usage::Ceiling {
                max_bytes_per_sec: 1000,
                limit_factor: 100,
                min_window_secs: 1,
            },
            ..quick_settings()
        })
        .quota(1000 * GIB)
        .configs(["acc_a"])
        .traffic("acc_a", 10 * MIB)
        .start()
        .await;
    assert_eq!(env.sync().await.quarantined, 1);
    assert_eq!(env.get(a).await.lifetime_usage_bytes, 0);
    let held = engine::quarantine::pending(&env.ctx).await.unwrap();
    let admin = admin();
    let origin = db::audit::Origin::default();
    let now = chrono::Utc::now().timestamp();
    let done = engine::quarantine::accept(&env.ctx, held[0].id, &admin, &origin, now)
        .await
        .unwrap();
    assert_eq!(done.status, domain::status::QuarantineStatus::Accepted);
    assert!(matches!(
        engine::quarantine::accept(&env.ctx, held[0].id, &admin, &origin, now).await,
        Err(engine::quarantine::Refusal::Decided)
    ));
    assert_eq!(env.get(a).await.lifetime_usage_bytes, 10 * MIB);
    assert_eq!(hourly_total(&env, r).await, 10 * MIB);
    // The next reading is an ordinary one again.
    env.sync().await;
    assert_eq!(env.get(a).await.lifetime_usage_bytes, 10 * MIB);
    assert_eq!(
        engine::sync::check_aggregates(&env.ctx).await.unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(env.audit_count("usage_reading_accepted").await, 1);
}

/// Spec §4: a failed attempt is retried after +1 s, then +3 s, and no caller (a reseller's
/// action waiting for the panel, the worker) may start the next attempt earlier.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_waits_for_backoff() {
    let Scene {
        env,
        panel,
        sim,
        configs: [c],
        ..
    } = given(SimKind::Marzban).configs(["backoff_a"]).start().await;
    sim.inject(panel_sim::SimOp::Disable, panel_sim::Fault::Http500, None);
    let op = env.enqueue(panel, c, engine::ops::OpKind::Disable).await;
    let wait = std::time::Duration::from_millis(300);
    engine::ops::run_now(&env.ctx, op, wait).await.unwrap();
    // Asked again at once (and once more), the next attempt waits for its time.
    engine::ops::run_now(&env.ctx, op, std::time::Duration::from_secs(3))
        .await
        .unwrap();
    engine::ops::run_now(&env.ctx, op, std::time::Duration::from_secs(5))
        .await
        .unwrap();
    let attempts: Vec<(i64, i64)> = {
        let mut conn = env.conn().await;
        sqlx::query_as(
            "SELECT started_at, finished_at FROM operation_attempts WHERE operation_id = $1 ORDER BY id",
        )
        .bind(op)
        .fetch_all(&mut *conn)
        .await
        .unwrap()
    };
    assert!(attempts.len() >= 2, "{attempts:?}");
    assert!(
        attempts[1].0 > attempts[0].1,
        "attempt 2 too early: {attempts:?}"
    );
    if attempts.len() >= 3 {
        assert!(
            attempts[2].0 >= attempts[1].1 + 3,
            "attempt 3 too early: {attempts:?}"
        );
    }
}

mod readings {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    pub enum Reading {
        Normal(i64),
        Absurd(i64),
        /// The counter goes down, even below zero.
        Drop(i64),
        /// Up to `i64::MAX` (the simulator saturates).
        Overflow,
    }

    fn reading() -> impl Strategy<Value = Reading> {
        prop_oneof![
            5 => (0i64..5 * GIB).prop_map(Reading::Normal),
            2 => (1_000_000_000_000_000i64..4_700_000_000_000_000_000).prop_map(Reading::Absurd),
            1 => (1i64..8 * GIB).prop_map(Reading::Drop),
            1 => Just(Reading::Overflow),
        ]
    }

    const USERS: [&str; 2] = ["prop_r0", "prop_r1"];

    async fn run_case(steps: Vec<(usize, Reading)>) -> Result<(), TestCaseError> {
        let env = env().await;
        let (panel, sim) = env.panel(SimKind::Marzban).await;
        let wallets = [
            wallet_reseller(&env, panel, 1_000_000).await,
            wallet_reseller(&env, panel, 1_000_000).await,
        ];
        for (i, u) in USERS.iter().enumerate() {
            env.config(wallets[i], panel, u).await;
        }
        // Our model of the stored counters: what spec §7 makes of every believed reading.
        let ceiling = domain::usage::Ceiling::default();
        let mut model = [domain::usage::UsageCounters::default(); 2];
        let start = chrono::Utc::now();
        for (n, (i, r)) in steps.into_iter().enumerate() {
            match r {
                Reading::Normal(b) | Reading::Absurd(b) => {
                    sim.add_traffic(USERS[i], b);
                }
                Reading::Drop(b) => {
                    sim.add_traffic(USERS[i], -b);
                }
                Reading::Overflow => {
                    sim.add_traffic(USERS[i], i64::MAX);
                }
            }
            let rep = engine::sync::run_once(&env.ctx, chrono::Utc::now()).await;
            prop_assert!(rep.is_ok(), "sync failed at step {n}: {rep:?}");
            for (k, u) in USERS.iter().enumerate() {
                let seen = sim.user(u).unwrap().used_bytes;
                let next = domain::usage::observe(model[k], seen);
                if ceiling.implausible(model[k], next, 0, 100 * GIB).is_none() {
                    model[k] = next;
                }
            }
            let hour = start + chrono::Duration::hours(n as i64 + 1);
            let bill = engine::billing::run_once_at(&env.ctx, hour, chrono::Utc::now()).await;
            prop_assert!(bill.is_ok(), "billing failed at step {n}: {bill:?}");
            prop_assert_eq!(bill.unwrap().resellers_failed, 0);
        }
        let mut conn = env.conn().await;
        for (k, u) in USERS.iter().enumerate() {
            let c: (i64, i64) = sqlx::query_as(
                "SELECT usage_bytes, lifetime_usage_bytes FROM configs WHERE username = $1",
            )
            .bind(u)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
            prop_assert_eq!(
                c,
                (model[k].usage_bytes, model[k].lifetime_usage_bytes),
                "{}",
                u
            );
            let r = wallets[k];
            let (balance, ledger, billed): (i64, i64, i64) = sqlx::query_as(
                "SELECT wallet_balance, \
                 (SELECT CAST(SUM(amount) AS BIGINT) FROM wallet_ledger WHERE reseller_id = resellers.id), \
                 COALESCE((SELECT CAST(SUM(delta_bytes) AS BIGINT) FROM usage_snapshots WHERE reseller_id = resellers.id), 0) \
                 FROM resellers WHERE id = $1",
            )
            .bind(r)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
            prop_assert_eq!(balance, ledger, "balance = Σ ledger");
            // Every billed byte is a believed one: quarantined deltas are never billed.
            prop_assert_eq!(billed, model[k].lifetime_usage_bytes);
        }
        drop(conn);
        prop_assert_eq!(
            engine::sync::check_aggregates(&env.ctx).await.unwrap(),
            Vec::<String>::new()
        );
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn random_readings_never_break_sync_or_billing(
            steps in prop::collection::vec((0usize..2, reading()), 1..16),
        ) {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            rt.block_on(run_case(steps))?;
        }
    }
}
