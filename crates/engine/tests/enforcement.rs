//! Enforcement of traffic resellers (spec §8) against the panel simulator: suspension past quota
//! plus grace, recovery after an admin change, hand-disabled configs left alone, the grace band,
//! and the window ending at 00:00 Asia/Tehran.

mod support;

use domain::status::{ConfigStatus, DisabledReason, ResellerStatus, SuspendedBy};
use panel_sim::SimKind;
use support::*;

async fn set_status_by_hand(env: &Env, config_id: i64, panel_id: i64) {
    let now = chrono::Utc::now().timestamp();
    let mut tx = env.ctx.db.begin_write().await.unwrap();
    let manual = Some(DisabledReason::Manual);
    db::configs::set_status(&mut tx, config_id, ConfigStatus::Disabled, manual)
        .await
        .unwrap();
    let disable = engine::ops::OpKind::Disable;
    engine::ops::enqueue_for(&mut tx, panel_id, config_id, disable, now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    env.retry_pending().await;
}

async fn enforce(env: &Env, r: i64, now: chrono::DateTime<chrono::Utc>) {
    engine::enforcement::enforce_reseller(&env.ctx, r, now, &Default::default())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crossing_quota_plus_grace_suspends_and_adding_traffic_recovers_only_system_disabled() {
    let Scene {
        env,
        panel,
        sim,
        reseller: r,
        configs: [a, b, c],
    } = given(SimKind::Marzban)
        .quota(GIB)
        .configs(["q_a", "q_b", "q_c"])
        .start()
        .await;
    set_status_by_hand(&env, c, panel).await;
    assert!(!sim.user("q_c").unwrap().enabled);

    // Inside the grace band (quota ≤ used < quota + 50 MiB): nothing happens, sync after sync.
    sim.add_traffic("q_a", GIB + 49 * MIB);
    sim.add_traffic("q_b", MIB - 1);
    for _ in 0..3 {
        env.sync().await;
        assert_eq!(env.reseller_row(r).await.status, ResellerStatus::Active);
    }
    assert_eq!(env.audit_count("reseller_suspended").await, 0);

    // One more byte reaches quota + grace.
    sim.add_traffic("q_b", 1);
    env.sync().await;
    let row = env.reseller_row(r).await;
    assert_eq!(
        (row.status.as_str(), row.suspended_by.map(|s| s.as_str())),
        ("suspended", Some("system"))
    );
    for id in [a, b] {
        let cfg = env.get(id).await;
        assert_eq!(
            (cfg.status.as_str(), cfg.disabled_reason.map(|r| r.as_str())),
            ("disabled", Some("reseller_quota"))
        );
    }
    assert_eq!(
        env.get(c).await.disabled_reason.map(|r| r.as_str()),
        Some("manual")
    );
    env.retry_pending().await;
    assert!(!sim.user("q_a").unwrap().enabled, "disabled on the panel");
    assert!(!sim.user("q_b").unwrap().enabled);
    assert_eq!(env.audit_count("reseller_suspended").await, 1);
    assert_eq!(env.audit_count("config_auto_disabled").await, 2);

    // Later syncs leave it suspended without new audit rows (no flapping).
    env.sync().await;
    env.sync().await;
    assert_eq!(env.audit_count("reseller_suspended").await, 1);
    assert_eq!(env.audit_count("reseller_reactivated").await, 0);

    // The admin adds 1 GiB of traffic; enforcement runs at once.
    let mut conn = env.conn().await;
    db::resellers::update_columns(&mut conn, r, &[("traffic_quota_bytes", Some(2 * GIB))], &[])
        .await
        .unwrap();
    drop(conn);
    enforce(&env, r, chrono::Utc::now()).await;
    let row = env.reseller_row(r).await;
    assert_eq!((row.status.as_str(), row.suspended_by), ("active", None));
    assert_eq!(env.get(a).await.status, ConfigStatus::Active);
    assert_eq!(env.get(b).await.status, ConfigStatus::Active);
    let hand = env.get(c).await;
    assert_eq!(
        (
            hand.status.as_str(),
            hand.disabled_reason.map(|r| r.as_str())
        ),
        ("disabled", Some("manual"))
    );
    env.retry_pending().await;
    assert!(sim.user("q_a").unwrap().enabled);
    assert!(sim.user("q_b").unwrap().enabled);
    assert!(
        !sim.user("q_c").unwrap().enabled,
        "hand-disabled stays disabled"
    );
    assert_eq!(env.audit_count("config_auto_enabled").await, 2);
    let mut conn = env.conn().await;
    let kinds: Vec<String> = db::configs::events(&mut conn, a)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind.to_string())
        .collect();
    assert!(kinds.contains(&"auto_disabled".to_string()));
    assert!(kinds.contains(&"auto_enabled".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reseller_suspended_by_an_admin_is_never_reactivated_by_the_system() {
    let Scene {
        env, reseller: r, ..
    } = given(SimKind::Marzban).quota(GIB).start().await;
    let mut conn = env.conn().await;
    db::resellers::set_status(
        &mut conn,
        r,
        ResellerStatus::Suspended,
        Some(SuspendedBy::Admin),
    )
    .await
    .unwrap();
    drop(conn);
    enforce(&env, r, chrono::Utc::now()).await;
    env.sync().await;
    let row = env.reseller_row(r).await;
    assert_eq!(
        (row.status.as_str(), row.suspended_by.map(|s| s.as_str())),
        ("suspended", Some("admin"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_ends_at_midnight_tehran() {
    // 2026-03-10 00:00 Asia/Tehran = 2026-03-09 20:30 UTC.
    let end =
        domain::tehran::start_of_tehran_day(chrono::NaiveDate::from_ymd_opt(2026, 3, 10).unwrap());
    assert_eq!(end.to_rfc3339(), "2026-03-09T20:30:00+00:00");
    let Scene {
        env,
        sim,
        reseller: r,
        configs: [a],
        ..
    } = given(SimKind::Eylandoo)
        .quota(10 * GIB)
        .window_ends_at(end.timestamp())
        .configs(["w_a"])
        .start()
        .await;
    enforce(&env, r, end - chrono::Duration::seconds(1)).await;
    assert_eq!(env.reseller_row(r).await.status, ResellerStatus::Active);
    enforce(&env, r, end).await;
    assert_eq!(env.reseller_row(r).await.status, ResellerStatus::Suspended);
    assert_eq!(
        env.get(a).await.disabled_reason.map(|r| r.as_str()),
        Some("reseller_window")
    );
    env.retry_pending().await;
    assert!(!sim.user("w_a").unwrap().enabled);
    // The admin extends the window by a day: back at once, until the next midnight.
    let mut conn = env.conn().await;
    let new_end = end + chrono::Duration::days(1);
    db::resellers::update_columns(
        &mut conn,
        r,
        &[("window_ends_at", Some(new_end.timestamp()))],
        &[],
    )
    .await
    .unwrap();
    drop(conn);
    enforce(&env, r, end + chrono::Duration::hours(1)).await;
    assert_eq!(env.reseller_row(r).await.status, ResellerStatus::Active);
    assert_eq!(env.get(a).await.status, ConfigStatus::Active);
    enforce(&env, r, new_end).await;
    assert_eq!(env.reseller_row(r).await.status, ResellerStatus::Suspended);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grace_settings_change_the_boundary() {
    let Scene {
        env,
        sim,
        reseller: r,
        ..
    } = given(SimKind::Marzban)
        .quota(10 * GIB)
        .configs(["g_a"])
        .start()
        .await;
    // 10 % of 10 GiB = 1 GiB of grace instead of the default 2 % (204.8 MiB).
    let mut conn = env.conn().await;
    db::settings::set(&mut conn, env.ctx.db.backend(), "grace_percent", "10")
        .await
        .unwrap();
    drop(conn);
    sim.add_traffic("g_a", 10 * GIB + 500 * MIB);
    env.sync().await;
    assert_eq!(env.reseller_row(r).await.status, ResellerStatus::Active);
    let mut conn = env.conn().await;
    db::settings::set(&mut conn, env.ctx.db.backend(), "grace_percent", "2")
        .await
        .unwrap();
    drop(conn);
    env.sync().await;
    assert_eq!(env.reseller_row(r).await.status, ResellerStatus::Suspended);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reseller_wide_reset_brings_a_quota_suspended_reseller_back() {
    let Scene {
        env,
        reseller: r,
        configs: [a],
        ..
    } = given(SimKind::Marzban)
        .quota(GIB)
        .configs(["rr_a"])
        .traffic("rr_a", 2 * GIB)
        .start()
        .await;
    env.sync().await;
    assert_eq!(env.reseller_row(r).await.status, ResellerStatus::Suspended);
    env.retry_pending().await;
    let job = engine::reset::start_reseller_reset(&env.ctx, r, &admin(), &Default::default())
        .await
        .unwrap();
    // A second runner of the same job (as after a restart) must not run it twice.
    engine::reset::run_reseller_reset(&env.ctx, job)
        .await
        .unwrap();
    env.wait_job(job, 100).await;
    assert_eq!(env.reseller_row(r).await.status, ResellerStatus::Active);
    assert_eq!(env.get(a).await.status, ConfigStatus::Active);
    assert_eq!(env.audit_count("reseller_usage_reset").await, 1);
    env.sync().await;
    assert_eq!(env.reseller_row(r).await.status, ResellerStatus::Active);
    assert_eq!(env.get(a).await.lifetime_usage_bytes, 2 * GIB);
}
