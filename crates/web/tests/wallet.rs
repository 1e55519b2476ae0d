//! The wallet as a reseller and an admin meet it over HTTP: balance and ledger, top-ups with
//! receipt checks, the admin's queue and adjustments, billing on demand, pages and settings.

mod common;

use common::{hidden_field, TestApp};
use domain::status::{
    LedgerKind, PanelKind, RemoteState, ResellerKind, ResellerStatus, SuspendedBy,
};
use serde_json::Value;

const PNG: &[u8] = &[
    0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 1, 2, 3,
];

/// A multipart body built by hand (the test client has no multipart feature).
fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "----vmtestboundary7MA4YWxk";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    if let Some((name, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"receipt\"; filename=\"{name}\"\r\nContent-Type: image/png\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

struct Shop {
    app: TestApp,
    reseller: i64,
    admin_token: String,
    shop_token: String,
}

/// An admin and a wallet reseller (login `shop`) with an opening balance and a wallet start.
async fn shop(opening: i64) -> Shop {
    let app = TestApp::spawn().await;
    let mut tx = app.db.begin_write().await.unwrap();
    let panel = db::panels::create(
        &mut tx,
        db::panels::NewPanel {
            name: "p",
            kind: PanelKind::Marzban,
            base_url: "http://127.0.0.1:9",
            username: None,
            password_enc: None,
            api_key_enc: None,
            settings: "{}",
        },
    )
    .await
    .unwrap();
    let reseller = db::resellers::create(
        &mut tx,
        db::resellers::NewReseller {
            display_name: "Shop One",
            kind: ResellerKind::Wallet,
            panel_id: panel,
            username_prefix: None,
            allow_custom_names: false,
            config_limit: None,
            service_whitelist: &[],
            node_whitelist: &[],
            traffic_quota_bytes: 0,
            window_starts_at: None,
            window_ends_at: None,
            wallet_price_per_gb: Some(1_000),
        },
        chrono::Utc::now().timestamp(),
    )
    .await
    .unwrap();
    engine::wallet::post_entry(
        &mut tx,
        reseller,
        LedgerKind::OpeningBalance,
        opening,
        "opening",
        None,
        None,
        None,
    )
    .await
    .unwrap();
    engine::wallet::start_wallet(&mut tx, reseller, chrono::Utc::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    app.create_admin("root", "correct-horse").await;
    app.create_user("shop", "shop-password", "reseller", Some(reseller))
        .await;
    let admin_token = app.token("root", "correct-horse").await;
    let shop_token = app.token("shop", "shop-password").await;
    Shop {
        app,
        reseller,
        admin_token,
        shop_token,
    }
}

impl Shop {
    async fn get(&self, token: &str, path: &str) -> reqwest::Response {
        self.app
            .client()
            .get(self.app.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    async fn post_json(&self, token: &str, path: &str, body: Value) -> reqwest::Response {
        self.app
            .client()
            .post(self.app.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn upload(&self, amount: &str, file: Option<(&str, &[u8])>) -> reqwest::Response {
        let (ct, body) = multipart(&[("amount", amount)], file);
        self.app
            .client()
            .post(self.app.url("/api/v1/wallet/topups"))
            .bearer_auth(&self.shop_token)
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    async fn balance(&self) -> i64 {
        let v: Value = self
            .get(&self.shop_token, "/api/v1/wallet")
            .await
            .json()
            .await
            .unwrap();
        v["balance"].as_i64().unwrap()
    }

    async fn set_status(&self, status: ResellerStatus) {
        let mut conn = self.app.db.acquire().await.unwrap();
        db::resellers::set_status(&mut conn, self.reseller, status, Some(SuspendedBy::System))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn the_wallet_answers_with_balance_price_and_threshold_and_stays_open_when_suspended() {
    let s = shop(15_000).await;
    let res = s.get(&s.shop_token, "/api/v1/wallet").await;
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["balance"], 15_000);
    assert_eq!(v["price_per_gb"], 1_000, "the reseller's own price");
    assert_eq!(v["suspension_threshold"], -1_000);
    assert_eq!(v["status"], "active");

    s.set_status(ResellerStatus::SuspendedWallet).await;
    let res = s.get(&s.shop_token, "/api/v1/wallet").await;
    assert_eq!(
        res.status(),
        200,
        "a suspended wallet can still be topped up"
    );
    assert_eq!(
        res.json::<Value>().await.unwrap()["status"],
        "suspended_wallet"
    );
    let ledger: Value = s
        .get(&s.shop_token, "/api/v1/wallet/ledger")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ledger["total"], 1);
    let row = &ledger["items"][0];
    assert_eq!(row["kind"], "opening_balance");
    assert_eq!(row["amount"], 15_000);
    assert_eq!(row["balance_after"], 15_000);
    assert!(row["created_at"].as_str().unwrap().ends_with('Z'));
    // Topping up while suspended works too.
    assert_eq!(s.upload("10000", Some(("r.png", PNG))).await.status(), 201);
    // An admin has no wallet of its own.
    let res = s.get(&s.admin_token, "/api/v1/wallet").await;
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn receipts_are_checked_by_content_and_size_and_amounts_by_the_minimum() {
    let s = shop(0).await;
    // A text file renamed .png is refused.
    let res = s
        .upload(
            "20000",
            Some(("receipt.png", b"this is not an image at all")),
        )
        .await;
    assert_eq!(res.status(), 422);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["code"], "validation_failed");
    assert!(v["error"]["fields"]["receipt"].is_string(), "{v}");
    // A real PNG header but over 4 MB is refused.
    let mut big = PNG.to_vec();
    big.resize(4 * 1024 * 1024 + 1, 0);
    let res = s.upload("20000", Some(("big.png", &big))).await;
    assert_eq!(res.status(), 422);
    assert!(res.json::<Value>().await.unwrap()["error"]["fields"]["receipt"].is_string());
    // Past the server's body limit too: still a field error, not a broken request.
    big.resize(6 * 1024 * 1024, 0);
    let res = s.upload("20000", Some(("big.png", &big))).await;
    assert_eq!(res.status(), 422);
    // Below the minimum, and not a number.
    let res = s.upload("9999", Some(("r.png", PNG))).await;
    assert_eq!(res.status(), 422);
    assert!(res.json::<Value>().await.unwrap()["error"]["fields"]["amount"].is_string());
    assert_eq!(s.upload("ten", Some(("r.png", PNG))).await.status(), 422);
    assert_eq!(s.upload("20000", None).await.status(), 422);
    // WebP and JPEG by their magic bytes.
    let webp = b"RIFF\x10\x00\x00\x00WEBPVP8 ";
    assert_eq!(s.upload("20000", Some(("x.bin", webp))).await.status(), 201);
    let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10];
    assert_eq!(s.upload("۲۰٬۰۰۰", Some(("x", &jpeg))).await.status(), 201);
    let mut conn = s.app.db.acquire().await.unwrap();
    let n: i64 = db::sqlx::query_scalar("SELECT COUNT(*) FROM topups")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(n, 2, "only the two valid receipts were stored");
    let dir = s.app.state.options.data_dir.join("receipts");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|f| f.unwrap().path())
        .collect();
    assert_eq!(files.len(), 2);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700, "receipts are private to the service");
        for f in &files {
            assert_eq!(mode(f), 0o600, "{}", f.display());
        }
    }
}

#[tokio::test]
async fn receipt_keeps_its_own_csp_and_disposition() {
    // A receipt is an uploaded file: shown inline under `default-src 'none'`, so even a file that
    // a browser would sniff as HTML runs nothing, and saved under a name we chose.
    let s = shop(0).await;
    let res = s.upload("20000", Some(("../../evil.html.png", PNG))).await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let admin = s.app.signed_in_browser("root", "correct-horse").await;
    for path in [
        format!("/api/v1/topups/{id}/receipt"),
        format!("/admin/topups/{id}/receipt"),
    ] {
        let res = if path.starts_with("/api") {
            s.get(&s.admin_token, &path).await
        } else {
            admin.get(s.app.url(&path)).send().await.unwrap()
        };
        assert_eq!(res.status(), 200, "{path}");
        let h = res.headers();
        assert_eq!(h["content-security-policy"], "default-src 'none'", "{path}");
        assert_eq!(
            h["content-disposition"],
            format!("inline; filename=\"receipt-{id}.png\""),
            "{path}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
    }
}

#[tokio::test]
async fn an_admin_approves_a_top_up_once_sees_the_receipt_and_rejects_with_a_reason() {
    let s = shop(-2_000).await;
    s.set_status(ResellerStatus::SuspendedWallet).await;
    let res = s.upload("20000", Some(("receipt.png", PNG))).await;
    assert_eq!(res.status(), 201);
    let t: Value = res.json().await.unwrap();
    assert_eq!(t["amount"], 20_000);
    assert_eq!(t["status"], "pending");
    let id = t["id"].as_i64().unwrap();
    assert_eq!(s.app.audit_count("wallet_topup_submitted").await, 1);

    let queue: Value = s
        .get(&s.admin_token, "/api/v1/topups?status=pending")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queue["total"], 1);
    assert_eq!(queue["items"][0]["reseller_name"], "Shop One");
    // The receipt, for admins only.
    let res = s
        .get(&s.admin_token, &format!("/api/v1/topups/{id}/receipt"))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.bytes().await.unwrap().as_ref(), PNG);
    let res = s
        .get(&s.shop_token, &format!("/api/v1/topups/{id}/receipt"))
        .await;
    assert_eq!(res.status(), 403);
    let res = s
        .post_json(
            &s.shop_token,
            &format!("/api/v1/topups/{id}/approve"),
            Value::Null,
        )
        .await;
    assert_eq!(res.status(), 403, "resellers cannot approve");

    for _ in 0..2 {
        let res = s
            .post_json(
                &s.admin_token,
                &format!("/api/v1/topups/{id}/approve"),
                Value::Null,
            )
            .await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<Value>().await.unwrap()["status"], "approved");
    }
    assert_eq!(s.balance().await, 18_000, "credited once");
    assert_eq!(s.app.audit_count("wallet_topup_approved").await, 1);
    let v: Value = s
        .get(&s.shop_token, "/api/v1/wallet")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["status"], "active",
        "the approval lifted it above the threshold"
    );

    let res = s.upload("10000", Some(("r.png", PNG))).await;
    let id2 = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let path = format!("/api/v1/topups/{id2}/reject");
    let res = s
        .post_json(&s.admin_token, &path, serde_json::json!({"reason": "  "}))
        .await;
    assert_eq!(res.status(), 422);
    let res = s
        .post_json(
            &s.admin_token,
            &path,
            serde_json::json!({"reason": "amount does not match"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(
        (v["status"].as_str(), v["reason"].as_str()),
        (Some("rejected"), Some("amount does not match"))
    );
    let res = s
        .post_json(
            &s.admin_token,
            &format!("/api/v1/topups/{id2}/approve"),
            Value::Null,
        )
        .await;
    assert_eq!(res.status(), 409);
    assert_eq!(s.balance().await, 18_000);
    assert_eq!(s.app.audit_count("wallet_topup_rejected").await, 1);
}

#[tokio::test]
async fn admin_adjustments_and_the_billing_job_move_the_balance_through_the_ledger() {
    let s = shop(1_000).await;
    let path = format!("/api/v1/resellers/{}/wallet/adjustments", s.reseller);
    let res = s
        .post_json(
            &s.admin_token,
            &path,
            serde_json::json!({"amount": 4_000, "note": "promo"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let v: Value = res.json().await.unwrap();
    assert_eq!(
        (v["amount"].as_i64(), v["balance_after"].as_i64()),
        (Some(4_000), Some(5_000))
    );
    assert_eq!(v["kind"], "admin_adjustment");
    assert_eq!(v["note"], "promo");
    let res = s
        .post_json(
            &s.admin_token,
            &path,
            serde_json::json!({"amount": 0, "note": "x"}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let res = s
        .post_json(
            &s.admin_token,
            &path,
            serde_json::json!({"amount": 5, "note": ""}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let res = s
        .post_json(
            &s.shop_token,
            &path,
            serde_json::json!({"amount": 1_000_000, "note": "me"}),
        )
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(s.app.audit_count("wallet_adjusted").await, 1);

    // 2 GiB at the reseller's 1,000/GB, billed on demand.
    let mut conn = s.app.db.acquire().await.unwrap();
    let panel: i64 = db::sqlx::query_scalar("SELECT id FROM panels")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let c = db::configs::create(
        &mut conn,
        db::configs::NewConfig {
            reseller_id: s.reseller,
            panel_id: panel,
            username: Some("shop_cfg"),
            comment: None,
            traffic_limit_bytes: 10 << 30,
            expires_at: None,
            max_clients: None,
            service_ids: &[],
            node_ids: &[],
            inbound_ids: &[],
        },
        |_| unreachable!(),
        chrono::Utc::now().timestamp(),
    )
    .await
    .unwrap();
    drop(conn);
    engine::observe::record(&s.app.db, c, 2 << 30, None, chrono::Utc::now().timestamp())
        .await
        .unwrap();
    // The wallet started this hour, so this hour is already snapshotted: bill the next one.
    let next = chrono::Utc::now() + chrono::Duration::hours(1);
    let r = engine::billing::run_once(&s.app.ctx, next).await.unwrap();
    assert_eq!(r.total_cost, 2_000);
    assert_eq!(s.balance().await, 3_000);
    // The job endpoint: admins only, and the current hour is already billed.
    let res = s
        .post_json(&s.shop_token, "/api/v1/jobs/wallet-billing", Value::Null)
        .await;
    assert_eq!(res.status(), 403);
    let res = s
        .post_json(&s.admin_token, "/api/v1/jobs/wallet-billing", Value::Null)
        .await;
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    for k in ["resellers_charged", "resellers_suspended", "total_cost"] {
        assert!(v[k].is_i64(), "{k} in {v}");
    }
    // A debit past the threshold suspends at once.
    let res = s
        .post_json(
            &s.admin_token,
            &path,
            serde_json::json!({"amount": -4_000, "note": "chargeback"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let v: Value = s
        .get(&s.shop_token, "/api/v1/wallet")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (v["balance"].as_i64(), v["status"].as_str()),
        (Some(-1_000), Some("suspended_wallet"))
    );
    let ledger: Value = s
        .get(&s.shop_token, "/api/v1/wallet/ledger?per_page=2")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ledger["total"], 4);
    assert_eq!(ledger["items"].as_array().unwrap().len(), 2);
    assert_eq!(ledger["items"][1]["kind"], "usage_charge");
    assert_eq!(ledger["items"][1]["ref"]["type"], "usage_snapshot");
}

#[tokio::test]
async fn the_wallet_page_warns_when_suspended_exports_csv_and_takes_a_top_up() {
    let s = shop(-1_500).await;
    s.set_status(ResellerStatus::SuspendedWallet).await;
    let b = s.app.signed_in_browser("shop", "shop-password").await;
    let res = b.get(s.app.url("/wallet")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("موجودی کم - لطفاً شارژ کنید"),
        "the seed's warning"
    );
    assert!(page.contains("ریسلر کیف پول‌محور"));
    assert!(
        page.contains("\u{2066}-۱٬۵۰۰\u{2069} تومان"),
        "the balance in Persian digits and separators, its sign kept left of the digits"
    );
    let page = b
        .get(s.app.url("/wallet?lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Low balance - please top up"));
    assert!(page.contains("Opening balance"));

    let csv = b
        .get(s.app.url("/wallet/statement.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("time_utc,kind,bytes,gb,price_per_gb,amount,balance_after,note\n"));
    assert!(
        text.contains("\"opening_balance\",\"\",\"\",\"\",\"-1500\",\"-1500\""),
        "{text}"
    );

    // The top-up form: multipart with the session's CSRF token.
    let csrf = hidden_field(&page, "_csrf").unwrap();
    let (ct, body) = multipart(
        &[("_csrf", "wrong"), ("amount", "30000")],
        Some(("r.png", PNG)),
    );
    let res = b
        .post(s.app.url("/wallet/topups"))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "a forged form is refused");
    let (ct, body) = multipart(
        &[("_csrf", &csrf), ("amount", "30000")],
        Some(("r.png", b"not an image")),
    );
    let res = b
        .post(s.app.url("/wallet/topups?lang=en"))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("JPEG, PNG or WebP"));
    let (ct, body) = multipart(
        &[("_csrf", &csrf), ("amount", "30000")],
        Some(("r.png", PNG)),
    );
    let res = b
        .post(s.app.url("/wallet/topups"))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/wallet");
    let after = b
        .get(s.app.url("/wallet?lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        after.contains("Top-up of 30,000 Toman sent"),
        "the flash says what happened"
    );

    // The admin's queue shows the count and approves through the page.
    let admin = s.app.signed_in_browser("root", "correct-horse").await;
    let page = admin
        .get(s.app.url("/admin/topups?lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("id=\"pending-count\">1 pending"),
        "count badge"
    );
    assert!(page.contains("Shop One"));
    let csrf = s.app.csrf_of(&admin).await;
    let id: i64 = {
        let mut conn = s.app.db.acquire().await.unwrap();
        db::sqlx::query_scalar("SELECT id FROM topups")
            .fetch_one(&mut *conn)
            .await
            .unwrap()
    };
    let img = admin
        .get(s.app.url(&format!("/admin/topups/{id}/receipt")))
        .send()
        .await
        .unwrap();
    assert_eq!(img.headers()["content-type"], "image/png");
    let res = admin
        .post(s.app.url(&format!("/admin/topups/{id}/approve")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(s.balance().await, 28_500);
    // A reseller cannot open the queue.
    let res = b.get(s.app.url("/admin/topups")).send().await.unwrap();
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn the_admin_edits_wallet_defaults_and_credits_a_wallet_from_the_pages() {
    let s = shop(0).await;
    {
        // Without its own price the reseller follows the default.
        let mut conn = s.app.db.acquire().await.unwrap();
        db::sqlx::query("UPDATE resellers SET wallet_price_per_gb = NULL")
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    let v: Value = s
        .get(&s.shop_token, "/api/v1/wallet")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["price_per_gb"], 780, "the environment's default");
    let admin = s.app.signed_in_browser("root", "correct-horse").await;
    let page = admin
        .get(s.app.url("/admin/settings"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("name=\"price_per_gb\" value=\"780\""));
    let csrf = s.app.csrf_of(&admin).await;
    let res = admin
        .post(s.app.url("/admin/settings"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("price_per_gb", "900"),
            ("suspension_threshold", "-5000"),
            ("topup_min_amount", "50000"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(s.app.audit_count("settings_updated").await, 1);
    let v: Value = s
        .get(&s.shop_token, "/api/v1/wallet")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            v["price_per_gb"].as_i64(),
            v["suspension_threshold"].as_i64()
        ),
        (Some(900), Some(-5_000))
    );
    assert_eq!(
        s.upload("20000", Some(("r.png", PNG))).await.status(),
        422,
        "new minimum"
    );
    let res = admin
        .post(s.app.url("/admin/settings"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("price_per_gb", "abc"),
            ("suspension_threshold", "-5000"),
            ("topup_min_amount", "50000"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(s.app.audit_count("settings_updated").await, 1);

    // A money move asks first, naming the reseller and the amount; only the confirmed
    // second post moves the money.
    let path = format!("/admin/resellers/{}/wallet", s.reseller);
    let res = admin
        .post(s.app.url(&format!("{path}?lang=en")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("amount", "-2,500"),
            ("note", "correction"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let ask = res.text().await.unwrap();
    assert!(ask.contains("Debit 2,500 Toman from Shop One"), "{ask}");
    assert_eq!(
        s.balance().await,
        0,
        "nothing moves before the confirmation"
    );
    let res = admin
        .post(s.app.url(&path))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("amount", "-2,500"),
            ("note", "correction"),
            ("confirmed", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(s.balance().await, -2_500);
    let page = admin
        .get(s.app.url(&format!("{path}?lang=en")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("correction") && page.contains("-2,500 Toman"));
    let res = admin
        .post(s.app.url(&path))
        .form(&[("_csrf", csrf.as_str()), ("amount", "0"), ("note", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
}

#[tokio::test]
async fn the_wallet_page_shows_the_burn_rate_and_warns_near_the_threshold() {
    let s = shop(10_000).await;
    let b = s.app.signed_in_browser("shop", "shop-password").await;
    let page = b
        .get(s.app.url("/wallet?lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("No traffic was billed in the last 24 hours."));
    assert!(!page.contains("lasts less than a day"));
    // 1 GiB billed at 1,000/GB: 9,000 left, 10,000 above −1,000, 1,000 a day → 240 hours.
    let mut conn = s.app.db.acquire().await.unwrap();
    let panel: i64 = db::sqlx::query_scalar("SELECT id FROM panels")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let c = db::configs::create(
        &mut conn,
        db::configs::NewConfig {
            reseller_id: s.reseller,
            panel_id: panel,
            username: Some("burn_cfg"),
            comment: None,
            traffic_limit_bytes: 10 << 30,
            expires_at: None,
            max_clients: None,
            service_ids: &[],
            node_ids: &[],
            inbound_ids: &[],
        },
        |_| unreachable!(),
        chrono::Utc::now().timestamp(),
    )
    .await
    .unwrap();
    drop(conn);
    engine::observe::record(&s.app.db, c, 1 << 30, None, chrono::Utc::now().timestamp())
        .await
        .unwrap();
    let next = chrono::Utc::now() + chrono::Duration::hours(1);
    engine::billing::run_once(&s.app.ctx, next).await.unwrap();
    let page = b
        .get(s.app.url("/wallet?lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("the balance lasts about 240 hours."),
        "burn-rate line"
    );
    assert!(
        page.contains("Hourly usage") && page.contains("1.00"),
        "statement line"
    );
    assert!(!page.contains("lasts less than a day"));
    // A debit to 3,000 leaves four days at this rate: no warning yet ("top up soon" with days
    // left would only confuse).
    let res = s
        .post_json(
            &s.admin_token,
            &format!("/api/v1/resellers/{}/wallet/adjustments", s.reseller),
            serde_json::json!({"amount": -6_000, "note": "test"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let page = b
        .get(s.app.url("/wallet?lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("lasts about 96 hours"));
    assert!(!page.contains("lasts less than a day"));
    // Down to -200: 800 of headroom at 1,000 a day is under a day, and the page says so.
    let res = s
        .post_json(
            &s.admin_token,
            &format!("/api/v1/resellers/{}/wallet/adjustments", s.reseller),
            serde_json::json!({"amount": -3_200, "note": "test"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let page = b
        .get(s.app.url("/wallet?lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("lasts less than a day"));
    assert!(page.contains("lasts about 19 hours"));
}

/// Waits (bounded) until the panel shows the user enabled or disabled as expected.
async fn wait_enabled(sim: &panel_sim::Sim, user: &str, enabled: bool) -> bool {
    for _ in 0..100 {
        if sim.user(user).is_some_and(|u| u.enabled == enabled) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn seed_story_a_wallet_runs_dry_is_disabled_on_the_panel_and_a_top_up_brings_it_back() {
    let mut app = TestApp::spawn().await;
    app.start_worker();
    let (panel, sim) = app.add_panel(panel_sim::SimKind::Marzban).await;
    // Created like the reseller screens do: an opening balance, no snapshot yet (billed from 0).
    let mut tx = app.db.begin_write().await.unwrap();
    let reseller = db::resellers::create(
        &mut tx,
        db::resellers::NewReseller {
            display_name: "Dry Shop",
            kind: ResellerKind::Wallet,
            panel_id: panel,
            username_prefix: None,
            allow_custom_names: false,
            config_limit: None,
            service_whitelist: &[],
            node_whitelist: &[],
            traffic_quota_bytes: 0,
            window_starts_at: None,
            window_ends_at: None,
            wallet_price_per_gb: Some(5_000),
        },
        chrono::Utc::now().timestamp(),
    )
    .await
    .unwrap();
    engine::wallet::post_entry(
        &mut tx,
        reseller,
        LedgerKind::OpeningBalance,
        1_000,
        "open",
        None,
        None,
        None,
    )
    .await
    .unwrap();
    let config = db::configs::create(
        &mut tx,
        db::configs::NewConfig {
            reseller_id: reseller,
            panel_id: panel,
            username: Some("dry_shop_1"),
            comment: None,
            traffic_limit_bytes: 10 << 30,
            expires_at: None,
            max_clients: None,
            service_ids: &[],
            node_ids: &[],
            inbound_ids: &[],
        },
        |_| unreachable!(),
        chrono::Utc::now().timestamp(),
    )
    .await
    .unwrap();
    engine::ops::enqueue(
        &mut tx,
        panel,
        config,
        None,
        engine::ops::OpKind::Create,
        serde_json::json!({}),
        chrono::Utc::now().timestamp(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    app.ctx.wake.notify_one();
    assert!(
        wait_enabled(&sim, "dry_shop_1", true).await,
        "created on the panel"
    );
    app.create_admin("root", "correct-horse").await;
    app.create_user("dry", "dry-password", "reseller", Some(reseller))
        .await;
    let admin = app.token("root", "correct-horse").await;
    let shop = app.token("dry", "dry-password").await;

    // 1 GiB on the panel, read like the sync does, billed by the admin's job.
    sim.add_traffic("dry_shop_1", 1 << 30);
    let used = sim.user("dry_shop_1").unwrap().used_bytes;
    engine::observe::record(
        &app.db,
        config,
        used,
        Some(RemoteState::Active),
        chrono::Utc::now().timestamp(),
    )
    .await
    .unwrap();
    let res = app
        .client()
        .post(app.url("/api/v1/jobs/wallet-billing"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(
        (
            v["resellers_charged"].as_i64(),
            v["resellers_suspended"].as_i64(),
            v["total_cost"].as_i64()
        ),
        (Some(1), Some(1), Some(5_000))
    );
    assert!(
        wait_enabled(&sim, "dry_shop_1", false).await,
        "disabled on the panel"
    );
    let v: Value = app
        .client()
        .get(app.url("/api/v1/wallet"))
        .bearer_auth(&shop)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (v["balance"].as_i64(), v["status"].as_str()),
        (Some(-4_000), Some("suspended_wallet"))
    );
    assert_eq!(app.audit_count("reseller_suspended_wallet").await, 1);

    // The reseller tops up 10,000; the admin approves; the config comes back on the panel.
    let (ct, body) = multipart(&[("amount", "10000")], Some(("r.png", PNG)));
    let res = app
        .client()
        .post(app.url("/api/v1/wallet/topups"))
        .bearer_auth(&shop)
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let res = app
        .client()
        .post(app.url(&format!("/api/v1/topups/{id}/approve")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        wait_enabled(&sim, "dry_shop_1", true).await,
        "enabled again on the panel"
    );
    let v: Value = app
        .client()
        .get(app.url("/api/v1/wallet"))
        .bearer_auth(&shop)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (v["balance"].as_i64(), v["status"].as_str()),
        (Some(6_000), Some("active"))
    );
    sim.shutdown();
}

/// Issue 11: money inputs are bounded at request time (422 naming the field), so no top-up,
/// adjustment, opening balance or price can overflow a balance or a charge later (never a 500).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topup_amount_is_bounded() {
    let s = shop(5_000).await;
    let res = s.upload("9223372036854775807", Some(("r.png", PNG))).await;
    assert_eq!(res.status(), 422);
    let v: Value = res.json().await.unwrap();
    assert!(v["error"]["fields"]["amount"].is_string(), "{v}");
    let path = format!("/api/v1/resellers/{}/wallet/adjustments", s.reseller);
    for amount in [i64::MIN + 1, i64::MAX, 10_000_000_000_000] {
        let res = s
            .post_json(
                &s.admin_token,
                &path,
                serde_json::json!({"amount": amount, "note": "x"}),
            )
            .await;
        assert_eq!(res.status(), 422, "adjustment of {amount}");
    }
    assert_eq!(s.balance().await, 5_000);
    // A price or opening balance beyond the bounds is refused when the reseller is created.
    for (field, value) in [
        ("wallet_price_per_gb", i64::MAX),
        ("wallet_balance", i64::MIN + 5),
    ] {
        let mut body = serde_json::json!({"username": format!("big_{}", field.len()), "password": "shop-pass-1",
            "kind": "wallet", "panel_id": 1, "wallet_price_per_gb": 1000, "wallet_balance": 0});
        body[field] = serde_json::json!(value);
        let res = s.post_json(&s.admin_token, "/api/v1/resellers", body).await;
        assert_eq!(res.status(), 422, "{field} = {value}");
    }
    // Billing still runs for this wallet.
    let res = s
        .post_json(
            &s.admin_token,
            "/api/v1/jobs/wallet-billing",
            serde_json::json!({}),
        )
        .await;
    assert!(res.status().as_u16() < 500, "{}", res.status());
}
