//! The admin's audit log: filters, CSV export, and no access for resellers.

mod common;

use common::TestApp;

#[tokio::test]
async fn the_admin_filters_the_audit_log_and_exports_it() {
    let app = TestApp::spawn().await;
    app.create_admin("root", "correct-horse").await;
    app.create_user("shop1", "reseller-pass", "reseller", None)
        .await;
    let b = app.browser();
    assert_eq!(app.submit_login(&b, "=cmd|evil", "x").await.status(), 401);
    let admin = app.admin_browser().await;
    admin.submit("/tokens", &[("name", "ci")]).await;

    let page = admin
        .get_raw("/admin/audit?lang=en&action=login_failed")
        .await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    // The rows say what happened in words; the filter offers every action by name.
    let rows = html
        .split("<table class=\"table audit-table\">")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .unwrap();
    assert!(
        rows.contains("Failed sign-in") && !rows.contains("API token created"),
        "filtered by action"
    );
    assert!(
        html.contains("<option value=\"login_failed\" selected>Failed sign-in</option>"),
        "the chosen action is shown by its name"
    );

    let csv = admin.get_raw("/admin/audit.csv").await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    assert!(
        csv.starts_with("\u{feff}id,created_at,actor_type"),
        "BOM, then the header"
    );
    assert!(csv.contains("api_token_created") && csv.contains("login_failed"));
    assert!(
        csv.contains("'=cmd|evil"),
        "formula-like values are neutralised"
    );

    let bad = admin.get_raw("/admin/audit?lang=en&from=not-a-date").await;
    assert_eq!(bad.status(), 200);
    assert!(bad.text().await.unwrap().contains("alert-error"));

    let reseller = app.browser_as("shop1", "reseller-pass").await;
    assert_eq!(reseller.get_raw("/admin/audit").await.status(), 403);
    assert_eq!(reseller.get_raw("/admin/audit.csv").await.status(), 403);
}

#[tokio::test]
async fn audit_csv_defuses_formulas() {
    // Strangers choose the login and the User-Agent of a failed sign-in, and both land in the
    // CSV the admin opens in a spreadsheet: no cell may start a formula, and a `;` (a separator
    // for spreadsheets in many locales) stays inside its quoted cell.
    let app = TestApp::spawn().await;
    app.create_admin("root", "correct-horse").await;
    for login in ["=1+1", "+cmd", "-cmd", "@SUM(A1)", "a;b"] {
        let stranger = reqwest::Client::builder()
            .cookie_store(true)
            .user_agent("@HYPERLINK(\"http://evil.example\")")
            .build()
            .unwrap();
        assert_eq!(app.submit_login(&stranger, login, "x").await.status(), 401);
    }
    let admin = app.admin_browser().await;
    let csv = admin.get_raw("/admin/audit.csv").await;
    assert_eq!(
        csv.headers()["content-disposition"],
        "attachment; filename=\"audit.csv\""
    );
    let csv = csv.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().skip(1).collect();
    assert!(lines.len() >= 5, "{csv}");
    for line in &lines {
        assert!(line.starts_with('"') && line.ends_with('"'), "{line}");
        for cell in line[1..line.len() - 1].split("\",\"") {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a formula cell in {line}"
            );
        }
    }
    assert!(csv.contains("\"'=1+1\"") && csv.contains("\"'@HYPERLINK("));
    assert!(csv.contains("\"a;b\""), "a ; stays inside its cell");
}
