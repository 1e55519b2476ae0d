//! The admins page (issue 14), as the seller's staff meet it: an admin creates another, disables
//! one (signed out at once, cannot sign in) and enables it again; never itself, never the last
//! active admin, even when two admins disable each other at the same moment. Each audited.

mod common;

use common::{assert_hides, assert_shows, hidden_field, TestApp, ADMIN_USERNAME};

async fn user_id(app: &TestApp, login: &str) -> i64 {
    let mut conn = app.db.acquire().await.unwrap();
    db::sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
        .bind(login)
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

/// The actor the audit log names for the last row of `action`.
async fn last_actor(app: &TestApp, action: &str) -> Option<String> {
    let mut conn = app.db.acquire().await.unwrap();
    db::sqlx::query_scalar(
        "SELECT actor_name FROM audit_logs WHERE action = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(action)
    .fetch_optional(&mut *conn)
    .await
    .unwrap()
}

#[tokio::test]
async fn an_admin_creates_disables_and_enables_another_admin() {
    let app = TestApp::spawn().await;
    let _ = app.admin().await;
    let root = app.admin_browser().await;

    // A weak password or a taken login is said on the form; nothing is created.
    let res = root
        .submit(
            "/admin/admins?lang=en",
            &[("username", "ops"), ("password", "password123")],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert_shows(&res.text().await.unwrap(), &["common"]);
    let res = root
        .submit(
            "/admin/admins?lang=en",
            &[("username", "ROOT"), ("password", "long-enough-pass-1")],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert_shows(&res.text().await.unwrap(), &["This login is taken"]);
    assert_eq!(app.audit_count("admin_created").await, 0);

    let res = root
        .submit(
            "/admin/admins",
            &[("username", "ops"), ("password", "ops-password-1")],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        last_actor(&app, "admin_created").await.as_deref(),
        Some(ADMIN_USERNAME)
    );
    let ops = app.browser_as("ops", "ops-password-1").await;
    let ops_token = app.token("ops", "ops-password-1").await;
    let page = root.html("/admin/admins?lang=en").await;
    assert_shows(&page, &["ops", "root", "Active"]);
    // No button disables oneself.
    let me = user_id(&app, ADMIN_USERNAME).await;
    assert_hides(&page, &[&format!("/admin/admins/{me}/disable")]);

    // Disabled: signed out at once, its token stops, it cannot sign in.
    let id = user_id(&app, "ops").await;
    let res = root
        .submit(&format!("/admin/admins/{id}/disable"), &[])
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(ops.get_raw("/").await.status(), 303, "signed out");
    assert_eq!(app.api_with(&ops_token).get("/api/v1/panels").await.0, 401);
    let res = app
        .submit_login(&app.browser(), "ops", "ops-password-1")
        .await;
    assert_ne!(res.status(), 303, "a disabled admin cannot sign in");
    assert_shows(&root.html("/admin/admins?lang=en").await, &["Disabled"]);
    assert_eq!(
        last_actor(&app, "admin_disabled").await.as_deref(),
        Some(ADMIN_USERNAME)
    );

    // Enabled again: it signs in.
    let res = root
        .submit(&format!("/admin/admins/{id}/enable"), &[])
        .await;
    assert_eq!(res.status(), 303);
    app.browser_as("ops", "ops-password-1").await;
    assert_eq!(app.audit_count("admin_enabled").await, 1);
}

#[tokio::test]
async fn an_admin_cannot_disable_itself_and_a_reseller_cannot_manage_admins() {
    let app = TestApp::spawn().await;
    let _ = app.admin().await;
    app.create_admin("ops", "ops-password-1").await;
    let root = app.admin_browser().await;
    let me = user_id(&app, ADMIN_USERNAME).await;
    let res = root
        .submit(&format!("/admin/admins/{me}/disable?lang=en"), &[])
        .await;
    assert_eq!(res.status(), 303);
    let page = root.html("/admin/admins?lang=en").await;
    assert_shows(&page, &["You cannot disable your own account"]);
    assert_eq!(root.get_raw("/").await.status(), 200, "still signed in");
    assert_eq!(app.audit_count("admin_disabled").await, 0);

    app.create_user("shop1", "shop-pass-1", "reseller", None)
        .await;
    let shop = app.browser_as("shop1", "shop-pass-1").await;
    assert_eq!(shop.get_raw("/admin/admins").await.status(), 403);
    let csrf = hidden_field(&shop.html("/account/password").await, "_csrf").unwrap();
    let ops = user_id(&app, "ops").await;
    for path in [
        "/admin/admins".to_string(),
        format!("/admin/admins/{ops}/disable"),
        format!("/admin/admins/{me}/enable"),
    ] {
        let res = shop
            .submit_raw(
                &path,
                &[
                    ("_csrf", &csrf),
                    ("username", "evil"),
                    ("password", "evil-password-1"),
                ],
            )
            .await;
        assert_eq!(res.status(), 403, "{path}");
    }
    app.browser_as("ops", "ops-password-1").await;
    assert_eq!(app.audit_count("admin_created").await, 0);
}

#[tokio::test]
async fn two_admins_disabling_each_other_at_once_leave_one_active() {
    let app = TestApp::spawn().await;
    let _ = app.admin().await;
    app.create_admin("ops", "ops-password-1").await;
    let root = app.admin_browser().await;
    let ops = app.browser_as("ops", "ops-password-1").await;
    let (root_id, ops_id) = (
        user_id(&app, ADMIN_USERNAME).await,
        user_id(&app, "ops").await,
    );
    let (disable_ops, disable_root) = (
        format!("/admin/admins/{ops_id}/disable"),
        format!("/admin/admins/{root_id}/disable"),
    );
    let (a, b) = tokio::join!(
        root.submit(&disable_ops, &[]),
        ops.submit(&disable_root, &[]),
    );
    // Both answer with a redirect: one "disabled", the other refused (or already signed out).
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (303, 303));
    let mut conn = app.db.acquire().await.unwrap();
    let active: i64 =
        db::sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin' AND is_active = 1")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(active, 1, "exactly one admin stays active");
    assert_eq!(app.audit_count("admin_disabled").await, 1);
}
