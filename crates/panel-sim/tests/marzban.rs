//! Marzban simulator over real sockets: auth, the missing-inbounds trap, status-only PUTs,
//! counters across resets, listing and the subscription link.

mod common;

use std::time::Duration;

use common::{bearer, http, json};
use panel_sim::{spawn, spawn_with, SimConfig, SimKind, SimOp};
use serde_json::json;

#[tokio::test]
async fn create_without_inbounds_joins_no_inbound() {
    let sim = spawn(SimKind::Marzban).await;
    let c = http();
    let tok = bearer(&sim, &c).await;
    let base = sim.base_url();

    let (st, v) = json(
        c.post(format!("{base}/api/user"))
            .bearer_auth(&tok)
            .json(&json!({"username": "trap_user", "proxies": {"vless": {}}, "data_limit": 0, "expire": 0}))
            .send()
            .await
            .unwrap(),
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

    let (st, v) = json(
        c.post(format!("{base}/api/user"))
            .bearer_auth(&tok)
            .json(
                &json!({"username": "good_user", "proxies": {"vless": {}, "vmess": {}},
                          "inbounds": {"vless": ["VLESS TCP"], "vmess": ["VMess WS"]},
                          "data_limit": 1000, "expire": 1_801_440_000}),
            )
            .send()
            .await
            .unwrap(),
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
    let (_, v) = json(
        c.get(format!("{base}/api/inbounds"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["vmess"][0]["tag"], "VMess WS");
}

#[tokio::test]
async fn validation_conflict_and_not_found() {
    let sim = spawn(SimKind::Marzban).await;
    let c = http();
    let tok = bearer(&sim, &c).await;
    let base = sim.base_url();
    let create = |body: serde_json::Value| {
        c.post(format!("{base}/api/user"))
            .bearer_auth(&tok)
            .json(&body)
            .send()
    };

    let (st, v) = json(
        create(json!({"username": "no_proxies", "proxies": {}}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 422);
    assert!(
        v["detail"]["proxies"]
            .as_str()
            .unwrap()
            .contains("at least one proxy"),
        "{v}"
    );

    let (st, v) = json(
        create(json!({"username": "ss_user", "proxies": {"shadowsocks": {}}}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 400);
    assert_eq!(
        v["detail"],
        "Protocol ProxyTypes.Shadowsocks is disabled on your server"
    );

    let (st, _) = json(
        create(json!({"username": "dup", "proxies": {"vless": {}}}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 200);
    let (st, v) = json(
        create(json!({"username": "dup", "proxies": {"vless": {}}}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((st, v), (409, json!({"detail": "User already exists"})));

    let (st, v) = json(
        c.get(format!("{base}/api/user/ghost"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((st, v), (404, json!({"detail": "User not found"})));
}

#[tokio::test]
async fn tokens_expire_by_ttl_and_on_demand() {
    let mut cfg = SimConfig::new(SimKind::Marzban);
    cfg.token_ttl = Duration::from_millis(300);
    let sim = spawn_with(cfg).await.unwrap();
    let c = http();
    let url = format!("{}/api/users", sim.base_url());

    let (st, v) = json(c.get(&url).send().await.unwrap()).await;
    assert_eq!((st, v), (401, json!({"detail": "Not authenticated"})));

    let (st, v) = json(
        c.post(format!("{}/api/admin/token", sim.base_url()))
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

    let tok = bearer(&sim, &c).await;
    assert_eq!(
        c.get(&url).bearer_auth(&tok).send().await.unwrap().status(),
        200
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (st, v) = json(c.get(&url).bearer_auth(&tok).send().await.unwrap()).await;
    assert_eq!(
        (st, v),
        (401, json!({"detail": "Could not validate credentials"}))
    );

    let tok = bearer(&sim, &c).await;
    assert_eq!(
        c.get(&url).bearer_auth(&tok).send().await.unwrap().status(),
        200
    );
    sim.expire_tokens();
    assert_eq!(
        c.get(&url).bearer_auth(&tok).send().await.unwrap().status(),
        401
    );
    assert_eq!(sim.requests(SimOp::Auth), 3);
}

#[tokio::test]
async fn status_only_put_is_enable_or_disable_and_limits_are_update() {
    let sim = spawn(SimKind::Marzban).await;
    sim.seed_users("u", 1, 0);
    let c = http();
    let tok = bearer(&sim, &c).await;
    let url = format!("{}/api/user/u0", sim.base_url());
    let put = |body: serde_json::Value| c.put(&url).bearer_auth(&tok).json(&body).send();

    let (_, v) = json(put(json!({"status": "disabled"})).await.unwrap()).await;
    assert_eq!(v["status"], "disabled");
    assert!(!sim.user("u0").unwrap().enabled);
    let (_, v) = json(put(json!({"status": "active"})).await.unwrap()).await;
    assert_eq!(v["status"], "active");
    let (_, v) = json(
        put(json!({"data_limit": 5000, "expire": 1_900_000_000}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (v["data_limit"].as_i64(), v["expire"].as_i64()),
        (Some(5000), Some(1_900_000_000))
    );
    let (_, v) = json(put(json!({"data_limit": 0, "expire": 0})).await.unwrap()).await;
    assert!(v["data_limit"].is_null() && v["expire"].is_null());
    let (st, v) = json(put(json!({"status": "limited"})).await.unwrap()).await;
    assert_eq!(st, 422, "{v}");

    assert_eq!(sim.requests(SimOp::Disable), 1);
    assert_eq!(sim.requests(SimOp::Enable), 1);
    assert_eq!(sim.requests(SimOp::Update), 3);
}

#[tokio::test]
async fn counters_limits_and_reset() {
    let sim = spawn(SimKind::Marzban).await;
    let c = http();
    let tok = bearer(&sim, &c).await;
    let base = sim.base_url();
    c.post(format!("{base}/api/user"))
        .bearer_auth(&tok)
        .json(&json!({"username": "user_1", "proxies": {"vless": {}}, "inbounds": {"vless": ["VLESS TCP"]}, "data_limit": 1000}))
        .send()
        .await
        .unwrap();
    assert!(sim.add_traffic("user_1", 1500));
    assert!(!sim.add_traffic("nobody", 1));
    let get = || {
        c.get(format!("{base}/api/user/user_1"))
            .bearer_auth(&tok)
            .send()
    };
    // Over the limit, but `limited` only once the review job has run.
    let (_, v) = json(get().await.unwrap()).await;
    assert_eq!(v["status"], "active");
    assert_eq!(v["used_traffic"], 1500);
    assert!(sim.run_review());
    let (_, v) = json(get().await.unwrap()).await;
    assert_eq!(v["status"], "limited");

    let (_, v) = json(
        c.post(format!("{base}/api/user/user_1/reset"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["status"], "active");
    assert_eq!(v["used_traffic"], 0);
    assert_eq!(v["lifetime_used_traffic"], 1500);
    sim.add_traffic("user_1", 10);
    let u = sim.user("user_1").unwrap();
    assert_eq!((u.used_bytes, u.lifetime_bytes), (10, 1510));
    assert_eq!(sim.traffic_counted("user_1"), 1510);

    let (st, v) = json(
        c.delete(format!("{base}/api/user/user_1"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (st, v),
        (200, json!({"detail": "User successfully deleted"}))
    );
    assert!(sim.user("user_1").is_none());
}

#[tokio::test]
async fn list_pages_and_subscription() {
    let sim = spawn(SimKind::Marzban).await;
    sim.seed_users("p", 25, 7);
    let c = http();
    let tok = bearer(&sim, &c).await;
    let base = sim.base_url();
    let (_, v) = json(
        c.get(format!("{base}/api/users?offset=20&limit=10"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["total"], 25);
    let users = v["users"].as_array().unwrap();
    assert_eq!(users.len(), 5);
    assert_eq!(users[0]["username"], "p20");
    assert_eq!(users[0]["used_traffic"], 7);

    let (_, v) = json(
        c.get(format!("{base}/api/users?username=p3&username=p4"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["total"], 2);

    let (_, v) = json(
        c.get(format!("{base}/api/user/p1"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let sub = v["subscription_url"].as_str().unwrap();
    assert!(sub.starts_with(&format!("{base}/sub/")), "{sub}");
    let r = c.get(sub).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let info = r.headers()["subscription-userinfo"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(info.contains("download=7"), "{info}");
    assert_eq!(sim.requests(SimOp::Subscription), 1);

    let (_, v) = json(
        c.get(format!("{base}/api/system"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["version"], "0.8.4");
    sim.set_version("0.8.5");
    let (_, v) = json(
        c.get(format!("{base}/api/system"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["version"], "0.8.5");
}

/// spec/panels.md §9: v0.8.4's reset puts every status but `expired` back to `active`.
#[tokio::test]
async fn reset_brings_disabled_limited_and_on_hold_users_back_active() {
    let sim = spawn(SimKind::Marzban).await;
    let c = http();
    let tok = bearer(&sim, &c).await;
    let base = sim.base_url();
    let create = |body: serde_json::Value| {
        c.post(format!("{base}/api/user"))
            .bearer_auth(&tok)
            .json(&body)
            .send()
    };
    let vless = json!({"vless": {}});
    for name in ["r_dis", "r_lim", "r_exp"] {
        let (st, _) = json(
            create(json!({"username": name, "proxies": vless, "inbounds": {}, "data_limit": 100}))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(st, 200);
    }
    let (st, v) = json(
        create(
            json!({"username": "r_hold", "proxies": vless, "inbounds": {},
            "status": "on_hold", "on_hold_expire_duration": 86400}),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!((st, v["status"].as_str()), (200, Some("on_hold")));
    let put = |name: &str, body: serde_json::Value| {
        c.put(format!("{base}/api/user/{name}"))
            .bearer_auth(&tok)
            .json(&body)
            .send()
    };
    // Disabling twice is 200 both times.
    for _ in 0..2 {
        let (st, v) = json(put("r_dis", json!({"status": "disabled"})).await.unwrap()).await;
        assert_eq!((st, v["status"].as_str()), (200, Some("disabled")));
    }
    sim.add_traffic("r_lim", 150);
    put("r_exp", json!({"expire": 1_000_000_000}))
        .await
        .unwrap();
    sim.run_review();
    let status = |name: &'static str| {
        let c = c.clone();
        let (base, tok) = (base.clone(), tok.clone());
        async move {
            let (_, v) = json(
                c.get(format!("{base}/api/user/{name}"))
                    .bearer_auth(&tok)
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            v["status"].as_str().unwrap().to_string()
        }
    };
    assert_eq!(status("r_lim").await, "limited");
    assert_eq!(status("r_exp").await, "expired");
    for (name, after) in [
        ("r_dis", "active"),
        ("r_lim", "active"),
        ("r_hold", "active"),
        ("r_exp", "expired"),
    ] {
        let (st, v) = json(
            c.post(format!("{base}/api/user/{name}/reset"))
                .bearer_auth(&tok)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!((st, v["status"].as_str()), (200, Some(after)), "{name}");
    }
    assert!(
        sim.user("r_dis").unwrap().enabled,
        "the reset re-enabled it"
    );
    // The former on-hold user lost its pending start: active and never expiring.
    assert_eq!(sim.user("r_hold").unwrap().expires_at, None);
    sim.run_review();
    assert_eq!(status("r_hold").await, "active");
}

/// `limited` comes from the review job every `review_interval`; a new limit moves it at once.
#[tokio::test]
async fn limited_is_set_late_by_the_review_job_and_a_new_limit_lifts_it_at_once() {
    let sim = spawn_with(SimConfig {
        review_interval: Duration::from_millis(300),
        ..SimConfig::new(SimKind::Marzban)
    })
    .await
    .unwrap();
    let c = http();
    let tok = bearer(&sim, &c).await;
    let base = sim.base_url();
    c.post(format!("{base}/api/user"))
        .bearer_auth(&tok)
        .json(&json!({"username": "late", "proxies": {"vless": {}}, "inbounds": {}, "data_limit": 100}))
        .send()
        .await
        .unwrap();
    sim.add_traffic("late", 100);
    let get = || async {
        let (_, v) = json(
            c.get(format!("{base}/api/user/late"))
                .bearer_auth(&tok)
                .send()
                .await
                .unwrap(),
        )
        .await;
        v["status"].as_str().unwrap().to_string()
    };
    assert_eq!(get().await, "active");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(get().await, "limited");
    // Enabling an over-limit user is accepted; it reads active until the next review.
    let put = |body: serde_json::Value| {
        c.put(format!("{base}/api/user/late"))
            .bearer_auth(&tok)
            .json(&body)
            .send()
    };
    let (_, v) = json(put(json!({"status": "active"})).await.unwrap()).await;
    assert_eq!(v["status"], "active");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(get().await, "limited");
    let (_, v) = json(put(json!({"data_limit": 1000})).await.unwrap()).await;
    assert_eq!(
        v["status"], "active",
        "a higher limit lifts it in the same request"
    );
    let (_, v) = json(put(json!({"data_limit": 50})).await.unwrap()).await;
    assert_eq!(v["status"], "limited", "and a lower one sets it");
}

#[tokio::test]
async fn list_limit_zero_or_negative_is_everything_and_past_the_end_keeps_the_total() {
    let sim = spawn(SimKind::Marzban).await;
    sim.seed_users("lz", 3, 0);
    let c = http();
    let tok = bearer(&sim, &c).await;
    let base = sim.base_url();
    for (q, n) in [("limit=0", 3), ("limit=-1", 3), ("offset=10&limit=5", 0)] {
        let (_, v) = json(
            c.get(format!("{base}/api/users?{q}"))
                .bearer_auth(&tok)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(v["users"].as_array().unwrap().len(), n, "{q}");
        assert_eq!(v["total"], 3, "{q}");
    }
}
