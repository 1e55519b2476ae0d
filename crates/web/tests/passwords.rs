//! Passwords (issue 14): a user changes their own (current one required; old fails, new works,
//! other sessions end, tokens revoked when asked); an admin sets a reseller's; common and short
//! passwords are refused with a clear message. Pages and API, audited.

mod common;

use common::{hidden_field, TestApp};
use serde_json::{json, Value};

async fn page_status(b: &reqwest::Client, app: &TestApp, path: &str) -> u16 {
    b.get(app.url(path)).send().await.unwrap().status().as_u16()
}

async fn change_form(
    app: &TestApp,
    b: &reqwest::Client,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let html = b
        .get(app.url("/account/password?lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_field(&html, "_csrf").unwrap();
    let mut form = vec![("_csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    b.post(app.url("/account/password"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_ones_own_password_ends_the_other_sessions() {
    let app = TestApp::spawn().await;
    app.create_user("shop", "shop-pass-1", "reseller", None)
        .await;
    let here = app.signed_in_browser("shop", "shop-pass-1").await;
    let elsewhere = app.signed_in_browser("shop", "shop-pass-1").await;
    let token = app.token("shop", "shop-pass-1").await;
    assert_eq!(page_status(&here, &app, "/account/password").await, 200);

    // Wrong current password, a common new one, a mismatch: all named at once, nothing changes.
    let res = change_form(
        &app,
        &here,
        &[
            ("current_password", "nope"),
            ("new_password", "Password123"),
            ("confirm", "x"),
        ],
    )
    .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("The current password is wrong."), "{html}");
    assert!(html.contains("among the most common"), "{html}");

    let res = change_form(
        &app,
        &here,
        &[
            ("current_password", "shop-pass-1"),
            ("new_password", "new-secret-77"),
            ("confirm", "new-secret-77"),
            ("revoke_tokens", "1"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        page_status(&here, &app, "/account/password").await,
        200,
        "this session stays"
    );
    assert_eq!(
        page_status(&elsewhere, &app, "/account/password").await,
        303,
        "the other one ended"
    );
    let res = app
        .client()
        .get(app.url("/api/v1/tokens"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "tokens revoked as asked");
    assert_eq!(
        app.submit_login(&app.browser(), "shop", "shop-pass-1")
            .await
            .status(),
        401,
        "old fails"
    );
    assert_eq!(
        app.submit_login(&app.browser(), "shop", "new-secret-77")
            .await
            .status(),
        303,
        "new works"
    );
    assert_eq!(app.audit_count("password_changed").await, 1);

    // Through the API: tokens kept unless asked.
    let token = app.token("shop", "new-secret-77").await;
    let res = app
        .client()
        .post(app.url("/api/v1/account/password"))
        .bearer_auth(&token)
        .json(&json!({ "current_password": "new-secret-77", "new_password": "newer-secret-88" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["tokens_revoked"], 0);
    let res = app
        .client()
        .get(app.url("/api/v1/tokens"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .client()
        .post(app.url("/api/v1/account/password"))
        .bearer_auth(&token)
        .json(&json!({ "current_password": "wrong", "new_password": "12345678" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"]["fields"]["current_password"].is_string(),
        "{body}"
    );
    assert!(
        body["error"]["fields"]["new_password"]
            .as_str()
            .unwrap()
            .contains("common"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_sets_a_resellers_password() {
    let app = TestApp::spawn().await;
    app.create_admin("root", "correct-horse").await;
    let admin_token = app.token("root", "correct-horse").await;
    let (panel_id, _sim) = app.add_panel(panel_sim::SimKind::Marzban).await;
    let res = app.client().post(app.url("/api/v1/resellers")).bearer_auth(&admin_token)
        .json(&json!({ "username": "shop", "password": "shop-pass-1", "kind": "traffic", "panel_id": panel_id,
            "traffic_quota_bytes": 1_000_000_000i64, "window_days": 30 }))
        .send().await.unwrap();
    assert_eq!(res.status(), 201);
    let rid = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let reseller = app.signed_in_browser("shop", "shop-pass-1").await;

    let admin = app.signed_in_browser("root", "correct-horse").await;
    let page = admin
        .get(app.url(&format!("/admin/resellers/{rid}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("/admin/resellers/{rid}/password")));
    let csrf = hidden_field(&page, "_csrf").unwrap();
    let res = admin
        .post(app.url(&format!("/admin/resellers/{rid}/password")))
        .form(&[("_csrf", csrf.as_str()), ("password", "qwerty123")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422, "a common password is refused");
    let res = admin
        .post(app.url(&format!("/admin/resellers/{rid}/password")))
        .form(&[("_csrf", csrf.as_str()), ("password", "fresh-start-42")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        page_status(&reseller, &app, "/").await,
        303,
        "the reseller's session ended"
    );
    assert_eq!(
        app.submit_login(&app.browser(), "shop", "shop-pass-1")
            .await
            .status(),
        401
    );
    assert_eq!(
        app.submit_login(&app.browser(), "shop", "fresh-start-42")
            .await
            .status(),
        303
    );
    // And through the API.
    let res = app
        .client()
        .post(app.url(&format!("/api/v1/resellers/{rid}/password")))
        .bearer_auth(&admin_token)
        .json(&json!({ "password": "api-set-pass-9" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    app.token("shop", "api-set-pass-9").await;
    let shop_token = app.token("shop", "api-set-pass-9").await;
    let res = app
        .client()
        .post(app.url(&format!("/api/v1/resellers/{rid}/password")))
        .bearer_auth(&shop_token)
        .json(&json!({ "password": "api-set-pass-10" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "only admins");
    assert_eq!(app.audit_count("password_reset").await, 2);
}
