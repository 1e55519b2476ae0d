//! Two-factor sign-in (issue 14), as a user with an authenticator app meets it: enrolment by QR
//! code and a first code, recovery codes shown once; the second step at sign-in with a code,
//! with a recovery code (which then stops working), with a wrong or replayed code (refused,
//! counted); the token endpoint asks for the code too; "required for admins" leads an admin
//! without one to the set-up; the admin removes a reseller's second factor. Audited throughout.

mod common;

use common::world::{World, SHOP_PASSWORD};
use common::{hidden_field, Browser, TestApp};
use serde_json::json;
use totp_rs::{Algorithm, Secret, TOTP};

/// The user's authenticator app, set up from the key the enrolment page shows.
struct Authenticator(TOTP);

impl Authenticator {
    /// Reads the key the page shows as text (what a user types into an app by hand).
    fn from_page(html: &str) -> Authenticator {
        let start = html
            .find("<code id=\"secret\" dir=\"ltr\">")
            .expect("the key is shown")
            + 28;
        let end = html[start..].find("</code>").unwrap() + start;
        let key: String = html[start..end].split_whitespace().collect();
        let bytes = Secret::Encoded(key).to_bytes().expect("the key is base32");
        Authenticator(TOTP::new(Algorithm::SHA1, 6, 1, 30, bytes, None, String::new()).unwrap())
    }

    /// The code the app shows `steps` 30-second steps from now (1: the next one, which the
    /// server accepts for clock drift; a test uses it once the current one is spent).
    fn code(&self, steps: i64) -> String {
        let now = chrono::Utc::now().timestamp() + steps * 30;
        self.0.generate(now as u64)
    }

    /// Six digits that are no code of the steps around now.
    fn wrong_code(&self) -> String {
        let valid: Vec<String> = (-2..=2).map(|s| self.code(s)).collect();
        ["000000", "111111", "222222"]
            .into_iter()
            .find(|c| !valid.iter().any(|v| v == c))
            .unwrap()
            .to_string()
    }
}

fn recovery_codes(html: &str) -> Vec<String> {
    html.match_indices("<li><code>")
        .map(|(i, m)| {
            let start = i + m.len();
            let end = html[start..].find("</code>").unwrap() + start;
            html[start..end].to_string()
        })
        .collect()
}

/// Turns two-factor sign-in on for `b`'s user; the app and the ten recovery codes.
async fn enrol(b: &Browser) -> (Authenticator, Vec<String>) {
    let csrf = hidden_field(&b.html("/account/two-factor?lang=en").await, "_csrf").unwrap();
    let res = b
        .submit_raw("/account/two-factor/start", &[("_csrf", &csrf)])
        .await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("<svg"), "a QR code to scan");
    let app = Authenticator::from_page(&html);
    let res = b
        .submit_raw(
            "/account/two-factor/confirm",
            &[("_csrf", &csrf), ("code", &app.code(0))],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let codes = recovery_codes(&res.text().await.unwrap());
    assert_eq!(codes.len(), 10, "ten recovery codes shown once");
    (app, codes)
}

/// The password step: where it sends the browser.
async fn password_step(app: &TestApp, b: &reqwest::Client, login: &str, password: &str) -> String {
    let res = app.submit_login(b, login, password).await;
    assert_eq!(res.status(), 303, "the password is right");
    res.headers()["location"].to_str().unwrap().to_string()
}

/// The code step of a browser that passed the password step.
async fn code_step(app: &TestApp, b: &reqwest::Client, code: &str) -> reqwest::Response {
    let page = app
        .visitor_with(b.clone())
        .html("/login/code?lang=en")
        .await;
    let csrf = hidden_field(&page, "_csrf").expect("the code form");
    b.post(app.url("/login/code"))
        .form(&[("_csrf", csrf.as_str()), ("code", code)])
        .send()
        .await
        .unwrap()
}

async fn signed_in(app: &TestApp, b: &reqwest::Client) -> bool {
    app.visitor_with(b.clone())
        .get_raw("/account/password")
        .await
        .status()
        == 200
}

async fn failures_of(app: &TestApp, login: &str) -> i64 {
    let mut conn = app.db.acquire().await.unwrap();
    db::sqlx::query_scalar("SELECT COUNT(*) FROM login_failures WHERE login = $1")
        .bind(login)
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_asks_for_a_code_and_takes_each_code_once() {
    let app = TestApp::spawn().await;
    app.create_user("shop", "shop-pass-1", "reseller", None)
        .await;
    let me = app.browser_as("shop", "shop-pass-1").await;
    let off = me.html("/account/two-factor?lang=en").await;
    assert!(off.contains("Two-factor sign-in is off"), "{off}");

    // A wrong first code does not turn it on.
    let csrf = hidden_field(&off, "_csrf").unwrap();
    let started = me
        .submit_raw("/account/two-factor/start", &[("_csrf", &csrf)])
        .await
        .text()
        .await
        .unwrap();
    let phone = Authenticator::from_page(&started);
    let res = me
        .submit_raw(
            "/account/two-factor/confirm",
            &[("_csrf", &csrf), ("code", &phone.wrong_code())],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("That code is not right"));
    assert_eq!(app.audit_count("two_factor_enabled").await, 0);

    let (phone, codes) = enrol(&me).await;
    assert_eq!(app.audit_count("two_factor_enabled").await, 1);
    let on = me.html("/account/two-factor?lang=en").await;
    assert!(on.contains("Two-factor sign-in is on"), "{on}");
    assert!(on.contains("Unused recovery codes: 10"), "{on}");
    assert!(
        recovery_codes(&on).is_empty(),
        "the codes are shown once only"
    );

    // The password alone no longer signs in.
    let b = app.browser();
    assert_eq!(
        password_step(&app, &b, "shop", "shop-pass-1").await,
        "/login/code"
    );
    assert!(!signed_in(&app, &b).await, "no session before the code");

    // A wrong code: refused, counted for the limiter and audited.
    let before = failures_of(&app, "shop").await;
    let res = code_step(&app, &b, &phone.wrong_code()).await;
    assert_eq!(res.status(), 401);
    assert!(res.text().await.unwrap().contains("That code is not right"));
    assert_eq!(failures_of(&app, "shop").await, before + 1);
    assert!(!signed_in(&app, &b).await);

    // The code the enrolment used is spent: the same step does not sign in again.
    let res = code_step(&app, &b, &phone.code(0)).await;
    assert_eq!(res.status(), 401, "a code is taken once");
    let res = code_step(&app, &b, &phone.code(1)).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/");
    assert!(signed_in(&app, &b).await);

    // A recovery code signs in once, then no more.
    let lost_phone = app.browser();
    password_step(&app, &lost_phone, "shop", "shop-pass-1").await;
    // As typed by hand: upper case, without its dash.
    let typed = codes[0].replace('-', "").to_uppercase();
    assert_eq!(code_step(&app, &lost_phone, &typed).await.status(), 303);
    assert!(signed_in(&app, &lost_phone).await);
    assert_eq!(app.audit_count("recovery_code_used").await, 1);
    let again = app.browser();
    password_step(&app, &again, "shop", "shop-pass-1").await;
    assert_eq!(code_step(&app, &again, &codes[0]).await.status(), 401);
    assert!(me
        .html("/account/two-factor?lang=en")
        .await
        .contains("Unused recovery codes: 9"));

    // The token endpoint asks for the code as well.
    let anon = app.anonymous_api();
    let (status, body) = anon
        .post(
            "/api/v1/auth/token",
            json!({"username": "shop", "password": "shop-pass-1"}),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "second_factor_required");
    let (status, _) = anon
        .post(
            "/api/v1/auth/token",
            json!({"username": "shop", "password": "shop-pass-1", "code": phone.wrong_code()}),
        )
        .await;
    assert_eq!(status, 401);
    let (status, body) = anon
        .post(
            "/api/v1/auth/token",
            json!({"username": "shop", "password": "shop-pass-1", "code": codes[1]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turning_it_off_needs_the_password_and_a_code() {
    let app = TestApp::spawn().await;
    app.create_user("shop", "shop-pass-1", "reseller", None)
        .await;
    let me = app.browser_as("shop", "shop-pass-1").await;
    let (phone, _) = enrol(&me).await;
    let csrf = hidden_field(&me.html("/account/two-factor").await, "_csrf").unwrap();
    let res = me
        .submit_raw(
            "/account/two-factor/disable",
            &[
                ("_csrf", &csrf),
                ("password", "wrong"),
                ("code", &phone.code(1)),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let res = me
        .submit_raw(
            "/account/two-factor/disable",
            &[
                ("_csrf", &csrf),
                ("password", "shop-pass-1"),
                ("code", &phone.code(1)),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(app.audit_count("two_factor_disabled").await, 1);
    let b = app.browser();
    assert_eq!(password_step(&app, &b, "shop", "shop-pass-1").await, "/");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_without_a_second_factor_are_led_to_set_one_up_when_required() {
    let app = TestApp::spawn().await;
    let api = app.admin().await;
    let root = app.admin_browser().await;
    let res = root
        .submit("/admin/settings/two-factor", &[("required", "1")])
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(app.audit_count("settings_updated").await, 1);

    // The admin already signed in, and one signing in now: every page leads to the set-up.
    app.create_admin("ops", "ops-pass-77").await;
    let ops = app.browser_as("ops", "ops-pass-77").await;
    for b in [&root, &ops] {
        let res = b.get_raw("/admin/resellers").await;
        assert_eq!(res.status(), 303);
        assert_eq!(res.headers()["location"], "/account/two-factor");
    }
    let page = ops.html("/account/two-factor?lang=en").await;
    assert!(page.contains("require a second factor for every administrator"));
    // Scripts with API tokens go on working.
    assert_eq!(api.get("/api/v1/resellers").await.0, 200);

    let (phone, _) = enrol(&ops).await;
    assert_eq!(ops.get_raw("/admin/resellers").await.status(), 200);
    assert_eq!(root.get_raw("/admin/resellers").await.status(), 303);

    // While it is required, an admin cannot turn its own off.
    let csrf = hidden_field(&ops.html("/account/two-factor").await, "_csrf").unwrap();
    let res = ops
        .submit_raw(
            "/account/two-factor/disable",
            &[
                ("_csrf", &csrf),
                ("password", "ops-pass-77"),
                ("code", &phone.code(1)),
            ],
        )
        .await;
    assert_eq!(res.status(), 403);

    // Signing in again goes through the code step, then straight to the pages.
    let b = app.browser();
    assert_eq!(
        password_step(&app, &b, "ops", "ops-pass-77").await,
        "/login/code"
    );
    assert_eq!(code_step(&app, &b, &phone.code(1)).await.status(), 303);
    assert_eq!(
        app.visitor_with(b)
            .get_raw("/admin/resellers")
            .await
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_removes_a_resellers_second_factor() {
    let w = World::new().await;
    let shop = w.reseller("shop").create().await;
    let me = shop.browser(&w.app).await;
    enrol(&me).await;
    let admin = w.admin_browser().await;
    let page = admin
        .html(&format!("/admin/resellers/{}?lang=en", shop.id))
        .await;
    assert!(page.contains("This reseller signs in with a second factor."));

    // Another reseller cannot remove it.
    let other = w.reseller("other").create().await.browser(&w.app).await;
    let res = other
        .submit(
            &format!("/admin/resellers/{}/two-factor/remove", shop.id),
            &[],
        )
        .await;
    assert_eq!(res.status(), 403);

    let res = admin
        .submit(
            &format!("/admin/resellers/{}/two-factor/remove", shop.id),
            &[],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(w.app.audit_count("two_factor_removed").await, 1);
    let b = w.app.browser();
    assert_eq!(password_step(&w.app, &b, "shop", SHOP_PASSWORD).await, "/");
    let page = admin
        .html(&format!("/admin/resellers/{}?lang=en", shop.id))
        .await;
    assert!(!page.contains("This reseller signs in with a second factor."));
}
