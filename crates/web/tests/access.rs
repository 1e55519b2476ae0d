//! Access and secrets (issue 11): each finding of the security review as a test named after it.
//! A stored panel password never reaches a changed host, the login is normalised once, over-long
//! logins and bodies are refused, look-alike logins are refused, `next` stays on the site, the
//! proxy's own X-Forwarded-For hop is used, and a panel test never echoes the target's body.

mod common;

use common::{hidden_field, Api, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A host that records every byte it receives and answers each request with `status` and `body`.
async fn recording_host(status: u16, body: &'static str) -> (String, Arc<Mutex<Vec<u8>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let rec = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let rec = rec.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let n =
                    tokio::time::timeout(std::time::Duration::from_millis(500), s.read(&mut buf))
                        .await
                        .ok()
                        .and_then(|r| r.ok())
                        .unwrap_or(0);
                rec.lock().unwrap().extend_from_slice(&buf[..n]);
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(reply.as_bytes()).await;
            });
        }
    });
    (url, seen)
}

/// The token endpoint asked by a caller with no token: (status, body).
async fn ask_token(app: &TestApp, body: Value) -> (u16, Value) {
    app.anonymous_api().post("/api/v1/auth/token", body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_panel_password_is_never_sent_to_a_changed_host() {
    let app = TestApp::spawn().await;
    let token = app.admin().await;
    let (id, sim) = app.add_panel(panel_sim::SimKind::Marzban).await;
    let (evil, seen) = recording_host(200, "{}").await;
    // Only the address changes, the password field is left blank.
    let (s, body) = token
        .patch(
            &format!("/api/v1/panels/{id}"),
            json!({ "base_url": evil, "password": "" }),
        )
        .await;
    assert_eq!(
        s, 422,
        "changing the host must ask for the credentials again: {body}"
    );
    assert!(body["error"]["fields"]["password"].is_string(), "{body}");
    token
        .post(&format!("/api/v1/panels/{id}/test"), json!({}))
        .await;
    let got = String::from_utf8_lossy(&seen.lock().unwrap()).to_string();
    assert!(
        !got.contains(sim.admin_password()),
        "the new host received the stored password"
    );
    // With the credentials typed again the change goes through.
    let (s, body) = token
        .patch(
            &format!("/api/v1/panels/{id}"),
            json!({ "base_url": evil, "username": "u", "password": "typed-again" }),
        )
        .await;
    assert_eq!(s, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_is_normalised_once_for_limiter_lookup_and_audit() {
    let app = TestApp::spawn().await;
    app.create_admin("admin", "correct-horse").await;
    // The lookup folds case, width and surrounding spaces.
    let b = app.browser();
    let res = app
        .submit_login(&b, "  Ａdmin\u{a0}", "correct-horse")
        .await;
    assert_eq!(res.status(), 303, "a variant of the login signs in");
    // Variants share one counter: five wrong guesses in any spelling lock them all.
    for v in [" admin", "Admin", "admin\u{a0}", "ADMIN ", "ａｄｍｉｎ"] {
        let res = app.submit_login(&app.browser(), v, "wrong-guess").await;
        assert_eq!(res.status(), 401, "{v:?}");
    }
    let res = app
        .submit_login(&app.browser(), "aDmin", "correct-horse")
        .await;
    assert_eq!(res.status(), 429, "a locked login signs in under a variant");
    let mut conn = app.db.acquire().await.unwrap();
    let names: Vec<String> = db::sqlx::query_scalar(
        "SELECT actor_name FROM audit_logs WHERE action = 'login_failed' ORDER BY id",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert!(names.len() >= 5);
    assert!(names.iter().all(|n| n == "admin"), "{names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_over_64_characters_are_refused_before_anything_is_stored() {
    let app = TestApp::spawn().await;
    let long = "a".repeat(2000);
    let (status, _) = ask_token(&app, json!({ "username": long, "password": "x" })).await;
    assert_eq!(status, 422);
    let res = app.submit_login(&app.browser(), &"b".repeat(65), "x").await;
    assert_eq!(res.status(), 422);
    assert_eq!(
        app.audit_count("login_failed").await,
        0,
        "nothing stored for an over-long login"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_bodies_are_limited_to_a_few_kb_except_uploads() {
    let app = TestApp::spawn().await;
    let big = json!({ "username": "root", "password": "p".repeat(100_000) });
    assert_eq!(ask_token(&app, big).await.0, 413);
    // A form posted without a length header (chunked) is cut off too.
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /login HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/x-www-form-urlencoded\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("400\r\n{}\r\n", "a".repeat(1024));
    for _ in 0..100 {
        if s.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n").await;
    let mut reply = Vec::new();
    let _ = s.read_to_end(&mut reply).await;
    let reply = String::from_utf8_lossy(&reply);
    assert!(
        reply.starts_with("HTTP/1.1 413"),
        "{}",
        reply.lines().next().unwrap_or("")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn look_alike_logins_are_refused_and_uniqueness_ignores_case() {
    let app = TestApp::spawn().await;
    let token = app.admin().await;
    let (panel_id, _sim) = app.add_panel(panel_sim::SimKind::Marzban).await;
    let body = |u: &str| {
        json!({ "username": u, "password": "shop-pass-1", "kind": "traffic",
        "panel_id": panel_id, "traffic_quota_bytes": 1_000_000_000i64, "window_days": 30 })
    };
    let (s, r) = token.post("/api/v1/resellers", body("shop")).await;
    assert_eq!(s, 201, "{r}");
    for v in [
        "Shop",
        "SHOP",
        "sh\u{200b}op",
        "shop\u{202e}",
        "shop\u{0}",
        "ｓｈｏｐ",
        "sh op",
    ] {
        let (s, r) = token.post("/api/v1/resellers", body(v)).await;
        assert_eq!(s, 422, "{v:?} must be refused: {r}");
        assert!(r["error"]["fields"]["username"].is_string(), "{v:?}: {r}");
    }
    let mut conn = app.db.acquire().await.unwrap();
    let n: i64 = db::sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(n, 2, "only root and shop");
    drop(conn);
    // Signing in with a control character in the login is refused, not a server error.
    let (status, _) = ask_token(
        &app,
        json!({ "username": "shop\u{0}", "password": "shop-pass-1" }),
    )
    .await;
    assert_eq!(status, 422);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_must_parse_as_a_same_site_path() {
    let app = TestApp::spawn().await;
    app.create_admin("root", "correct-horse").await;
    for (next, want) in [
        ("/%09/evil.example", "/%09/evil.example"),
        ("/\t/evil.example", "/"),
        ("/\\evil.example", "/"),
        ("//evil.example", "/"),
        ("/a\u{1}b", "/"),
        ("/a b", "/"),
        ("https://evil.example/", "/"),
        ("/configs?page=2", "/configs?page=2"),
    ] {
        // The form carries it back as given.
        let b = app.browser();
        let page = b
            .get(app.url("/login"))
            .query(&[("next", next)])
            .send()
            .await
            .unwrap();
        assert!(page.status().as_u16() < 500, "{next:?}");
        let html = page.text().await.unwrap();
        let csrf = hidden_field(&html, "_csrf").unwrap();
        let res = b
            .post(app.url("/login"))
            .form(&[
                ("_csrf", csrf.as_str()),
                ("username", "root"),
                ("password", "correct-horse"),
                ("next", next),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{next:?}");
        let loc = res.headers()["location"].to_str().unwrap().to_string();
        assert_eq!(loc, want, "{next:?}");
        let parsed = url::Url::parse("http://site.test/")
            .unwrap()
            .join(&loc)
            .unwrap();
        assert_eq!(
            parsed.host_str(),
            Some("site.test"),
            "{next:?} leaves the site"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_trust_proxy_the_right_most_forwarded_hop_is_the_client() {
    let app = TestApp::spawn_behind(web::WebOptions {
        trust_proxy: true,
        ..Default::default()
    })
    .await;
    for (header, want) in [
        ("203.0.113.9, 198.51.100.7", "198.51.100.7"),
        ("203.0.113.9,2001:db8::1 ", "2001:db8::1"),
        ("203.0.113.9, not-an-ip", "127.0.0.1"),
    ] {
        let res = app
            .anonymous_api()
            .request(Method::POST, "/api/v1/auth/token")
            .header("x-forwarded-for", header)
            .json(&json!({ "username": "nobody", "password": "x" }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        let mut conn = app.db.acquire().await.unwrap();
        let ip: Option<String> =
            db::sqlx::query_scalar("SELECT ip FROM audit_logs ORDER BY id DESC LIMIT 1")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
        assert_eq!(ip.as_deref(), Some(want), "{header}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panel_test_never_echoes_the_target_body_and_refuses_userinfo_urls() {
    let app = TestApp::spawn().await;
    let token = app.admin().await;
    let (url, _seen) = recording_host(500, "<html>SECRET-INTRANET-PAGE</html>").await;
    let (s, r) = token
        .post(
            "/api/v1/panels",
            json!({
        "name": "p", "kind": "marzban", "base_url": url, "username": "u", "password": "pw" }),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let id = r["id"].as_i64().unwrap();
    let (s, r) = token
        .post(&format!("/api/v1/panels/{id}/test"), json!({}))
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["ok"], false);
    assert!(
        !r.to_string().contains("SECRET-INTRANET"),
        "the body is echoed: {r}"
    );
    let (_, shown) = token
        .send(
            Method::GET,
            &format!("/api/v1/panels/{id}"),
            Some(json!({})),
        )
        .await;
    assert!(!shown.to_string().contains("SECRET-INTRANET"), "{shown}");
    for bad in ["http://user:pw@127.0.0.1:9", "http://user@127.0.0.1:9"] {
        panel_address_refused(&token, bad).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_not_public() {
    let app = TestApp::spawn().await;
    let res = app.client().get(app.url("/metrics")).send().await.unwrap();
    assert_ne!(res.status(), 200, "/metrics answers anyone");
    let text = res.text().await.unwrap();
    assert!(!text.contains("vpnmarket_"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_require_a_bearer_token_or_a_separate_listen_address() {
    let app = TestApp::spawn_behind(web::WebOptions {
        metrics_token: Some("m-secret-token".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(app.anonymous_api().get("/metrics").await.0, 401);
    assert_eq!(app.api_with("wrong").get("/metrics").await.0, 401);
    let (status, text) = app.api_with("m-secret-token").get("/metrics").await;
    assert_eq!(status, 200);
    assert!(text
        .as_str()
        .unwrap()
        .contains("vpnmarket_http_responses_total"));
    // The separate listener serves it without a token.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = web::metrics::router(app.state.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let res = app
        .client()
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panel_addresses_in_private_ranges_are_refused_when_the_operator_asks() {
    let app = TestApp::spawn_behind(web::WebOptions {
        panel_deny_private: true,
        ..Default::default()
    })
    .await;
    let token = app.admin().await;
    for bad in [
        "http://127.0.0.1:9",
        "http://10.1.2.3",
        "http://[::1]:8",
        "http://169.254.169.254",
        "http://localhost:9",
    ] {
        panel_address_refused(&token, bad).await;
    }
    assert!(!web::actions::panels::is_private_ip(
        "203.0.113.5".parse().unwrap()
    ));
    assert!(web::actions::panels::is_private_ip(
        "100.64.0.1".parse().unwrap()
    ));
    assert!(web::actions::panels::is_private_ip(
        "::ffff:192.168.1.1".parse().unwrap()
    ));
}

/// A panel at `base_url` the API must refuse, naming the address field.
async fn panel_address_refused(token: &Api, base_url: &str) {
    let (s, r) = token
        .post(
            "/api/v1/panels",
            json!({ "name": "q", "kind": "marzban", "base_url": base_url, "username": "u", "password": "pw" }),
        )
        .await;
    assert_eq!(s, 422, "{base_url}: {r}");
    assert!(r["error"]["fields"]["base_url"].is_string(), "{r}");
}

/// A request the API must refuse with 422 naming `field` (the body is cut in the message: the
/// values are kilobytes long).
async fn refused(token: &Api, method: Method, path: &str, body: Option<Value>, field: &str) {
    let (status, v) = token.send(method.clone(), path, body).await;
    let short: String = v.to_string().chars().take(300).collect();
    assert_eq!(status, 422, "{method} {path} with a long {field}: {short}");
    assert!(
        v["error"]["fields"][field].is_string(),
        "{method} {path}: the error names {field}: {short}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_text_fields_are_bounded() {
    // Every free-text field a caller fills has a length limit: a value over it is a 422 naming
    // the field, nothing is stored, and no page later has to render megabytes of it.
    let mut app = TestApp::spawn().await;
    app.start_worker();
    let token = app.admin().await;
    let (panel, _sim) = app.add_panel(panel_sim::SimKind::Marzban).await;
    let long = "x".repeat(5_000);
    let long_url = format!("https://panel.example/{long}");
    let reseller = json!({ "username": "shop1", "password": "reseller-pass-1", "kind": "traffic",
        "panel_id": panel, "traffic_quota_bytes": 1_000_000_000_i64, "window_days": 30 });
    let panel_body = json!({ "name": "p2", "kind": "marzban", "base_url": "http://127.0.0.1:9",
        "username": "u", "password": "p" });
    let cases = [
        ("/api/v1/resellers", &reseller, "display_name", &long),
        ("/api/v1/resellers", &reseller, "username_prefix", &long),
        ("/api/v1/panels", &panel_body, "name", &long),
        ("/api/v1/panels", &panel_body, "base_url", &long_url),
        ("/api/v1/panels", &panel_body, "username", &long),
        ("/api/v1/panels", &panel_body, "password", &long),
        ("/api/v1/panels", &panel_body, "api_key", &long),
        ("/api/v1/tokens", &json!({}), "name", &long),
    ];
    for (path, base, field, value) in cases {
        let mut body = base.clone();
        body[field] = json!(value);
        refused(&token, Method::POST, path, Some(body), field).await;
    }
    let (status, v) = token.post("/api/v1/resellers", reseller).await;
    assert_eq!(status, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    let patch = json!({ "display_name": long });
    let path = format!("/api/v1/resellers/{id}");
    refused(&token, Method::PATCH, &path, Some(patch), "display_name").await;
    let shop = app.api_as("shop1", "reseller-pass-1").await;
    for field in ["comment", "custom_name", "prefix"] {
        let body =
            json!({ "traffic_limit_bytes": 1_000_000_000_i64, "expires_in_days": 30, field: long });
        let (status, v) = shop.post("/api/v1/configs", body).await;
        assert_eq!(status, 422, "a long {field}: {v}");
    }
    // A search is free text too.
    let search = format!("?q={}", "q".repeat(1_000));
    for (who, path) in [(&token, "/api/v1/resellers"), (&shop, "/api/v1/configs")] {
        refused(who, Method::GET, &format!("{path}{search}"), None, "q").await;
    }
    let (_, list) = token.get("/api/v1/resellers").await;
    assert_eq!(list["total"], 1, "nothing half-stored: {list}");
    let (_, panels) = token.get("/api/v1/panels").await;
    assert_eq!(panels.as_array().map(Vec::len), Some(1), "{panels}");
}
