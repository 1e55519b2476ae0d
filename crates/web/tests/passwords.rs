//! Passwords (issue 14): a user changes their own (current one required; old fails, new works,
//! other sessions end, tokens revoked when asked); an admin sets a reseller's; common and short
//! passwords are refused with a clear message. Pages and API, audited.

mod common;

use common::{hidden_field, Browser, TestApp};
use serde_json::json;

/// The change form, with the CSRF token read from the form itself each time (a password change
/// renews the session, so a token kept from before would not do).
async fn change_form(b: &Browser, fields: &[(&str, &str)]) -> reqwest::Response {
    let html = b.html("/account/password?lang=en").await;
    let csrf = hidden_field(&html, "_csrf").unwrap();
    let mut form = vec![("_csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    b.submit_raw("/account/password", &form).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_ones_own_password_ends_the_other_sessions() {
    let app = TestApp::spawn().await;
    app.create_user("shop", "shop-pass-1", "reseller", None)
        .await;
    let here = app.browser_as("shop", "shop-pass-1").await;
    let elsewhere = app.browser_as("shop", "shop-pass-1").await;
    let token = app.api_as("shop", "shop-pass-1").await;
    assert_eq!(here.get("/account/password").await.0, 200);

    // Wrong current password, a common new one, a mismatch: all named at once, nothing changes.
    let res = change_form(
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
        here.get("/account/password").await.0,
        200,
        "this session stays"
    );
    assert_eq!(
        elsewhere.get("/account/password").await.0,
        303,
        "the other one ended"
    );
    assert_eq!(
        token.get("/api/v1/tokens").await.0,
        401,
        "tokens revoked as asked"
    );
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
    let token = app.api_as("shop", "new-secret-77").await;
    let change = |current: &'static str, new: &'static str| {
        token.post(
            "/api/v1/account/password",
            json!({ "current_password": current, "new_password": new }),
        )
    };
    let (status, body) = change("new-secret-77", "newer-secret-88").await;
    assert_eq!(status, 200);
    assert_eq!(body["tokens_revoked"], 0);
    assert_eq!(token.get("/api/v1/tokens").await.0, 200);
    let (status, body) = change("wrong", "12345678").await;
    assert_eq!(status, 422);
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
    let admin_api = app.admin().await;
    let (panel_id, _sim) = app.add_panel(panel_sim::SimKind::Marzban).await;
    let (status, r) = admin_api.post("/api/v1/resellers", json!({ "username": "shop", "password": "shop-pass-1", "kind": "traffic", "panel_id": panel_id,
            "traffic_quota_bytes": 1_000_000_000i64, "window_days": 30 })).await;
    assert_eq!(status, 201);
    let rid = r["id"].as_i64().unwrap();
    let reseller = app.browser_as("shop", "shop-pass-1").await;

    let admin = app.admin_browser().await;
    let page = admin.html(&format!("/admin/resellers/{rid}")).await;
    assert!(page.contains(&format!("/admin/resellers/{rid}/password")));
    admin.assert_form_token(&page).await;
    let res = admin
        .submit(
            &format!("/admin/resellers/{rid}/password"),
            &[("password", "qwerty123")],
        )
        .await;
    assert_eq!(res.status(), 422, "a common password is refused");
    let res = admin
        .submit(
            &format!("/admin/resellers/{rid}/password"),
            &[("password", "fresh-start-42")],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        reseller.get("/").await.0,
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
    let path = format!("/api/v1/resellers/{rid}/password");
    let (status, _) = admin_api
        .post(&path, json!({ "password": "api-set-pass-9" }))
        .await;
    assert_eq!(status, 200);
    app.token("shop", "api-set-pass-9").await;
    let shop = app.api_as("shop", "api-set-pass-9").await;
    let (status, _) = shop
        .post(&path, json!({ "password": "api-set-pass-10" }))
        .await;
    assert_eq!(status, 403, "only admins");
    assert_eq!(app.audit_count("password_reset").await, 2);
}
