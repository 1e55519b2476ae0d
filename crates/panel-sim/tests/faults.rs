//! Fault injection and request counting over real sockets: every `Fault` kind, counted and
//! `Any` rules, and that faulted requests are still counted.

mod common;

use std::time::{Duration, Instant};

use common::{bearer, http, login_request, signed_in, sim_with_users, Api};
use panel_sim::{spawn, Fault, SimKind, SimOp};
use reqwest::Method;

#[tokio::test]
async fn http500_then_normal_and_counted() {
    let sim = sim_with_users(SimKind::Marzban, "f", 1, 0).await;
    let api = Api::signed_in(&sim).await;
    sim.inject(SimOp::Get, Fault::Http500, Some(2));
    for _ in 0..2 {
        assert_eq!(api.get("/api/user/f0").await.0, 500);
    }
    assert_eq!(api.get("/api/user/f0").await.0, 200);
    assert_eq!(sim.requests(SimOp::Get), 3);
    assert_eq!(sim.requests(SimOp::Auth), 1);
    assert_eq!(sim.total_requests(), 4);
    assert_eq!(sim.requests(SimOp::Any), 4);
    sim.reset_request_counts();
    assert_eq!(sim.total_requests(), 0);
}

#[tokio::test]
async fn garbage_is_200_but_not_json() {
    let sim = spawn(SimKind::Xui).await;
    sim.inject(SimOp::Auth, Fault::Garbage, Some(1));
    let r = login_request(&sim, &http()).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(
        serde_json::from_str::<serde_json::Value>(&body).is_err(),
        "{body}"
    );
}

#[tokio::test]
async fn slow_delays_then_answers() {
    let sim = spawn(SimKind::Eylandoo).await;
    sim.inject(
        SimOp::Choices,
        Fault::Slow(Duration::from_millis(300)),
        Some(1),
    );
    let started = Instant::now();
    let (st, _) = Api::signed_in(&sim).await.get("/api/v1/nodes").await;
    assert_eq!(st, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn timeout_outlasts_the_client() {
    let sim = spawn(SimKind::Marzneshin).await;
    sim.inject(SimOp::Auth, Fault::Timeout, Some(1));
    let c = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let err = login_request(&sim, &c).send().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    // The next attempt is not affected.
    let _ = bearer(&sim, &http()).await;
}

#[tokio::test]
async fn drop_closes_without_answering() {
    let (sim, api) = signed_in(SimKind::Marzban).await;
    sim.inject(SimOp::List, Fault::Drop, Some(1));
    let started = Instant::now();
    let err = api
        .request(Method::GET, "/api/users")
        .send()
        .await
        .unwrap_err();
    assert!(!err.is_timeout(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(api.get("/api/users").await.0, 200);
    assert_eq!(sim.requests(SimOp::List), 2);
}

#[tokio::test]
async fn reset_noop_answers_success_but_keeps_usage() {
    let sim = sim_with_users(SimKind::Marzneshin, "r", 1, 0).await;
    sim.add_traffic("r0", 900);
    let api = Api::signed_in(&sim).await;
    sim.inject(SimOp::Any, Fault::ResetNoop, Some(1));
    // Other operations do not consume it.
    let (st, _) = api.get("/api/users/r0").await;
    assert_eq!(st, 200);
    let (st, v) = api.post("/api/users/r0/reset").await;
    assert_eq!((st, v["used_traffic"].as_i64()), (200, Some(900)));
    assert_eq!(sim.user("r0").unwrap().used_bytes, 900);
    let (_, v) = api.post("/api/users/r0/reset").await;
    assert_eq!(v["used_traffic"], 0);
}

#[tokio::test]
async fn any_until_cleared() {
    let sim = spawn(SimKind::Eylandoo).await;
    sim.inject(SimOp::Any, Fault::Http500, None);
    let api = Api::signed_in(&sim).await;
    for _ in 0..3 {
        assert_eq!(api.get("/api/v1/users/list_all").await.0, 500);
    }
    sim.clear_faults();
    assert_eq!(api.get("/api/v1/users/list_all").await.0, 200);
    assert_eq!(sim.requests(SimOp::List), 4);
}

#[tokio::test]
async fn faults_fire_before_auth() {
    let sim = spawn(SimKind::Xui).await;
    sim.inject(SimOp::List, Fault::Http500, Some(1));
    let (st, _) = Api::signed_out(&sim).get("/panel/api/inbounds/list").await;
    assert_eq!(st, 500);
    assert_eq!(sim.requests(SimOp::List), 1);
}

#[tokio::test]
async fn shutdown_refuses_connections() {
    let sim = spawn(SimKind::Marzban).await;
    let _ = bearer(&sim, &http()).await;
    sim.shutdown();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let err = login_request(&sim, &http()).send().await.unwrap_err();
    assert!(err.is_connect() || err.is_request(), "{err:?}");
}
