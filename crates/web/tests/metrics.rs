//! Monitoring endpoints: Prometheus metrics and the health report.

mod common;

use common::TestApp;
use serde_json::Value;

#[tokio::test]
async fn metrics_expose_http_latency_panel_health_and_pending_operations() {
    let app = TestApp::spawn_behind(web::WebOptions {
        metrics_token: Some("metrics-token-1".into()),
        ..Default::default()
    })
    .await;
    let (panel_id, sim) = app.add_panel(panel_sim::SimKind::Marzban).await;
    let c = app.client();
    c.get(app.url("/healthz")).send().await.unwrap();
    let mut conn = app.db.acquire().await.unwrap();
    db::panels::record_failure(&mut conn, panel_id, "connection refused")
        .await
        .unwrap();
    drop(conn);
    let text = c
        .get(app.url("/metrics"))
        .bearer_auth("metrics-token-1")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("# TYPE vpnmarket_http_request_duration_seconds histogram"));
    let count_line = text
        .lines()
        .find(|l| l.starts_with("vpnmarket_http_request_duration_seconds_count"))
        .unwrap();
    assert!(
        count_line
            .split(' ')
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1,
        "{count_line}"
    );
    assert!(
        text.contains(&format!(
            "vpnmarket_panel_consecutive_failures{{panel_id=\"{panel_id}\""
        )),
        "{text}"
    );
    assert!(text.contains("vpnmarket_operations_pending 0"));
    drop(sim);

    let health: Value = c
        .get(app.url("/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["failing_panels"], serde_json::json!([panel_id]));
    assert_eq!(health["pending_operations"], 0);
}
