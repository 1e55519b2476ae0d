//! Sign-in lockout that strangers cannot abuse (issue 14): failures count per (login, IP) and per
//! IP with growing delays, in the database, so two instances share them; a correct password from
//! an IP that has not failed is never refused, and the audit log names the failing IPs.

mod common;

use common::TestApp;
use serde_json::json;
use std::net::SocketAddr;

async fn token_from(base: &str, ip: &str, login: &str, password: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/token"))
        .header("x-forwarded-for", ip)
        .json(&json!({ "username": login, "password": password }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn behind_proxy() -> TestApp {
    TestApp::spawn_behind(web::WebOptions {
        trust_proxy: true,
        ..Default::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strangers_50_wrong_passwords_from_one_ip_do_not_stop_the_reseller_from_another_ip() {
    let app = behind_proxy().await;
    app.create_user("shop", "shop-pass-1", "reseller", None)
        .await;
    let mut refused = 0;
    for _ in 0..50 {
        match token_from(&app.base, "203.0.113.66", "shop", "guess").await {
            401 => {}
            429 => refused += 1,
            s => panic!("unexpected {s}"),
        }
    }
    assert!(
        refused >= 40,
        "the stranger is slowed down: {refused} of 50 refused"
    );
    assert_eq!(
        token_from(&app.base, "198.51.100.2", "shop", "shop-pass-1").await,
        200
    );
    // The stranger's own IP stays slowed down, even with the right password.
    assert_eq!(
        token_from(&app.base, "203.0.113.66", "shop", "shop-pass-1").await,
        429
    );
    let mut conn = app.db.acquire().await.unwrap();
    let ips: Vec<Option<String>> =
        db::sqlx::query_scalar("SELECT DISTINCT ip FROM audit_logs WHERE action = 'login_failed'")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    assert_eq!(
        ips,
        vec![Some("203.0.113.66".to_string())],
        "the audit names the failing IP"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_database_share_the_counters() {
    let a = behind_proxy().await;
    a.create_user("shop", "shop-pass-1", "reseller", None).await;
    // A second instance: its own state over the same database.
    let state = web::AppState::new(
        a.ctx.clone(),
        web::WebOptions {
            trust_proxy: true,
            ..Default::default()
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let b = format!("http://{}", listener.local_addr().unwrap());
    let router = web::app(state);
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap()
    });
    for i in 0..5 {
        let base = if i % 2 == 0 { &a.base } else { &b };
        assert_eq!(token_from(base, "203.0.113.5", "shop", "guess").await, 401);
    }
    assert_eq!(
        token_from(&b, "203.0.113.5", "shop", "shop-pass-1").await,
        429
    );
    assert_eq!(
        token_from(&a.base, "203.0.113.5", "shop", "shop-pass-1").await,
        429
    );
    assert_eq!(
        token_from(&b, "198.51.100.3", "shop", "shop-pass-1").await,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_keep_a_bounded_amount_of_state() {
    let app = behind_proxy().await;
    for i in 0..200 {
        let login = format!("{i:0>64}");
        token_from(&app.base, "203.0.113.77", &login, "x").await;
        token_from(&app.base, "203.0.113.78", &"z".repeat(10_000), "x").await;
    }
    let mut conn = app.db.acquire().await.unwrap();
    let rows = db::login_failures::stored(&mut conn).await.unwrap();
    assert!(rows <= 25, "{rows} rows for 400 attempts");
    let longest: i64 =
        db::sqlx::query_scalar("SELECT COALESCE(MAX(LENGTH(login)), 0) FROM login_failures")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert!(longest <= 64);
}
