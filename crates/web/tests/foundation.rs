//! The foundation as a user meets it: sign-in, sessions, CSRF, rate limits, API tokens,
//! locales, error pages and envelopes, security headers, and the OpenAPI document.

mod common;

use common::{assert_error, assert_field_error, assert_shows, hidden_field, Api, TestApp};
use serde_json::Value;

/// The token endpoint asked anonymously: (status, body).
async fn ask_token(app: &TestApp, username: &str, password: &str) -> (u16, Value) {
    app.anonymous_api()
        .post(
            "/api/v1/auth/token",
            serde_json::json!({"username": username, "password": password}),
        )
        .await
}

#[tokio::test]
async fn sign_in_sets_a_secure_session_and_opens_the_dashboard() {
    let app = TestApp::spawn().await;
    app.create_admin("root", "correct-horse").await;
    let b = app.browser();
    // Signed out, the dashboard sends you to the sign-in page.
    let res = b.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/login"));

    let res = app.submit_login(&b, "root", "correct-horse").await;
    assert_eq!(res.status(), 303);
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("vm_session="))
        .expect("session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let page = app.visitor_with(b).html("/?lang=en").await;
    assert!(
        page.contains("Overview") && page.contains("root"),
        "admin dashboard shown"
    );
}

#[tokio::test]
async fn wrong_password_is_refused_audited_and_then_rate_limited() {
    let app = TestApp::spawn().await;
    app.create_admin("root", "correct-horse").await;
    let b = app.browser();
    let res = app.submit_login(&b, "root", "wrong").await;
    assert_eq!(res.status(), 401);
    assert!(!res
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("vm_session=")));
    assert!(res.text().await.unwrap().contains("alert-error"));
    for _ in 0..4 {
        assert_eq!(app.submit_login(&b, "root", "wrong").await.status(), 401);
    }
    assert_eq!(app.audit_count("login_failed").await, 5);
    // Past the limit even the right password is refused, on the page and in the API.
    assert_eq!(
        app.submit_login(&b, "root", "correct-horse").await.status(),
        429
    );
    assert_error(
        &ask_token(&app, "root", "correct-horse").await,
        429,
        "rate_limited",
    );
}

#[tokio::test]
async fn forms_without_a_valid_csrf_token_are_refused() {
    let app = TestApp::spawn().await;
    app.create_admin("root", "correct-horse").await;
    // Sign-in form without the cookie-bound token.
    let res = app
        .browser()
        .post(app.url("/login"))
        .form(&[
            ("username", "root"),
            ("password", "correct-horse"),
            ("_csrf", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    let b = app.admin_browser().await;
    let res = b
        .submit_raw("/tokens", &[("name", "bot"), ("_csrf", "forged")])
        .await;
    assert_eq!(res.status(), 403);
    let res = b.submit_raw("/tokens", &[("name", "bot")]).await;
    assert_eq!(res.status(), 403);
    let mut conn = app.db.acquire().await.unwrap();
    let n: i64 = db::sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(n, 0, "nothing was created by the forged posts");

    // With the real token the same form works, and sign-out needs it too.
    assert_eq!(b.submit("/tokens", &[("name", "bot")]).await.status(), 200);
    assert_eq!(
        b.submit_raw("/logout", &[("_csrf", "x")]).await.status(),
        403
    );
    assert_eq!(b.submit("/logout", &[]).await.status(), 303);
    assert_eq!(b.get_raw("/").await.status(), 303, "signed out");
}

#[tokio::test]
async fn api_tokens_authenticate_and_stop_working_when_revoked() {
    let app = TestApp::spawn().await;
    app.create_admin("root", "correct-horse").await;
    assert_error(
        &ask_token(&app, "root", "nope").await,
        401,
        "invalid_credentials",
    );

    let login = app.api_as("root", "correct-horse").await;
    let (status, created) = login
        .post("/api/v1/tokens", serde_json::json!({"name": "shop bot"}))
        .await;
    assert_eq!(status, 201);
    let named = app.api_with(created["token"].as_str().unwrap());
    let list = named.ok("/api/v1/tokens").await;
    let list = list.as_array().unwrap();
    assert!(list.iter().any(|t| t["name"] == "shop bot"));
    assert!(
        list.iter()
            .all(|t| t.get("token").is_none() && t.get("token_hash").is_none()),
        "secrets never listed"
    );

    // Tokens are stored hashed.
    let mut conn = app.db.acquire().await.unwrap();
    let hashes: Vec<String> = db::sqlx::query_scalar("SELECT token_hash FROM api_tokens")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    let secrets = [named.token().to_string(), login.token().to_string()];
    assert!(!hashes.iter().any(|h| secrets.contains(h)));

    let id = created["id"].as_i64().unwrap();
    assert_eq!(login.delete(&format!("/api/v1/tokens/{id}")).await.0, 204);
    assert_eq!(named.get("/api/v1/tokens").await.0, 401);
    assert_eq!(app.api_with("garbage").get("/api/v1/tokens").await.0, 401);
    assert_eq!(app.anonymous_api().get("/api/v1/tokens").await.0, 401);
}

#[tokio::test]
async fn a_read_only_token_reads_but_changes_nothing_and_an_expiring_token_ends() {
    let app = TestApp::spawn().await;
    app.create_admin("root", "correct-horse").await;
    let admin = app.api_as("root", "correct-horse").await;
    let (status, created) = admin
        .post(
            "/api/v1/tokens",
            serde_json::json!({"name": "report bot", "scope": "read_only", "expires_in_days": 7}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let reader = app.api_with(created["token"].as_str().unwrap());

    // Reading works; every kind of change is refused, whatever the route.
    let listed = reader.ok("/api/v1/tokens").await;
    let mine = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "report bot")
        .unwrap()
        .clone();
    assert_eq!(mine["scope"], "read_only");
    let expires = chrono::DateTime::parse_from_rfc3339(mine["expires_at"].as_str().unwrap())
        .unwrap()
        .timestamp();
    let in_a_week = chrono::Utc::now().timestamp() + 7 * 86_400;
    assert!((expires - in_a_week).abs() < 60, "{mine}");
    assert_eq!(reader.get("/api/v1/panels").await.0, 200);
    for (status_and_body, what) in [
        (
            reader
                .post("/api/v1/tokens", serde_json::json!({"name": "escalate"}))
                .await,
            "create a token",
        ),
        (
            reader
                .post("/api/v1/panels", serde_json::json!({"name": "p"}))
                .await,
            "add a panel",
        ),
        (
            reader
                .delete(&format!("/api/v1/tokens/{}", created["id"]))
                .await,
            "revoke itself",
        ),
    ] {
        assert_eq!(
            (status_and_body.0, &status_and_body.1["error"]["code"]),
            (403, &serde_json::json!("token_read_only")),
            "a read-only token could {what}"
        );
    }
    let names: Vec<String> = admin
        .ok("/api/v1/tokens")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    assert!(!names.contains(&"escalate".to_string()), "{names:?}");

    // A full token made without an expiry lasts; the scope defaults to full.
    let (_, full) = admin
        .post("/api/v1/tokens", serde_json::json!({"name": "shop"}))
        .await;
    let shop = app.api_with(full["token"].as_str().unwrap());
    assert_eq!(
        shop.post("/api/v1/tokens", serde_json::json!({"name": "child"}))
            .await
            .0,
        201
    );

    // Bad expiries are field errors, not silent defaults.
    for days in [
        serde_json::json!(0),
        serde_json::json!(3651),
        serde_json::json!(-3),
    ] {
        let answer = admin
            .post(
                "/api/v1/tokens",
                serde_json::json!({"name": "x", "expires_in_days": days}),
            )
            .await;
        assert_field_error(&answer, "expires_in_days");
    }
    assert_eq!(
        admin
            .post(
                "/api/v1/tokens",
                serde_json::json!({"name": "x", "scope": "admin"})
            )
            .await
            .0,
        422
    );

    // Once its end has passed, the token is refused (a clock that moved on).
    let mut conn = app.db.acquire().await.unwrap();
    db::sqlx::query("UPDATE api_tokens SET expires_at = $1 WHERE id = $2")
        .bind(chrono::Utc::now().timestamp() - 1)
        .bind(created["id"].as_i64().unwrap())
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    assert_eq!(reader.get("/api/v1/tokens").await.0, 401);
}

#[tokio::test]
async fn the_tokens_page_creates_a_read_only_token_with_an_expiry_and_shows_both() {
    let app = TestApp::spawn().await;
    app.create_admin("root", "correct-horse").await;
    let b = app.browser_as("root", "correct-horse").await;
    let res = b
        .submit(
            "/tokens",
            &[
                ("name", "reports"),
                ("scope", "read_only"),
                ("expires_in_days", "۳۰"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let html = b.html("/tokens?lang=en").await;
    assert_shows(&html, &["reports", "Read only"]);
    let mut conn = app.db.acquire().await.unwrap();
    let (scope, expires): (String, Option<i64>) =
        db::sqlx::query_as("SELECT scope, expires_at FROM api_tokens WHERE name = 'reports'")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(scope, "read_only");
    let in_30_days = chrono::Utc::now().timestamp() + 30 * 86_400;
    assert!((expires.unwrap() - in_30_days).abs() < 60);

    // A wrong number of days is said on the page, and nothing is created.
    let res = b
        .submit(
            "/tokens",
            &[("name", "bad"), ("expires_in_days", "forever")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let n: i64 = db::sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens WHERE name = 'bad'")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(n, 0);
    db::sqlx::query("UPDATE api_tokens SET expires_at = 1 WHERE name = 'reports'")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    assert_shows(&b.html("/tokens?lang=en").await, &["Expired"]);
}

/// Every admin operation in the OpenAPI document, as (method, concrete path).
fn admin_operations(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let tags = op["tags"].as_array().cloned().unwrap_or_default();
            if tags.iter().any(|t| t == "admin") {
                out.push((
                    method.to_uppercase(),
                    path.replace("{id}", "1").replace("{job_id}", "1"),
                ));
            }
        }
    }
    out
}

#[tokio::test]
async fn a_reseller_is_refused_on_every_admin_route() {
    let app = TestApp::spawn().await;
    app.create_user("shop1", "reseller-pass", "reseller", None)
        .await;
    let shop = app.api_as("shop1", "reseller-pass").await;
    let doc = common::openapi(&app).await;
    let ops = admin_operations(&doc);
    assert!(!ops.is_empty());
    for (method, path) in ops {
        let answer = shop
            .send(method.parse().unwrap(), &path, Some(serde_json::json!({})))
            .await;
        assert_error(&answer, 403, "admin_only");
    }
}

/// The sign-in page at `path` as a client sending `headers` (and no cookie of its own) gets it.
async fn login_page(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> String {
    let mut req = app.client().get(app.url(path));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.unwrap().text().await.unwrap()
}

#[tokio::test]
async fn the_layout_follows_the_locale() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let fa = app.visitor().html("/login").await;
    assert!(fa.contains(r#"<html lang="fa" dir="rtl">"#));
    assert!(fa.contains("ورود"));
    let en = c.get(app.url("/login?lang=en")).send().await.unwrap();
    assert!(en
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|v| v.to_str().unwrap().starts_with("lang=en")));
    let en = en.text().await.unwrap();
    assert!(en.contains(r#"<html lang="en" dir="ltr">"#) && en.contains("Sign in"));
    let by_header = login_page(&app, "/login", &[("accept-language", "en-US,en;q=0.9")]).await;
    assert!(by_header.contains(r#"dir="ltr""#));
    let by_cookie = login_page(
        &app,
        "/login",
        &[("cookie", "lang=en"), ("accept-language", "fa")],
    )
    .await;
    assert!(
        by_cookie.contains(r#"dir="ltr""#),
        "the cookie wins over the header"
    );
    let query_wins = login_page(&app, "/login?lang=fa", &[("cookie", "lang=en")]).await;
    assert!(query_wins.contains(r#"dir="rtl""#));
}

#[tokio::test]
async fn error_pages_are_localised_and_the_api_uses_the_envelope() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let res = c
        .get(app.url("/no/such/page?lang=en"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(res.text().await.unwrap().contains("Not found"));
    let res = c.get(app.url("/no/such/page")).send().await.unwrap();
    assert!(res.text().await.unwrap().contains("پیدا نشد"));
    app.create_user("shop1", "reseller-pass", "reseller", None)
        .await;
    // A 403 page: a reseller posting a forged form gets the localised page.
    let b = app.browser_as("shop1", "reseller-pass").await;
    let res = b.submit_raw("/tokens?lang=en", &[("name", "x")]).await;
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("Not allowed"));

    assert_error(
        &app.anonymous_api().get("/api/v1/nothing").await,
        404,
        "not_found",
    );
}

#[tokio::test]
async fn malformed_api_input_answers_400_or_422_never_500() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let url = app.url("/api/v1/auth/token");
    let res = c
        .post(&url)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "bad_request"
    );
    let res = c
        .post(&url)
        .json(&serde_json::json!({"username": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "validation_failed");
    assert!(body["error"]["fields"]
        .as_object()
        .is_some_and(|f| !f.is_empty()));
    let res = c.post(&url).body("x").send().await.unwrap();
    assert!(
        res.status() == 400 || res.status() == 415,
        "{}",
        res.status()
    );
    let admin: Api = app.admin().await;
    assert_eq!(admin.delete("/api/v1/tokens/abc").await.0, 400);
    assert_eq!(admin.get("/api/v1/audit-logs?from=yesterday").await.0, 422);
    assert_eq!(admin.get("/api/v1/audit-logs?target_id=x").await.0, 400);
}

#[tokio::test]
async fn every_response_has_security_headers_and_a_request_id() {
    let app = TestApp::spawn().await;
    let c = app.client();
    for path in [
        "/login",
        "/healthz",
        "/api/v1/nothing",
        "/missing",
        "/assets/css/app.css",
    ] {
        let res = c.get(app.url(path)).send().await.unwrap();
        let h = res.headers();
        for name in [
            "content-security-policy",
            "x-frame-options",
            "x-content-type-options",
            "referrer-policy",
            "x-request-id",
        ] {
            assert!(h.contains_key(name), "{path} lacks {name}");
        }
    }
    let res = c
        .get(app.url("/healthz"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["x-request-id"],
        "abc-123",
        "a proxy's id flows through"
    );
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "ok");
}

#[tokio::test]
async fn assets_are_embedded_and_revalidate_by_etag() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let res = c
        .get(app.url("/assets/fonts/vazirmatn-variable.woff2"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "font/woff2");
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    assert!(res.bytes().await.unwrap().len() > 10_000);
    let res = c
        .get(app.url("/assets/fonts/vazirmatn-variable.woff2"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
}

#[tokio::test]
async fn the_openapi_document_is_valid_and_lists_every_api_route() {
    let app = TestApp::spawn().await;
    let text = app.visitor().html("/api/v1/openapi.json").await;
    let spec = oas3::from_json(&text).expect("a valid OpenAPI 3.1 document");
    assert!(spec.openapi.starts_with("3."));
    let doc: Value = serde_json::from_str(&text).unwrap();
    for path in [
        "/healthz",
        "/api/v1/auth/token",
        "/api/v1/openapi.json",
        "/api/v1/tokens",
        "/api/v1/audit-logs",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the document"
        );
    }
    // Every operation has a unique id (clients generate method names from them).
    let mut ids: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| {
            item.as_object()
                .unwrap()
                .values()
                .filter_map(|op| op["operationId"].as_str().map(String::from))
        })
        .collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "operation ids are unique");
}

#[tokio::test]
async fn signed_in_forms_embed_the_session_token() {
    let app = TestApp::spawn().await;
    app.create_admin("root", "correct-horse").await;
    let page = app.admin_browser().await.html("/tokens").await;
    let csrf = hidden_field(&page, "_csrf").unwrap();
    assert!(csrf.len() >= 32);
}

/// The admin signs in through the form with `X-Forwarded-Proto: https`, as a TLS proxy would send.
async fn sign_in_claiming_https(app: &TestApp) -> reqwest::Response {
    app.create_admin("root", "correct-horse").await;
    let b = app.browser();
    let page = app.visitor_with(b.clone()).html("/login").await;
    let csrf = hidden_field(&page, "_csrf").unwrap();
    b.post(app.url("/login"))
        .header("x-forwarded-proto", "https")
        .form(&[
            ("_csrf", csrf.as_str()),
            ("username", "root"),
            ("password", "correct-horse"),
        ])
        .send()
        .await
        .unwrap()
}

fn session_cookie(res: &reqwest::Response) -> String {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("vm_session="))
        .expect("a session cookie")
}

#[tokio::test]
async fn behind_an_https_proxy_cookies_are_secure_and_the_forwarded_ip_is_limited() {
    let app = TestApp::spawn_behind(web::WebOptions {
        trust_proxy: true,
        ..Default::default()
    })
    .await;
    let res = sign_in_claiming_https(&app).await;
    assert_eq!(res.status(), 303);
    assert!(
        session_cookie(&res).contains("Secure"),
        "https through the proxy"
    );

    // The proxy's X-Forwarded-For names the client: its failures count against that IP only.
    let c = app.client();
    let attempt = |ip: &'static str| {
        c.post(app.url("/api/v1/auth/token"))
            .header("x-forwarded-for", ip)
            .json(&serde_json::json!({"username": format!("nobody-{ip}"), "password": "x"}))
            .send()
    };
    for _ in 0..20 {
        attempt("203.0.113.7").await.unwrap();
    }
    assert_eq!(attempt("203.0.113.7").await.unwrap().status(), 429);
    assert_eq!(attempt("198.51.100.9").await.unwrap().status(), 401);
}

#[tokio::test]
async fn without_a_trusted_proxy_forwarded_headers_are_ignored() {
    let app = TestApp::spawn().await;
    let res = sign_in_claiming_https(&app).await;
    assert!(
        !session_cookie(&res).contains("Secure"),
        "a client cannot claim https"
    );
    // A spoofed X-Forwarded-For does not escape the per-IP limit: all attempts are this socket's.
    let c = app.client();
    for i in 0..20 {
        c.post(app.url("/api/v1/auth/token"))
            .header("x-forwarded-for", format!("10.9.9.{i}"))
            .json(&serde_json::json!({"username": format!("nobody{i}"), "password": "x"}))
            .send()
            .await
            .unwrap();
    }
    let res = c
        .post(app.url("/api/v1/auth/token"))
        .header("x-forwarded-for", "10.9.9.99")
        .json(&serde_json::json!({"username": "someone-new", "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
}

#[tokio::test]
async fn new_token_page_is_no_store() {
    let app = TestApp::spawn().await;
    app.create_admin("root", "correct-horse").await;
    let b = app.admin_browser().await;
    let res = b.submit("/tokens", &[("name", "bot")]).await;
    assert_eq!(res.status(), 200);
    let cache = res
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_string());
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("id=\"new-token\" value=\""),
        "the page shows the new token"
    );
    assert_eq!(
        cache.as_deref(),
        Some("no-store"),
        "a page showing a secret once is never kept by a browser or proxy cache"
    );
}

#[tokio::test]
async fn request_id_is_a_short_token() {
    let app = TestApp::spawn().await;
    let c = app.client();
    for bad in [
        "x".repeat(65),
        "a b".into(),
        "<script>".into(),
        "id;drop".into(),
    ] {
        let res = c
            .get(app.url("/healthz"))
            .header("x-request-id", bad.as_bytes())
            .send()
            .await
            .unwrap();
        let id = res.headers()["x-request-id"].to_str().unwrap().to_string();
        assert_ne!(
            id, bad,
            "a client's id that is not a short token is replaced"
        );
        assert!(id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }
}

#[tokio::test]
async fn a_trickled_body_gets_408() {
    // A request that never finishes its body is answered 408 once the request timeout passes.
    let app = TestApp::spawn_limited(web::server::Limits {
        request_timeout: std::time::Duration::from_secs(2),
        ..Default::default()
    })
    .await;
    let addr = app.base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    s.write_all(
        b"POST /api/v1/auth/token HTTP/1.1\r\nHost: vm\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"username\":",
    )
    .await
    .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        s.read_to_end(&mut answer),
    )
    .await
    .expect("the server gave up on the request")
    .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert_eq!(
        reqwest::get(app.url("/healthz")).await.unwrap().status(),
        200
    );
}
