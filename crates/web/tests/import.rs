//! Bringing a seller's existing panel users in (issue 15), as an admin adopting VpnMarket meets
//! it: the users no config claims, by owner; one import per panel admin into its reseller; the
//! traffic before the import never counted or billed, the traffic after it counted exactly; a
//! user claimed twice refused; the config limit said before anything is imported.

mod common;

use common::world::{World, GIB};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Polls a job until it is done; the `done` counts seen on the way.
async fn finish(w: &World, job_id: i64) -> (Value, Vec<i64>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    loop {
        let job = w.admin.ok(&format!("/api/v1/jobs/{job_id}")).await;
        let done = job["done"].as_i64().unwrap();
        if seen.last() != Some(&done) {
            seen.push(done);
        }
        if job["status"] == "done" || job["status"] == "failed" {
            assert_eq!(job["status"], "done", "{job}");
            return (job, seen);
        }
        assert!(
            Instant::now() < deadline,
            "the import job did not end: {job}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn unmanaged(w: &World, query: &str) -> Value {
    w.admin
        .ok(&format!("/api/v1/panels/{}/unmanaged?{query}", w.panel_id))
        .await
}

#[tokio::test]
async fn a_thousand_users_of_three_panel_admins_go_to_three_resellers_and_history_is_never_counted()
{
    let w = World::new().await;
    // 1,000 users already on the panel, each with 5 GiB used before VpnMarket.
    for (owner, n) in [("alice", 334), ("bob", 333), ("carol", 333)] {
        w.sim
            .seed_users_owned_by(owner, &format!("{owner}_"), n, 5 * GIB);
    }
    let page = unmanaged(&w, "per_page=10").await;
    assert_eq!(page["total"], 1000, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 10);
    assert_eq!(page["owners"], json!(["alice", "bob", "carol"]));
    let bobs = unmanaged(&w, "owner=bob&q=bob_1").await;
    assert!(bobs["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u["owner"] == "bob" && u["username"].as_str().unwrap().starts_with("bob_1")));
    assert_eq!(bobs["items"][0]["used_bytes"], 5 * GIB);

    let mut shops = Vec::new();
    for owner in ["alice", "bob", "carol"] {
        let shop = w
            .reseller(&format!("{owner}-shop"))
            .quota(100 * GIB)
            .create()
            .await;
        shops.push((owner, shop));
    }
    let started = Instant::now();
    for (owner, shop) in &shops {
        let (status, accepted) = w
            .admin
            .post(
                &format!("/api/v1/panels/{}/import", w.panel_id),
                json!({"reseller_id": shop.id, "owner": owner}),
            )
            .await;
        assert_eq!(status, 202, "{accepted}");
        let (job, seen) = finish(&w, accepted["job_id"].as_i64().unwrap()).await;
        let expected = if *owner == "alice" { 334 } else { 333 };
        assert_eq!(job["result"]["counts"]["imported"], expected, "{job}");
        assert_eq!(job["total"], expected);
        assert_eq!(
            seen.last(),
            Some(&expected),
            "progress ends at the total: {seen:?}"
        );
    }
    println!(
        "imported 1,000 users over 3 owners in {:?}",
        started.elapsed()
    );
    assert_eq!(unmanaged(&w, "").await["total"], 0);
    assert_eq!(w.app.audit_count("panel_config_attached").await, 1000);
    assert_eq!(w.app.audit_count("panel_imported").await, 3);

    // The configs keep their names and the panel's limits; nothing of the 5 GiB is counted.
    let (alice, shop) = &shops[0];
    let configs = shop.api.ok("/api/v1/configs?per_page=100").await;
    assert_eq!(configs["total"], 334, "{configs}");
    assert!(configs["items"][0]["username"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{alice}_")));
    w.sync().await;
    let reseller = w.admin.ok(&format!("/api/v1/resellers/{}", shop.id)).await;
    assert_eq!(reseller["traffic"]["used_bytes"], 0, "{reseller}");
    assert_eq!(reseller["status"], "active");

    // Traffic after the import is counted, exactly.
    w.sim.add_traffic("alice_7", GIB);
    w.sim.add_traffic("alice_8", 3 * GIB / 2);
    w.sync().await;
    let reseller = w.admin.ok(&format!("/api/v1/resellers/{}", shop.id)).await;
    assert_eq!(
        reseller["traffic"]["used_bytes"],
        GIB + 3 * GIB / 2,
        "{reseller}"
    );

    // A user cannot be claimed twice; nothing left to import is said.
    let (status, answer) = w
        .admin
        .post(
            &format!("/api/v1/panels/{}/import", w.panel_id),
            json!({"reseller_id": shops[1].1.id, "usernames": ["alice_7"]}),
        )
        .await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (409, &json!("nothing_to_import")),
        "{answer}"
    );
    let (status, _) = w
        .admin
        .post(
            &format!("/api/v1/panels/{}/import", w.panel_id),
            json!({"reseller_id": shops[1].1.id}),
        )
        .await;
    assert_eq!(status, 422, "a selection is required");
}

#[tokio::test]
async fn an_import_past_the_config_limit_says_so_and_a_wallet_is_not_billed_for_history() {
    let w = World::new().await;
    w.sim.seed_users_owned_by("dave", "dave_", 30, 2 * GIB);
    let shop = w
        .reseller("dave-shop")
        .set("kind", json!("wallet"))
        .set("wallet_price_per_gb", json!(1000))
        .set("config_limit", json!(20))
        .create()
        .await;
    let (status, _) = w
        .admin
        .post(
            &format!("/api/v1/resellers/{}/wallet/adjustments", shop.id),
            json!({"amount": 50_000, "note": "opening"}),
        )
        .await;
    assert_eq!(status, 201);
    let balance = || async {
        shop.api.ok("/api/v1/wallet").await["balance"]
            .as_i64()
            .unwrap()
    };
    let before = balance().await;
    let import = format!("/api/v1/panels/{}/import", w.panel_id);
    let (status, answer) = w
        .admin
        .post(&import, json!({"reseller_id": shop.id, "owner": "dave"}))
        .await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"]["code"], "config_limit_reached");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("10 of these 30"),
        "{answer}"
    );
    assert_eq!(unmanaged(&w, "").await["total"], 30, "nothing was imported");

    let (status, accepted) = w
        .admin
        .post(
            &import,
            json!({"reseller_id": shop.id, "owner": "dave", "exceed_limit": true}),
        )
        .await;
    assert_eq!(status, 202, "{accepted}");
    finish(&w, accepted["job_id"].as_i64().unwrap()).await;
    // Two billing hours over 60 GiB of history: nothing charged.
    w.sync().await;
    for hours in [1, 2] {
        let at = chrono::Utc::now() + chrono::Duration::hours(hours);
        engine::billing::run_once(&w.app.ctx, at).await.unwrap();
    }
    assert_eq!(balance().await, before, "history is never billed");
    // One new GiB is billed once at the reseller's price.
    w.sim.add_traffic("dave_3", GIB);
    w.sync().await;
    let at = chrono::Utc::now() + chrono::Duration::hours(3);
    engine::billing::run_once(&w.app.ctx, at).await.unwrap();
    assert_eq!(balance().await, before - 1000);
}

#[tokio::test]
async fn the_admin_imports_ticked_users_from_the_page_and_sees_the_result() {
    let w = World::new().await;
    w.sim.seed_users_owned_by("erin", "erin_", 5, GIB);
    let shop = w
        .reseller("erin-shop")
        .set("config_limit", json!(1))
        .create()
        .await;
    w.sync().await;
    let b = w.admin_browser().await;
    let dash = b.html("/?lang=en").await;
    assert!(
        dash.contains("id=\"unmanaged-users\""),
        "the dashboard counts them"
    );
    let page_path = format!("/admin/panels/{}/unmanaged", w.panel_id);
    let html = b.html(&format!("{page_path}?lang=en&owner=erin")).await;
    common::assert_shows(&html, &["erin_0", "erin_4", "5 users match", "erin"]);

    // Two ticked users, one past the limit: the page says so and asks.
    let rid = shop.id.to_string();
    let fields = [
        ("reseller_id", rid.as_str()),
        ("mode", "selected"),
        ("usernames", "erin_1"),
        ("usernames", "erin_2"),
    ];
    let res = b.submit(&format!("{page_path}?lang=en"), &fields).await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    common::assert_shows(
        &html,
        &["1 of these users would go beyond", "Import anyway"],
    );
    assert!(
        html.contains(r#"value="erin_1" aria-label="erin_1" checked"#),
        "the ticks stay"
    );

    let mut anyway = fields.to_vec();
    anyway.push(("exceed_limit", "1"));
    let res = b.submit(&page_path, &anyway).await;
    assert_eq!(res.status(), 303);
    let job = res.headers()["location"].to_str().unwrap().to_string();
    assert!(job.starts_with("/admin/jobs/"), "{job}");
    let id: i64 = job.trim_start_matches("/admin/jobs/").parse().unwrap();
    finish(&w, id).await;
    let html = b.html(&format!("{job}?lang=en")).await;
    common::assert_shows(&html, &["Import from a panel", "Imported"]);
    let configs = shop.api.ok("/api/v1/configs").await;
    assert_eq!(configs["total"], 2, "{configs}");
    let html = b.html(&format!("{page_path}?lang=en")).await;
    common::assert_hides(&html, &["erin_1<", "erin_2<"]);
}

#[tokio::test]
async fn an_import_makes_the_panel_admins_reseller_in_the_same_step_and_only_when_someone_comes() {
    let w = World::new().await;
    w.sim.seed_users_owned_by("frank", "frank_", 4, GIB);
    let import = format!("/api/v1/panels/{}/import", w.panel_id);
    let new = json!({"username": "", "password": "frank-pass-1", "kind": "traffic",
                     "panel_id": 0, "traffic_quota_bytes": 50 * GIB, "window_days": 30});
    // Nobody to import: no reseller is made.
    let (status, answer) = w
        .admin
        .post(&import, json!({"new_reseller": new, "owner": "nobody"}))
        .await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(w.app.audit_count("reseller_created").await, 0);

    let (status, accepted) = w
        .admin
        .post(&import, json!({"new_reseller": new, "owner": "frank"}))
        .await;
    assert_eq!(status, 202, "{accepted}");
    finish(&w, accepted["job_id"].as_i64().unwrap()).await;
    // The reseller is the panel admin's, on this panel, with its four users.
    let frank = w.app.api_as("frank", "frank-pass-1").await;
    let configs = frank.ok("/api/v1/configs").await;
    assert_eq!(configs["total"], 4, "{configs}");
    assert_eq!(w.app.audit_count("reseller_created").await, 1);
}

#[tokio::test]
async fn two_imports_racing_for_the_same_users_claim_each_user_once() {
    let w = World::new().await;
    w.sim.seed_users_owned_by("gina", "gina_", 300, GIB);
    let a = w.reseller("gina-a").create().await;
    let b = w.reseller("gina-b").create().await;
    let import = format!("/api/v1/panels/{}/import", w.panel_id);
    let (ra, rb) = tokio::join!(
        w.admin
            .post(&import, json!({"reseller_id": a.id, "owner": "gina"})),
        w.admin
            .post(&import, json!({"reseller_id": b.id, "owner": "gina"})),
    );
    let mut imported = 0;
    for (status, accepted) in [ra, rb] {
        // The second may already find nobody left to import.
        if status == 409 {
            continue;
        }
        assert_eq!(status, 202, "{accepted}");
        let (job, _) = finish(&w, accepted["job_id"].as_i64().unwrap()).await;
        imported += job["result"]["counts"]["imported"].as_i64().unwrap();
    }
    assert_eq!(imported, 300, "each user imported once");
    let a_total = a.api.ok("/api/v1/configs").await["total"].as_i64().unwrap();
    let b_total = b.api.ok("/api/v1/configs").await["total"].as_i64().unwrap();
    assert_eq!(a_total + b_total, 300);
    assert_eq!(w.app.audit_count("panel_config_attached").await, 300);
}
