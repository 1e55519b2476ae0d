//! What the admin sees of a panel that drifted from our configs (spec §13): a user deleted on
//! the panel shows as missing on the config page, the reseller page and the API, with a
//! re-create action for the admin only; corrections read as sentences in both languages; the
//! report-only setting; the metrics by kind.

mod common;

use common::{assert_error, Shop, World, GIB};

const METRICS_TOKEN: &str = "metrics-token-drift";

/// The usual world with a metrics token, and the traffic reseller `shop_d` with one config.
async fn world() -> (World, Shop) {
    let w = World::builder()
        .options(web::WebOptions {
            metrics_token: Some(METRICS_TOKEN.into()),
            ..Default::default()
        })
        .spawn()
        .await;
    let shop = w.reseller("shop_d").configs(1).create().await;
    (w, shop)
}

async fn metrics(w: &World) -> String {
    w.app
        .api_with(METRICS_TOKEN)
        .request(reqwest::Method::GET, "/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_deleted_on_the_panel_shows_missing_and_only_the_admin_recreates_it() {
    let (w, shop) = world().await;
    let (cid, username) = (shop.configs[0].id, &shop.configs[0].username);
    assert!(w.sim.panel_side_delete(username));
    w.sync().await;

    let (s, c) = w.admin.get(&format!("/api/v1/configs/{cid}")).await;
    assert_eq!(s, 200);
    assert_eq!(c["missing_on_panel"], true, "{c}");
    assert!(c["missing_on_panel_since"].is_string());
    let b = w.admin_browser().await;
    let html = b.html(&format!("/configs/{cid}?lang=en")).await;
    assert!(html.contains("id=\"missing-on-panel\""), "{html}");
    assert!(html.contains("Re-create on the panel"));
    assert!(html.contains("The user is missing on the panel (deleted there by hand)"));
    let html = b.html(&format!("/configs/{cid}?lang=fa")).await;
    assert!(html.contains("ساختن دوباره در پنل"));
    let html = b
        .html(&format!("/admin/resellers/{}?lang=en", shop.id))
        .await;
    assert!(html.contains("Missing on the panel"), "reseller page");
    // Nothing came back by itself, and the reseller cannot ask for it.
    w.sync().await;
    assert!(w.sim.user(username).is_none());
    let recreate = format!("/api/v1/missing-configs/{cid}/recreate");
    assert_eq!(shop.api.post_empty(&recreate).await.0, 403);
    let rb = shop.browser(&w.app).await;
    let html = rb.html(&format!("/configs/{cid}?lang=en")).await;
    assert!(!html.contains("id=\"recreate\""));

    let res = b.submit(&format!("/configs/{cid}/recreate"), &[]).await;
    assert_eq!(res.status(), 303);
    assert!(w.sim.user(username).is_some(), "re-created");
    assert_eq!(w.app.audit_count("config_recreated").await, 1);
    let (_, c) = w.admin.get(&format!("/api/v1/configs/{cid}")).await;
    assert_eq!(c["missing_on_panel"], false);
    assert_error(
        &w.admin.post_empty(&recreate).await,
        409,
        "config_not_missing",
    );

    let metrics = metrics(&w).await;
    assert!(
        metrics.contains(
            "vpnmarket_panel_drift_total{kind=\"missing_on_panel\",action=\"reported\"} 1"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("vpnmarket_configs_missing_on_panel 0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correction_reads_as_a_sentence_and_report_only_shows_the_difference() {
    let (w, shop) = world().await;
    let (cid, username) = (shop.configs[0].id, &shop.configs[0].username);
    let (s, _) = shop
        .api
        .post_empty(&format!("/api/v1/configs/{cid}/disable"))
        .await;
    assert_eq!(s, 200);
    w.sim.panel_side_set_enabled(username, true);
    w.sync().await;
    let b = w.admin_browser().await;
    let html = b.html(&format!("/configs/{cid}?lang=en")).await;
    assert!(
        html.contains("Found enabled on the panel while it should be disabled; disabled again."),
        "{html}"
    );
    let html = b.html(&format!("/configs/{cid}?lang=fa")).await;
    assert!(html.contains("دوباره غیرفعال شد"));

    // Report only: the admin turns restoring off; a limit changed on the panel stays and shows.
    let res = b.submit("/admin/settings/drift", &[]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(w.app.audit_count("settings_updated").await, 1);
    let html = b.html("/admin/settings?lang=en").await;
    assert!(
        html.contains("id=\"restore-limits\"") && !html.contains("id=\"restore-limits\" checked")
    );
    w.sim.panel_side_set_limits(username, Some(70 * GIB), None);
    w.sync().await;
    assert_eq!(w.sim.user(username).unwrap().limit_bytes, Some(70 * GIB));
    let (_, c) = w.admin.get(&format!("/api/v1/configs/{cid}")).await;
    assert_eq!(
        c["panel_drift"]["limit_changed"]["on_panel"],
        70 * GIB,
        "{c}"
    );
    let html = b.html(&format!("/configs/{cid}?lang=en")).await;
    assert!(html.contains("id=\"panel-drift\""), "{html}");
    assert!(html.contains("left as it is (reported only)"));
    let metrics = metrics(&w).await;
    assert!(
        metrics.contains(
            "vpnmarket_panel_drift_total{kind=\"enabled_on_panel\",action=\"corrected\"} 1"
        ),
        "{metrics}"
    );
    assert!(metrics
        .contains("vpnmarket_panel_drift_total{kind=\"limit_changed\",action=\"reported\"} 1"));
}
