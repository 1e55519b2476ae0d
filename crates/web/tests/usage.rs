//! Usage metering over the API as users meet it: a sync run by the admin, a reseller resetting
//! its own config (and not another's), the admin's reseller-wide reset job with its progress, the
//! pages (reset buttons, job progress, sync runs, grace settings) in both languages.

mod common;

use common::{assert_error, assert_shows, World, GIB, MIB};
use serde_json::{json, Value};

/// Polls `path` as the admin until the job reports done (bounded); the last answer.
async fn wait_for_job(w: &World, path: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..100 {
        let (s, j) = w.admin.get(path).await;
        assert_eq!(s, 200);
        last = j;
        if last["status"] == "done" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    last
}

/// Waits (bounded) until the panel shows `username` enabled as `enabled`.
async fn wait_enabled(w: &World, username: &str, enabled: bool) {
    for _ in 0..50 {
        if w.sim.user(username).unwrap().enabled == enabled {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reseller_resets_its_own_config_and_cannot_touch_anothers() {
    let w = World::new().await;
    let a = w
        .reseller("shop_a")
        .configs(1)
        .usage(300 * MIB)
        .create()
        .await;
    let b = w.reseller("shop_b").create().await;
    let (id, username) = (a.configs[0].id, a.configs[0].username.clone());
    let r = w.sync().await;
    assert_eq!(
        (
            r["panels_ok"].as_i64(),
            r["panels_failed"].as_i64(),
            r["configs_updated"].as_i64()
        ),
        (Some(1), Some(0), Some(1))
    );

    // Another reseller: 404, and nothing happens.
    let reset = format!("/api/v1/configs/{id}/reset-usage");
    assert_error(&b.api.post_empty(&reset).await, 404, "not_found");
    assert_eq!(w.sim.user(&username).unwrap().used_bytes, 300 * MIB);

    let (s, c) = a.api.post_empty(&reset).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["usage_bytes"], 0);
    assert_eq!(c["settled_usage_bytes"], 300 * MIB);
    assert_eq!(c["lifetime_usage_bytes"], 300 * MIB);
    assert!(c["pending_operation"].is_null(), "{c}");
    assert_eq!(w.sim.user(&username).unwrap().used_bytes, 0);
    assert_eq!(w.app.audit_count("config_usage_reset").await, 1);

    // A reset the panel refuses shows as pending, and counts stay exact.
    w.sim.add_traffic(&username, 10 * MIB);
    w.sim
        .inject(panel_sim::SimOp::Reset, panel_sim::Fault::Http500, None);
    let (s, c) = a.api.post_empty(&reset).await;
    assert_eq!(s, 200);
    assert_eq!(c["pending_operation"]["kind"], "reset", "{c}");
    assert_eq!(c["usage_bytes"], 10 * MIB);
    w.sync().await;
    let (_, c) = a.api.get(&format!("/api/v1/configs/{id}")).await;
    assert_eq!(
        c["lifetime_usage_bytes"].as_i64(),
        Some(w.sim.traffic_counted(&username))
    );
    // A reseller may not run syncs or read jobs.
    assert_eq!(a.api.post_empty("/api/v1/jobs/usage-sync").await.0, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_resets_a_reseller_as_a_job_and_the_next_sync_does_not_bring_usage_back() {
    let w = World::new().await;
    let shop = w
        .reseller("shop_r")
        .quota(10 * GIB)
        .configs(2)
        .create()
        .await;
    let (rid, c1, u2) = (shop.id, shop.configs[0].id, &shop.configs[1].username);
    w.sim.add_traffic(&shop.configs[0].username, 2 * GIB);
    w.sim.add_traffic(u2, GIB);
    w.sync().await;
    let reseller = format!("/api/v1/resellers/{rid}");
    let (_, r) = w.admin.get(&reseller).await;
    assert_eq!(r["traffic"]["used_bytes"], 3 * GIB, "{r}");

    // Only an admin may start it.
    let reset = format!("/api/v1/resellers/{rid}/reset-usage");
    assert_eq!(shop.api.post_empty(&reset).await.0, 403);
    let (s, started) = w.admin.post_empty(&reset).await;
    assert_eq!(s, 202, "{started}");
    let job = started["job_id"].as_i64().unwrap();
    let last = wait_for_job(&w, &format!("/api/v1/jobs/{job}")).await;
    assert_eq!(last["status"], "done", "{last}");
    assert_eq!(
        (last["done"].as_i64(), last["total"].as_i64()),
        (Some(2), Some(2))
    );
    assert_eq!(last["result"]["configs"], 2);
    assert_eq!(last["result"]["remote_successes"], 2);
    assert_eq!(last["result"]["remote_failures"], 0);
    assert_eq!(last["result"]["bytes_settled"], 3 * GIB);
    assert_eq!(w.admin.get("/api/v1/jobs/999999").await.0, 404);

    let (_, r) = w.admin.get(&reseller).await;
    assert_eq!(r["traffic"]["used_bytes"], 0);
    let (_, c) = shop.api.get(&format!("/api/v1/configs/{c1}")).await;
    assert_eq!(
        (c["usage_bytes"].as_i64(), c["settled_usage_bytes"].as_i64()),
        (Some(0), Some(2 * GIB))
    );
    w.sync().await;
    let (_, r) = w.admin.get(&reseller).await;
    assert_eq!(
        r["traffic"]["used_bytes"], 0,
        "the next sync does not resurrect usage"
    );
    w.sim.add_traffic(u2, 5 * MIB);
    w.sync().await;
    let (_, r) = w.admin.get(&reseller).await;
    assert_eq!(r["traffic"]["used_bytes"], 5 * MIB);
    assert_eq!(w.app.audit_count("reseller_usage_reset").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_pages_confirm_run_and_follow_a_reset_and_show_syncs_in_both_languages() {
    let w = World::new().await;
    let shop = w
        .reseller("shop_p")
        .quota(10 * GIB)
        .configs(1)
        .usage(GIB)
        .create()
        .await;
    let (rid, cid, username) = (shop.id, shop.configs[0].id, &shop.configs[0].username);
    let b = w.admin_browser().await;

    // The sync page runs a sync and lists the run.
    assert_eq!(b.submit("/admin/sync", &[]).await.status(), 303);
    let (s, html) = b.get("/admin/sync?lang=en").await;
    assert_eq!(s, 200);
    assert!(
        html.contains("Usage sync") && html.contains("Configs updated"),
        "{html}"
    );
    let (s, html) = b.get("/admin/sync?lang=fa").await;
    assert_eq!(s, 200);
    assert!(html.contains("همگام‌سازی مصرف"));

    // The reseller page links to the reset, whose confirmation explains what happens (seed 000).
    let html = b.html(&format!("/admin/resellers/{rid}?lang=en")).await;
    assert!(html.contains(&format!("/admin/resellers/{rid}/reset-usage")));
    let (s, html) = b
        .get(&format!("/admin/resellers/{rid}/reset-usage?lang=en"))
        .await;
    assert_eq!(s, 200);
    assert!(
        html.contains("previous usage") && html.contains("next sync will not bring the usage back"),
        "{html}"
    );
    let html = b
        .html(&format!("/admin/resellers/{rid}/reset-usage?lang=fa"))
        .await;
    assert!(html.contains("مصرف قبلی"));

    // Without the CSRF token nothing starts.
    let reset = format!("/admin/resellers/{rid}/reset-usage");
    let res = b.submit_raw(&reset, &[("x", "1")]).await;
    assert!(res.status().is_client_error());
    let res = b.submit(&reset, &[]).await;
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/admin/jobs/"), "{to}");
    let mut html = String::new();
    for _ in 0..100 {
        html = b.html(&format!("{to}?lang=en")).await;
        if html.contains("Done") {
            break;
        }
        assert!(
            html.contains("http-equiv=\"refresh\""),
            "a running job refreshes itself"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        html.contains("Done") && html.contains("Moved to previous usage"),
        "{html}"
    );
    assert!(!html.contains("http-equiv=\"refresh\""));
    assert_eq!(w.sim.user(username).unwrap().used_bytes, 0);
    assert_eq!(w.app.audit_count("reseller_usage_reset").await, 1);

    // A reseller cannot open the admin pages; it resets its own config from its page.
    w.app
        .create_user("shop_p_web", "shop-pass-2", "reseller", Some(rid))
        .await;
    let rb = w.app.browser_as("shop_p_web", "shop-pass-2").await;
    let (s, _) = rb
        .get(&format!("/admin/jobs/{}", to.rsplit('/').next().unwrap()))
        .await;
    assert!(s == 403 || s == 404 || s == 303, "{s}");
    w.sim.add_traffic(username, 7 * MIB);
    let html = rb.html(&format!("/configs/{cid}?lang=en")).await;
    assert!(
        html.contains(&format!("action=\"/configs/{cid}/reset-usage\""))
            && html.contains("Reset usage")
    );
    let res = rb.submit(&format!("/configs/{cid}/reset-usage"), &[]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(w.sim.user(username).unwrap().used_bytes, 0);
    let (_, c) = shop.api.get(&format!("/api/v1/configs/{cid}")).await;
    assert_eq!(c["settled_usage_bytes"], GIB + 7 * MIB);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grace_settings_are_edited_audited_and_validated() {
    let w = World::new().await;
    let b = w.admin_browser().await;
    let (s, html) = b.get("/admin/settings/grace?lang=en").await;
    assert_eq!(s, 200);
    assert!(
        html.contains("value=\"2\"") && html.contains("value=\"50\""),
        "defaults 2 % and 50 MB"
    );
    let res = b
        .submit(
            "/admin/settings/grace",
            &[("grace_percent", "5"), ("grace_min_mb", "100")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let html = b.html("/admin/settings/grace?lang=fa").await;
    assert!(html.contains("value=\"5\"") && html.contains("value=\"100\""));
    assert_eq!(w.app.audit_count("settings_updated").await, 1);
    let mut conn = w.app.db.acquire().await.unwrap();
    assert_eq!(
        db::settings::get_i64(&mut conn, "grace_min_bytes")
            .await
            .unwrap(),
        Some(100 * MIB)
    );
    drop(conn);
    let res = b
        .submit(
            "/admin/settings/grace",
            &[("grace_percent", "150"), ("grace_min_mb", "x")],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(w.app.audit_count("settings_updated").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_quota_after_a_sync_suspends_and_added_traffic_brings_the_reseller_back() {
    let w = World::new().await;
    let shop = w.reseller("shop_q").quota(GIB).configs(2).create().await;
    let (cid, username) = (shop.configs[0].id, &shop.configs[0].username);
    let (hand, hand_name) = (shop.configs[1].id, &shop.configs[1].username);
    let (s, _) = shop
        .api
        .post_empty(&format!("/api/v1/configs/{hand}/disable"))
        .await;
    assert_eq!(s, 200);
    w.sim.add_traffic(username, GIB + 60 * MIB);
    w.sync().await;
    let (_, me) = shop.api.get("/api/v1/me").await;
    assert_eq!(me["status"], "suspended", "{me}");
    assert_error(
        &shop.api.get("/api/v1/configs").await,
        403,
        "reseller_suspended",
    );
    let (_, c) = w.admin.get(&format!("/api/v1/configs/{cid}")).await;
    assert_eq!(
        (c["status"].as_str(), c["disabled_reason"].as_str()),
        (Some("disabled"), Some("reseller_quota"))
    );
    // The worker disables it on the panel.
    wait_enabled(&w, username, false).await;
    assert!(!w.sim.user(username).unwrap().enabled);

    let (s, r) = w
        .admin
        .post(
            &format!("/api/v1/resellers/{}/traffic", shop.id),
            json!({"add_bytes": GIB}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["status"], "active", "{r}");
    let (_, c) = shop.api.get(&format!("/api/v1/configs/{cid}")).await;
    assert_eq!(c["status"], "active");
    let (_, h) = shop.api.get(&format!("/api/v1/configs/{hand}")).await;
    assert_eq!(
        (h["status"].as_str(), h["disabled_reason"].as_str()),
        (Some("disabled"), Some("manual"))
    );
    wait_enabled(&w, username, true).await;
    assert!(w.sim.user(username).unwrap().enabled);
    assert!(
        !w.sim.user(hand_name).unwrap().enabled,
        "a hand-disabled config stays disabled"
    );
    // Syncs inside the terms change nothing more.
    w.sync().await;
    let (_, me) = shop.api.get("/api/v1/me").await;
    assert_eq!(me["status"], "active");
    assert_eq!(w.app.audit_count("reseller_suspended").await, 1);
}

/// An absurd reading (4.7·10¹⁸ bytes) is held back: the reseller's figures and `/me` answer,
/// the admin sees it on the sync page (fa and en) and in the API, and accepts or discards it,
/// each audited; a decided one cannot be decided again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_reading_is_shown_to_the_admin_to_accept_or_discard() {
    let w = World::new().await;
    let shop = w.reseller("shop_q").configs(2).usage(GIB).create().await;
    let (cid, username) = (shop.configs[0].id, &shop.configs[0].username);
    w.sync().await;
    w.sim.add_traffic(username, 4_700_000_000_000_000_000);
    w.sim.add_traffic(&shop.configs[1].username, 3 * GIB);
    let r = w.sync().await;
    assert_eq!(r["quarantined"], 1, "{r}");
    let (s, me) = shop.api.get("/api/v1/me").await;
    assert_eq!(s, 200, "{me}");
    let (s, _) = w.admin.get(&format!("/api/v1/resellers/{}", shop.id)).await;
    assert_eq!(s, 200);
    let (s, list) = w.admin.get("/api/v1/usage/held-readings").await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["config_id"], cid);
    assert_eq!(list[0]["status"], "pending");
    let hid = list[0]["id"].as_i64().unwrap();
    // A reseller may not decide.
    let accept = format!("/api/v1/usage/held-readings/{hid}/accept");
    assert_eq!(shop.api.post_empty(&accept).await.0, 403);

    let b = w.admin_browser().await;
    let html = b.html("/admin/sync?lang=en").await;
    assert_shows(&html, &["Readings held back", username]);
    assert!(b
        .html("/admin/sync?lang=fa")
        .await
        .contains("خوانش‌های نگه‌داشته"));
    let res = b
        .submit(&format!("/admin/sync/held/{hid}/discard"), &[])
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(w.app.audit_count("usage_reading_discarded").await, 1);
    assert_error(&w.admin.post_empty(&accept).await, 409, "already_decided");
    // The same absurd reading seen again is not asked about again, and is never counted.
    let r = w.sync().await;
    assert_eq!(r["quarantined"], 1, "{r}");
    let (_, list) = w.admin.get("/api/v1/usage/held-readings").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (_, c) = shop.api.get(&format!("/api/v1/configs/{cid}")).await;
    assert_eq!(
        c["usage"]["lifetime_bytes"]
            .as_i64()
            .or(c["lifetime_usage_bytes"].as_i64()),
        Some(GIB),
        "{c}"
    );
}
