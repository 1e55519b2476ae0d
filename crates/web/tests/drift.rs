//! What the admin sees of a panel that drifted from our configs (spec §13): a user deleted on
//! the panel shows as missing on the config page, the reseller page and the API, with a
//! re-create action for the admin only; corrections read as sentences in both languages; the
//! report-only setting; the metrics by kind.

mod common;

use common::TestApp;
use panel_sim::SimKind;
use reqwest::Method;
use serde_json::json;

const GIB: i64 = 1 << 30;
const METRICS_TOKEN: &str = "metrics-token-drift";

struct World {
    app: TestApp,
    admin: String,
    sim: panel_sim::Sim,
    rid: i64,
    reseller: String,
}

async fn world() -> World {
    let mut app = TestApp::spawn_behind(web::WebOptions {
        metrics_token: Some(METRICS_TOKEN.into()),
        ..Default::default()
    })
    .await;
    app.start_worker();
    app.create_admin("root", "correct-horse").await;
    let admin = app.token("root", "correct-horse").await;
    let (panel_id, sim) = app.add_panel(SimKind::Marzban).await;
    let (s, r) = app
        .api(
            &admin,
            Method::POST,
            "/api/v1/resellers",
            Some(json!({
        "username": "shop_d", "password": "shop-pass-1", "kind": "traffic", "panel_id": panel_id,
        "traffic_quota_bytes": 100 * GIB, "window_days": 30})),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let reseller = app.token("shop_d", "shop-pass-1").await;
    World {
        rid: r["id"].as_i64().unwrap(),
        app,
        admin,
        sim,
        reseller,
    }
}

impl World {
    async fn config(&self) -> (i64, String) {
        let (s, c) = self
            .app
            .api(
                &self.reseller,
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

    async fn sync(&self) {
        let (s, r) = self
            .app
            .api(&self.admin, Method::POST, "/api/v1/jobs/usage-sync", None)
            .await;
        assert_eq!(s, 200, "{r}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_deleted_on_the_panel_shows_missing_and_only_the_admin_recreates_it() {
    let w = world().await;
    let (cid, username) = w.config().await;
    assert!(w.sim.panel_side_delete(&username));
    w.sync().await;

    let (s, c) = w
        .app
        .api(
            &w.admin,
            Method::GET,
            &format!("/api/v1/configs/{cid}"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(c["missing_on_panel"], true, "{c}");
    assert!(c["missing_on_panel_since"].is_string());
    let b = w.app.signed_in_browser("root", "correct-horse").await;
    let (_, html) = w.app.page(&b, &format!("/configs/{cid}?lang=en")).await;
    assert!(html.contains("id=\"missing-on-panel\""), "{html}");
    assert!(html.contains("Re-create on the panel"));
    assert!(html.contains("The user is missing on the panel (deleted there by hand)"));
    let (_, html) = w.app.page(&b, &format!("/configs/{cid}?lang=fa")).await;
    assert!(html.contains("ساختن دوباره در پنل"));
    let (_, html) = w
        .app
        .page(&b, &format!("/admin/resellers/{}?lang=en", w.rid))
        .await;
    assert!(html.contains("Missing on the panel"), "reseller page");
    // Nothing came back by itself, and the reseller cannot ask for it.
    w.sync().await;
    assert!(w.sim.user(&username).is_none());
    let (s, _) = w
        .app
        .api(
            &w.reseller,
            Method::POST,
            &format!("/api/v1/missing-configs/{cid}/recreate"),
            None,
        )
        .await;
    assert_eq!(s, 403);
    let rb = w.app.signed_in_browser("shop_d", "shop-pass-1").await;
    let (_, html) = w.app.page(&rb, &format!("/configs/{cid}?lang=en")).await;
    assert!(!html.contains("id=\"recreate\""));

    let csrf = w.app.csrf_of(&b).await;
    let res = b
        .post(w.app.url(&format!("/configs/{cid}/recreate")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(w.sim.user(&username).is_some(), "re-created");
    assert_eq!(w.app.audit_count("config_recreated").await, 1);
    let (_, c) = w
        .app
        .api(
            &w.admin,
            Method::GET,
            &format!("/api/v1/configs/{cid}"),
            None,
        )
        .await;
    assert_eq!(c["missing_on_panel"], false);
    let (s, e) = w
        .app
        .api(
            &w.admin,
            Method::POST,
            &format!("/api/v1/missing-configs/{cid}/recreate"),
            None,
        )
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (409, Some("config_not_missing"))
    );

    let metrics = w
        .app
        .client()
        .get(w.app.url("/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
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
    let w = world().await;
    let (cid, username) = w.config().await;
    let (s, _) = w
        .app
        .api(
            &w.reseller,
            Method::POST,
            &format!("/api/v1/configs/{cid}/disable"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    w.sim.panel_side_set_enabled(&username, true);
    w.sync().await;
    let b = w.app.signed_in_browser("root", "correct-horse").await;
    let (_, html) = w.app.page(&b, &format!("/configs/{cid}?lang=en")).await;
    assert!(
        html.contains("Found enabled on the panel while it should be disabled; disabled again."),
        "{html}"
    );
    let (_, html) = w.app.page(&b, &format!("/configs/{cid}?lang=fa")).await;
    assert!(html.contains("دوباره غیرفعال شد"));

    // Report only: the admin turns restoring off; a limit changed on the panel stays and shows.
    let csrf = w.app.csrf_of(&b).await;
    let res = b
        .post(w.app.url("/admin/settings/drift"))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(w.app.audit_count("settings_updated").await, 1);
    let (_, html) = w.app.page(&b, "/admin/settings?lang=en").await;
    assert!(
        html.contains("id=\"restore-limits\"") && !html.contains("id=\"restore-limits\" checked")
    );
    w.sim.panel_side_set_limits(&username, Some(70 * GIB), None);
    w.sync().await;
    assert_eq!(w.sim.user(&username).unwrap().limit_bytes, Some(70 * GIB));
    let (_, c) = w
        .app
        .api(
            &w.admin,
            Method::GET,
            &format!("/api/v1/configs/{cid}"),
            None,
        )
        .await;
    assert_eq!(
        c["panel_drift"]["limit_changed"]["on_panel"],
        70 * GIB,
        "{c}"
    );
    let (_, html) = w.app.page(&b, &format!("/configs/{cid}?lang=en")).await;
    assert!(html.contains("id=\"panel-drift\""), "{html}");
    assert!(html.contains("left as it is (reported only)"));
    let metrics = w
        .app
        .client()
        .get(w.app.url("/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "vpnmarket_panel_drift_total{kind=\"enabled_on_panel\",action=\"corrected\"} 1"
        ),
        "{metrics}"
    );
    assert!(metrics
        .contains("vpnmarket_panel_drift_total{kind=\"limit_changed\",action=\"reported\"} 1"));
}
