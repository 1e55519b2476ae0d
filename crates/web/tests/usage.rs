//! Usage metering over the API as users meet it: a sync run by the admin, a reseller resetting
//! its own config (and not another's), the admin's reseller-wide reset job with its progress, the
//! pages (reset buttons, job progress, sync runs, grace settings) in both languages.

mod common;

use common::TestApp;
use panel_sim::SimKind;
use serde_json::{json, Value};

const GIB: i64 = 1 << 30;
const MIB: i64 = 1 << 20;

async fn send(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    app.api(token, method, path, body).await
}

use reqwest::Method;

/// An admin token, a panel, and a traffic reseller with its own token.
struct World {
    app: TestApp,
    admin: String,
    sim: panel_sim::Sim,
    panel_id: i64,
}

async fn world() -> World {
    let mut app = TestApp::spawn().await;
    app.start_worker();
    app.create_admin("root", "correct-horse").await;
    let admin = app.token("root", "correct-horse").await;
    let (panel_id, sim) = app.add_panel(SimKind::Marzban).await;
    World {
        app,
        admin,
        sim,
        panel_id,
    }
}

impl World {
    async fn reseller(&self, name: &str, quota: i64) -> (i64, String) {
        let (s, r) = send(&self.app, &self.admin, Method::POST, "/api/v1/resellers", Some(json!({
            "username": name, "password": "shop-pass-1", "kind": "traffic", "panel_id": self.panel_id,
            "traffic_quota_bytes": quota, "window_days": 30}))).await;
        assert_eq!(s, 201, "{r}");
        (
            r["id"].as_i64().unwrap(),
            self.app.token(name, "shop-pass-1").await,
        )
    }

    async fn config(&self, token: &str) -> (i64, String) {
        let (s, c) = send(
            &self.app,
            token,
            Method::POST,
            "/api/v1/configs",
            Some(json!({"traffic_limit_bytes": 50 * GIB, "expires_in_days": 30})),
        )
        .await;
        assert_eq!(s, 201, "{c}");
        (
            c["id"].as_i64().unwrap(),
            c["username"].as_str().unwrap().to_string(),
        )
    }

    async fn sync(&self) -> Value {
        let (s, r) = send(
            &self.app,
            &self.admin,
            Method::POST,
            "/api/v1/jobs/usage-sync",
            None,
        )
        .await;
        assert_eq!(s, 200, "{r}");
        r
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reseller_resets_its_own_config_and_cannot_touch_anothers() {
    let w = world().await;
    let (_a, ta) = w.reseller("shop_a", 100 * GIB).await;
    let (_b, tb) = w.reseller("shop_b", 100 * GIB).await;
    let (id, username) = w.config(&ta).await;
    w.sim.add_traffic(&username, 300 * MIB);
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
    let (s, e) = send(
        &w.app,
        &tb,
        Method::POST,
        &format!("/api/v1/configs/{id}/reset-usage"),
        None,
    )
    .await;
    assert_eq!((s, e["error"]["code"].as_str()), (404, Some("not_found")));
    assert_eq!(w.sim.user(&username).unwrap().used_bytes, 300 * MIB);

    let (s, c) = send(
        &w.app,
        &ta,
        Method::POST,
        &format!("/api/v1/configs/{id}/reset-usage"),
        None,
    )
    .await;
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
    let (s, c) = send(
        &w.app,
        &ta,
        Method::POST,
        &format!("/api/v1/configs/{id}/reset-usage"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(c["pending_operation"]["kind"], "reset", "{c}");
    assert_eq!(c["usage_bytes"], 10 * MIB);
    w.sync().await;
    let (_, c) = send(
        &w.app,
        &ta,
        Method::GET,
        &format!("/api/v1/configs/{id}"),
        None,
    )
    .await;
    assert_eq!(
        c["lifetime_usage_bytes"].as_i64(),
        Some(w.sim.traffic_counted(&username))
    );
    // A reseller may not run syncs or read jobs.
    let (s, _) = send(&w.app, &ta, Method::POST, "/api/v1/jobs/usage-sync", None).await;
    assert_eq!(s, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_resets_a_reseller_as_a_job_and_the_next_sync_does_not_bring_usage_back() {
    let w = world().await;
    let (rid, tr) = w.reseller("shop_r", 10 * GIB).await;
    let (c1, u1) = w.config(&tr).await;
    let (_c2, u2) = w.config(&tr).await;
    w.sim.add_traffic(&u1, 2 * GIB);
    w.sim.add_traffic(&u2, GIB);
    w.sync().await;
    let (_, r) = send(
        &w.app,
        &w.admin,
        Method::GET,
        &format!("/api/v1/resellers/{rid}"),
        None,
    )
    .await;
    assert_eq!(r["traffic"]["used_bytes"], 3 * GIB, "{r}");

    // Only an admin may start it.
    let (s, _) = send(
        &w.app,
        &tr,
        Method::POST,
        &format!("/api/v1/resellers/{rid}/reset-usage"),
        None,
    )
    .await;
    assert_eq!(s, 403);
    let (s, started) = send(
        &w.app,
        &w.admin,
        Method::POST,
        &format!("/api/v1/resellers/{rid}/reset-usage"),
        None,
    )
    .await;
    assert_eq!(s, 202, "{started}");
    let job = started["job_id"].as_i64().unwrap();
    let mut last = Value::Null;
    for _ in 0..100 {
        let (s, j) = send(
            &w.app,
            &w.admin,
            Method::GET,
            &format!("/api/v1/jobs/{job}"),
            None,
        )
        .await;
        assert_eq!(s, 200);
        last = j;
        if last["status"] == "done" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(last["status"], "done", "{last}");
    assert_eq!(
        (last["done"].as_i64(), last["total"].as_i64()),
        (Some(2), Some(2))
    );
    assert_eq!(last["result"]["configs"], 2);
    assert_eq!(last["result"]["remote_successes"], 2);
    assert_eq!(last["result"]["remote_failures"], 0);
    assert_eq!(last["result"]["bytes_settled"], 3 * GIB);
    let (s, _) = send(&w.app, &w.admin, Method::GET, "/api/v1/jobs/999999", None).await;
    assert_eq!(s, 404);

    let (_, r) = send(
        &w.app,
        &w.admin,
        Method::GET,
        &format!("/api/v1/resellers/{rid}"),
        None,
    )
    .await;
    assert_eq!(r["traffic"]["used_bytes"], 0);
    let (_, c) = send(
        &w.app,
        &tr,
        Method::GET,
        &format!("/api/v1/configs/{c1}"),
        None,
    )
    .await;
    assert_eq!(
        (c["usage_bytes"].as_i64(), c["settled_usage_bytes"].as_i64()),
        (Some(0), Some(2 * GIB))
    );
    w.sync().await;
    let (_, r) = send(
        &w.app,
        &w.admin,
        Method::GET,
        &format!("/api/v1/resellers/{rid}"),
        None,
    )
    .await;
    assert_eq!(
        r["traffic"]["used_bytes"], 0,
        "the next sync does not resurrect usage"
    );
    w.sim.add_traffic(&u2, 5 * MIB);
    w.sync().await;
    let (_, r) = send(
        &w.app,
        &w.admin,
        Method::GET,
        &format!("/api/v1/resellers/{rid}"),
        None,
    )
    .await;
    assert_eq!(r["traffic"]["used_bytes"], 5 * MIB);
    assert_eq!(w.app.audit_count("reseller_usage_reset").await, 1);
}

async fn page(b: &reqwest::Client, app: &TestApp, path: &str) -> (u16, String) {
    let res = b.get(app.url(path)).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_pages_confirm_run_and_follow_a_reset_and_show_syncs_in_both_languages() {
    let w = world().await;
    let (rid, tr) = w.reseller("shop_p", 10 * GIB).await;
    let (cid, username) = w.config(&tr).await;
    w.sim.add_traffic(&username, GIB);
    let b = w.app.signed_in_browser("root", "correct-horse").await;
    let csrf = w.app.csrf_of(&b).await;

    // The sync page runs a sync and lists the run.
    let res = b
        .post(w.app.url("/admin/sync"))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let (s, html) = page(&b, &w.app, "/admin/sync?lang=en").await;
    assert_eq!(s, 200);
    assert!(
        html.contains("Usage sync") && html.contains("Configs updated"),
        "{html}"
    );
    let (s, html) = page(&b, &w.app, "/admin/sync?lang=fa").await;
    assert_eq!(s, 200);
    assert!(html.contains("همگام‌سازی مصرف"));

    // The reseller page links to the reset, whose confirmation explains what happens (seed 000).
    let (_, html) = page(&b, &w.app, &format!("/admin/resellers/{rid}?lang=en")).await;
    assert!(html.contains(&format!("/admin/resellers/{rid}/reset-usage")));
    let (s, html) = page(
        &b,
        &w.app,
        &format!("/admin/resellers/{rid}/reset-usage?lang=en"),
    )
    .await;
    assert_eq!(s, 200);
    assert!(
        html.contains("previous usage") && html.contains("next sync will not bring the usage back"),
        "{html}"
    );
    let (_, html) = page(
        &b,
        &w.app,
        &format!("/admin/resellers/{rid}/reset-usage?lang=fa"),
    )
    .await;
    assert!(html.contains("مصرف قبلی"));

    // Without the CSRF token nothing starts.
    let res = b
        .post(w.app.url(&format!("/admin/resellers/{rid}/reset-usage")))
        .form(&[("x", "1")])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error());
    let res = b
        .post(w.app.url(&format!("/admin/resellers/{rid}/reset-usage")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/admin/jobs/"), "{to}");
    let mut html = String::new();
    for _ in 0..100 {
        html = page(&b, &w.app, &format!("{to}?lang=en")).await.1;
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
    assert_eq!(w.sim.user(&username).unwrap().used_bytes, 0);
    assert_eq!(w.app.audit_count("reseller_usage_reset").await, 1);

    // A reseller cannot open the admin pages; it resets its own config from its page.
    w.app
        .create_user("shop_p_web", "shop-pass-2", "reseller", Some(rid))
        .await;
    let rb = w.app.signed_in_browser("shop_p_web", "shop-pass-2").await;
    let (s, _) = page(
        &rb,
        &w.app,
        &format!("/admin/jobs/{}", to.rsplit('/').next().unwrap()),
    )
    .await;
    assert!(s == 403 || s == 404 || s == 303, "{s}");
    w.sim.add_traffic(&username, 7 * MIB);
    let (_, html) = page(&rb, &w.app, &format!("/configs/{cid}?lang=en")).await;
    assert!(
        html.contains(&format!("action=\"/configs/{cid}/reset-usage\""))
            && html.contains("Reset usage")
    );
    let rcsrf = w.app.csrf_of(&rb).await;
    let res = rb
        .post(w.app.url(&format!("/configs/{cid}/reset-usage")))
        .form(&[("_csrf", rcsrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(w.sim.user(&username).unwrap().used_bytes, 0);
    let (_, c) = send(
        &w.app,
        &tr,
        Method::GET,
        &format!("/api/v1/configs/{cid}"),
        None,
    )
    .await;
    assert_eq!(c["settled_usage_bytes"], GIB + 7 * MIB);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grace_settings_are_edited_audited_and_validated() {
    let w = world().await;
    let b = w.app.signed_in_browser("root", "correct-horse").await;
    let csrf = w.app.csrf_of(&b).await;
    let (s, html) = page(&b, &w.app, "/admin/settings/grace?lang=en").await;
    assert_eq!(s, 200);
    assert!(
        html.contains("value=\"2\"") && html.contains("value=\"50\""),
        "defaults 2 % and 50 MB"
    );
    let res = b
        .post(w.app.url("/admin/settings/grace"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("grace_percent", "5"),
            ("grace_min_mb", "100"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let (_, html) = page(&b, &w.app, "/admin/settings/grace?lang=fa").await;
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
        .post(w.app.url("/admin/settings/grace"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("grace_percent", "150"),
            ("grace_min_mb", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(w.app.audit_count("settings_updated").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_quota_after_a_sync_suspends_and_added_traffic_brings_the_reseller_back() {
    let w = world().await;
    let (rid, tr) = w.reseller("shop_q", GIB).await;
    let (cid, username) = w.config(&tr).await;
    let (hand, hand_name) = w.config(&tr).await;
    let (s, _) = send(
        &w.app,
        &tr,
        Method::POST,
        &format!("/api/v1/configs/{hand}/disable"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    w.sim.add_traffic(&username, GIB + 60 * MIB);
    w.sync().await;
    let (_, me) = send(&w.app, &tr, Method::GET, "/api/v1/me", None).await;
    assert_eq!(me["status"], "suspended", "{me}");
    let (s, e) = send(&w.app, &tr, Method::GET, "/api/v1/configs", None).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (403, Some("reseller_suspended"))
    );
    let (_, c) = send(
        &w.app,
        &w.admin,
        Method::GET,
        &format!("/api/v1/configs/{cid}"),
        None,
    )
    .await;
    assert_eq!(
        (c["status"].as_str(), c["disabled_reason"].as_str()),
        (Some("disabled"), Some("reseller_quota"))
    );
    // The worker disables it on the panel.
    for _ in 0..50 {
        if !w.sim.user(&username).unwrap().enabled {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!w.sim.user(&username).unwrap().enabled);

    let (s, r) = send(
        &w.app,
        &w.admin,
        Method::POST,
        &format!("/api/v1/resellers/{rid}/traffic"),
        Some(json!({"add_bytes": GIB})),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["status"], "active", "{r}");
    let (_, c) = send(
        &w.app,
        &tr,
        Method::GET,
        &format!("/api/v1/configs/{cid}"),
        None,
    )
    .await;
    assert_eq!(c["status"], "active");
    let (_, h) = send(
        &w.app,
        &tr,
        Method::GET,
        &format!("/api/v1/configs/{hand}"),
        None,
    )
    .await;
    assert_eq!(
        (h["status"].as_str(), h["disabled_reason"].as_str()),
        (Some("disabled"), Some("manual"))
    );
    for _ in 0..50 {
        if w.sim.user(&username).unwrap().enabled {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(w.sim.user(&username).unwrap().enabled);
    assert!(
        !w.sim.user(&hand_name).unwrap().enabled,
        "a hand-disabled config stays disabled"
    );
    // Syncs inside the terms change nothing more.
    w.sync().await;
    let (_, me) = send(&w.app, &tr, Method::GET, "/api/v1/me", None).await;
    assert_eq!(me["status"], "active");
    assert_eq!(w.app.audit_count("reseller_suspended").await, 1);
}

/// An absurd reading (4.7·10¹⁸ bytes) is held back: the reseller's figures and `/me` answer,
/// the admin sees it on the sync page (fa and en) and in the API, and accepts or discards it,
/// each audited; a decided one cannot be decided again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_reading_is_shown_to_the_admin_to_accept_or_discard() {
    let w = world().await;
    let (rid, tr) = w.reseller("shop_q", 100 * GIB).await;
    let (cid, username) = w.config(&tr).await;
    let (_cid2, username2) = w.config(&tr).await;
    w.sim.add_traffic(&username, GIB);
    w.sim.add_traffic(&username2, GIB);
    w.sync().await;
    w.sim.add_traffic(&username, 4_700_000_000_000_000_000);
    w.sim.add_traffic(&username2, 3 * GIB);
    let r = w.sync().await;
    assert_eq!(r["quarantined"], 1, "{r}");
    let (s, me) = send(&w.app, &tr, Method::GET, "/api/v1/me", None).await;
    assert_eq!(s, 200, "{me}");
    let (s, _) = send(
        &w.app,
        &w.admin,
        Method::GET,
        &format!("/api/v1/resellers/{rid}"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    let (s, list) = send(
        &w.app,
        &w.admin,
        Method::GET,
        "/api/v1/usage/held-readings",
        None,
    )
    .await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["config_id"], cid);
    assert_eq!(list[0]["status"], "pending");
    let hid = list[0]["id"].as_i64().unwrap();
    // A reseller may not decide.
    let (s, _) = send(
        &w.app,
        &tr,
        Method::POST,
        &format!("/api/v1/usage/held-readings/{hid}/accept"),
        None,
    )
    .await;
    assert_eq!(s, 403);

    let b = w.app.signed_in_browser("root", "correct-horse").await;
    let (_, html) = page(&b, &w.app, "/admin/sync?lang=en").await;
    assert!(
        html.contains("Readings held back") && html.contains(&username),
        "{html}"
    );
    let (_, html) = page(&b, &w.app, "/admin/sync?lang=fa").await;
    assert!(html.contains("خوانش‌های نگه‌داشته"));
    let csrf = w.app.csrf_of(&b).await;
    let res = b
        .post(w.app.url(&format!("/admin/sync/held/{hid}/discard")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(w.app.audit_count("usage_reading_discarded").await, 1);
    let (s, r) = send(
        &w.app,
        &w.admin,
        Method::POST,
        &format!("/api/v1/usage/held-readings/{hid}/accept"),
        None,
    )
    .await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (409, Some("already_decided"))
    );
    // The same absurd reading seen again is not asked about again, and is never counted.
    let r = w.sync().await;
    assert_eq!(r["quarantined"], 1, "{r}");
    let (_, list) = send(
        &w.app,
        &w.admin,
        Method::GET,
        "/api/v1/usage/held-readings",
        None,
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (_, c) = send(
        &w.app,
        &tr,
        Method::GET,
        &format!("/api/v1/configs/{cid}"),
        None,
    )
    .await;
    assert_eq!(
        c["usage"]["lifetime_bytes"]
            .as_i64()
            .or(c["lifetime_usage_bytes"].as_i64()),
        Some(GIB),
        "{c}"
    );
}
