//! Bulk work on configs (issue 15), as a reseller with a shop meets it: 100 configs created,
//! extended and deleted in one go each, at the panel's pace, with a result and an audit row per
//! config; a batch past the config limit creates nothing and says why; one config that cannot
//! be done does not stop the others; another reseller's configs are out of reach.

mod common;

use common::world::{Shop, World, GIB};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn finish(api: &common::Api, job_id: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let job = api.ok(&format!("/api/v1/jobs/{job_id}")).await;
        if job["status"] == "done" || job["status"] == "failed" {
            assert_eq!(job["status"], "done", "{job}");
            return job;
        }
        assert!(Instant::now() < deadline, "the bulk job did not end: {job}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts a batch as the shop and waits for it; the job.
async fn bulk(shop: &Shop, body: Value) -> Value {
    let (status, accepted) = shop.api.post("/api/v1/configs/bulk", body).await;
    assert_eq!(status, 202, "{accepted}");
    assert!(accepted["expected_seconds"].is_u64(), "{accepted}");
    finish(&shop.api, accepted["job_id"].as_i64().unwrap()).await
}

async fn config_ids(shop: &Shop) -> Vec<i64> {
    let page = shop.api.ok("/api/v1/configs?per_page=200").await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] != "deleted")
        .map(|c| c["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_hundred_configs_are_created_extended_and_deleted_at_the_panels_pace() {
    let w = World::new().await;
    let shop = w
        .reseller("bulk-shop")
        .set("config_limit", json!(150))
        .create()
        .await;
    // A panel that takes 40 calls a second.
    let mut conn = w.app.db.acquire().await.unwrap();
    db::sqlx::query("UPDATE panels SET settings = $1, updated_at = updated_at + 1 WHERE id = $2")
        .bind(json!({"rate_limit_per_sec": 40}).to_string())
        .bind(w.panel_id)
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);

    let started = Instant::now();
    let (status, accepted) = shop
        .api
        .post(
            "/api/v1/configs/bulk",
            json!({"action": "create", "count": 100,
                   "template": {"traffic_limit_bytes": 5 * GIB, "expires_in_days": 30, "name": "shop"}}),
        )
        .await;
    assert_eq!(status, 202, "{accepted}");
    // Two calls per create at 40 a second: the page says about 5 s before it starts.
    assert_eq!(accepted["expected_seconds"], 5, "{accepted}");
    let job = finish(&shop.api, accepted["job_id"].as_i64().unwrap()).await;
    let took = started.elapsed();
    println!("bulk create of 100 configs at 40 calls/s: {took:?}");
    assert_eq!(job["result"]["counts"]["ok"], 100, "{job}");
    assert!(
        took >= Duration::from_millis(99 * 1000 / 40),
        "the pace: {took:?}"
    );
    assert_eq!(w.sim.user_count(), 100, "all on the panel");
    assert_eq!(w.app.audit_count("config_created").await, 100);
    let ids = config_ids(&shop).await;
    assert_eq!(ids.len(), 100);
    let one = shop.api.ok(&format!("/api/v1/configs/{}", ids[0])).await;
    assert!(
        one["comment"].as_str().unwrap().starts_with("shop "),
        "{one}"
    );

    // Extend all 100 by 10 days: each expiry moves by exactly that.
    let before = shop.api.ok(&format!("/api/v1/configs/{}", ids[5])).await;
    let job = bulk(&shop, json!({"action": "extend", "ids": ids, "days": 10})).await;
    assert_eq!(job["result"]["counts"]["ok"], 100, "{job}");
    let after = shop.api.ok(&format!("/api/v1/configs/{}", ids[5])).await;
    let ts = |v: &Value| {
        chrono::DateTime::parse_from_rfc3339(v["expires_at"].as_str().unwrap())
            .unwrap()
            .timestamp()
    };
    assert_eq!(ts(&after) - ts(&before), 10 * 86_400, "{before} {after}");
    let on_panel = w.sim.user(after["username"].as_str().unwrap()).unwrap();
    assert_eq!(
        on_panel.expires_at.unwrap().timestamp(),
        ts(&after),
        "the panel has it too"
    );

    // Past the limit: 60 more would make 160 of 150, so none is made.
    let (status, answer) = shop
        .api
        .post(
            "/api/v1/configs/bulk",
            json!({"action": "create", "count": 60,
                   "template": {"traffic_limit_bytes": 5 * GIB, "expires_in_days": 30, "name": "more"}}),
        )
        .await;
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["error"]["message"].as_str().unwrap().contains("150"),
        "{answer}"
    );
    assert_eq!(config_ids(&shop).await.len(), 100, "nothing was created");

    // Delete all that match a filter: gone from us and from the panel.
    let job = bulk(&shop, json!({"action": "delete", "filter": {"q": "shop"}})).await;
    assert_eq!(job["result"]["counts"]["ok"], 100, "{job}");
    assert_eq!(config_ids(&shop).await.len(), 0);
    assert_eq!(w.sim.user_count(), 0);
    assert_eq!(w.app.audit_count("config_deleted").await, 100);
}

#[tokio::test]
async fn one_config_that_cannot_be_done_does_not_stop_the_rest_and_others_configs_are_out_of_reach()
{
    let w = World::new().await;
    let shop = w.reseller("shop-a").configs(3).create().await;
    let other = w.reseller("shop-b").configs(1).create().await;
    // One config has used 2 GiB: a limit of 1 GiB is below its usage and is refused.
    w.sim.add_traffic(&shop.configs[0].username, 2 * GIB);
    w.sync().await;
    let ids: Vec<i64> = shop.configs.iter().map(|c| c.id).collect();
    let job = bulk(
        &shop,
        json!({"action": "set_limit", "ids": ids, "limit_bytes": GIB}),
    )
    .await;
    assert_eq!(
        job["result"]["counts"],
        json!({"ok": 2, "failed": 1}),
        "{job}"
    );
    let why = &job["result"]["results"][shop.configs[0].id.to_string()];
    assert!(why.as_str().unwrap().contains("limit"), "{job}");
    let c = shop
        .api
        .ok(&format!("/api/v1/configs/{}", shop.configs[1].id))
        .await;
    assert_eq!(c["traffic_limit_bytes"], GIB);

    // Another reseller's config in the batch: the whole batch is refused, nothing done.
    let (status, _) = shop
        .api
        .post(
            "/api/v1/configs/bulk",
            json!({"action": "disable", "ids": [shop.configs[1].id, other.configs[0].id]}),
        )
        .await;
    assert_eq!(status, 404);
    let c = shop
        .api
        .ok(&format!("/api/v1/configs/{}", shop.configs[1].id))
        .await;
    assert_eq!(c["status"], "active", "nothing was disabled");
    // Nor may it follow the other's jobs.
    let (_, accepted) = other
        .api
        .post(
            "/api/v1/configs/bulk",
            json!({"action": "disable", "ids": [other.configs[0].id]}),
        )
        .await;
    let job = format!("/api/v1/jobs/{}", accepted["job_id"]);
    assert_eq!(shop.api.get(&job).await.0, 404);
    assert_eq!(other.api.get(&job).await.0, 200);
    // Bad terms are field errors.
    for body in [
        json!({"action": "extend", "ids": ids, "days": 0}),
        json!({"action": "add_traffic", "ids": ids}),
        json!({"action": "create", "count": 501, "template": {"traffic_limit_bytes": GIB, "expires_in_days": 3, "name": "x"}}),
        json!({"action": "disable", "ids": []}),
    ] {
        let (status, answer) = shop.api.post("/api/v1/configs/bulk", body).await;
        assert_eq!(status, 422, "{answer}");
    }
}

#[tokio::test]
async fn the_configs_page_disables_the_ticked_configs_and_shows_the_results() {
    let w = World::new().await;
    let shop = w.reseller("page-shop").configs(3).create().await;
    let b = w
        .app
        .browser_as("page-shop", common::world::SHOP_PASSWORD)
        .await;
    let html = b.html("/configs?lang=en").await;
    common::assert_shows(
        &html,
        &[
            "Do the same to many configs",
            "Create many configs",
            "calls a second: all 3 configs take about 1 s.",
        ],
    );
    let (a, c) = (
        shop.configs[0].id.to_string(),
        shop.configs[2].id.to_string(),
    );
    let res = b
        .submit(
            "/configs/bulk?lang=en",
            &[
                ("action", "disable"),
                ("mode", "selected"),
                ("ids", &a),
                ("ids", &c),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let job = res.headers()["location"].to_str().unwrap().to_string();
    let id: i64 = job.trim_start_matches("/jobs/").parse().unwrap();
    finish(&shop.api, id).await;
    let html = b.html(&format!("{job}?lang=en")).await;
    common::assert_shows(&html, &["Bulk action", "Done: 2 configs."]);
    let status = |id: i64| {
        let api = &shop.api;
        async move { api.ok(&format!("/api/v1/configs/{id}")).await["status"].clone() }
    };
    assert_eq!(status(shop.configs[0].id).await, "disabled");
    assert_eq!(status(shop.configs[1].id).await, "active");

    // A create past the limit is refused on the page with the reason, nothing created.
    let res = b
        .submit(
            "/configs/bulk?lang=en",
            &[
                ("action", "create"),
                ("count", "abc"),
                ("traffic_gb", "5"),
                ("days", "30"),
                ("name", "x"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/configs");
    let html = b.html("/configs?lang=en").await;
    common::assert_shows(&html, &["Create 1 to 500 configs at a time."]);
}
