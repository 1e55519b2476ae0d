//! The sessions page (issue 14): a user sees where it is signed in, ends one session or all the
//! others, never another user's; an unused session ends after the idle limit.

mod common;

use common::{TestApp, ADMIN_PASSWORD, ADMIN_USERNAME};

/// Whether a browser is still signed in (a page answers, not a redirect to the sign-in).
async fn signed_in(b: &common::Browser) -> bool {
    b.get_raw("/account/password").await.status() == 200
}

async fn session_ids(app: &TestApp, username: &str) -> Vec<i64> {
    let mut conn = app.db.acquire().await.unwrap();
    db::sqlx::query_scalar(
        "SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username = $1 ORDER BY s.id",
    )
    .bind(username)
    .fetch_all(&mut *conn)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_user_ends_its_own_sessions_and_only_its_own() {
    let app = TestApp::spawn().await;
    let _ = app.admin().await;
    let here = app.admin_browser().await;
    let phone = app.admin_browser().await;
    let laptop = app.admin_browser().await;
    let page = here.html("/account/sessions?lang=en").await;
    assert_eq!(page.matches("This browser").count(), 1, "{page}");
    assert_eq!(
        page.matches("<tr>").count(),
        1 + 3,
        "header and three sessions"
    );

    // One session ended by id: that browser is out, the others stay in.
    let ids = session_ids(&app, ADMIN_USERNAME).await;
    let res = here
        .submit(&format!("/account/sessions/{}/end", ids[1]), &[])
        .await;
    assert_eq!(res.status(), 303);
    assert!(
        !signed_in(&phone).await,
        "the ended session no longer works"
    );
    assert!(signed_in(&here).await && signed_in(&laptop).await);
    assert_eq!(app.audit_count("session_ended").await, 1);

    // Another user's session cannot be ended from here.
    app.create_admin("other", "other-pass-123").await;
    let other = app.browser_as("other", "other-pass-123").await;
    let theirs = session_ids(&app, "other").await[0];
    let res = here
        .submit(&format!("/account/sessions/{theirs}/end"), &[])
        .await;
    assert_eq!(res.status(), 404);
    assert!(
        signed_in(&other).await,
        "another user's session is untouched"
    );

    // Everywhere else: the laptop is out, this browser is not.
    let res = here.submit("/account/sessions/end-others", &[]).await;
    assert_eq!(res.status(), 303);
    let page = here.html("/account/sessions?lang=en").await;
    assert!(page.contains("Signed out elsewhere: 1."), "{page}");
    assert!(!signed_in(&laptop).await);
    assert!(signed_in(&here).await && signed_in(&other).await);
    assert_eq!(app.audit_count("session_ended").await, 2);
    let page = here.html("/account/sessions?lang=fa").await;
    assert!(page.contains("همین مرورگر") && !page.contains("account."));
}

#[tokio::test]
async fn an_unused_session_ends_and_a_used_one_records_its_use() {
    let app = TestApp::spawn().await;
    let _ = app.admin().await;
    let idle = app.admin_browser().await;
    let busy = app.browser_as(ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let ids = session_ids(&app, ADMIN_USERNAME).await;
    let now = chrono::Utc::now().timestamp();
    let mut conn = app.db.acquire().await.unwrap();
    // Idle for 3 hours (the limit is 2); the other last used 5 minutes ago.
    for (id, seen) in [(ids[0], now - 3 * 3600), (ids[1], now - 300)] {
        db::sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
            .bind(seen)
            .bind(id)
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    drop(conn);
    assert!(
        !signed_in(&idle).await,
        "a session idle past the limit ended"
    );
    assert!(signed_in(&busy).await);
    let mut conn = app.db.acquire().await.unwrap();
    let seen: Option<i64> =
        db::sqlx::query_scalar("SELECT last_seen_at FROM sessions WHERE id = $1")
            .bind(ids[1])
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert!(
        seen.unwrap() >= now,
        "the request moved its last use to now"
    );
}
