//! Property: whatever sequence of traffic, resets (ours, failing, no-op, behind our back),
//! re-creations, panel outages and syncs happens, lifetime usage never decreases and, after
//! every successful sync, equals the traffic the simulator counted — not a byte more or less.

mod support;

use panel_sim::{Fault, SimKind, SimOp};
use proptest::prelude::*;
use support::*;

const USERS: [&str; 3] = ["prop_0", "prop_1", "prop_2"];

#[derive(Clone, Debug)]
enum Step {
    Traffic(usize, i64),
    Reset(usize),
    ResetFails(usize),
    ResetNoop(usize),
    PanelReset(usize),
    Recreate(usize),
    ListFails,
    Retry,
}

fn step() -> impl Strategy<Value = Step> {
    let u = 0..USERS.len();
    prop_oneof![
        4 => (u.clone(), 1i64..5_000_000).prop_map(|(i, b)| Step::Traffic(i, b)),
        2 => u.clone().prop_map(Step::Reset),
        1 => u.clone().prop_map(Step::ResetFails),
        1 => u.clone().prop_map(Step::ResetNoop),
        1 => u.clone().prop_map(Step::PanelReset),
        1 => u.prop_map(Step::Recreate),
        1 => Just(Step::ListFails),
        1 => Just(Step::Retry),
    ]
}

async fn run_case(kind: SimKind, steps: Vec<Step>) -> Result<(), TestCaseError> {
    let Scene {
        env,
        sim,
        configs: ids,
        ..
    } = given(kind)
        .settings(engine::EngineSettings {
            wait_for_panel: std::time::Duration::from_secs(2),
            ..quick_settings()
        })
        .quota(1000 * GIB)
        .configs(USERS)
        .start()
        .await;
    let mut last_lifetime = vec![0i64; USERS.len()];
    for (n, s) in steps.into_iter().enumerate() {
        let mut sync_ok = true;
        match s {
            Step::Traffic(i, b) => {
                sim.add_traffic(USERS[i], b);
            }
            Step::Reset(i) => {
                // The worker would have retried earlier failures by now; a reset queued behind
                // a pending one would only wait for it.
                env.retry_pending().await;
                env.reset(ids[i]).await;
            }
            Step::ResetFails(i) => {
                sim.inject(SimOp::Reset, Fault::Http500, Some(1));
                env.reset(ids[i]).await;
                sim.clear_faults();
            }
            Step::ResetNoop(i) => {
                sim.inject(SimOp::Reset, Fault::ResetNoop, Some(1));
                env.reset(ids[i]).await;
                sim.clear_faults();
            }
            Step::PanelReset(i) => {
                sim.panel_side_reset(USERS[i]);
            }
            Step::Recreate(i) => {
                sim.panel_side_recreate(USERS[i]);
            }
            Step::ListFails => {
                sim.inject(SimOp::List, Fault::Http500, Some(1));
                sync_ok = false;
            }
            Step::Retry => env.retry_pending().await,
        }
        let rep = env.sync().await;
        prop_assert_eq!(rep.panels_failed, i64::from(!sync_ok), "step {}", n);
        if !sync_ok {
            env.sync().await;
        }
        for (i, id) in ids.iter().enumerate() {
            let c = env.get(*id).await;
            prop_assert!(
                c.lifetime_usage_bytes >= last_lifetime[i],
                "lifetime decreased at step {}",
                n
            );
            prop_assert!(c.usage_bytes <= c.lifetime_usage_bytes);
            last_lifetime[i] = c.lifetime_usage_bytes;
            prop_assert_eq!(
                c.lifetime_usage_bytes,
                sim.traffic_counted(USERS[i]),
                "{} after step {}",
                USERS[i],
                n
            );
        }
    }
    prop_assert!(engine::sync::check_aggregates(&env.ctx)
        .await
        .unwrap()
        .is_empty());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn lifetime_usage_equals_counted_traffic_after_every_step(
        kind in prop_oneof![Just(SimKind::Marzban), Just(SimKind::Marzneshin), Just(SimKind::Xui), Just(SimKind::Eylandoo)],
        steps in prop::collection::vec(step(), 1..30),
    ) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(run_case(kind, steps))?;
    }
}
