//! Hourly wallet billing as a wallet reseller and the admin meet it: seed 004's examples, one
//! charge per hour whatever crashes or runs twice, top-ups never lost, and the ledger as truth.

mod support;

use chrono::{DateTime, TimeZone, Utc};
use db::audit::{Actor, Origin};
use domain::status::{
    ConfigEventKind, ConfigStatus, DisabledReason, LedgerKind, RemoteState, Role,
};
use engine::{billing, topups, wallet, Ctx, EngineSettings};
use panel_sim::SimKind;
use support::*;

const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];

fn settings() -> EngineSettings {
    EngineSettings {
        wait_for_panel: std::time::Duration::from_secs(10),
        panel_request_timeout: std::time::Duration::from_secs(2),
        worker_tick: std::time::Duration::from_millis(50),
        default_rate_per_sec: 1000,
        ..Default::default()
    }
}

fn at(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 5, 0).unwrap() + chrono::Duration::hours(h as i64)
}

/// A config's row only, of 50 GiB: billing reads its usage and sends nothing to a panel.
async fn config(env: &Env, reseller_id: i64, panel_id: i64, name: &str) -> i64 {
    env.config_row(reseller_id, panel_id, name, 50 * GIB).await
}

async fn balance(env: &Env, id: i64) -> i64 {
    env.reseller_row(id).await.wallet_balance
}

async fn status(env: &Env, id: i64) -> String {
    env.reseller_row(id).await.status.to_string()
}

async fn ledger_sum(env: &Env, id: i64) -> i64 {
    let mut conn = env.conn().await;
    wallet::ledger_sum(&mut conn, id).await.unwrap()
}

async fn charges(env: &Env, id: i64) -> i64 {
    env.scalar(
        "SELECT COUNT(*) FROM wallet_ledger WHERE reseller_id = $1 AND kind = 'usage_charge'",
        id,
    )
    .await
}

async fn set_price_setting(env: &Env, key: &str, v: i64) {
    let mut conn = env.conn().await;
    db::settings::set(&mut conn, env.ctx.db.backend(), key, &v.to_string())
        .await
        .unwrap();
}

/// Runs due operations until none is left (the worker, stepped by hand).
async fn drain_ops(ctx: &Ctx) {
    for _ in 0..50 {
        engine::ops::run_due(ctx, Utc::now().timestamp() + 3600)
            .await
            .unwrap();
        let mut conn = ctx.db.acquire().await.unwrap();
        if db::operations::count_pending(&mut conn).await.unwrap() == 0 {
            return;
        }
    }
    let mut conn = ctx.db.acquire().await.unwrap();
    let errors: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT kind, last_error FROM operations WHERE status = 'pending'")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    panic!("operations did not finish: {errors:?}");
}

#[tokio::test]
async fn seed_one_gib_at_1000_from_10000_leaves_9000() {
    let env = env_with(settings()).await;
    let ctx = env.ctx.clone();
    let panel = env.dummy_panel().await;
    let r = env
        .wallet_reseller(panel, Wallet::at(10_000, Some(1_000), at(0)))
        .await;
    let c = config(&env, r, panel, "w1").await;
    engine::observe::record(&env.ctx.db, c, GIB, None, at(0).timestamp())
        .await
        .unwrap();
    let report = billing::run_once(&ctx, at(1)).await.unwrap();
    assert_eq!(report.resellers_charged, 1);
    assert_eq!(report.total_cost, 1_000);
    assert_eq!(report.resellers_suspended, 0);
    assert_eq!(balance(&env, r).await, 9_000);
    assert_eq!(ledger_sum(&env, r).await, 9_000);
    assert_eq!(status(&env, r).await, "active");
    assert_eq!(env.get(c).await.status, ConfigStatus::Active);
    // Return every connection before the database is dropped (see `Env::close`).
    env.close().await;
}

#[tokio::test]
async fn seed_one_gib_at_5000_from_1000_suspends_and_disables_on_the_panel() {
    let env = env_with(settings()).await;
    let ctx = env.ctx.clone();
    let (panel, sim) = env.panel(SimKind::Marzban).await;
    let r = env
        .wallet_reseller(panel, Wallet::at(1_000, Some(5_000), at(0)))
        .await;
    let mut ids = Vec::new();
    for name in ["wallet_a", "wallet_b"] {
        let c = config(&env, r, panel, name).await;
        let mut conn = env.ctx.db.acquire().await.unwrap();
        engine::ops::enqueue(
            &mut conn,
            panel,
            c,
            None,
            engine::ops::OpKind::Create,
            serde_json::json!({}),
            Utc::now().timestamp(),
        )
        .await
        .unwrap();
        ids.push(c);
    }
    drain_ops(&ctx).await;
    assert!(sim.user("wallet_a").unwrap().enabled);
    // 1 GiB on the panel, read like the sync does.
    sim.add_traffic("wallet_a", GIB);
    let used = sim.user("wallet_a").unwrap().used_bytes;
    engine::observe::record(
        &env.ctx.db,
        ids[0],
        used,
        Some(RemoteState::Active),
        at(0).timestamp(),
    )
    .await
    .unwrap();

    let report = billing::run_once(&ctx, at(1)).await.unwrap();
    assert_eq!(report.total_cost, 5_000);
    assert_eq!(report.resellers_suspended, 1);
    assert_eq!(balance(&env, r).await, -4_000);
    assert_eq!(ledger_sum(&env, r).await, -4_000);
    assert_eq!(status(&env, r).await, "suspended_wallet");
    for c in &ids {
        let row = env.get(*c).await;
        assert_eq!(
            (row.status.as_str(), row.disabled_reason.map(|r| r.as_str())),
            ("disabled", Some("wallet"))
        );
    }
    drain_ops(&ctx).await;
    assert!(
        !sim.user("wallet_a").unwrap().enabled,
        "disabled on the panel"
    );
    assert!(
        !sim.user("wallet_b").unwrap().enabled,
        "disabled on the panel"
    );
    let mut conn = env.ctx.db.acquire().await.unwrap();
    let events = db::configs::events(&mut conn, ids[0]).await.unwrap();
    assert!(events
        .iter()
        .any(|e| e.kind == ConfigEventKind::AutoDisabled));
    let audits: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_logs WHERE action = 'reseller_suspended_wallet' AND target_id = $1",
    )
    .bind(r)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(audits, 1);
    drop(conn);
    // Billing again later does not suspend twice or touch the panel again.
    let again = billing::run_once(&ctx, at(2)).await.unwrap();
    assert_eq!(again.resellers_suspended, 0);
    sim.shutdown();
    // Return every connection before the database is dropped (see `Env::close`).
    env.close().await;
}

#[tokio::test]
async fn traffic_resellers_are_untouched_by_billing() {
    let env = env_with(settings()).await;
    let ctx = env.ctx.clone();
    let panel = env.dummy_panel().await;
    let t = env.reseller(panel, 100 * GIB, None).await;
    let c = config(&env, t, panel, "t1").await;
    engine::observe::record(&env.ctx.db, c, 30 * GIB, None, at(0).timestamp())
        .await
        .unwrap();
    let report = billing::run_once(&ctx, at(1)).await.unwrap();
    assert_eq!(report, billing::BillingReport::default());
    assert_eq!(balance(&env, t).await, 0);
    assert_eq!(status(&env, t).await, "active");
    assert_eq!(
        env.scalar(
            "SELECT COUNT(*) FROM usage_snapshots WHERE reseller_id = $1",
            t
        )
        .await,
        0
    );
    assert_eq!(env.get(c).await.status, ConfigStatus::Active);
    // Return every connection before the database is dropped (see `Env::close`).
    env.close().await;
}

#[tokio::test]
async fn an_hour_billed_twice_charges_once_and_history_is_never_billed() {
    let env = env_with(settings()).await;
    let ctx = env.ctx.clone();
    let panel = env.dummy_panel().await;
    // A traffic reseller with 7 GiB of history becomes wallet-based at hour 0.
    let r = env.reseller(panel, 100 * GIB, None).await;
    let c = config(&env, r, panel, "h1").await;
    engine::observe::record(&env.ctx.db, c, 7 * GIB, None, at(0).timestamp())
        .await
        .unwrap();
    {
        let mut tx = env.ctx.db.begin_write().await.unwrap();
        sqlx::query("UPDATE resellers SET kind = 'wallet', wallet_since = $1 WHERE id = $2")
            .bind(at(0).timestamp())
            .bind(r)
            .execute(&mut *tx)
            .await
            .unwrap();
        wallet::post_entry(
            &mut tx,
            r,
            LedgerKind::OpeningBalance,
            50_000,
            "open",
            None,
            None,
            None,
        )
        .await
        .unwrap();
        wallet::start_wallet(&mut tx, r, at(0)).await.unwrap();
        tx.commit().await.unwrap();
    }
    set_price_setting(&env, wallet::KEY_PRICE, 780).await;
    engine::observe::record(&env.ctx.db, c, 9 * GIB, None, at(1).timestamp())
        .await
        .unwrap();
    let first = billing::bill_hour(&ctx, at(1)).await.unwrap();
    assert_eq!(first.total_cost, 2 * 780, "only the 2 GiB since the start");
    let second = billing::bill_hour(&ctx, at(1) + chrono::Duration::minutes(30))
        .await
        .unwrap();
    assert_eq!(
        second,
        billing::BillingReport::default(),
        "same hour: nothing"
    );
    let via_lease = billing::run_once(&ctx, at(1)).await.unwrap();
    assert_eq!(via_lease.total_cost, 0);
    assert_eq!(balance(&env, r).await, 50_000 - 1_560);
    assert_eq!(charges(&env, r).await, 1);
    // A quiet hour writes its snapshot but no ledger row.
    let quiet = billing::bill_hour(&ctx, at(2)).await.unwrap();
    assert_eq!((quiet.snapshots, quiet.resellers_charged), (1, 0));
    assert_eq!(charges(&env, r).await, 1);
    assert_eq!(ledger_sum(&env, r).await, balance(&env, r).await);
    // Return every connection before the database is dropped (see `Env::close`).
    env.close().await;
}

#[tokio::test]
async fn a_failure_between_any_two_steps_never_loses_or_doubles_a_charge() {
    let env = env_with(settings()).await;
    let ctx = env.ctx.clone();
    let panel = env.dummy_panel().await;
    // Enough resellers for several chunks; the failure hits the first one.
    let mut rs = Vec::new();
    for i in 0..(billing::CHUNK as usize + 3) {
        let r = env
            .wallet_reseller(panel, Wallet::at(500, Some(1_000), at(0)))
            .await;
        if i % 50 == 0 || i > billing::CHUNK as usize {
            let c = config(&env, r, panel, &format!("f{i}")).await;
            engine::observe::record(&env.ctx.db, c, 2 * GIB, None, at(0).timestamp())
                .await
                .unwrap();
            rs.push(r);
        }
    }
    for step in 1..=5 {
        let err = billing::bill_hour_failing_after(&ctx, at(1), step).await;
        assert!(err.is_err(), "step {step} fails");
        for r in &rs {
            assert_eq!(
                balance(&env, *r).await,
                500,
                "step {step}: nothing half-written"
            );
            assert_eq!(ledger_sum(&env, *r).await, 500);
            assert_eq!(charges(&env, *r).await, 0);
            assert_eq!(status(&env, *r).await, "active");
        }
    }
    let report = billing::bill_hour(&ctx, at(1)).await.unwrap();
    assert_eq!(report.resellers_charged, rs.len() as i64);
    assert_eq!(report.resellers_suspended, rs.len() as i64);
    for r in &rs {
        assert_eq!(balance(&env, *r).await, -1_500);
        assert_eq!(ledger_sum(&env, *r).await, balance(&env, *r).await);
        assert_eq!(charges(&env, *r).await, 1);
        assert_eq!(status(&env, *r).await, "suspended_wallet");
    }
    // A failure in a rerun of a billed hour also changes nothing.
    assert!(billing::bill_hour_failing_after(&ctx, at(1), 5)
        .await
        .is_err());
    assert_eq!(billing::bill_hour(&ctx, at(1)).await.unwrap().total_cost, 0);
    // Return every connection before the database is dropped (see `Env::close`).
    env.close().await;
}

#[tokio::test]
async fn two_instances_billing_the_same_hour_charge_once() {
    let env = env_with(settings()).await;
    // Two processes: separate pools on the same database.
    let db2 = db::Db::connect(&env.tdb.url, 8).await.unwrap();
    let (a, b) = (env.ctx.clone(), ctx_on(&db2, settings()));
    let panel = env.dummy_panel().await;
    let mut rs = Vec::new();
    for i in 0..40 {
        let r = env
            .wallet_reseller(panel, Wallet::at(100_000, Some(780), at(0)))
            .await;
        let c = config(&env, r, panel, &format!("d{i}")).await;
        engine::observe::record(&env.ctx.db, c, GIB + i, None, at(0).timestamp())
            .await
            .unwrap();
        rs.push(r);
    }
    for hour in 1..=3u32 {
        // Both with the lease (the scheduler's way) and without it (only the keys protect).
        let (x, y, z, w) = tokio::join!(
            billing::run_once(&a, at(hour)),
            billing::run_once(&b, at(hour)),
            billing::bill_hour(&a, at(hour)),
            billing::bill_hour(&b, at(hour)),
        );
        let total = [x, y, z, w]
            .into_iter()
            .map(|r| r.unwrap().resellers_charged)
            .sum::<i64>();
        assert_eq!(total, if hour == 1 { 40 } else { 0 }, "hour {hour}");
    }
    for (i, r) in rs.iter().enumerate() {
        assert_eq!(charges(&env, *r).await, 1);
        assert_eq!(ledger_sum(&env, *r).await, balance(&env, *r).await);
        let cost = domain::billing::usage_cost(GIB + i as i64, 780);
        assert_eq!(balance(&env, *r).await, 100_000 - cost);
    }
    db2.close().await;
    // Return every connection before the database is dropped (see `Env::close`).
    env.close().await;
}

async fn submit_topup(ctx: &Ctx, dir: &std::path::Path, r: i64, amount: i64) -> i64 {
    let actor = Actor::user(Role::Reseller, 2, "shop");
    topups::submit(ctx, dir, r, amount, PNG, &actor, &Origin::default())
        .await
        .map_err(|e| format!("{e:?}"))
        .unwrap()
        .id
}

#[tokio::test]
async fn top_ups_approved_while_billing_runs_are_never_lost() {
    let env = env_with(settings()).await;
    let ctx = env.ctx.clone();
    let dir = std::env::temp_dir().join(format!("vm-eng-{}", engine::secrets::random_token()));
    let panel = env.dummy_panel().await;
    let mut rs = Vec::new();
    let mut cs = Vec::new();
    for i in 0..6 {
        let r = env
            .wallet_reseller(panel, Wallet::at(0, Some(1_000), at(0)))
            .await;
        cs.push(config(&env, r, panel, &format!("c{i}")).await);
        rs.push(r);
    }
    let mut all_topups = Vec::new();
    for round in 0..20u32 {
        let mut ids = Vec::new();
        for r in &rs {
            ids.push(submit_topup(&ctx, &dir, *r, 10_000 + round as i64).await);
        }
        for (k, c) in cs.iter().enumerate() {
            engine::observe::record(
                &env.ctx.db,
                *c,
                (round as i64 + 1) * (GIB / 3 + k as i64),
                None,
                at(round).timestamp(),
            )
            .await
            .unwrap();
        }
        let mut tasks = Vec::new();
        for id in ids.iter().copied() {
            let c1 = ctx.clone();
            tasks.push(tokio::spawn(async move {
                topups::approve(&c1, id, &admin(), &Origin::default())
                    .await
                    .map(|_| ())
            }));
            let c2 = ctx.clone();
            // A second, racing approval of the same top-up.
            tasks.push(tokio::spawn(async move {
                topups::approve(&c2, id, &admin(), &Origin::default())
                    .await
                    .map(|_| ())
            }));
        }
        for h in [round + 1, round + 1] {
            let ctx = ctx.clone();
            tasks.push(tokio::spawn(async move {
                billing::bill_hour(&ctx, at(h)).await.map(|_| ())
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        all_topups.extend(ids);
    }
    for r in &rs {
        assert_eq!(ledger_sum(&env, *r).await, balance(&env, *r).await);
        assert_eq!(charges(&env, *r).await, 20, "one charge per hour");
    }
    for id in all_topups {
        let n = env
            .scalar(
                "SELECT COUNT(*) FROM wallet_ledger WHERE kind = 'topup' AND ref_id = $1",
                id,
            )
            .await;
        assert_eq!(n, 1, "top-up {id} credited exactly once");
    }
    let _ = std::fs::remove_dir_all(dir);
    // Return every connection before the database is dropped (see `Env::close`).
    env.close().await;
}

#[tokio::test]
async fn approving_twice_credits_once_and_a_rejected_top_up_cannot_be_approved() {
    let env = env_with(settings()).await;
    let ctx = env.ctx.clone();
    let dir = std::env::temp_dir().join(format!("vm-eng-{}", engine::secrets::random_token()));
    let panel = env.dummy_panel().await;
    let r = env
        .wallet_reseller(panel, Wallet::at(500, None, at(0)))
        .await;
    let t = submit_topup(&ctx, &dir, r, 25_000).await;
    let first = topups::approve(&ctx, t, &admin(), &Origin::default())
        .await
        .unwrap();
    assert!(matches!(first, topups::Decision::Done(_)));
    let second = topups::approve(&ctx, t, &admin(), &Origin::default())
        .await
        .unwrap();
    assert!(matches!(second, topups::Decision::Unchanged(_)));
    assert_eq!(balance(&env, r).await, 25_500);
    assert_eq!(ledger_sum(&env, r).await, 25_500);
    // Below the minimum is refused; a rejection needs a reason and is final.
    let small = topups::submit(
        &ctx,
        &dir,
        r,
        9_999,
        PNG,
        &Actor::user(Role::Reseller, 2, "shop"),
        &Origin::default(),
    )
    .await;
    assert!(matches!(
        small,
        Err(topups::SubmitError::Invalid {
            field: "amount",
            ..
        })
    ));
    let t2 = submit_topup(&ctx, &dir, r, 10_000).await;
    assert!(topups::reject(&ctx, t2, " ", &admin(), &Origin::default())
        .await
        .is_err());
    topups::reject(&ctx, t2, "receipt unreadable", &admin(), &Origin::default())
        .await
        .unwrap();
    let late = topups::approve(&ctx, t2, &admin(), &Origin::default())
        .await
        .unwrap();
    assert!(matches!(late, topups::Decision::Conflict(_)));
    assert_eq!(balance(&env, r).await, 25_500);
    let _ = std::fs::remove_dir_all(dir);
    // Return every connection before the database is dropped (see `Env::close`).
    env.close().await;
}

#[tokio::test]
async fn an_approval_above_the_threshold_reactivates_and_enables_only_wallet_disabled_configs() {
    let env = env_with(settings()).await;
    let ctx = env.ctx.clone();
    let dir = std::env::temp_dir().join(format!("vm-eng-{}", engine::secrets::random_token()));
    let panel = env.dummy_panel().await;
    let r = env
        .wallet_reseller(panel, Wallet::at(0, Some(1_000), at(0)))
        .await;
    let busy = config(&env, r, panel, "busy").await;
    let by_hand = config(&env, r, panel, "byhand").await;
    {
        let mut conn = env.ctx.db.acquire().await.unwrap();
        db::configs::set_status(
            &mut conn,
            by_hand,
            ConfigStatus::Disabled,
            Some(DisabledReason::Manual),
        )
        .await
        .unwrap();
    }
    engine::observe::record(&env.ctx.db, busy, 5 * GIB, None, at(0).timestamp())
        .await
        .unwrap();
    billing::run_once(&ctx, at(1)).await.unwrap();
    assert_eq!(balance(&env, r).await, -5_000);
    assert_eq!(status(&env, r).await, "suspended_wallet");
    assert_eq!(
        env.get(busy).await.disabled_reason.map(|r| r.as_str()),
        Some("wallet")
    );
    // 10,000 lifts it to 5,000 > −1,000: active again, only the wallet-disabled config enabled.
    let t = submit_topup(&ctx, &dir, r, 10_000).await;
    topups::approve(&ctx, t, &admin(), &Origin::default())
        .await
        .unwrap();
    assert_eq!(status(&env, r).await, "active");
    assert_eq!(env.get(busy).await.status, ConfigStatus::Active);
    let hand = env.get(by_hand).await;
    assert_eq!(
        (
            hand.status.as_str(),
            hand.disabled_reason.map(|r| r.as_str())
        ),
        ("disabled", Some("manual"))
    );
    let mut conn = env.ctx.db.acquire().await.unwrap();
    let enable_ops: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM operations WHERE kind = 'enable' AND config_id = $1",
    )
    .bind(busy)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(enable_ops, 1);
    let events = db::configs::events(&mut conn, busy).await.unwrap();
    assert!(events
        .iter()
        .any(|e| e.kind == ConfigEventKind::AutoEnabled));
    drop(conn);
    // A credit that leaves it at or below the threshold does not reactivate.
    engine::observe::record(&env.ctx.db, busy, 25 * GIB, None, at(1).timestamp())
        .await
        .unwrap();
    billing::run_once(&ctx, at(2)).await.unwrap();
    assert_eq!(balance(&env, r).await, -15_000);
    assert_eq!(status(&env, r).await, "suspended_wallet");
    let row = wallet::adjust(&ctx, r, 14_000, "goodwill", &admin(), &Origin::default())
        .await
        .unwrap();
    assert_eq!(row.balance_after, -1_000);
    assert_eq!(
        status(&env, r).await,
        "suspended_wallet",
        "−1,000 is at the threshold"
    );
    wallet::adjust(&ctx, r, 1, "one more", &admin(), &Origin::default())
        .await
        .unwrap();
    assert_eq!(status(&env, r).await, "active");
    let _ = std::fs::remove_dir_all(dir);
    // Return every connection before the database is dropped (see `Env::close`).
    env.close().await;
}

mod property {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Step {
        /// Traffic on one config, seen by the next observation.
        Traffic(usize, i64),
        /// A sync: every config's counter observed.
        Sync,
        /// A reset of one config: the counter drops (to a small remainder) and is observed.
        Reset(usize, i64),
        /// A billing run after advancing 0–2 hours (0 = the same hour again).
        Bill(u32),
        TopUp(i64),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            4 => (0..3usize, 0..3 * GIB).prop_map(|(c, b)| Step::Traffic(c, b)),
            2 => Just(Step::Sync),
            1 => (0..3usize, 0..1_000_000i64).prop_map(|(c, b)| Step::Reset(c, b)),
            3 => (0..3u32).prop_map(Step::Bill),
            1 => (10_000..60_000i64).prop_map(Step::TopUp),
        ]
    }

    async fn run(steps: Vec<Step>) -> Result<(), TestCaseError> {
        let env = env_with(settings()).await;
        let result = body(&env, steps).await;
        env.close().await;
        result
    }

    async fn body(env: &Env, steps: Vec<Step>) -> Result<(), TestCaseError> {
        let ctx = env.ctx.clone();
        let dir = std::env::temp_dir().join(format!("vm-prop-{}", engine::secrets::random_token()));
        let panel = env.dummy_panel().await;
        // Created as a traffic reseller with history, then converted: history is never billed.
        let r = env.reseller(panel, 100 * GIB, None).await;
        let mut cs = Vec::new();
        let mut counter = [0i64; 3];
        let mut lifetime = [0i64; 3];
        for (i, slot) in counter.iter_mut().enumerate() {
            let c = config(env, r, panel, &format!("p{i}")).await;
            *slot = (i as i64 + 1) * GIB;
            engine::observe::record(&env.ctx.db, c, *slot, None, at(0).timestamp())
                .await
                .unwrap();
            lifetime[i] = *slot;
            cs.push(c);
        }
        let start_total: i64 = lifetime.iter().sum();
        {
            let mut tx = env.ctx.db.begin_write().await.unwrap();
            sqlx::query("UPDATE resellers SET kind = 'wallet', wallet_since = $1, wallet_price_per_gb = 780 WHERE id = $2")
                .bind(at(0).timestamp())
                .bind(r)
                .execute(&mut *tx)
                .await
                .unwrap();
            wallet::post_entry(
                &mut tx,
                r,
                LedgerKind::OpeningBalance,
                2_000,
                "open",
                None,
                None,
                None,
            )
            .await
            .unwrap();
            wallet::start_wallet(&mut tx, r, at(0)).await.unwrap();
            tx.commit().await.unwrap();
        }
        let mut pending = [0i64; 3];
        let mut hour = 0u32;
        let mut billed_total = start_total;
        let mut last_billed_hour = 0u32;
        for s in steps {
            let observe = |i: usize, v: i64| {
                let db = env.ctx.db.clone();
                let c = cs[i];
                async move {
                    engine::observe::record(&db, c, v, None, at(hour).timestamp())
                        .await
                        .unwrap()
                }
            };
            match s {
                Step::Traffic(i, b) => pending[i] += b,
                Step::Sync => {
                    for i in 0..3 {
                        let o = counter[i] + pending[i];
                        lifetime[i] += o - counter[i];
                        counter[i] = o;
                        pending[i] = 0;
                        observe(i, o).await;
                    }
                }
                Step::Reset(i, rest) => {
                    // Bytes since the last reading are counted before the reset (as the worker does).
                    let before = counter[i] + pending[i];
                    lifetime[i] += before - counter[i];
                    observe(i, before).await;
                    let after = rest.min(before.saturating_sub(1)).max(0);
                    if after < before {
                        lifetime[i] += after;
                    }
                    counter[i] = after;
                    pending[i] = 0;
                    observe(i, after).await;
                }
                Step::Bill(advance) => {
                    hour += advance;
                    let rep = billing::bill_hour(&ctx, at(hour)).await.unwrap();
                    // A new hour snapshots the total; the same hour again changes nothing.
                    if hour > last_billed_hour {
                        billed_total = lifetime.iter().sum();
                        last_billed_hour = hour;
                    }
                    prop_assert!(rep.total_cost >= 0);
                }
                Step::TopUp(amount) => {
                    let t = submit_topup(&ctx, &dir, r, amount).await;
                    topups::approve(&ctx, t, &admin(), &Origin::default())
                        .await
                        .unwrap();
                }
            }
            let bal = balance(env, r).await;
            prop_assert_eq!(bal, ledger_sum(env, r).await, "balance = Σ ledger");
            let billed: i64 = env.scalar(
                "SELECT COALESCE(CAST(SUM(delta_bytes) AS BIGINT), 0) FROM usage_snapshots WHERE reseller_id = $1",
                r,
            )
            .await;
            prop_assert_eq!(
                billed,
                billed_total - start_total,
                "Σ billed = lifetime growth"
            );
            let lifetime_db = env.scalar(
                "SELECT COALESCE(CAST(SUM(lifetime_usage_bytes) AS BIGINT), 0) FROM configs WHERE reseller_id = $1",
                r,
            )
            .await;
            prop_assert_eq!(lifetime_db, lifetime.iter().sum::<i64>());
            let cost: i64 = env.scalar(
                "SELECT COALESCE(CAST(SUM(cost) AS BIGINT), 0) FROM usage_snapshots WHERE reseller_id = $1",
                r,
            )
            .await;
            let charged: i64 = env.scalar(
                "SELECT COALESCE(CAST(SUM(-amount) AS BIGINT), 0) FROM wallet_ledger WHERE reseller_id = $1 AND kind = 'usage_charge'",
                r,
            )
            .await;
            prop_assert_eq!(cost, charged, "every snapshot's cost is on the ledger once");
            // Billing suspends at or below −1,000 and a credit above it reactivates.
            let suspended = status(env, r).await == "suspended_wallet";
            prop_assert_eq!(suspended, bal <= -1_000, "status follows the balance");
        }
        let _ = std::fs::remove_dir_all(dir);
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]
        #[test]
        fn ledger_and_billed_bytes_stay_exact(steps in proptest::collection::vec(step(), 1..30)) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(run(steps))?;
        }
    }
}

/// The demo bills simulated hours ahead of the wall clock: the disables that billing causes are
/// still due now, so the worker (on the real clock) sends them at once, not hours later.
#[tokio::test]
async fn an_hour_billed_ahead_of_the_clock_schedules_its_disables_now() {
    let env = env_with(settings()).await;
    let ctx = env.ctx.clone();
    let panel = env.dummy_panel().await;
    let now = Utc::now();
    let r = env
        .wallet_reseller(panel, Wallet::at(1_000, Some(5_000), now))
        .await;
    let c = config(&env, r, panel, "ahead_a").await;
    engine::observe::record(
        &env.ctx.db,
        c,
        GIB,
        Some(RemoteState::Active),
        now.timestamp(),
    )
    .await
    .unwrap();
    let simulated_hour = now + chrono::Duration::hours(12);
    let report = billing::run_once_at(&ctx, simulated_hour, now)
        .await
        .unwrap();
    assert_eq!(report.resellers_suspended, 1);
    let mut conn = env.ctx.db.acquire().await.unwrap();
    let next: i64 = sqlx::query_scalar(
        "SELECT MAX(next_attempt_at) FROM operations WHERE config_id = $1 AND kind = 'disable'",
    )
    .bind(c)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    assert!(
        next <= Utc::now().timestamp(),
        "the disable is due now, not at the simulated hour ({next} vs {})",
        now.timestamp()
    );
    env.close().await;
}
