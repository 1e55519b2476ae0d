//! The admin's reseller management end to end: create with a login, edit, suspend, activate, add
//! traffic, extend the window, whitelists checked against the panel, the pages, and the
//! reseller's own dashboard and config pages in both languages.

mod common;

use common::{assert_error, assert_field_error, TestApp, GIB};
use panel_sim::SimKind;
use serde_json::{json, Value};

fn ts(v: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .timestamp()
}

#[tokio::test]
async fn a_traffic_reseller_is_created_with_its_login_and_managed() {
    let app = TestApp::spawn().await;
    let token = app.admin().await;
    let (panel_id, _sim) = app.add_panel(SimKind::Marzban).await;
    let (s, r) = token.post("/api/v1/resellers", json!({
        "username": "shop1", "password": "shop-pass-1", "kind": "traffic", "panel_id": panel_id,
        "traffic_quota_bytes": 100 * GIB, "window_days": 30, "config_limit": 5, "username_prefix": "shop"})).await;
    assert_eq!(s, 201, "{r}");
    let id = r["id"].as_i64().unwrap();
    assert_eq!(
        (
            r["username"].as_str(),
            r["kind"].as_str(),
            r["status"].as_str()
        ),
        (Some("shop1"), Some("traffic"), Some("active"))
    );
    assert_eq!(
        (
            r["config_limit"].as_i64(),
            r["configs_count"].as_i64(),
            r["username_prefix"].as_str()
        ),
        (Some(5), Some(0), Some("shop"))
    );
    assert!(r["wallet"].is_null());
    let now = chrono::Utc::now();
    assert_eq!(r["traffic"]["quota_bytes"], 100 * GIB);
    assert_eq!(r["traffic"]["remaining_bytes"], 100 * GIB);
    assert_eq!(
        r["traffic"]["grace_bytes"],
        2 * GIB,
        "2 % of 100 GB is above 50 MiB"
    );
    assert_eq!(
        ts(&r["traffic"]["window_ends_at"]),
        domain::tehran::days_from_today(now, 30).timestamp(),
        "00:00 Tehran"
    );
    assert_eq!(
        ts(&r["traffic"]["window_starts_at"]),
        domain::tehran::normalize_day_end(now).timestamp()
    );
    assert_eq!(app.audit_count("reseller_created").await, 1);

    // Its login works, and GET /me shows the same object.
    let rt = app.api_as("shop1", "shop-pass-1").await;
    let (s, me) = rt.get("/api/v1/me").await;
    assert_eq!((s, me["id"].as_i64()), (200, Some(id)));
    // Its configs carry its prefix.
    let (s, c) = rt
        .post(
            "/api/v1/configs",
            json!({"traffic_limit_bytes": GIB, "expires_in_days": 3}),
        )
        .await;
    assert_eq!(s, 201);
    assert_eq!(c["username"], json!(format!("shop_{id}_cfg_{}", c["id"])));
    let (s, list) = token.get(&format!("/api/v1/resellers/{id}/configs")).await;
    assert_eq!((s, list["total"].as_i64()), (200, Some(1)));

    let (s, r) = token
        .post(
            &format!("/api/v1/resellers/{id}/traffic"),
            json!({"add_bytes": 20 * GIB}),
        )
        .await;
    assert_eq!(
        (s, r["traffic"]["quota_bytes"].as_i64()),
        (200, Some(120 * GIB))
    );
    let end = ts(&r["traffic"]["window_ends_at"]);
    let (s, r) = token
        .post(
            &format!("/api/v1/resellers/{id}/window"),
            json!({"extend_days": 10}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(ts(&r["traffic"]["window_ends_at"]), end + 10 * 86_400);
    let (s, r) = token
        .patch(
            &format!("/api/v1/resellers/{id}"),
            json!({"config_limit": 9, "display_name": "Shop One"}),
        )
        .await;
    assert_eq!(
        (s, r["config_limit"].as_i64(), r["display_name"].as_str()),
        (200, Some(9), Some("Shop One"))
    );
    for a in [
        "reseller_traffic_added",
        "reseller_window_extended",
        "reseller_updated",
    ] {
        assert_eq!(app.audit_count(a).await, 1, "{a}");
    }
    let mut conn = app.db.acquire().await.unwrap();
    let meta: String = db::sqlx::query_scalar(
        "SELECT meta FROM audit_logs WHERE action = 'reseller_traffic_added'",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    let meta: Value = serde_json::from_str(&meta).unwrap();
    assert_eq!(
        (
            meta["before"]["traffic_quota_bytes"].as_i64(),
            meta["after"]["traffic_quota_bytes"].as_i64()
        ),
        (Some(100 * GIB), Some(120 * GIB))
    );
    drop(conn);

    assert_field_error(
        &token
            .post(
                &format!("/api/v1/resellers/{id}/traffic"),
                json!({"add_bytes": 0}),
            )
            .await,
        "add_bytes",
    );
    // Resellers cannot use the admin routes.
    assert_error(&rt.get("/api/v1/resellers").await, 403, "admin_only");
}

#[tokio::test]
async fn bad_reseller_input_names_the_field() {
    let app = TestApp::spawn().await;
    let token = app.admin().await;
    let (panel_id, _sim) = app.add_panel(SimKind::Marzneshin).await;
    let base = json!({"username": "shop1", "password": "shop-pass-1", "kind": "traffic", "panel_id": panel_id, "traffic_quota_bytes": GIB});
    let cases = [
        (json!({"password": "short"}), "password"),
        (json!({"kind": "plan"}), "kind"),
        (json!({"traffic_quota_bytes": 0}), "traffic_quota_bytes"),
        (json!({"username_prefix": "Bad-Prefix"}), "username_prefix"),
        (json!({"service_whitelist": [1, 99]}), "service_whitelist"),
        (json!({"window_days": 0}), "window_days"),
        (json!({"panel_id": 9999}), "panel_id"),
        (
            json!({"window_starts_at": "2030-02-01", "window_ends_at": "2030-01-01"}),
            "window_ends_at",
        ),
    ];
    for (patch, field) in cases {
        let mut body = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (s, e) = token.post("/api/v1/resellers", body.clone()).await;
        assert_eq!(s, 422, "{body} → {e}");
        assert!(
            e["error"]["fields"][field].is_string(),
            "{field} for {body}: {e}"
        );
    }
    assert_eq!(
        app.audit_count("reseller_created").await,
        0,
        "nothing half-written"
    );
    // The panel's own services pass; the login must be unique.
    let mut ok = base.clone();
    ok["service_whitelist"] = json!([1, 2]);
    ok["window_starts_at"] = json!("2030-01-01");
    ok["window_ends_at"] = json!("2030-02-01");
    let (s, r) = token.post("/api/v1/resellers", ok.clone()).await;
    assert_eq!(
        (s, r["service_whitelist"].clone()),
        (201, json!([1, 2])),
        "{r}"
    );
    // Dates are stored as 00:00 Tehran of the date given.
    let jan1 =
        domain::tehran::start_of_tehran_day(chrono::NaiveDate::from_ymd_opt(2030, 1, 1).unwrap());
    assert_eq!(ts(&r["traffic"]["window_starts_at"]), jan1.timestamp());
    assert_field_error(&token.post("/api/v1/resellers", ok).await, "username");
}

#[tokio::test]
async fn admin_pages_create_list_and_act_on_resellers() {
    let app = TestApp::spawn().await;
    app.admin().await;
    let (panel_id, _sim) = app.add_panel(SimKind::Marzban).await;
    let b = app.admin_browser().await;
    let page = b.html("/admin/resellers/new?lang=en").await;
    b.assert_form_token(&page).await;
    // A bad quota re-renders the form with the field's message.
    let res = b
        .submit(
            "/admin/resellers/new?lang=en",
            &[
                ("username", "shop9"),
                ("password", "shop-pass-9"),
                ("kind", "traffic"),
                ("panel_id", &panel_id.to_string()),
                ("quota_gb", "lots"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("Enter a number of GB"));
    let res = b
        .submit(
            "/admin/resellers/new",
            &[
                ("username", "shop9"),
                ("password", "shop-pass-9"),
                ("display_name", "Ninth shop"),
                ("kind", "traffic"),
                ("panel_id", &panel_id.to_string()),
                ("quota_gb", "2.5"),
                ("window_days", "30"),
                ("config_limit", "3"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let loc = res.headers()["location"].to_str().unwrap().to_string();
    let id: i64 = loc.rsplit('/').next().unwrap().parse().unwrap();
    let mut conn = app.db.acquire().await.unwrap();
    let r = db::resellers::get(&mut conn, id).await.unwrap().unwrap();
    assert_eq!(
        r.traffic_quota_bytes, 2_684_354_560,
        "2.5 GB = round(2.5 × 2^30) bytes"
    );
    drop(conn);

    let list = b
        .html("/admin/resellers?lang=en&q=ninth&kind=traffic")
        .await;
    assert!(
        list.contains("Ninth shop") && list.contains("class=\"meter"),
        "search hit with a usage bar"
    );
    let list = b.html("/admin/resellers?lang=en&kind=wallet").await;
    assert!(!list.contains("Ninth shop"), "kind filter");

    let res = b
        .submit(
            &format!("/admin/resellers/{id}/traffic"),
            &[("add_gb", "1.5")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let res = b
        .submit(&format!("/admin/resellers/{id}/suspend"), &[])
        .await;
    assert_eq!(res.status(), 303);
    let show = b.html(&format!("/admin/resellers/{id}?lang=en")).await;
    let q = &show[show
        .find("id=\"quota\"")
        .unwrap_or_else(|| panic!("{show}"))..][..60];
    assert!(q.contains("4.00 GB"), "quota after adding 1.5 GB: {q}");
    assert!(
        show.contains("Suspended")
            && show.contains("Reseller suspended")
            && show.contains("Traffic added to a reseller"),
        "status and audit trail, in words"
    );
    // The reseller's login sees its dashboard say why.
    let rb = app.browser_as("shop9", "shop-pass-9").await;
    let res = rb.get_raw("/?lang=en").await;
    assert_eq!(res.status(), 200);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("An administrator suspended your account"));
    // A reseller cannot open the admin pages.
    assert_eq!(rb.get_raw("/admin/resellers").await.status(), 403);
}

#[tokio::test]
async fn the_reseller_dashboard_and_config_pages_in_both_languages() {
    let app = TestApp::spawn().await;
    let token = app.admin().await;
    let (panel_id, sim) = app.add_panel(SimKind::Marzban).await;
    let (s, _) = token
        .post(
            "/api/v1/resellers",
            json!({
        "username": "shop1", "password": "shop-pass-1", "kind": "traffic", "panel_id": panel_id,
        "traffic_quota_bytes": 100 * GIB, "window_days": 30}),
        )
        .await;
    assert_eq!(s, 201);
    let b = app.browser_as("shop1", "shop-pass-1").await;
    let dash = b.html("/?lang=fa").await;
    assert!(
        dash.contains("ریسلر ترافیک‌محور")
            && dash.contains("ترافیک کل")
            && dash.contains("ترافیک باقی‌مانده"),
        "seed 004 traffic dashboard"
    );
    assert!(
        dash.contains("۱۰۰٫۰۰") || dash.contains("۱۰۰.۰۰"),
        "Persian digits: {}",
        &dash[dash.find("ترافیک کل").unwrap()..][..200]
    );

    // Create through the form; the config page has the subscription URL and a QR code.
    let res = b
        .submit(
            "/configs/new?lang=en",
            &[("traffic_limit_gb", "0.05"), ("expires_in_days", "7")],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("at least 0.1 GB"));
    let res = b
        .submit(
            "/configs/new",
            &[
                ("traffic_limit_gb", "۲٫۵"),
                ("expires_in_days", "30"),
                ("comment", "Ali"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let loc = res.headers()["location"].to_str().unwrap().to_string();
    let page = b.html(&format!("{loc}?lang=en")).await;
    assert!(
        page.contains("id=\"qr\"") && page.contains("<svg"),
        "QR code inline"
    );
    assert!(
        page.contains("id=\"sub-url\"") && page.contains("data-copy=\"#sub-url\""),
        "URL with copy button"
    );
    assert!(page.contains("created"), "timeline");
    let name = sim.users()[0].username.clone();
    assert_eq!(sim.user(&name).unwrap().limit_bytes, Some(2_684_354_560));

    // The list: previous usage column only once some config has settled usage; Jalali dates in fa.
    let list = b.html("/configs?lang=en").await;
    assert!(list.contains(&name) && !list.contains("Previous usage"));
    let id: i64 = loc.rsplit('/').next().unwrap().parse().unwrap();
    let now = chrono::Utc::now().timestamp();
    engine::observe::record(&app.db, id, GIB, None, now)
        .await
        .unwrap();
    engine::observe::record(&app.db, id, 0, None, now)
        .await
        .unwrap();
    let list = b.html("/configs?lang=en").await;
    assert!(
        list.contains("Previous usage") && list.contains("1.00 GB"),
        "settled usage shown"
    );
    let list = b.html("/configs?lang=fa").await;
    let expires = domain::tehran::days_from_today(chrono::Utc::now(), 30);
    let jalali = domain::units::to_persian_digits(&domain::jalali::format_jalali_date(expires));
    assert!(
        list.contains("مصرف قبلی") && list.contains(&jalali),
        "Jalali expiry {jalali}"
    );
    let list = b.html("/configs?lang=en&status=deleted").await;
    assert!(!list.contains(&name), "status filter");

    // A Jalali date typed with Persian digits sets the expiry to 00:00 Tehran of that day.
    let target = domain::tehran::tehran_date(chrono::Utc::now()) + chrono::Days::new(60);
    let typed = domain::units::to_persian_digits(&domain::jalali::format_jalali_date(
        domain::tehran::start_of_tehran_day(target),
    ));
    let res = b
        .submit(
            &format!("/configs/{id}/edit"),
            &[("traffic_limit_gb", "3"), ("expires_at", typed.as_str())],
        )
        .await;
    assert_eq!(res.status(), 303, "{typed}");
    let u = sim.user(&name).unwrap();
    assert_eq!(
        (u.limit_bytes, u.expires_at.map(|t| t.timestamp())),
        (
            Some(3 * GIB),
            Some(domain::tehran::start_of_tehran_day(target).timestamp())
        )
    );

    // Disable from the page reaches the panel.
    let res = b.submit(&format!("/configs/{id}/disable"), &[]).await;
    assert_eq!(res.status(), 303);
    assert!(!sim.user(&name).unwrap().enabled);
}

#[tokio::test]
async fn a_wallet_reseller_starts_with_its_opening_balance_in_the_ledger() {
    let app = TestApp::spawn().await;
    let token = app.admin().await;
    let (panel_id, _sim) = app.add_panel(SimKind::Marzban).await;
    let (s, r) = token
        .post(
            "/api/v1/resellers",
            json!({
        "username": "wal1", "password": "wallet-pass-1", "kind": "wallet", "panel_id": panel_id,
        "wallet_balance": 15_000, "wallet_price_per_gb": 900}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    assert!(r["traffic"].is_null());
    assert_eq!(
        (
            r["wallet"]["balance"].as_i64(),
            r["wallet"]["price_per_gb"].as_i64()
        ),
        (Some(15_000), Some(900))
    );
    assert_eq!(r["wallet"]["suspension_threshold"], -1000);
    let id = r["id"].as_i64().unwrap();
    let mut conn = app.db.acquire().await.unwrap();
    let (kind, amount, after): (String, i64, i64) = db::sqlx::query_as(
        "SELECT kind, amount, balance_after FROM wallet_ledger WHERE reseller_id = $1",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(
        (kind.as_str(), amount, after),
        ("opening_balance", 15_000, 15_000),
        "the balance is the ledger's first row"
    );
    drop(conn);
    // The seed's wallet dashboard: balance, price per GB, traffic used and a top-up button.
    let b = app.browser_as("wal1", "wallet-pass-1").await;
    let dash = b.html("/?lang=fa").await;
    for part in [
        "ریسلر کیف پول‌محور",
        "موجودی کیف پول",
        "۱۵٬۰۰۰",
        "قیمت هر گیگابایت",
        "۹۰۰",
        "ترافیک مصرف شده",
        "href=\"/wallet\"",
    ] {
        assert!(dash.contains(part), "{part} on the wallet dashboard");
    }
}

/// The grace the admin saves on the grace page is the grace the reseller's figures show (API
/// and `/me`), the same one enforcement uses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reseller_figures_use_the_configured_grace() {
    let app = TestApp::spawn().await;
    let token = app.admin().await;
    let (panel_id, _sim) = app.add_panel(SimKind::Marzban).await;
    let (s, r) = token.post("/api/v1/resellers", json!({
        "username": "grace_shop", "password": "shop-pass-1", "kind": "traffic", "panel_id": panel_id,
        "traffic_quota_bytes": 10 * GIB, "window_days": 30})).await;
    assert_eq!(s, 201, "{r}");
    let id = r["id"].as_i64().unwrap();
    let b = app.admin_browser().await;
    let res = b
        .submit(
            "/admin/settings/grace",
            &[("grace_percent", "0"), ("grace_min_mb", "500")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let (_, r) = token.get(&format!("/api/v1/resellers/{id}")).await;
    assert_eq!(r["traffic"]["grace_bytes"], 500 << 20, "{r}");
    let shop = app.api_as("grace_shop", "shop-pass-1").await;
    let (_, me) = shop.get("/api/v1/me").await;
    assert_eq!(
        me["reseller"]["traffic"]["grace_bytes"]
            .as_i64()
            .or(me["traffic"]["grace_bytes"].as_i64()),
        Some(500 << 20),
        "{me}"
    );
}

/// The resellers list tells "none yet" from "none match", and names its count (a phone showed a
/// bare "۰" under the empty table).
#[tokio::test]
async fn the_resellers_list_tells_an_empty_list_from_an_empty_search() {
    let app = TestApp::spawn().await;
    let _ = app.admin().await;
    let b = app.admin_browser().await;
    let page = b.html("/admin/resellers?lang=en").await;
    assert!(page.contains("No resellers yet."), "{page}");
    assert!(
        page.contains("Resellers: 0"),
        "the count says what it counts"
    );
    let page = b.html("/admin/resellers?lang=en&q=nobody").await;
    assert!(page.contains("No reseller matches this search."), "{page}");
    assert!(!page.contains("No resellers yet."));
    let page = b.html("/admin/resellers?lang=fa&q=nobody").await;
    assert!(page.contains("هیچ ریسلری با این جستجو پیدا نشد."));
    assert!(page.contains("تعداد ریسلرها: ۰"));
}

#[tokio::test]
async fn the_resellers_list_pages_sorts_and_searches_past_a_hundred() {
    let app = TestApp::spawn().await;
    let _ = app.admin().await;
    let mut conn = app.db.acquire().await.unwrap();
    let panel = common::rows::unreachable_panel(&mut conn, "p", None).await;
    for i in 0..120 {
        let name = format!("shop-{i:03}");
        common::rows::ResellerRow::traffic(&name, panel)
            .insert(&mut conn)
            .await;
    }
    drop(conn);
    let b = app.admin_browser().await;
    let rows = |html: &str| html.matches("<a href=\"/admin/resellers/").count();
    let first = b.html("/admin/resellers?lang=en").await;
    assert_eq!(rows(&first), 50, "a page of 50");
    assert!(first.contains("shop-119"), "newest first");
    assert!(first.contains("1 / 3"), "the pager");
    let last = b.html("/admin/resellers?lang=en&page=3").await;
    assert_eq!(rows(&last), 20);
    assert!(last.contains("shop-000"), "the oldest on the last page");
    let by_name = b.html("/admin/resellers?lang=en&sort=name").await;
    let (a, z) = (
        by_name.find("shop-000").unwrap(),
        by_name.find("shop-049").unwrap(),
    );
    assert!(a < z, "by name");
    assert!(!by_name.contains("shop-050"));
    // A search finds one that sits beyond the first hundred.
    let found = b.html("/admin/resellers?lang=en&q=shop-007").await;
    assert_eq!(rows(&found), 1);
    assert_eq!(b.get("/admin/resellers?sort=bogus").await.0, 422);
}
