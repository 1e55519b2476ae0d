//! Usage charts: a reseller sees its own traffic per day and hour (and wallet balance), the admin
//! sees top resellers; nobody else's data leaks.

mod common;

use common::TestApp;

async fn reseller(app: &TestApp, panel_id: i64, name: &str, kind: &str) -> i64 {
    engine::resellers::create(
        &app.ctx,
        &db::audit::Actor::system(),
        &db::audit::Origin::default(),
        engine::resellers::NewReseller {
            username: name.into(),
            password_hash: web::password::hash("reseller-pass").unwrap(),
            display_name: Some(format!("{name} shop")),
            kind: kind.into(),
            panel_id,
            traffic_quota_bytes: (kind == "traffic").then_some(100 * domain::units::GIB),
            window_days: (kind == "traffic").then_some(30),
            wallet_balance: (kind == "wallet").then_some(50_000),
            ..Default::default()
        },
        chrono::Utc::now(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e:?}"))
    .id
}

#[tokio::test]
async fn charts_show_a_resellers_own_traffic_and_the_admins_top_list() {
    let app = TestApp::spawn().await;
    app.create_admin("root", "correct-horse").await;
    let (panel_id, _sim) = app.add_panel(panel_sim::SimKind::Marzban).await;
    let a = reseller(&app, panel_id, "alpha", "wallet").await;
    let b = reseller(&app, panel_id, "beta", "traffic").await;
    let hour = domain::tehran::hour_start(chrono::Utc::now()).timestamp();
    let mut conn = app.db.acquire().await.unwrap();
    db::usage_hourly::add(&mut conn, a, hour, 3 * domain::units::GIB)
        .await
        .unwrap();
    db::usage_hourly::add(&mut conn, a, hour - 3600, domain::units::GIB)
        .await
        .unwrap();
    db::usage_hourly::add(&mut conn, b, hour, 7 * domain::units::GIB)
        .await
        .unwrap();
    drop(conn);

    let alpha = app.browser_as("alpha", "reseller-pass").await;
    let page = alpha.get_raw("/usage?lang=en").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert_eq!(
        html.matches("<svg class=\"chart ").count(),
        3,
        "per day, per hour, balance"
    );
    assert!(
        html.contains(": 3.00 GB") && html.contains(": 1.00 GB"),
        "hourly tooltips show alpha's traffic"
    );
    assert!(html.contains(": 4.00 GB"), "the day sums its hours");
    assert!(
        !html.contains("7.00 GB"),
        "beta's traffic is not shown to alpha"
    );
    assert!(
        html.contains("50,000 Toman"),
        "the opening balance is on the balance chart"
    );
    let fa = alpha.html("/usage?lang=fa").await;
    assert!(fa.contains("dir=\"rtl\""));
    assert!(
        fa.contains("۳") && !fa.contains(": 3.00 GB"),
        "Persian digits in fa"
    );

    assert_eq!(
        alpha
            .get_raw(&format!("/admin/resellers/{b}/usage"))
            .await
            .status(),
        403
    );
    assert_eq!(alpha.get_raw("/admin/reports").await.status(), 403);

    let admin = app.admin_browser().await;
    let top = admin.html("/admin/reports?lang=en").await;
    // Names as text, each with its figure, largest first.
    let beta_at = top.find("beta shop</a>").expect("beta listed");
    let alpha_at = top.find("alpha shop</a>").expect("alpha listed");
    assert!(beta_at < alpha_at, "largest first");
    assert!(top[beta_at..alpha_at].contains("7.00 GB"));
    assert!(top[alpha_at..].contains("4.00 GB"));
    let theirs = admin
        .html(&format!("/admin/resellers/{b}/usage?lang=en"))
        .await;
    assert_eq!(
        theirs.matches("<svg class=\"chart ").count(),
        2,
        "a traffic reseller has no balance chart"
    );
    assert_eq!(
        admin.get_raw("/admin/resellers/999/usage").await.status(),
        404
    );
}
