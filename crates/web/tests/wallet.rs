//! The wallet as a reseller and an admin meet it over HTTP: balance and ledger, top-ups with
//! receipt checks, the admin's queue and adjustments, billing on demand, pages and settings.

mod common;

use common::rows::{self, ConfigRow, ResellerRow};
use common::{assert_field_error, assert_hides, assert_shows, hidden_field, Api, Browser, TestApp};
use domain::status::{RemoteState, ResellerStatus, SuspendedBy};
use reqwest::Method;
use serde_json::{json, Value};

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

/// A top-up request as the reseller's API client sends it: (status, body).
async fn upload(api: &Api, amount: &str, file: Option<(&str, &[u8])>) -> (u16, Value) {
    let (ct, body) = multipart(&[("amount", amount)], file);
    let res = api
        .request(Method::POST, "/api/v1/wallet/topups")
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The same form from the wallet page, with the CSRF field of the test's choosing.
async fn upload_form(b: &Browser, path: &str, csrf: &str, file: &[u8]) -> reqwest::Response {
    let (ct, body) = multipart(
        &[("_csrf", csrf), ("amount", "30000")],
        Some(("r.png", file)),
    );
    b.http()
        .post(b.url(path))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap()
}

struct Shop {
    app: TestApp,
    reseller: i64,
    admin: Api,
    shop: Api,
}

/// An admin and a wallet reseller (login `shop`) with an opening balance and a wallet start, on a
/// panel row nobody calls.
async fn shop(opening: i64) -> Shop {
    let app = TestApp::spawn().await;
    let mut tx = app.db.begin_write().await.unwrap();
    let panel = rows::unreachable_panel(&mut tx, "p", None).await;
    let reseller = ResellerRow::wallet("Shop One", panel, 1_000)
        .insert(&mut tx)
        .await;
    rows::opening_balance(&mut tx, reseller, opening, "opening").await;
    engine::wallet::start_wallet(&mut tx, reseller, chrono::Utc::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let admin = app.admin().await;
    app.create_user("shop", "shop-password", "reseller", Some(reseller))
        .await;
    let shop = app.api_as("shop", "shop-password").await;
    Shop {
        app,
        reseller,
        admin,
        shop,
    }
}

impl Shop {
    async fn upload(&self, amount: &str, file: Option<(&str, &[u8])>) -> (u16, Value) {
        upload(&self.shop, amount, file).await
    }

    async fn wallet(&self) -> Value {
        self.shop.ok("/api/v1/wallet").await
    }

    async fn balance(&self) -> i64 {
        self.wallet().await["balance"].as_i64().unwrap()
    }

    async fn set_status(&self, status: ResellerStatus) {
        let mut conn = self.app.db.acquire().await.unwrap();
        db::resellers::set_status(&mut conn, self.reseller, status, Some(SuspendedBy::System))
            .await
            .unwrap();
    }

    /// An admin's adjustment of this wallet: (status, ledger row or error).
    async fn adjust(&self, as_: &Api, amount: i64, note: &str) -> (u16, Value) {
        let path = format!("/api/v1/resellers/{}/wallet/adjustments", self.reseller);
        as_.post(&path, json!({"amount": amount, "note": note}))
            .await
    }

    /// A config row of this reseller with `bytes` observed, as the sync would record them.
    async fn config_with_usage(&self, username: &str, bytes: i64) -> i64 {
        let mut conn = self.app.db.acquire().await.unwrap();
        let panel = rows::first_panel_id(&mut conn).await;
        let c = ConfigRow::named(self.reseller, panel, username)
            .insert(&mut conn)
            .await;
        drop(conn);
        engine::observe::record(&self.app.db, c, bytes, None, chrono::Utc::now().timestamp())
            .await
            .unwrap();
        c
    }
}

#[tokio::test]
async fn the_wallet_answers_with_balance_price_and_threshold_and_stays_open_when_suspended() {
    let s = shop(15_000).await;
    let v = s.wallet().await;
    assert_eq!(v["balance"], 15_000);
    assert_eq!(v["price_per_gb"], 1_000, "the reseller's own price");
    assert_eq!(v["suspension_threshold"], -1_000);
    assert_eq!(v["status"], "active");

    s.set_status(ResellerStatus::SuspendedWallet).await;
    let (status, v) = s.shop.get("/api/v1/wallet").await;
    assert_eq!(status, 200, "a suspended wallet can still be topped up");
    assert_eq!(v["status"], "suspended_wallet");
    let (_, ledger) = s.shop.get("/api/v1/wallet/ledger").await;
    assert_eq!(ledger["total"], 1);
    let row = &ledger["items"][0];
    assert_eq!(row["kind"], "opening_balance");
    assert_eq!(row["amount"], 15_000);
    assert_eq!(row["balance_after"], 15_000);
    assert!(row["created_at"].as_str().unwrap().ends_with('Z'));
    // Topping up while suspended works too.
    assert_eq!(s.upload("10000", Some(("r.png", PNG))).await.0, 201);
    // An admin has no wallet of its own.
    assert_eq!(s.admin.get("/api/v1/wallet").await.0, 403);
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
    assert_field_error(&res, "receipt");
    assert_eq!(res.1["error"]["code"], "validation_failed");
    // A real PNG header but over 4 MB is refused.
    let mut big = PNG.to_vec();
    big.resize(4 * 1024 * 1024 + 1, 0);
    assert_field_error(&s.upload("20000", Some(("big.png", &big))).await, "receipt");
    // Past the server's body limit too: still a field error, not a broken request.
    big.resize(6 * 1024 * 1024, 0);
    assert_eq!(s.upload("20000", Some(("big.png", &big))).await.0, 422);
    // Below the minimum, and not a number.
    assert_field_error(&s.upload("9999", Some(("r.png", PNG))).await, "amount");
    assert_eq!(s.upload("ten", Some(("r.png", PNG))).await.0, 422);
    assert_eq!(s.upload("20000", None).await.0, 422);
    // WebP and JPEG by their magic bytes.
    let webp = b"RIFF\x10\x00\x00\x00WEBPVP8 ";
    assert_eq!(s.upload("20000", Some(("x.bin", webp))).await.0, 201);
    let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10];
    assert_eq!(s.upload("۲۰٬۰۰۰", Some(("x", &jpeg))).await.0, 201);
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
    let (status, t) = s.upload("20000", Some(("../../evil.html.png", PNG))).await;
    assert_eq!(status, 201);
    let id = t["id"].as_i64().unwrap();
    let admin = s.app.admin_browser().await;
    for path in [
        format!("/api/v1/topups/{id}/receipt"),
        format!("/admin/topups/{id}/receipt"),
    ] {
        let res = if path.starts_with("/api") {
            s.admin.request(Method::GET, &path).send().await.unwrap()
        } else {
            admin.get_raw(&path).await
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
    let (status, t) = s.upload("20000", Some(("receipt.png", PNG))).await;
    assert_eq!(status, 201);
    assert_eq!(t["amount"], 20_000);
    assert_eq!(t["status"], "pending");
    let id = t["id"].as_i64().unwrap();
    assert_eq!(s.app.audit_count("wallet_topup_submitted").await, 1);

    let (_, queue) = s.admin.get("/api/v1/topups?status=pending").await;
    assert_eq!(queue["total"], 1);
    assert_eq!(queue["items"][0]["reseller_name"], "Shop One");
    // The receipt, for admins only.
    let receipt = format!("/api/v1/topups/{id}/receipt");
    let res = s.admin.request(Method::GET, &receipt).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.bytes().await.unwrap().as_ref(), PNG);
    assert_eq!(s.shop.get(&receipt).await.0, 403);
    let approve = format!("/api/v1/topups/{id}/approve");
    assert_eq!(
        s.shop.post(&approve, Value::Null).await.0,
        403,
        "resellers cannot approve"
    );

    for _ in 0..2 {
        let (status, v) = s.admin.post(&approve, Value::Null).await;
        assert_eq!(status, 200);
        assert_eq!(v["status"], "approved");
    }
    assert_eq!(s.balance().await, 18_000, "credited once");
    assert_eq!(s.app.audit_count("wallet_topup_approved").await, 1);
    assert_eq!(
        s.wallet().await["status"],
        "active",
        "the approval lifted it above the threshold"
    );

    let id2 = s.upload("10000", Some(("r.png", PNG))).await.1["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/topups/{id2}/reject");
    assert_eq!(s.admin.post(&path, json!({"reason": "  "})).await.0, 422);
    let (status, v) = s
        .admin
        .post(&path, json!({"reason": "amount does not match"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (v["status"].as_str(), v["reason"].as_str()),
        (Some("rejected"), Some("amount does not match"))
    );
    let approve2 = format!("/api/v1/topups/{id2}/approve");
    assert_eq!(s.admin.post(&approve2, Value::Null).await.0, 409);
    assert_eq!(s.balance().await, 18_000);
    assert_eq!(s.app.audit_count("wallet_topup_rejected").await, 1);
}

#[tokio::test]
async fn admin_adjustments_and_the_billing_job_move_the_balance_through_the_ledger() {
    let s = shop(1_000).await;
    let (status, v) = s.adjust(&s.admin, 4_000, "promo").await;
    assert_eq!(status, 201);
    assert_eq!(
        (v["amount"].as_i64(), v["balance_after"].as_i64()),
        (Some(4_000), Some(5_000))
    );
    assert_eq!(v["kind"], "admin_adjustment");
    assert_eq!(v["note"], "promo");
    assert_eq!(s.adjust(&s.admin, 0, "x").await.0, 422);
    assert_eq!(s.adjust(&s.admin, 5, "").await.0, 422);
    assert_eq!(s.adjust(&s.shop, 1_000_000, "me").await.0, 403);
    assert_eq!(s.app.audit_count("wallet_adjusted").await, 1);

    // 2 GiB at the reseller's 1,000/GB, billed on demand.
    s.config_with_usage("shop_cfg", 2 << 30).await;
    // The wallet started this hour, so this hour is already snapshotted: bill the next one.
    let next = chrono::Utc::now() + chrono::Duration::hours(1);
    let r = engine::billing::run_once(&s.app.ctx, next).await.unwrap();
    assert_eq!(r.total_cost, 2_000);
    assert_eq!(s.balance().await, 3_000);
    // The job endpoint: admins only, and the current hour is already billed.
    let job = "/api/v1/jobs/wallet-billing";
    assert_eq!(s.shop.post(job, Value::Null).await.0, 403);
    let (status, v) = s.admin.post(job, Value::Null).await;
    assert_eq!(status, 200);
    for k in ["resellers_charged", "resellers_suspended", "total_cost"] {
        assert!(v[k].is_i64(), "{k} in {v}");
    }
    // A debit past the threshold suspends at once.
    assert_eq!(s.adjust(&s.admin, -4_000, "chargeback").await.0, 201);
    let v = s.wallet().await;
    assert_eq!(
        (v["balance"].as_i64(), v["status"].as_str()),
        (Some(-1_000), Some("suspended_wallet"))
    );
    let (_, ledger) = s.shop.get("/api/v1/wallet/ledger?per_page=2").await;
    assert_eq!(ledger["total"], 4);
    assert_eq!(ledger["items"].as_array().unwrap().len(), 2);
    assert_eq!(ledger["items"][1]["kind"], "usage_charge");
    assert_eq!(ledger["items"][1]["ref"]["type"], "usage_snapshot");
}

#[tokio::test]
async fn the_wallet_page_warns_when_suspended_exports_csv_and_takes_a_top_up() {
    let s = shop(-1_500).await;
    s.set_status(ResellerStatus::SuspendedWallet).await;
    let b = s.app.browser_as("shop", "shop-password").await;
    let (status, page) = b.get("/wallet").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("موجودی کم - لطفاً شارژ کنید"),
        "the seed's warning"
    );
    assert!(page.contains("ریسلر کیف پول‌محور"));
    assert!(
        page.contains("\u{2066}-۱٬۵۰۰\u{2069} تومان"),
        "the balance in Persian digits and separators, its sign kept left of the digits"
    );
    let page = b.html("/wallet?lang=en").await;
    assert_shows(&page, &["Low balance - please top up", "Opening balance"]);

    let csv = b.get_raw("/wallet/statement.csv").await;
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    assert!(
        text.starts_with("\u{feff}time_utc,kind,bytes,gb,price_per_gb,amount,balance_after,note\n")
    );
    assert!(
        text.contains("\"opening_balance\",\"\",\"\",\"\",\"-1500\",\"-1500\""),
        "{text}"
    );

    // The top-up form: multipart with the session's CSRF token, read from the page itself.
    let csrf = hidden_field(&page, "_csrf").unwrap();
    let res = upload_form(&b, "/wallet/topups", "wrong", PNG).await;
    assert_eq!(res.status(), 403, "a forged form is refused");
    let res = upload_form(&b, "/wallet/topups?lang=en", &csrf, b"not an image").await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("JPEG, PNG or WebP"));
    let res = upload_form(&b, "/wallet/topups", &csrf, PNG).await;
    common::assert_redirect(&res, "/wallet");
    assert!(
        b.html("/wallet?lang=en")
            .await
            .contains("Top-up of 30,000 Toman sent"),
        "the flash says what happened"
    );

    // The admin's queue shows the count and approves through the page.
    let admin = s.app.admin_browser().await;
    let page = admin.html("/admin/topups?lang=en").await;
    assert!(
        page.contains("id=\"pending-count\">1 pending"),
        "count badge"
    );
    assert!(page.contains("Shop One"));
    let id: i64 = {
        let mut conn = s.app.db.acquire().await.unwrap();
        db::sqlx::query_scalar("SELECT id FROM topups")
            .fetch_one(&mut *conn)
            .await
            .unwrap()
    };
    let img = admin.get_raw(&format!("/admin/topups/{id}/receipt")).await;
    assert_eq!(img.headers()["content-type"], "image/png");
    let res = admin
        .submit(&format!("/admin/topups/{id}/approve"), &[])
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(s.balance().await, 28_500);
    // A reseller cannot open the queue.
    assert_eq!(b.get_raw("/admin/topups").await.status(), 403);
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
    assert_eq!(
        s.wallet().await["price_per_gb"],
        780,
        "the environment's default"
    );
    let admin = s.app.admin_browser().await;
    let page = admin.html("/admin/settings").await;
    assert!(page.contains("name=\"price_per_gb\" value=\"780\""));
    let settings = |price| {
        [
            ("price_per_gb", price),
            ("suspension_threshold", "-5000"),
            ("topup_min_amount", "50000"),
        ]
    };
    let res = admin.submit("/admin/settings", &settings("900")).await;
    assert_eq!(res.status(), 303);
    assert_eq!(s.app.audit_count("settings_updated").await, 1);
    let v = s.wallet().await;
    assert_eq!(
        (
            v["price_per_gb"].as_i64(),
            v["suspension_threshold"].as_i64()
        ),
        (Some(900), Some(-5_000))
    );
    assert_eq!(
        s.upload("20000", Some(("r.png", PNG))).await.0,
        422,
        "new minimum"
    );
    let res = admin.submit("/admin/settings", &settings("abc")).await;
    assert_eq!(res.status(), 422);
    assert_eq!(s.app.audit_count("settings_updated").await, 1);

    // A money move asks first, naming the reseller and the amount; only the confirmed
    // second post moves the money.
    let path = format!("/admin/resellers/{}/wallet", s.reseller);
    let debit = [("amount", "-2,500"), ("note", "correction")];
    let res = admin.submit(&format!("{path}?lang=en"), &debit).await;
    assert_eq!(res.status(), 200);
    let ask = res.text().await.unwrap();
    assert!(ask.contains("Debit 2,500 Toman from Shop One"), "{ask}");
    assert_eq!(
        s.balance().await,
        0,
        "nothing moves before the confirmation"
    );
    let res = admin
        .submit(&path, &[debit[0], debit[1], ("confirmed", "1")])
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(s.balance().await, -2_500);
    let page = admin.html(&format!("{path}?lang=en")).await;
    assert!(page.contains("correction") && page.contains("-2,500 Toman"));
    let res = admin.submit(&path, &[("amount", "0"), ("note", "x")]).await;
    assert_eq!(res.status(), 422);
}

#[tokio::test]
async fn the_wallet_page_shows_the_burn_rate_and_warns_near_the_threshold() {
    let s = shop(10_000).await;
    let b = s.app.browser_as("shop", "shop-password").await;
    let page = b.html("/wallet?lang=en").await;
    assert!(page.contains("No traffic was billed in the last 24 hours."));
    assert_hides(&page, &["lasts less than a day"]);
    // 1 GiB billed at 1,000/GB: 9,000 left, 10,000 above −1,000, 1,000 a day → 240 hours.
    s.config_with_usage("burn_cfg", 1 << 30).await;
    let next = chrono::Utc::now() + chrono::Duration::hours(1);
    engine::billing::run_once(&s.app.ctx, next).await.unwrap();
    let page = b.html("/wallet?lang=en").await;
    assert!(
        page.contains("the balance lasts about 240 hours."),
        "burn-rate line"
    );
    assert!(
        page.contains("Hourly usage") && page.contains("1.00"),
        "statement line"
    );
    assert_hides(&page, &["lasts less than a day"]);
    // A debit to 3,000 leaves four days at this rate: no warning yet ("top up soon" with days
    // left would only confuse).
    assert_eq!(s.adjust(&s.admin, -6_000, "test").await.0, 201);
    let page = b.html("/wallet?lang=en").await;
    assert!(page.contains("lasts about 96 hours"));
    assert_hides(&page, &["lasts less than a day"]);
    // Down to -200: 800 of headroom at 1,000 a day is under a day, and the page says so.
    assert_eq!(s.adjust(&s.admin, -3_200, "test").await.0, 201);
    let page = b.html("/wallet?lang=en").await;
    assert_shows(&page, &["lasts less than a day", "lasts about 19 hours"]);
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
    let reseller = ResellerRow::wallet("Dry Shop", panel, 5_000)
        .insert(&mut tx)
        .await;
    rows::opening_balance(&mut tx, reseller, 1_000, "open").await;
    let config = ConfigRow::named(reseller, panel, "dry_shop_1")
        .insert(&mut tx)
        .await;
    rows::queue_create(&mut tx, panel, config, chrono::Utc::now().timestamp()).await;
    tx.commit().await.unwrap();
    app.ctx.wake.notify_one();
    assert!(
        wait_enabled(&sim, "dry_shop_1", true).await,
        "created on the panel"
    );
    let admin = app.admin().await;
    app.create_user("dry", "dry-password", "reseller", Some(reseller))
        .await;
    let shop = app.api_as("dry", "dry-password").await;

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
    let (status, v) = admin.post_empty("/api/v1/jobs/wallet-billing").await;
    assert_eq!(status, 200);
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
    let (_, v) = shop.get("/api/v1/wallet").await;
    assert_eq!(
        (v["balance"].as_i64(), v["status"].as_str()),
        (Some(-4_000), Some("suspended_wallet"))
    );
    assert_eq!(app.audit_count("reseller_suspended_wallet").await, 1);

    // The reseller tops up 10,000; the admin approves; the config comes back on the panel.
    let (status, t) = upload(&shop, "10000", Some(("r.png", PNG))).await;
    assert_eq!(status, 201);
    let id = t["id"].as_i64().unwrap();
    let (status, _) = admin
        .post_empty(&format!("/api/v1/topups/{id}/approve"))
        .await;
    assert_eq!(status, 200);
    assert!(
        wait_enabled(&sim, "dry_shop_1", true).await,
        "enabled again on the panel"
    );
    let (_, v) = shop.get("/api/v1/wallet").await;
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
    assert_field_error(
        &s.upload("9223372036854775807", Some(("r.png", PNG))).await,
        "amount",
    );
    for amount in [i64::MIN + 1, i64::MAX, 10_000_000_000_000] {
        let (status, _) = s.adjust(&s.admin, amount, "x").await;
        assert_eq!(status, 422, "adjustment of {amount}");
    }
    assert_eq!(s.balance().await, 5_000);
    // A price or opening balance beyond the bounds is refused when the reseller is created.
    for (field, value) in [
        ("wallet_price_per_gb", i64::MAX),
        ("wallet_balance", i64::MIN + 5),
    ] {
        let mut body = json!({"username": format!("big_{}", field.len()), "password": "shop-pass-1",
            "kind": "wallet", "panel_id": 1, "wallet_price_per_gb": 1000, "wallet_balance": 0});
        body[field] = json!(value);
        let (status, _) = s.admin.post("/api/v1/resellers", body).await;
        assert_eq!(status, 422, "{field} = {value}");
    }
    // Billing still runs for this wallet.
    let (status, _) = s.admin.post("/api/v1/jobs/wallet-billing", json!({})).await;
    assert!(status < 500, "{status}");
}
