//! Panel-side changes, the traffic ledger and the `/_sim/` control API, plus bulk listing speed
//! with 25,000 users on every kind.

mod common;

use std::time::{Duration, Instant};

use common::{bearer, http, http_with_cookies, json, xui_login};
use panel_sim::{spawn, SimKind, SimOp};
use serde_json::json;

#[tokio::test]
async fn ledger_survives_reset_delete_and_recreate() {
    for kind in SimKind::ALL {
        let sim = spawn(kind).await;
        sim.seed_users("g", 1, 100);
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
    let c = http();
    let ctl = sim.control_url();

    let (_, v) = json(
        c.post(format!("{ctl}/seed"))
            .json(&json!({"prefix": "s", "count": 3, "used_bytes": 10}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["added"], 3);
    let (st, _) = json(
        c.post(format!("{ctl}/traffic"))
            .json(&json!({"username": "s1", "bytes": 5}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 200);
    let (st, _) = json(
        c.post(format!("{ctl}/traffic"))
            .json(&json!({"username": "zz", "bytes": 5}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 404);
    let (_, v) = json(
        c.post(format!("{ctl}/traffic/all"))
            .json(&json!({"bytes": 1}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["users"], 3);
    let (_, v) = json(c.get(format!("{ctl}/users")).send().await.unwrap()).await;
    assert_eq!(v[1]["used_bytes"], 16);
    let (st, _) = json(
        c.post(format!("{ctl}/panel-reset/s1"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(sim.user("s1").unwrap().used_bytes, 0);
    assert_eq!(sim.traffic_counted("s1"), 16);

    let (st, _) = json(
        c.post(format!("{ctl}/faults"))
            .json(&json!({"op": "list", "fault": "http500", "times": 1}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 200);
    let (st, _) = json(
        c.post(format!("{ctl}/faults"))
            .json(&json!({"op": "get", "fault": "slow", "delay_ms": 200}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 200);
    let (st, _) = json(
        c.post(format!("{ctl}/faults"))
            .json(&json!({"op": "nope", "fault": "drop"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 400);

    let tok = bearer(&sim, &c).await;
    let r = c
        .get(format!("{}/api/users", sim.base_url()))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    let started = Instant::now();
    let r = c
        .get(format!("{}/api/user/s0", sim.base_url()))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
    let (_, _) = json(c.delete(format!("{ctl}/faults")).send().await.unwrap()).await;

    let (_, v) = json(c.get(format!("{ctl}/stats")).send().await.unwrap()).await;
    assert_eq!(v["ops"]["list"], 1);
    assert_eq!(v["ops"]["get"], 1);
    assert_eq!(v["total"], 3, "control calls are not counted: {v}");

    json(c.post(format!("{ctl}/expire-tokens")).send().await.unwrap()).await;
    let r = c
        .get(format!("{}/api/users", sim.base_url()))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
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
        let c = http_with_cookies();
        let base = sim.base_url();
        let started = Instant::now();
        let seen = match kind {
            SimKind::Marzban | SimKind::PasarGuard => {
                let tok = bearer(&sim, &c).await;
                let mut seen = 0;
                for offset in (0..N).step_by(1000) {
                    let (_, v) = json(
                        c.get(format!("{base}/api/users?offset={offset}&limit=1000"))
                            .bearer_auth(&tok)
                            .send()
                            .await
                            .unwrap(),
                    )
                    .await;
                    seen += v["users"].as_array().unwrap().len();
                }
                seen
            }
            SimKind::Marzneshin => {
                let tok = bearer(&sim, &c).await;
                let mut seen = 0;
                for page in 1..=N / 100 {
                    let (_, v) = json(
                        c.get(format!("{base}/api/users?page={page}&size=100"))
                            .bearer_auth(&tok)
                            .send()
                            .await
                            .unwrap(),
                    )
                    .await;
                    seen += v["items"].as_array().unwrap().len();
                }
                seen
            }
            SimKind::Xui => {
                xui_login(&sim, &c).await;
                let (_, v) = json(
                    c.get(format!("{base}/panel/api/inbounds/list"))
                        .send()
                        .await
                        .unwrap(),
                )
                .await;
                v["obj"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["clientStats"].as_array().unwrap().len())
                    .sum()
            }
            SimKind::Eylandoo => {
                let (_, v) = json(
                    c.get(format!("{base}/api/v1/users/list_all"))
                        .header("X-API-KEY", sim.api_key())
                        .send()
                        .await
                        .unwrap(),
                )
                .await;
                v["data"]["users"].as_array().unwrap().len()
            }
        };
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
