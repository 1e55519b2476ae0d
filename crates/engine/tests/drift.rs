//! The desired state held on the panel (spec §13), against the simulated panels: what an
//! operator changes on the panel behind our back is put right (or reported) by the next sync.

mod support;

use domain::status::{ConfigEventKind, ConfigStatus};
use panel_sim::{Fault, SimKind, SimOp};
use support::*;

/// The kinds whose listing reports the admin switch, limit and expiry exactly.
const KINDS: [SimKind; 2] = [SimKind::Marzban, SimKind::Marzneshin];

async fn panel_user(env: &Env, panel: i64, username: &str) -> Option<panels::RemoteUser> {
    let handle = env.ctx.registry.handle(panel).await.unwrap();
    handle.client.get_user(username).await.unwrap()
}

async fn events(env: &Env, id: i64, kind: ConfigEventKind) -> Vec<serde_json::Value> {
    let mut conn = env.conn().await;
    db::configs::events(&mut conn, id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == kind)
        .map(|e| serde_json::from_str(&e.meta).unwrap())
        .collect()
}

/// The system's audit rows of `action` about one config.
async fn system_audits(env: &Env, action: &str, config: i64) -> i64 {
    let mut conn = env.conn().await;
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_logs WHERE action = $1 AND target_id = $2 AND actor_type = 'system'",
    )
    .bind(action)
    .bind(config)
    .fetch_one(&mut *conn)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_enabled_by_hand_while_ours_is_disabled_is_disabled_again_by_the_next_sync() {
    for kind in KINDS {
        let Scene {
            env,
            panel,
            sim,
            configs: [a],
            ..
        } = given(kind).configs(["hand_on"]).start().await;
        env.disable(a).await;
        assert!(!panel_user(&env, panel, "hand_on").await.unwrap().enabled);
        sim.panel_side_set_enabled("hand_on", true);

        let report = env.sync().await;
        assert_eq!(report.drift.corrected, 1, "{kind:?}: {report:?}");
        env.retry_pending().await;
        let u = panel_user(&env, panel, "hand_on").await.unwrap();
        assert!(
            !u.enabled,
            "{kind:?}: disabled again on the panel: {:?}",
            u.state
        );
        let found = events(&env, a, ConfigEventKind::DriftCorrected).await;
        assert_eq!(found.len(), 1, "{kind:?}: {found:?}");
        assert_eq!(found[0]["drift"], "enabled_on_panel");
        assert_eq!(found[0]["action"], "corrected");
        assert_eq!(
            system_audits(&env, "config_drift_corrected", a).await,
            1,
            "{kind:?}"
        );
        // In line now: the next sync finds nothing.
        assert_eq!(env.sync().await.drift, Default::default(), "{kind:?}");
        assert_eq!(env.get(a).await.status, ConfigStatus::Disabled);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_disabled_by_hand_while_ours_is_active_is_enabled_again() {
    for kind in KINDS {
        let Scene {
            env,
            panel,
            sim,
            configs: [a],
            ..
        } = given(kind).configs(["hand_off"]).start().await;
        sim.panel_side_set_enabled("hand_off", false);
        assert_eq!(env.sync().await.drift.corrected, 1, "{kind:?}");
        env.retry_pending().await;
        assert!(panel_user(&env, panel, "hand_off").await.unwrap().enabled);
        let found = events(&env, a, ConfigEventKind::DriftCorrected).await;
        assert_eq!(found[0]["drift"], "disabled_on_panel", "{kind:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limit_and_expiry_changed_on_the_panel_are_restored_by_default() {
    for kind in KINDS {
        let Scene {
            env,
            panel,
            sim,
            configs: [a],
            ..
        } = given(kind).configs(["hand_lim"]).start().await;
        let ours = env.get(a).await;
        let later = chrono::Utc::now() + chrono::Duration::days(400);
        sim.panel_side_set_limits("hand_lim", Some(500 * GIB), Some(later));

        let report = env.sync().await;
        assert_eq!(report.drift.corrected, 2, "{kind:?}: limit and expiry");
        env.retry_pending().await;
        let u = panel_user(&env, panel, "hand_lim").await.unwrap();
        assert_eq!(u.limit_bytes, Some(ours.traffic_limit_bytes), "{kind:?}");
        assert_eq!(
            u.expires_at.map(|t| t.timestamp()),
            ours.expires_at,
            "{kind:?}"
        );
        let mut kinds: Vec<_> = events(&env, a, ConfigEventKind::DriftCorrected)
            .await
            .into_iter()
            .map(|m| m["drift"].as_str().unwrap().to_string())
            .collect();
        kinds.sort();
        assert_eq!(kinds, ["expiry_changed", "limit_changed"], "{kind:?}");
        assert_eq!(env.sync().await.drift, Default::default(), "{kind:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_report_only_a_changed_limit_is_reported_once_and_left_as_it_is() {
    let Scene {
        env,
        panel,
        sim,
        configs: [a],
        ..
    } = given(SimKind::Marzban).configs(["rep_lim"]).start().await;
    engine::drift::set_restores_limits(&env.ctx, &admin(), &Default::default(), false)
        .await
        .unwrap();
    sim.panel_side_set_limits("rep_lim", Some(7 * GIB), None);
    let first = env.sync().await;
    assert_eq!((first.drift.corrected, first.drift.reported), (0, 1));
    env.sync().await;
    env.retry_pending().await;
    assert_eq!(
        panel_user(&env, panel, "rep_lim")
            .await
            .unwrap()
            .limit_bytes,
        Some(7 * GIB),
        "left as the panel has it"
    );
    assert_eq!(
        events(&env, a, ConfigEventKind::DriftReported).await.len(),
        1
    );
    assert_eq!(system_audits(&env, "config_drift_reported", a).await, 1);
    let c = env.get(a).await;
    let shown: serde_json::Value =
        serde_json::from_str(c.panel_drift.as_deref().expect("shown as reported")).unwrap();
    assert_eq!(shown["limit_changed"]["on_panel"], 7 * GIB);
    // The panel put back in line by hand: nothing reported any more.
    sim.panel_side_set_limits("rep_lim", Some(100 * GIB), None);
    env.sync().await;
    assert_eq!(env.get(a).await.panel_drift, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_deleted_by_hand_shows_missing_and_is_recreated_only_when_the_admin_asks() {
    for kind in KINDS {
        let Scene {
            env,
            panel,
            sim,
            configs: [a],
            ..
        } = given(kind).configs(["hand_del"]).start().await;
        sim.add_traffic("hand_del", 40 * MIB);
        env.sync().await;
        assert!(sim.panel_side_delete("hand_del"));

        let report = env.sync().await;
        assert_eq!(report.drift.missing, 1, "{kind:?}");
        env.retry_pending().await;
        env.sync().await;
        env.retry_pending().await;
        assert!(
            panel_user(&env, panel, "hand_del").await.is_none(),
            "{kind:?}: not re-created silently"
        );
        let c = env.get(a).await;
        assert!(c.missing_on_panel_at.is_some(), "{kind:?}");
        assert_eq!(c.status, ConfigStatus::Active);
        assert_eq!(c.lifetime_usage_bytes, 40 * MIB, "{kind:?}: still counted");
        assert_eq!(
            events(&env, a, ConfigEventKind::MissingOnPanel).await.len(),
            1
        );
        assert_eq!(system_audits(&env, "config_missing_on_panel", a).await, 1);

        let out = engine::drift::recreate(&env.ctx, &admin(), &Default::default(), a)
            .await
            .unwrap();
        assert_eq!(out, engine::ops::Outcome::Done, "{kind:?}");
        assert!(panel_user(&env, panel, "hand_del").await.is_some());
        assert!(env.get(a).await.missing_on_panel_at.is_none());
        assert_eq!(env.audit_count("config_recreated").await, 1);
        sim.add_traffic("hand_del", 2 * MIB);
        env.sync().await;
        let c = env.get(a).await;
        assert_eq!(
            c.lifetime_usage_bytes,
            42 * MIB,
            "{kind:?}: every byte once"
        );
        assert!(c.missing_on_panel_at.is_none());
        // A config on its panel cannot be re-created.
        assert!(
            engine::drift::recreate(&env.ctx, &admin(), &Default::default(), a)
                .await
                .is_err()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_with_an_operation_in_flight_is_not_taken_for_drift() {
    let Scene {
        env,
        sim,
        configs: [a],
        ..
    } = given(SimKind::Marzban).configs(["inflight"]).start().await;
    // Our disable has not reached the panel yet: the panel still shows it enabled.
    sim.inject(SimOp::Disable, Fault::Http500, None);
    env.disable(a).await;
    let report = env.sync().await;
    assert_eq!(report.drift, Default::default());
    assert!(events(&env, a, ConfigEventKind::DriftCorrected)
        .await
        .is_empty());
    let mut conn = env.conn().await;
    let ops: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM operations WHERE config_id = $1")
        .bind(a)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(
        ops, 2,
        "the create and our disable, nothing queued by the sync"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_panels_own_limited_state_is_not_drift() {
    for kind in KINDS {
        let Scene {
            env,
            sim,
            configs: [a],
            ..
        } = given(kind)
            .quota(1000 * GIB)
            .configs(["used_up"])
            .start()
            .await;
        sim.add_traffic("used_up", 101 * GIB);
        sim.run_review();
        let report = env.sync().await;
        assert_eq!(report.drift, Default::default(), "{kind:?}");
        assert_eq!(
            env.get(a).await.remote_state,
            Some(domain::status::RemoteState::Limited),
            "{kind:?}"
        );
    }
}
