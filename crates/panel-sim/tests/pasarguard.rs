//! PasarGuard simulator over real sockets, call by call as the real v3.1.0 answered them
//! (spec/panels.md §9 and the panels crate's README): groups required and checked, 201/204,
//! case kept, reset keeping a disabled user disabled, `limited` set late, no v5 route on v3.1.

mod common;

use std::time::Duration;

use common::{signed_in, sim_reviewing_every, Api};
use panel_sim::SimKind;
use serde_json::{json, Value};

#[tokio::test]
async fn lifecycle_as_the_real_v3_1() {
    let (sim, api) = signed_in(SimKind::PasarGuard).await;
    let create = |body: Value| api.post_json("/api/user", body);
    let put = |body: Value| api.put("/api/user/probe_a1", body);

    let (st, v) =
        create(json!({"username": "probe_a3", "group_ids": [], "status": "active"})).await;
    assert_eq!(
        (st, &v),
        (
            422,
            &json!({"detail": {"group_ids": "Value error, you must select at least one group"}})
        )
    );
    let (st, v) =
        create(json!({"username": "probe_a2", "group_ids": [99], "status": "active"})).await;
    assert_eq!((st, &v), (404, &json!({"detail": "Group not found"})));
    let (st, v) = create(
        json!({"username": "probe_a1", "group_ids": [1], "expire": "2027-01-01T00:00:00Z",
               "data_limit": 10_737_418_240_i64, "status": "active", "proxy_settings": {}}),
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
    let (st, _) =
        create(json!({"username": "Probe_A1", "group_ids": [1], "status": "active"})).await;
    assert_eq!(st, 201);
    let (st, _) =
        create(json!({"username": "probe_a1", "group_ids": [1], "status": "active"})).await;
    assert_eq!(st, 409);
    let (st, _) =
        create(json!({"username": "probe_d", "group_ids": [1], "status": "disabled"})).await;
    assert_eq!(st, 422, "create takes active or on_hold only");

    // 0 means unlimited and never, and reads back as null; offsets become UTC.
    let (_, v) = put(json!({"data_limit": 0, "expire": 0})).await;
    assert_eq!(
        (&v["data_limit"], &v["expire"]),
        (&Value::Null, &Value::Null)
    );
    let (_, v) = put(json!({"expire": "2027-03-01T00:00:00+03:30"})).await;
    assert_eq!(v["expire"], "2027-02-28T20:30:00Z");

    // Disable twice is 200; reset keeps the user disabled; a limited one comes back active.
    for _ in 0..2 {
        let (st, v) = put(json!({"status": "disabled"})).await;
        assert_eq!((st, v["status"].as_str()), (200, Some("disabled")));
    }
    sim.add_traffic("probe_a1", 7 << 20);
    let (_, v) = api.post("/api/user/probe_a1/reset").await;
    assert_eq!(
        (v["status"].as_str(), v["used_traffic"].as_i64()),
        (Some("disabled"), Some(0))
    );
    let (_, v) = put(json!({"status": "active"})).await;
    assert_eq!(v["status"], "active");
    sim.add_traffic("probe_a1", 7 << 20);
    let (_, v) = put(json!({"data_limit": 1 << 20})).await;
    assert_eq!(
        v["status"], "limited",
        "a new limit below the usage flags it at once"
    );
    let (_, v) = api.post("/api/user/probe_a1/reset").await;
    assert_eq!(v["status"], "active");
    let (st, v) = put(json!({"status": "limited"})).await;
    assert_eq!(st, 422, "{v}");

    // No v5 route on v3.1.
    let (st, v) = api
        .put("/api/user/probe_a1/disabled", json!({"disabled": true}))
        .await;
    assert_eq!((st, &v), (404, &json!({"detail": "Not Found"})));

    // The list leaves subscription URLs empty; the sub serves with the usage header.
    let (_, v) = api.get("/api/users?offset=0&limit=0").await;
    assert_eq!(v["total"], 2);
    assert_eq!(v["users"][0]["subscription_url"], "");
    let (_, u) = api.get("/api/user/probe_a1").await;
    let sub = api
        .c
        .get(format!(
            "{}{}",
            api.base,
            u["subscription_url"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(sub.status(), 200);
    assert!(sub.headers().contains_key("subscription-userinfo"));

    // Delete is 204 with no body, a second one 404.
    let r = api
        .request(reqwest::Method::DELETE, "/api/user/probe_a1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(r.bytes().await.unwrap().is_empty());
    let (st, v) = api.delete("/api/user/probe_a1").await;
    assert_eq!((st, &v), (404, &json!({"detail": "User not found"})));
}

/// `limited` comes from the review job (every 30 s on the real panel), not from the counter.
#[tokio::test]
async fn limited_is_set_late_by_the_review_job() {
    let sim = sim_reviewing_every(SimKind::PasarGuard, Duration::from_millis(300)).await;
    let api = Api::signed_in(&sim).await;
    let (st, _) = api
        .post_json(
            "/api/user",
            json!({"username": "late", "group_ids": [2], "data_limit": 1 << 20, "status": "active"}),
        )
        .await;
    assert_eq!(st, 201);
    sim.add_traffic("late", 2 << 20);
    let read = || api.get("/api/user/late");
    assert_eq!(read().await.1["status"], "active");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(read().await.1["status"], "limited");
}
