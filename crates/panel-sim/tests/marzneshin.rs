//! Marzneshin simulator over real sockets: username pattern, non-idempotent enable/disable,
//! the page size cap, PUT needing `username` and an expire field, services, counters, the late
//! `activated` flag.

mod common;

use common::{signed_in, sim_reviewing_every, sim_with_users, Api};
use std::time::Duration;

use panel_sim::{SimKind, SimOp};
use serde_json::{json, Value};

#[tokio::test]
async fn create_validates_and_lowercases() {
    let (sim, api) = signed_in(SimKind::Marzneshin).await;
    let create = |body: Value| api.post_json("/api/users", body);

    let (st, v) =
        create(json!({"username": "bad-name", "expire_strategy": "never", "service_ids": [1]}))
            .await;
    assert_eq!(st, 422);
    assert_eq!(
        v,
        json!({"detail": {"username": "String should match pattern '^\\w{3,32}$'"}})
    );

    let (st, v) = create(
        json!({"username": "User_001", "expire_strategy": "fixed_date",
        "expire_date": "2027-01-01T00:00:00Z", "data_limit": 0, "service_ids": [1, 99]}),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["username"], "user_001");
    assert_eq!(v["expire_date"], "2027-01-01T00:00:00");
    assert!(v["data_limit"].is_null());
    assert_eq!(v["service_ids"], json!([1]));
    assert_eq!(v["enabled"], true);
    assert_eq!(v["is_active"], true);
    assert!(v.get("status").is_none());
    let key = v["key"].as_str().unwrap();
    assert_eq!(key.len(), 32);
    assert_eq!(
        v["subscription_url"],
        format!("{}/sub/user_001/{key}", api.base)
    );
    assert_eq!(sim.user("user_001").unwrap().sub_id, key);

    let (st, _) = create(json!({"username": "user_001", "expire_strategy": "never"})).await;
    assert_eq!(st, 409);

    let (_, v) = api.get("/api/services").await;
    assert_eq!(v["items"][0]["user_ids"], json!([1]));
    assert_eq!(v["total"], 2);
}

#[tokio::test]
async fn enable_disable_conflict() {
    let sim = sim_with_users(SimKind::Marzneshin, "mz", 1, 0).await;
    let api = Api::signed_in(&sim).await;
    let act = |a: &str| format!("/api/users/mz0/{a}");

    let (st, v) = api.post(&act("enable")).await;
    assert_eq!((st, v), (409, json!({"detail": "User is already enabled"})));
    let (st, v) = api.post(&act("disable")).await;
    assert_eq!(st, 200);
    assert_eq!(
        (v["enabled"].as_bool(), v["is_active"].as_bool()),
        (Some(false), Some(false))
    );
    let (st, v) = api.post(&act("disable")).await;
    assert_eq!((st, v), (409, json!({"detail": "User is not enabled"})));
    let (st, _) = api.post(&act("enable")).await;
    assert_eq!(st, 200);
    assert_eq!(sim.requests(SimOp::Enable), 2);
    assert_eq!(sim.requests(SimOp::Disable), 2);
}

#[tokio::test]
async fn page_size_cap_and_paging() {
    let sim = sim_with_users(SimKind::Marzneshin, "n", 250, 0).await;
    let api = Api::signed_in(&sim).await;

    let (st, v) = api.get("/api/users?page=1&size=101").await;
    assert_eq!(st, 422);
    assert_eq!(
        v,
        json!({"detail": {"size": "Input should be less than or equal to 100"}})
    );

    let (st, v) = api.get("/api/users?page=3&size=100").await;
    assert_eq!(st, 200);
    assert_eq!(
        (v["total"].as_u64(), v["pages"].as_u64()),
        (Some(250), Some(3))
    );
    assert_eq!(v["items"].as_array().unwrap().len(), 50);
    assert_eq!(v["items"][0]["username"], "n200");
    assert!(v["links"]["next"].is_null());

    // One `username` is a substring match, several are exact.
    let (_, v) = api.get("/api/users?username=n24").await;
    assert_eq!(v["total"], 11);
    let (_, v) = api.get("/api/users?username=n24&username=n1").await;
    assert_eq!(v["total"], 2);
}

#[tokio::test]
async fn put_requires_username() {
    let sim = sim_with_users(SimKind::Marzneshin, "mz", 1, 0).await;
    let api = Api::signed_in(&sim).await;

    let (st, v) = api.put("/api/users/mz0", json!({"data_limit": 5000})).await;
    assert_eq!(
        (st, v),
        (422, json!({"detail": {"username": "Field required"}}))
    );
    assert_eq!(sim.user("mz0").unwrap().limit_bytes, None);

    let (st, v) = api
        .put(
            "/api/users/mz0",
            json!({"username": "mz0", "data_limit": 5000, "expire_strategy": "fixed_date",
                   "expire_date": "2027-02-01T00:00:00Z", "service_ids": [2]}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let u = sim.user("mz0").unwrap();
    assert_eq!(u.limit_bytes, Some(5000));
    assert_eq!(u.service_ids, vec![2]);
    assert_eq!(v["expire_date"], "2027-02-01T00:00:00");
}

#[tokio::test]
async fn limit_reached_reset_delete() {
    let (sim, api) = signed_in(SimKind::Marzneshin).await;
    let (_, v) = api
        .post_json(
            "/api/users",
            json!({"username": "lim", "expire_strategy": "never", "data_limit": 100, "service_ids": [1]}),
        )
        .await;
    let first_id = v["id"].as_i64().unwrap();
    sim.add_traffic("lim", 150);
    let (_, v) = api.get("/api/users/lim").await;
    assert_eq!(
        (v["data_limit_reached"].as_bool(), v["is_active"].as_bool()),
        (Some(true), Some(false))
    );
    let (_, v) = api.post("/api/users/lim/reset").await;
    assert_eq!(
        (
            v["used_traffic"].as_i64(),
            v["lifetime_used_traffic"].as_i64()
        ),
        (Some(0), Some(150))
    );
    assert_eq!(v["data_limit_reached"], false);
    assert!(v["traffic_reset_at"].is_string());

    let (st, v) = api.delete("/api/users/lim").await;
    assert_eq!((st, v), (200, json!({})));
    let (st, _) = api.get("/api/users/lim").await;
    assert_eq!(st, 404);
    let (_, v) = api
        .post_json(
            "/api/users",
            json!({"username": "lim", "expire_strategy": "never"}),
        )
        .await;
    assert_ne!(v["id"].as_i64().unwrap(), first_id);
}

/// spec/panels.md §9: a PUT without `expire_strategy` or `usage_duration` fails with a 500 in
/// the panel's database layer, after validation (so a missing `username` is still a 422).
#[tokio::test]
async fn put_without_an_expire_field_is_a_500() {
    let sim = sim_with_users(SimKind::Marzneshin, "mz", 1, 0).await;
    let api = Api::signed_in(&sim).await;
    let put = |body: Value| api.put("/api/users/mz0", body);
    let (st, v) = put(json!({"username": "mz0", "data_limit": 5000})).await;
    assert_eq!((st, v), (500, json!("Internal Server Error")));
    assert_eq!(
        sim.user("mz0").unwrap().limit_bytes,
        None,
        "nothing written"
    );
    let (st, _) = put(json!({"data_limit": 5000})).await;
    assert_eq!(st, 422);
    for body in [
        json!({"username": "mz0", "data_limit": 5000, "usage_duration": null}),
        json!({"username": "mz0", "data_limit": 6000, "expire_strategy": "never"}),
    ] {
        let (st, v) = put(body.clone()).await;
        assert_eq!(st, 200, "{body}: {v}");
    }
    assert_eq!(sim.user("mz0").unwrap().limit_bytes, Some(6000));
}

/// `data_limit_reached` and `is_active` follow the counter at once; `activated` only changes
/// when the review job runs. A reset leaves a disabled user disabled.
#[tokio::test]
async fn activated_is_cleared_late_and_reset_keeps_the_switch() {
    let sim = sim_reviewing_every(SimKind::Marzneshin, Duration::from_millis(300)).await;
    let api = Api::signed_in(&sim).await;
    api.post_json(
        "/api/users",
        json!({"username": "act", "expire_strategy": "never", "data_limit": 100, "service_ids": [1]}),
    )
    .await;
    sim.add_traffic("act", 100);
    let get = || async { api.get("/api/users/act").await.1 };
    let flags = |v: &Value| {
        (
            v["data_limit_reached"].as_bool().unwrap(),
            v["is_active"].as_bool().unwrap(),
            v["activated"].as_bool().unwrap(),
        )
    };
    assert_eq!(flags(&get().await), (true, false, true));
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(flags(&get().await), (true, false, false));
    let post = |action: &str| format!("/api/users/act/{action}");
    // A reset makes it active again and pushes it to the nodes at once.
    let (_, v) = api.post(&post("reset")).await;
    assert_eq!(flags(&v), (false, true, true));
    let (_, v) = api.post(&post("disable")).await;
    assert_eq!(
        (v["enabled"].as_bool(), v["activated"].as_bool()),
        (Some(false), Some(false))
    );
    sim.add_traffic("act", 5);
    let (_, v) = api.post(&post("reset")).await;
    assert_eq!(v["enabled"], false, "a reset does not enable");
    assert_eq!(v["used_traffic"], 0);
    let (st, _) = api.post(&post("disable")).await;
    assert_eq!(st, 409);
}
