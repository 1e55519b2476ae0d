//! PasarGuard simulator over real sockets, call by call as the real v3.1.0 answered them
//! (spec/panels.md §9 and the panels crate's README): groups required and checked, 201/204,
//! case kept, reset keeping a disabled user disabled, `limited` set late, no v5 route on v3.1.

mod common;

use std::time::Duration;

use common::{bearer, http, json};
use panel_sim::{spawn, spawn_with, SimConfig, SimKind};
use serde_json::{json, Value};

async fn call(
    c: &reqwest::Client,
    tok: &str,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = c.request(method, url).bearer_auth(tok);
    if let Some(b) = body {
        req = req.json(&b);
    }
    json(req.send().await.unwrap()).await
}

#[tokio::test]
async fn lifecycle_as_the_real_v3_1() {
    let sim = spawn(SimKind::PasarGuard).await;
    let c = http();
    let tok = bearer(&sim, &c).await;
    let base = sim.base_url();
    let user = |u: &str| format!("{base}/api/user/{u}");
    use reqwest::Method as M;

    let (st, v) = call(
        &c,
        &tok,
        M::POST,
        format!("{base}/api/user"),
        Some(json!({"username": "probe_a3", "group_ids": [], "status": "active"})),
    )
    .await;
    assert_eq!(
        (st, &v),
        (
            422,
            &json!({"detail": {"group_ids": "Value error, you must select at least one group"}})
        )
    );
    let (st, v) = call(
        &c,
        &tok,
        M::POST,
        format!("{base}/api/user"),
        Some(json!({"username": "probe_a2", "group_ids": [99], "status": "active"})),
    )
    .await;
    assert_eq!((st, &v), (404, &json!({"detail": "Group not found"})));
    let (st, v) = call(
        &c,
        &tok,
        M::POST,
        format!("{base}/api/user"),
        Some(
            json!({"username": "probe_a1", "group_ids": [1], "expire": "2027-01-01T00:00:00Z",
            "data_limit": 10_737_418_240_i64, "status": "active", "proxy_settings": {}}),
        ),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["expire"], "2027-01-01T00:00:00Z");
    assert_eq!(v["group_ids"], json!([1]));
    assert!(
        v["subscription_url"].as_str().unwrap().starts_with("/sub/"),
        "relative"
    );
    // Case is kept and matters: another user, not a clash.
    let (st, _) = call(
        &c,
        &tok,
        M::POST,
        format!("{base}/api/user"),
        Some(json!({"username": "Probe_A1", "group_ids": [1], "status": "active"})),
    )
    .await;
    assert_eq!(st, 201);
    let (st, _) = call(
        &c,
        &tok,
        M::POST,
        format!("{base}/api/user"),
        Some(json!({"username": "probe_a1", "group_ids": [1], "status": "active"})),
    )
    .await;
    assert_eq!(st, 409);
    let (st, _) = call(
        &c,
        &tok,
        M::POST,
        format!("{base}/api/user"),
        Some(json!({"username": "probe_d", "group_ids": [1], "status": "disabled"})),
    )
    .await;
    assert_eq!(st, 422, "create takes active or on_hold only");

    // 0 means unlimited and never, and reads back as null; offsets become UTC.
    let (_, v) = call(
        &c,
        &tok,
        M::PUT,
        user("probe_a1"),
        Some(json!({"data_limit": 0, "expire": 0})),
    )
    .await;
    assert_eq!(
        (&v["data_limit"], &v["expire"]),
        (&Value::Null, &Value::Null)
    );
    let (_, v) = call(
        &c,
        &tok,
        M::PUT,
        user("probe_a1"),
        Some(json!({"expire": "2027-03-01T00:00:00+03:30"})),
    )
    .await;
    assert_eq!(v["expire"], "2027-02-28T20:30:00Z");

    // Disable twice is 200; reset keeps the user disabled; a limited one comes back active.
    for _ in 0..2 {
        let (st, v) = call(
            &c,
            &tok,
            M::PUT,
            user("probe_a1"),
            Some(json!({"status": "disabled"})),
        )
        .await;
        assert_eq!((st, v["status"].as_str()), (200, Some("disabled")));
    }
    sim.add_traffic("probe_a1", 7 << 20);
    let (_, v) = call(
        &c,
        &tok,
        M::POST,
        format!("{}/reset", user("probe_a1")),
        None,
    )
    .await;
    assert_eq!(
        (v["status"].as_str(), v["used_traffic"].as_i64()),
        (Some("disabled"), Some(0))
    );
    let (_, v) = call(
        &c,
        &tok,
        M::PUT,
        user("probe_a1"),
        Some(json!({"status": "active"})),
    )
    .await;
    assert_eq!(v["status"], "active");
    sim.add_traffic("probe_a1", 7 << 20);
    let (_, v) = call(
        &c,
        &tok,
        M::PUT,
        user("probe_a1"),
        Some(json!({"data_limit": 1 << 20})),
    )
    .await;
    assert_eq!(
        v["status"], "limited",
        "a new limit below the usage flags it at once"
    );
    let (_, v) = call(
        &c,
        &tok,
        M::POST,
        format!("{}/reset", user("probe_a1")),
        None,
    )
    .await;
    assert_eq!(v["status"], "active");
    let (st, v) = call(
        &c,
        &tok,
        M::PUT,
        user("probe_a1"),
        Some(json!({"status": "limited"})),
    )
    .await;
    assert_eq!(st, 422, "{v}");

    // No v5 route on v3.1.
    let (st, v) = call(
        &c,
        &tok,
        M::PUT,
        format!("{}/disabled", user("probe_a1")),
        Some(json!({"disabled": true})),
    )
    .await;
    assert_eq!((st, &v), (404, &json!({"detail": "Not Found"})));

    // The list leaves subscription URLs empty; the sub serves with the usage header.
    let (_, v) = call(
        &c,
        &tok,
        M::GET,
        format!("{base}/api/users?offset=0&limit=0"),
        None,
    )
    .await;
    assert_eq!(v["total"], 2);
    assert_eq!(v["users"][0]["subscription_url"], "");
    let (_, u) = call(&c, &tok, M::GET, user("probe_a1"), None).await;
    let sub = c
        .get(format!("{base}{}", u["subscription_url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(sub.status(), 200);
    assert!(sub.headers().contains_key("subscription-userinfo"));

    // Delete is 204 with no body, a second one 404.
    let r = c
        .delete(user("probe_a1"))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(r.bytes().await.unwrap().is_empty());
    let (st, v) = call(&c, &tok, M::DELETE, user("probe_a1"), None).await;
    assert_eq!((st, &v), (404, &json!({"detail": "User not found"})));
}

/// `limited` comes from the review job (every 30 s on the real panel), not from the counter.
#[tokio::test]
async fn limited_is_set_late_by_the_review_job() {
    let mut cfg = SimConfig::new(SimKind::PasarGuard);
    cfg.review_interval = Duration::from_millis(300);
    let sim = spawn_with(cfg).await.unwrap();
    let c = http();
    let tok = bearer(&sim, &c).await;
    let base = sim.base_url();
    let (st, _) = call(&c, &tok, reqwest::Method::POST, format!("{base}/api/user"),
        Some(json!({"username": "late", "group_ids": [2], "data_limit": 1 << 20, "status": "active"}))).await;
    assert_eq!(st, 201);
    sim.add_traffic("late", 2 << 20);
    let read = || {
        call(
            &c,
            &tok,
            reqwest::Method::GET,
            format!("{base}/api/user/late"),
            None,
        )
    };
    assert_eq!(read().await.1["status"], "active");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(read().await.1["status"], "limited");
}
