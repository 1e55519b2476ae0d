//! Usage metering end to end against the panel simulator: sync, per-config and reseller-wide
//! resets (seed 000), panel faults, and the rule that lifetime usage equals the traffic counted.

mod support;

use domain::status::{ConfigEventKind, JobStatus};
use engine::ops::Outcome;
use engine::reset;
use panel_sim::{Fault, SimKind, SimOp};
use support::*;

/// A reseller-wide reset job once it has finished (30 s at the most).
async fn wait_job(env: &Env, job: i64) -> db::jobs::Job {
    env.wait_job(job, 300).await
}

/// The reseller's used traffic as enforcement counts it.
async fn used(env: &Env, reseller: i64) -> i64 {
    let mut conn = env.conn().await;
    let row = env.reseller_row(reseller).await;
    engine::enforcement::quota_figures(&mut conn, &row)
        .await
        .unwrap()
        .used_bytes
}

async fn assert_exact(env: &Env, sim: &panel_sim::Sim, config_id: i64) {
    let c = env.get(config_id).await;
    assert_eq!(
        c.lifetime_usage_bytes,
        sim.traffic_counted(&c.username),
        "lifetime usage of {} must equal the traffic the panel counted",
        c.username
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed000_reseller_reset_zeroes_settles_and_next_sync_does_not_resurrect() {
    let Scene {
        env,
        sim,
        reseller: r,
        configs: [a, b],
        ..
    } = given(SimKind::Marzban)
        .configs(["seed_a", "seed_b"])
        .traffic("seed_a", 3 * GIB)
        .traffic("seed_b", GIB)
        .start()
        .await;
    let rep = env.sync().await;
    assert_eq!(
        (rep.panels_ok, rep.panels_failed, rep.configs_updated),
        (1, 0, 2)
    );
    assert_eq!(env.get(a).await.usage_bytes, 3 * GIB);
    assert_eq!(used(&env, r).await, 4 * GIB);

    let job = reset::start_reseller_reset(&env.ctx, r, &admin(), &Default::default())
        .await
        .unwrap();
    let j = wait_job(&env, job).await;
    assert_eq!(j.status, JobStatus::Done, "job result: {}", j.result);
    assert_eq!((j.done, j.total), (2, 2));
    let counts: reset::ResetCounts = serde_json::from_str(&j.result).unwrap();
    assert_eq!(
        counts,
        reset::ResetCounts {
            configs: 2,
            remote_successes: 2,
            remote_failures: 0,
            bytes_settled: 4 * GIB
        }
    );
    // Zero on the panel and locally; the usage moved to "previous usage".
    assert_eq!(sim.user("seed_a").unwrap().used_bytes, 0);
    let ca = env.get(a).await;
    assert_eq!((ca.usage_bytes, ca.settled_usage_bytes()), (0, 3 * GIB));
    assert_eq!(env.get(b).await.settled_usage_bytes(), GIB);
    assert_eq!(env.audit_count("reseller_usage_reset").await, 1);
    assert_eq!(used(&env, r).await, 0);
    let mut conn = env.conn().await;
    assert_eq!(
        db::configs::events(&mut conn, a)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.kind == ConfigEventKind::UsageReset)
            .count(),
        1
    );
    drop(conn);

    // The next sync does not bring it back.
    env.sync().await;
    assert_eq!(used(&env, r).await, 0);
    assert_eq!(env.get(a).await.usage_bytes, 0);

    // Settled usage accumulates over back-to-back resets.
    sim.add_traffic("seed_a", 2 * GIB);
    assert_eq!(env.reset(a).await, Outcome::Done);
    assert_eq!(env.reset(a).await, Outcome::Done);
    let ca = env.get(a).await;
    assert_eq!((ca.usage_bytes, ca.settled_usage_bytes()), (0, 5 * GIB));
    assert_eq!(env.audit_count("config_usage_reset").await, 2);
    env.sync().await;
    assert_exact(&env, &sim, a).await;
    assert_exact(&env, &sim, b).await;
    assert!(engine::sync::check_aggregates(&env.ctx)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reseller_reset_with_a_failing_panel_reset_still_restarts_quota_and_sync_keeps_it() {
    let Scene {
        env,
        sim,
        reseller: r,
        configs: [a, b],
        ..
    } = given(SimKind::Marzneshin)
        .configs(["fail_a", "fail_b"])
        .traffic("fail_a", GIB)
        .traffic("fail_b", GIB)
        .start()
        .await;
    env.sync().await;
    sim.inject(SimOp::Reset, Fault::Http500, Some(1));
    let job = reset::start_reseller_reset(&env.ctx, r, &admin(), &Default::default())
        .await
        .unwrap();
    let j = wait_job(&env, job).await;
    assert_eq!(j.status, JobStatus::Done, "job result: {}", j.result);
    let counts: reset::ResetCounts = serde_json::from_str(&j.result).unwrap();
    assert_eq!((counts.remote_successes, counts.remote_failures), (1, 1));
    let mut conn = env.conn().await;
    let pending = reset::reset_pending(&mut conn, a).await.unwrap()
        || reset::reset_pending(&mut conn, b).await.unwrap();
    assert!(pending, "the failed reset shows as pending");
    drop(conn);
    // The panel still reports the unreset config's 1 GiB: it must not count against the quota.
    sim.add_traffic("fail_a", MIB);
    env.sync().await;
    assert_eq!(used(&env, r).await, MIB);
    env.retry_pending().await;
    env.sync().await;
    assert_exact(&env, &sim, a).await;
    assert_exact(&env, &sim, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_answering_500_stays_pending_and_counts_exactly() {
    let Scene {
        env,
        sim,
        configs: [a],
        ..
    } = given(SimKind::Marzban)
        .configs(["f500"])
        .traffic("f500", 700 * MIB)
        .start()
        .await;
    sim.inject(SimOp::Reset, Fault::Http500, Some(3));
    assert!(matches!(env.reset(a).await, Outcome::Pending { .. }));
    let mut conn = env.conn().await;
    assert!(reset::reset_pending(&mut conn, a).await.unwrap());
    drop(conn);
    assert_eq!(
        env.get(a).await.usage_bytes,
        700 * MIB,
        "bytes before the reset are counted"
    );
    sim.add_traffic("f500", 10 * MIB);
    env.sync().await;
    assert_exact(&env, &sim, a).await;
    sim.clear_faults();
    env.retry_pending().await;
    let mut conn = env.conn().await;
    assert!(!reset::reset_pending(&mut conn, a).await.unwrap());
    drop(conn);
    assert_eq!(env.get(a).await.usage_bytes, 0);
    env.sync().await;
    assert_exact(&env, &sim, a).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_timing_out_counts_exactly() {
    let Scene {
        env,
        sim,
        configs: [a],
        ..
    } = given(SimKind::Eylandoo)
        .configs(["ftimeout"])
        .traffic("ftimeout", 300 * MIB)
        .start()
        .await;
    sim.inject(SimOp::Reset, Fault::Timeout, Some(1));
    assert!(matches!(env.reset(a).await, Outcome::Pending { .. }));
    sim.add_traffic("ftimeout", 5 * MIB);
    env.sync().await;
    assert_exact(&env, &sim, a).await;
    env.retry_pending().await;
    sim.add_traffic("ftimeout", 7 * MIB);
    env.sync().await;
    assert_exact(&env, &sim, a).await;
    assert_eq!(env.get(a).await.usage_bytes, 7 * MIB);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_that_answers_success_but_changes_nothing_is_not_confirmed() {
    let Scene {
        env,
        sim,
        configs: [a],
        ..
    } = given(SimKind::Xui)
        .configs(["fnoop"])
        .traffic("fnoop", 400 * MIB)
        .start()
        .await;
    sim.inject(SimOp::Reset, Fault::ResetNoop, Some(1));
    assert!(matches!(env.reset(a).await, Outcome::Pending { .. }));
    let c = env.get(a).await;
    assert_eq!(
        (c.usage_bytes, c.lifetime_usage_bytes),
        (400 * MIB, 400 * MIB)
    );
    env.sync().await;
    assert_exact(&env, &sim, a).await;
    env.retry_pending().await;
    assert_eq!(env.get(a).await.usage_bytes, 0);
    sim.add_traffic("fnoop", MIB);
    env.sync().await;
    assert_exact(&env, &sim, a).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_on_the_panel_behind_our_back_is_settled() {
    let Scene {
        env,
        sim,
        configs: [a],
        ..
    } = given(SimKind::Marzban)
        .configs(["behind"])
        .traffic("behind", 100 * MIB)
        .start()
        .await;
    env.sync().await;
    sim.panel_side_reset("behind");
    sim.add_traffic("behind", 30 * MIB);
    env.sync().await;
    let c = env.get(a).await;
    assert_eq!(c.usage_bytes, 30 * MIB);
    assert_eq!(c.settled_usage_bytes(), 100 * MIB);
    assert_exact(&env, &sim, a).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_recreated_with_a_fresh_counter_keeps_lifetime() {
    let Scene {
        env,
        sim,
        configs: [a],
        ..
    } = given(SimKind::Marzneshin)
        .configs(["recreated"])
        .traffic("recreated", 80 * MIB)
        .start()
        .await;
    env.sync().await;
    assert!(sim.panel_side_recreate("recreated"));
    sim.add_traffic("recreated", 20 * MIB);
    env.sync().await;
    assert_eq!(env.get(a).await.usage_bytes, 20 * MIB);
    assert_exact(&env, &sim, a).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_panel_changes_nothing_and_its_health_says_so() {
    let env = env().await;
    let (p1, sim1) = env.panel(SimKind::Marzban).await;
    let (p2, sim2) = env.panel(SimKind::Eylandoo).await;
    let r = env.reseller(p1, 100 * GIB, None).await;
    let a = env.config(r, p1, "down_a").await;
    let b = env.config(r, p2, "down_b").await;
    sim1.add_traffic("down_a", 50 * MIB);
    sim2.add_traffic("down_b", 60 * MIB);
    sim2.seed_users("stranger", 2, 0);
    let rep = env.sync().await;
    assert_eq!((rep.panels_ok, rep.unknown_users), (2, 2));

    // A listing that errors: nothing moves, never a zero reading.
    sim1.add_traffic("down_a", 5 * MIB);
    sim1.inject(SimOp::List, Fault::Http500, None);
    let rep = env.sync().await;
    assert_eq!((rep.panels_ok, rep.panels_failed), (1, 1));
    assert_eq!(env.get(a).await.usage_bytes, 50 * MIB);
    let mut conn = env.conn().await;
    let panel = db::panels::get(&mut conn, p1).await.unwrap().unwrap();
    assert_eq!(panel.consecutive_failures, 1);
    assert!(panel.last_error.is_some());
    let runs = engine::sync::recent_runs_of_every_panel(&mut conn, 5)
        .await
        .unwrap()
        .remove(&p1)
        .unwrap();
    assert!(!runs[0].ok);
    assert!(runs[1].ok);
    assert_eq!(runs[1].configs_updated, 1);
    drop(conn);
    sim1.clear_faults();
    env.sync().await;
    assert_exact(&env, &sim1, a).await;

    // A panel that is down altogether.
    sim2.add_traffic("down_b", 9 * MIB);
    sim2.shutdown();
    let rep = env.sync().await;
    assert_eq!((rep.panels_ok, rep.panels_failed), (1, 1));
    assert_eq!(env.get(b).await.usage_bytes, 60 * MIB);
    assert_eq!(env.get(b).await.lifetime_usage_bytes, 60 * MIB);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_configs_are_reported_and_not_zeroed() {
    let Scene {
        env,
        sim,
        configs: [a],
        ..
    } = given(SimKind::Marzban)
        .configs(["gone"])
        .traffic("gone", 10 * MIB)
        .start()
        .await;
    env.sync().await;
    sim.panel_side_delete("gone");
    let rep = env.sync().await;
    assert_eq!(rep.missing_configs, 1);
    assert_eq!(env.get(a).await.lifetime_usage_bytes, 10 * MIB);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_lease_holder_runs_a_sync() {
    let Scene {
        env,
        sim: _sim,
        configs: [a],
        ..
    } = given(SimKind::Marzban)
        .configs(["leased"])
        .traffic("leased", MIB)
        .start()
        .await;
    // A second instance on the same database holds the sync lease.
    let other = ctx_on(&env.ctx.db, quick_settings());
    let now = chrono::Utc::now();
    let mut conn = env.conn().await;
    assert!(db::leases::try_acquire(
        &mut conn,
        engine::sync::LEASE,
        &other.instance_id,
        now.timestamp(),
        60
    )
    .await
    .unwrap());
    drop(conn);
    let rep = engine::sync::run_once(&env.ctx, now).await.unwrap();
    assert!(rep.skipped_lease_held);
    assert_eq!(env.get(a).await.usage_bytes, 0);
    // The holder lets go; then either instance may.
    let mut conn = env.conn().await;
    db::leases::release(&mut conn, engine::sync::LEASE, &other.instance_id)
        .await
        .unwrap();
    drop(conn);
    let rep = engine::sync::run_once(&other, now).await.unwrap();
    assert!(!rep.skipped_lease_held);
    assert_eq!(rep.configs_updated, 1);
    let rep = engine::sync::run_once(&env.ctx, now).await.unwrap();
    assert!(!rep.skipped_lease_held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_configs_keep_counting() {
    let Scene {
        env,
        sim,
        panel,
        reseller: r,
        configs: [a],
    } = given(SimKind::Marzban)
        .configs(["deleted_one"])
        .traffic("deleted_one", 40 * MIB)
        .start()
        .await;
    // Deleting reads usage one last time.
    let now = chrono::Utc::now().timestamp();
    let mut tx = env.ctx.db.begin_write().await.unwrap();
    db::configs::mark_deleted(&mut tx, a, now).await.unwrap();
    let op = engine::ops::enqueue_for(&mut tx, panel, a, engine::ops::OpKind::Delete, now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        engine::ops::run_now(&env.ctx, op, std::time::Duration::from_secs(5))
            .await
            .unwrap(),
        Outcome::Done
    );
    env.sync().await;
    assert_exact(&env, &sim, a).await;
    assert_eq!(used(&env, r).await, 40 * MIB);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_job_interrupted_by_a_crash_is_resumed_and_finished_once() {
    let Scene {
        env,
        sim,
        panel,
        reseller: r,
        configs: [a, b],
    } = given(SimKind::Marzban)
        .configs(["crash_a", "crash_b"])
        .traffic("crash_a", 20 * MIB)
        .traffic("crash_b", 30 * MIB)
        .start()
        .await;
    env.sync().await;
    // The state a crash leaves: the job running, its Reset operations queued, one of them done.
    let now = chrono::Utc::now().timestamp();
    let mut tx = env.ctx.db.begin_write().await.unwrap();
    let job = db::jobs::create(&mut tx, reset::JOB_KIND, Some(r), Some(1), now)
        .await
        .unwrap();
    db::jobs::progress(
        &mut tx,
        job,
        0,
        &serde_json::json!({"actor": admin(), "settled_before": 0}),
    )
    .await
    .unwrap();
    db::jobs::start(&mut tx, job, 2, now).await.unwrap();
    let mut ops = Vec::new();
    for c in [a, b] {
        ops.push(
            engine::ops::enqueue(
                &mut tx,
                panel,
                c,
                Some(job),
                engine::ops::OpKind::Reset,
                serde_json::json!({}),
                now,
            )
            .await
            .unwrap(),
        );
    }
    tx.commit().await.unwrap();
    assert_eq!(
        engine::ops::run_now(&env.ctx, ops[0], std::time::Duration::from_secs(5))
            .await
            .unwrap(),
        Outcome::Done
    );

    // The restarted process resumes it.
    assert_eq!(reset::resume_jobs(&env.ctx).await.unwrap(), 1);
    let j = wait_job(&env, job).await;
    assert_eq!(j.status, JobStatus::Done);
    let counts: reset::ResetCounts = serde_json::from_str(&j.result).unwrap();
    assert_eq!((counts.configs, counts.remote_successes), (2, 2));
    assert_eq!(counts.bytes_settled, 50 * MIB);
    assert_eq!(env.audit_count("reseller_usage_reset").await, 1);
    let row = env.reseller_row(r).await;
    assert_eq!(row.quota_baseline_bytes, 50 * MIB);
    assert_eq!(sim.user("crash_b").unwrap().used_bytes, 0);
    // No operation was queued twice.
    let n = env
        .scalar("SELECT COUNT(*) FROM operations WHERE job_id = $1", job)
        .await;
    assert_eq!(n, 2);
    assert_exact(&env, &sim, a).await;
    assert_exact(&env, &sim, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_aggregates_reports_a_tampered_counter() {
    let Scene {
        env,
        sim: _sim,
        reseller: r,
        configs: [a],
        ..
    } = given(SimKind::Marzban)
        .configs(["tamper"])
        .traffic("tamper", 10 * MIB)
        .start()
        .await;
    env.sync().await;
    assert!(engine::sync::check_aggregates(&env.ctx)
        .await
        .unwrap()
        .is_empty());
    let mut conn = env.conn().await;
    sqlx::query("UPDATE configs SET lifetime_usage_bytes = 5 WHERE id = $1")
        .bind(a)
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let found = engine::sync::check_aggregates(&env.ctx).await.unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].contains(&format!("config {a}")));
    assert!(found[1].contains(&format!("reseller {r}")));
}

/// What the panel says about a config's user, over its own API.
async fn panel_user(env: &Env, panel: i64, username: &str) -> panels::RemoteUser {
    let handle = env.ctx.registry.handle(panel).await.unwrap();
    handle
        .client
        .get_user(username)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{username} is not on the panel"))
}

/// Marzban's reset turns a disabled user back on (spec/panels.md §9). The reset operation must
/// disable it again before it is done, so a disabled config is never served after its reset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_config_is_disabled_on_the_panel_again_right_after_its_reset() {
    let Scene {
        env,
        sim,
        panel,
        configs: [a],
        ..
    } = given(SimKind::Marzban)
        .configs(["rd_off"])
        .traffic("rd_off", 3 * MIB)
        .start()
        .await;
    env.disable(a).await;
    assert!(!panel_user(&env, panel, "rd_off").await.enabled);

    assert_eq!(env.reset(a).await, Outcome::Done);
    let u = panel_user(&env, panel, "rd_off").await;
    assert_eq!(u.used_bytes, 0, "the reset happened");
    assert!(!u.enabled, "still disabled on the panel: {:?}", u.state);
    assert_eq!(u.state, panels::RemoteState::Disabled);
    let c = env.get(a).await;
    assert_eq!(
        (c.status.as_str(), c.settled_usage_bytes()),
        ("disabled", 3 * MIB)
    );
    assert_exact(&env, &sim, a).await;
    // What was found and done is on the config's history.
    let mut conn = env.conn().await;
    let events = db::configs::events(&mut conn, a).await.unwrap();
    let fixed: Vec<_> = events
        .iter()
        .filter(|e| e.kind == ConfigEventKind::DriftCorrected)
        .collect();
    assert_eq!(fixed.len(), 1, "{events:?}");
    assert_eq!(
        sim.requests(panel_sim::SimOp::Disable),
        2,
        "the disable, then once more"
    );
}

/// The same for a reseller-wide reset of a suspended reseller: every config of it is disabled
/// on the panel when the job is done, and an active one stays active.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_resellers_wide_reset_leaves_every_config_disabled_on_the_panel() {
    let names = ["rw_a", "rw_b", "rw_c"];
    let Scene {
        env,
        panel,
        reseller: r,
        ..
    } = given(SimKind::Marzban)
        .configs(names)
        .traffic("rw_a", MIB)
        .traffic("rw_b", MIB)
        .traffic("rw_c", MIB)
        .start()
        .await;
    engine::resellers::suspend(
        &env.ctx,
        &admin(),
        &Default::default(),
        r,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    env.retry_pending().await;
    for n in names {
        assert!(!panel_user(&env, panel, n).await.enabled, "{n} before");
    }
    let other = env.reseller(panel, 100 * GIB, None).await;
    env.config(other, panel, "rw_live").await;

    let job = reset::start_reseller_reset(&env.ctx, r, &admin(), &Default::default())
        .await
        .unwrap();
    let j = wait_job(&env, job).await;
    assert_eq!(j.status, JobStatus::Done, "job result: {}", j.result);
    for n in names {
        let u = panel_user(&env, panel, n).await;
        assert_eq!((u.used_bytes, u.enabled), (0, false), "{n} after the reset");
    }
    assert!(panel_user(&env, panel, "rw_live").await.enabled);
}
