//! Panel-side changes, the traffic ledger and the `/_sim/` control API, plus bulk listing speed
//! with 25,000 users on every kind.

mod common;

use std::time::{Duration, Instant};

use common::{sim_with_users, Api};
use panel_sim::{spawn, SimKind, SimOp};
use serde_json::json;

#[tokio::test]
async fn ledger_survives_reset_delete_and_recreate() {
    for kind in SimKind::ALL {
        let sim = sim_with_users(kind, "g", 1, 100).await;
        let before = sim.user("g0").unwrap();
        assert!(sim.add_traffic("g0", 50));
        assert!(sim.panel_side_reset("g0"));
        assert_eq!(sim.user("g0").unwrap().used_bytes, 0);
        assert_eq!(sim.user("g0").unwrap().lifetime_bytes, 150);
        assert!(sim.add_traffic("g0", 25));
        assert!(sim.panel_side_recreate("g0"));
        let after = sim.user("g0").unwrap();
        assert_eq!((after.used_bytes, after.lifetime_bytes), (0, 0), "{kind}");
        assert_eq!(after.limit_bytes, before.limit_bytes);
        if kind != SimKind::Marzban && kind != SimKind::Eylandoo {
            assert_ne!(after.sub_id, before.sub_id, "{kind}: new secrets");
        }
        assert!(sim.add_traffic("g0", 5));
        assert!(sim.panel_side_delete("g0"));
        assert!(!sim.add_traffic("g0", 5));
        assert!(!sim.panel_side_recreate("g0"));
        assert_eq!(sim.traffic_counted("g0"), 180, "{kind}");
    }
}

#[tokio::test]
async fn control_api() {
    let sim = spawn(SimKind::Marzban).await;
    let ctl = Api::control(&sim);

    let (_, v) = ctl
        .post_json(
            "/seed",
            json!({"prefix": "s", "count": 3, "used_bytes": 10}),
        )
        .await;
    assert_eq!(v["added"], 3);
    let (st, _) = ctl
        .post_json("/traffic", json!({"username": "s1", "bytes": 5}))
        .await;
    assert_eq!(st, 200);
    let (st, _) = ctl
        .post_json("/traffic", json!({"username": "zz", "bytes": 5}))
        .await;
    assert_eq!(st, 404);
    let (_, v) = ctl.post_json("/traffic/all", json!({"bytes": 1})).await;
    assert_eq!(v["users"], 3);
    let (_, v) = ctl.get("/users").await;
    assert_eq!(v[1]["used_bytes"], 16);
    let (st, _) = ctl.post("/panel-reset/s1").await;
    assert_eq!(st, 200);
    assert_eq!(sim.user("s1").unwrap().used_bytes, 0);
    assert_eq!(sim.traffic_counted("s1"), 16);

    for (fault, status) in [
        (json!({"op": "list", "fault": "http500", "times": 1}), 200),
        (json!({"op": "get", "fault": "slow", "delay_ms": 200}), 200),
        (json!({"op": "nope", "fault": "drop"}), 400),
    ] {
        let (st, _) = ctl.post_json("/faults", fault.clone()).await;
        assert_eq!(st, status, "{fault}");
    }

    let api = Api::signed_in(&sim).await;
    assert_eq!(api.get("/api/users").await.0, 500);
    let started = Instant::now();
    assert_eq!(api.get("/api/user/s0").await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
    ctl.delete("/faults").await;

    let (_, v) = ctl.get("/stats").await;
    assert_eq!(v["ops"]["list"], 1);
    assert_eq!(v["ops"]["get"], 1);
    assert_eq!(v["total"], 3, "control calls are not counted: {v}");

    ctl.post("/expire-tokens").await;
    assert_eq!(api.get("/api/users").await.0, 401);
}

/// Pages through 25,000 users the way each adapter does and bounds the wall time, which on
/// loopback is nearly all server time (debug build, so the bound is generous).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_listing_25k_is_fast() {
    const N: usize = 25_000;
    for kind in SimKind::ALL {
        let sim = spawn(kind).await;
        let seeded = Instant::now();
        sim.seed_users("bulk_", N, 1_000);
        assert!(
            seeded.elapsed() < Duration::from_secs(2),
            "{kind}: seeding took {:?}",
            seeded.elapsed()
        );
        let api = Api::signed_in(&sim).await;
        let started = Instant::now();
        // The requests each kind's adapter makes for a full listing, and where the users are.
        let (pages, users): (Vec<String>, &[&str]) = match kind {
            SimKind::Marzban | SimKind::PasarGuard => (
                (0..N)
                    .step_by(1000)
                    .map(|offset| format!("/api/users?offset={offset}&limit=1000"))
                    .collect(),
                &["users"],
            ),
            SimKind::Marzneshin => (
                (1..=N / 100)
                    .map(|page| format!("/api/users?page={page}&size=100"))
                    .collect(),
                &["items"],
            ),
            SimKind::Xui => (vec!["/panel/api/inbounds/list".into()], &["obj"]),
            SimKind::Eylandoo => (vec!["/api/v1/users/list_all".into()], &["data", "users"]),
        };
        let mut seen = 0;
        for page in pages {
            let (_, v) = api.get(&page).await;
            let list = users.iter().fold(&v, |v, key| &v[key]).as_array().unwrap();
            seen += match kind {
                // 3x-ui lists inbounds, each with its clients' traffic rows.
                SimKind::Xui => list
                    .iter()
                    .map(|i| i["clientStats"].as_array().unwrap().len())
                    .sum(),
                _ => list.len(),
            };
        }
        let took = started.elapsed();
        assert_eq!(seen, N, "{kind}");
        eprintln!("{kind}: listed {N} users in {took:?}");
        assert!(
            took < Duration::from_secs(8),
            "{kind}: listing took {took:?}"
        );
        assert!(sim.requests(SimOp::List) >= 1);
    }
}
