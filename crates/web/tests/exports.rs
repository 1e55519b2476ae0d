//! The configs list taken out (issue 15): a CSV that a spreadsheet opens with Persian intact
//! (UTF-8 with a BOM) and no formula run, holding only the reseller's own configs; a printable
//! sheet of QR codes with names.

mod common;

use common::world::{World, GIB};
use serde_json::json;

#[tokio::test]
async fn the_csv_keeps_persian_defuses_formulas_and_holds_only_ones_own_configs() {
    let w = World::new().await;
    let shop = w.reseller("csv-shop").create().await;
    let other = w.reseller("other-shop").configs(1).create().await;
    for comment in ["مشتری یک", "=HYPERLINK(\"http://evil\",\"x\")"] {
        let (status, c) = shop
            .api
            .post(
                "/api/v1/configs",
                json!({"traffic_limit_bytes": 5 * GIB, "expires_in_days": 30, "comment": comment}),
            )
            .await;
        assert_eq!(status, 201, "{c}");
    }
    let b = w
        .app
        .browser_as("csv-shop", common::world::SHOP_PASSWORD)
        .await;
    let res = b.get_raw("/configs/export.csv").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let bytes = res.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 with a BOM");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "name,comment,status,panel_state,usage_gb,previous_usage_gb,limit_gb,expires_at,subscription_link"
    );
    assert_eq!(
        lines.len(),
        3,
        "a header and the shop's two configs: {text}"
    );
    assert!(text.contains("\"مشتری یک\""), "{text}");
    assert!(
        text.contains("\"'=HYPERLINK("),
        "the formula is defused: {text}"
    );
    assert!(text.contains("\"5.00\""), "the limit in GB: {text}");
    assert!(
        !text.contains(&other.configs[0].username),
        "another's config"
    );

    // The filter narrows it, as on the page.
    let filtered = b
        .get_raw("/configs/export.csv?q=%D9%85%D8%B4%D8%AA%D8%B1%DB%8C")
        .await;
    let filtered = filtered.text().await.unwrap();
    assert_eq!(filtered.lines().count(), 2, "{filtered}");
}

#[tokio::test]
async fn the_print_sheet_has_a_qr_code_and_a_name_for_each_chosen_config() {
    let w = World::new().await;
    let shop = w.reseller("print-shop").configs(3).create().await;
    let other = w.reseller("print-other").configs(1).create().await;
    let b = w
        .app
        .browser_as("print-shop", common::world::SHOP_PASSWORD)
        .await;
    let html = b.html("/configs/print?lang=en").await;
    assert_eq!(html.matches("class=\"qr-card\"").count(), 3, "{html}");
    let sheet = &html[html.find("id=\"qr-sheet\"").unwrap()..];
    assert_eq!(sheet.matches("<svg").count(), 3, "a QR code on each card");
    for c in &shop.configs {
        assert!(html.contains(&c.username));
    }
    // Ticked ones only; another reseller's id is never printed.
    let path = format!(
        "/configs/print?ids={}&ids={}",
        shop.configs[1].id, other.configs[0].id
    );
    let html = b.html(&path).await;
    assert_eq!(html.matches("class=\"qr-card\"").count(), 1, "{html}");
    assert!(html.contains(&shop.configs[1].username));
    assert!(!html.contains(&other.configs[0].username));
}
