//! Monitoring endpoints: Prometheus metrics and the health report.

mod common;

use common::TestApp;

#[tokio::test]
async fn metrics_expose_http_latency_panel_health_and_pending_operations() {
    let app = TestApp::spawn_behind(web::WebOptions {
        metrics_token: Some("metrics-token-1".into()),
        ..Default::default()
    })
    .await;
    let (panel_id, sim) = app.add_panel(panel_sim::SimKind::Marzban).await;
    let anyone = app.anonymous_api();
    anyone.get("/healthz").await;
    let mut conn = app.db.acquire().await.unwrap();
    db::panels::record_failure(&mut conn, panel_id, "connection refused")
        .await
        .unwrap();
    drop(conn);
    let (_, text) = app.api_with("metrics-token-1").get("/metrics").await;
    let text = text.as_str().unwrap();
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

    let (_, health) = anyone.get("/healthz").await;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["failing_panels"], serde_json::json!([panel_id]));
    assert_eq!(health["pending_operations"], 0);
}
