//! Marzban simulator over real sockets: auth, the missing-inbounds trap, status-only PUTs,
//! counters across resets, listing and the subscription link.

mod common;

use std::time::Duration;

use common::{json, signed_in, sim_reviewing_every, sim_with_users, Api};
use panel_sim::{spawn_with, SimConfig, SimKind, SimOp};
use serde_json::{json, Value};

/// The stored status of `name`, as `GET /api/user/{name}` reports it.
async fn status(api: &Api, name: &str) -> String {
    let (_, v) = api.get(&format!("/api/user/{name}")).await;
    v["status"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn create_without_inbounds_joins_no_inbound() {
    let (sim, api) = signed_in(SimKind::Marzban).await;

    let (st, v) = api
        .post_json(
            "/api/user",
            json!({"username": "trap_user", "proxies": {"vless": {}}, "data_limit": 0, "expire": 0}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["inbounds"], json!({}));
    assert_eq!(v["links"], json!([]));
    assert_eq!(
        v["excluded_inbounds"]["vless"],
        json!(["VLESS TCP", "VLESS WS"])
    );
    assert!(v["proxies"]["vless"]["id"].as_str().unwrap().len() == 36);
    assert!(v["data_limit"].is_null() && v["expire"].is_null());
    assert!(sim.user("trap_user").unwrap().inbound_tags.is_empty());

    let (st, v) = api
        .post_json(
            "/api/user",
            json!({"username": "good_user", "proxies": {"vless": {}, "vmess": {}},
                   "inbounds": {"vless": ["VLESS TCP"], "vmess": ["VMess WS"]},
                   "data_limit": 1000, "expire": 1_801_440_000}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["inbounds"]["vless"], json!(["VLESS TCP"]));
    assert_eq!(v["links"].as_array().unwrap().len(), 2);
    assert_eq!(v["status"], "active");
    let u = sim.user("good_user").unwrap();
    assert_eq!(u.inbound_tags, vec!["VLESS TCP", "VMess WS"]);
    assert_eq!(u.limit_bytes, Some(1000));
    assert_eq!(u.expires_at.unwrap().timestamp(), 1_801_440_000);

    // Available inbounds for building `inbounds` explicitly.
    let (_, v) = api.get("/api/inbounds").await;
    assert_eq!(v["vmess"][0]["tag"], "VMess WS");
}

#[tokio::test]
async fn validation_conflict_and_not_found() {
    let (_sim, api) = signed_in(SimKind::Marzban).await;
    let create = |body: Value| api.post_json("/api/user", body);

    let (st, v) = create(json!({"username": "no_proxies", "proxies": {}})).await;
    assert_eq!(st, 422);
    assert!(
        v["detail"]["proxies"]
            .as_str()
            .unwrap()
            .contains("at least one proxy"),
        "{v}"
    );

    let (st, v) = create(json!({"username": "ss_user", "proxies": {"shadowsocks": {}}})).await;
    assert_eq!(st, 400);
    assert_eq!(
        v["detail"],
        "Protocol ProxyTypes.Shadowsocks is disabled on your server"
    );

    let (st, _) = create(json!({"username": "dup", "proxies": {"vless": {}}})).await;
    assert_eq!(st, 200);
    let (st, v) = create(json!({"username": "dup", "proxies": {"vless": {}}})).await;
    assert_eq!((st, v), (409, json!({"detail": "User already exists"})));

    let (st, v) = api.get("/api/user/ghost").await;
    assert_eq!((st, v), (404, json!({"detail": "User not found"})));
}

#[tokio::test]
async fn tokens_expire_by_ttl_and_on_demand() {
    let mut cfg = SimConfig::new(SimKind::Marzban);
    cfg.token_ttl = Duration::from_millis(300);
    let sim = spawn_with(cfg).await.unwrap();

    let (st, v) = Api::signed_out(&sim).get("/api/users").await;
    assert_eq!((st, v), (401, json!({"detail": "Not authenticated"})));

    let (st, v) = json(
        common::http()
            .post(format!("{}/api/admin/token", sim.base_url()))
            .form(&[("username", "admin"), ("password", "wrong")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (st, v),
        (401, json!({"detail": "Incorrect username or password"}))
    );

    let api = Api::signed_in(&sim).await;
    assert_eq!(api.get("/api/users").await.0, 200);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (st, v) = api.get("/api/users").await;
    assert_eq!(
        (st, v),
        (401, json!({"detail": "Could not validate credentials"}))
    );

    let api = Api::signed_in(&sim).await;
    assert_eq!(api.get("/api/users").await.0, 200);
    sim.expire_tokens();
    assert_eq!(api.get("/api/users").await.0, 401);
    assert_eq!(sim.requests(SimOp::Auth), 3);
}

#[tokio::test]
async fn status_only_put_is_enable_or_disable_and_limits_are_update() {
    let sim = sim_with_users(SimKind::Marzban, "u", 1, 0).await;
    let api = Api::signed_in(&sim).await;
    let put = |body: Value| api.put("/api/user/u0", body);

    let (_, v) = put(json!({"status": "disabled"})).await;
    assert_eq!(v["status"], "disabled");
    assert!(!sim.user("u0").unwrap().enabled);
    let (_, v) = put(json!({"status": "active"})).await;
    assert_eq!(v["status"], "active");
    let (_, v) = put(json!({"data_limit": 5000, "expire": 1_900_000_000})).await;
    assert_eq!(
        (v["data_limit"].as_i64(), v["expire"].as_i64()),
        (Some(5000), Some(1_900_000_000))
    );
    let (_, v) = put(json!({"data_limit": 0, "expire": 0})).await;
    assert!(v["data_limit"].is_null() && v["expire"].is_null());
    let (st, v) = put(json!({"status": "limited"})).await;
    assert_eq!(st, 422, "{v}");

    assert_eq!(sim.requests(SimOp::Disable), 1);
    assert_eq!(sim.requests(SimOp::Enable), 1);
    assert_eq!(sim.requests(SimOp::Update), 3);
}

#[tokio::test]
async fn counters_limits_and_reset() {
    let (sim, api) = signed_in(SimKind::Marzban).await;
    api.post_json(
        "/api/user",
        json!({"username": "user_1", "proxies": {"vless": {}}, "inbounds": {"vless": ["VLESS TCP"]}, "data_limit": 1000}),
    )
    .await;
    assert!(sim.add_traffic("user_1", 1500));
    assert!(!sim.add_traffic("nobody", 1));
    // Over the limit, but `limited` only once the review job has run.
    let (_, v) = api.get("/api/user/user_1").await;
    assert_eq!(v["status"], "active");
    assert_eq!(v["used_traffic"], 1500);
    assert!(sim.run_review());
    let (_, v) = api.get("/api/user/user_1").await;
    assert_eq!(v["status"], "limited");

    let (_, v) = api.post("/api/user/user_1/reset").await;
    assert_eq!(v["status"], "active");
    assert_eq!(v["used_traffic"], 0);
    assert_eq!(v["lifetime_used_traffic"], 1500);
    sim.add_traffic("user_1", 10);
    let u = sim.user("user_1").unwrap();
    assert_eq!((u.used_bytes, u.lifetime_bytes), (10, 1510));
    assert_eq!(sim.traffic_counted("user_1"), 1510);

    let (st, v) = api.delete("/api/user/user_1").await;
    assert_eq!(
        (st, v),
        (200, json!({"detail": "User successfully deleted"}))
    );
    assert!(sim.user("user_1").is_none());
}

#[tokio::test]
async fn list_pages_and_subscription() {
    let sim = sim_with_users(SimKind::Marzban, "p", 25, 7).await;
    let api = Api::signed_in(&sim).await;
    let (_, v) = api.get("/api/users?offset=20&limit=10").await;
    assert_eq!(v["total"], 25);
    let users = v["users"].as_array().unwrap();
    assert_eq!(users.len(), 5);
    assert_eq!(users[0]["username"], "p20");
    assert_eq!(users[0]["used_traffic"], 7);

    let (_, v) = api.get("/api/users?username=p3&username=p4").await;
    assert_eq!(v["total"], 2);

    let (_, v) = api.get("/api/user/p1").await;
    let sub = v["subscription_url"].as_str().unwrap();
    assert!(sub.starts_with(&format!("{}/sub/", api.base)), "{sub}");
    let r = api.c.get(sub).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let info = r.headers()["subscription-userinfo"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(info.contains("download=7"), "{info}");
    assert_eq!(sim.requests(SimOp::Subscription), 1);

    let (_, v) = api.get("/api/system").await;
    assert_eq!(v["version"], "0.8.4");
    sim.set_version("0.8.5");
    let (_, v) = api.get("/api/system").await;
    assert_eq!(v["version"], "0.8.5");
}

/// spec/panels.md §9: v0.8.4's reset puts every status but `expired` back to `active`.
#[tokio::test]
async fn reset_brings_disabled_limited_and_on_hold_users_back_active() {
    let (sim, api) = signed_in(SimKind::Marzban).await;
    let create = |body: Value| api.post_json("/api/user", body);
    let vless = json!({"vless": {}});
    for name in ["r_dis", "r_lim", "r_exp"] {
        let (st, _) =
            create(json!({"username": name, "proxies": vless, "inbounds": {}, "data_limit": 100}))
                .await;
        assert_eq!(st, 200);
    }
    let (st, v) = create(
        json!({"username": "r_hold", "proxies": vless, "inbounds": {},
                                "status": "on_hold", "on_hold_expire_duration": 86400}),
    )
    .await;
    assert_eq!((st, v["status"].as_str()), (200, Some("on_hold")));
    // Disabling twice is 200 both times.
    for _ in 0..2 {
        let (st, v) = api
            .put("/api/user/r_dis", json!({"status": "disabled"}))
            .await;
        assert_eq!((st, v["status"].as_str()), (200, Some("disabled")));
    }
    sim.add_traffic("r_lim", 150);
    api.put("/api/user/r_exp", json!({"expire": 1_000_000_000}))
        .await;
    sim.run_review();
    assert_eq!(status(&api, "r_lim").await, "limited");
    assert_eq!(status(&api, "r_exp").await, "expired");
    for (name, after) in [
        ("r_dis", "active"),
        ("r_lim", "active"),
        ("r_hold", "active"),
        ("r_exp", "expired"),
    ] {
        let (st, v) = api.post(&format!("/api/user/{name}/reset")).await;
        assert_eq!((st, v["status"].as_str()), (200, Some(after)), "{name}");
    }
    assert!(
        sim.user("r_dis").unwrap().enabled,
        "the reset re-enabled it"
    );
    // The former on-hold user lost its pending start: active and never expiring.
    assert_eq!(sim.user("r_hold").unwrap().expires_at, None);
    sim.run_review();
    assert_eq!(status(&api, "r_hold").await, "active");
}

/// `limited` comes from the review job every `review_interval`; a new limit moves it at once.
#[tokio::test]
async fn limited_is_set_late_by_the_review_job_and_a_new_limit_lifts_it_at_once() {
    let sim = sim_reviewing_every(SimKind::Marzban, Duration::from_millis(300)).await;
    let api = Api::signed_in(&sim).await;
    api.post_json(
        "/api/user",
        json!({"username": "late", "proxies": {"vless": {}}, "inbounds": {}, "data_limit": 100}),
    )
    .await;
    sim.add_traffic("late", 100);
    assert_eq!(status(&api, "late").await, "active");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(status(&api, "late").await, "limited");
    // Enabling an over-limit user is accepted; it reads active until the next review.
    let put = |body: Value| api.put("/api/user/late", body);
    let (_, v) = put(json!({"status": "active"})).await;
    assert_eq!(v["status"], "active");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(status(&api, "late").await, "limited");
    let (_, v) = put(json!({"data_limit": 1000})).await;
    assert_eq!(
        v["status"], "active",
        "a higher limit lifts it in the same request"
    );
    let (_, v) = put(json!({"data_limit": 50})).await;
    assert_eq!(v["status"], "limited", "and a lower one sets it");
}

#[tokio::test]
async fn list_limit_zero_or_negative_is_everything_and_past_the_end_keeps_the_total() {
    let sim = sim_with_users(SimKind::Marzban, "lz", 3, 0).await;
    let api = Api::signed_in(&sim).await;
    for (q, n) in [("limit=0", 3), ("limit=-1", 3), ("offset=10&limit=5", 0)] {
        let (_, v) = api.get(&format!("/api/users?{q}")).await;
        assert_eq!(v["users"].as_array().unwrap().len(), n, "{q}");
        assert_eq!(v["total"], 3, "{q}");
    }
}
