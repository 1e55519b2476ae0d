//! Browser tests: headless Chromium driven over WebDriver against the real server. Skipped
//! (with a notice) where Chromium is not installed, unless VPNMARKET_BROWSER_TESTS=1 (CI) makes
//! its absence a failure. Screenshots go to `test-artifacts/screenshots/`.

mod common;

use common::TestApp;
use fantoccini::{Client, ClientBuilder, Locator};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

struct Browser {
    client: Client,
    driver: Child,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn required() -> bool {
    std::env::var("VPNMARKET_BROWSER_TESTS").is_ok_and(|v| v == "1")
}

async fn start_browser() -> Option<Browser> {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let driver_bin = ["/usr/bin/chromedriver"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let (Some(chromium), Some(driver_bin)) = (chromium, driver_bin) else {
        assert!(
            !required(),
            "VPNMARKET_BROWSER_TESTS=1 but chromium/chromedriver are not installed"
        );
        eprintln!("browser test skipped: install the Debian packages chromium and chromium-driver to run it");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let driver = Command::new(driver_bin)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let caps: serde_json::Map<String, serde_json::Value> = serde_json::from_value(serde_json::json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--disable-quic", "--window-size=1280,1000"]
        }
    }))
    .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let mut last_err = None;
    for _ in 0..100 {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return Some(Browser { client, driver }),
            Err(e) => last_err = Some(e),
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("could not connect to chromedriver: {last_err:?}");
}

pub fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../test-artifacts/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn save_screenshot(c: &Client, name: &str) -> PathBuf {
    let png = c.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    let path = screenshot_dir().join(format!("{name}.png"));
    std::fs::write(&path, png).unwrap();
    path
}

async fn sign_in(c: &Client, app: &TestApp, username: &str, password: &str) {
    c.goto(&app.url("/login")).await.unwrap();
    c.find(Locator::Css("input[name=username]"))
        .await
        .unwrap()
        .send_keys(username)
        .await
        .unwrap();
    c.find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    c.find(Locator::Css("form[action='/login'] button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("form[action='/logout']"))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_admin_signs_in_with_a_real_browser_in_both_languages() {
    let Some(browser) = start_browser().await else {
        return;
    };
    let app = TestApp::spawn().await;
    app.create_admin("root", "correct-horse").await;
    let c = &browser.client;
    c.goto(&app.url("/login?lang=fa")).await.unwrap();
    let dir = c
        .find(Locator::Css("html"))
        .await
        .unwrap()
        .attr("dir")
        .await
        .unwrap();
    assert_eq!(dir.as_deref(), Some("rtl"));
    save_screenshot(c, "login-fa").await;
    sign_in(c, &app, "root", "correct-horse").await;
    assert_eq!(c.current_url().await.unwrap().path(), "/");
    c.goto(&app.url("/?lang=en")).await.unwrap();
    let dir = c
        .find(Locator::Css("html"))
        .await
        .unwrap()
        .attr("dir")
        .await
        .unwrap();
    assert_eq!(dir.as_deref(), Some("ltr"));
    let heading = c
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(heading, "Overview");
    save_screenshot(c, "admin-dashboard-en").await;
    browser.client.clone().close().await.unwrap();
}

async fn traffic_reseller(app: &TestApp, panel_id: i64, username: &str) -> i64 {
    let reseller = engine::resellers::create(
        &app.ctx,
        &db::audit::Actor::system(),
        &db::audit::Origin::default(),
        engine::resellers::NewReseller {
            username: username.into(),
            password_hash: web::password::hash("reseller-pass").unwrap(),
            kind: "traffic".into(),
            panel_id,
            traffic_quota_bytes: Some(50 * domain::units::GIB),
            window_days: Some(30),
            ..Default::default()
        },
        chrono::Utc::now(),
    )
    .await
    .unwrap_or_else(|e| panic!("reseller: {e:?}"));
    reseller.id
}

#[tokio::test]
async fn a_reseller_creates_a_config_in_the_browser_and_finds_its_qr_code() {
    let Some(browser) = start_browser().await else {
        return;
    };
    let mut app = TestApp::spawn().await;
    app.start_worker();
    let (panel_id, sim) = app.add_panel(panel_sim::SimKind::Marzban).await;
    traffic_reseller(&app, panel_id, "shop1").await;
    let c = &browser.client;
    sign_in(c, &app, "shop1", "reseller-pass").await;

    c.goto(&app.url("/configs/new?lang=en")).await.unwrap();
    let form = c.form(Locator::Css("#new-config-form")).await.unwrap();
    form.set_by_name("traffic_limit_gb", "2.5").await.unwrap();
    form.set_by_name("expires_in_days", "30").await.unwrap();
    form.set_by_name("comment", "browser customer")
        .await
        .unwrap();
    form.submit().await.unwrap();
    // The config page shows the subscription URL and its QR code.
    let qr = c.wait().for_element(Locator::Css("#qr svg")).await.unwrap();
    assert!(qr.html(false).await.unwrap().contains("<svg"));
    let on_panel = sim.users();
    assert_eq!(on_panel.len(), 1, "the config reached the panel");
    assert_eq!(
        on_panel[0].limit_bytes,
        Some(domain::units::parse_gb("2.5").unwrap())
    );
    save_screenshot(c, "reseller-config-en").await;

    for lang in ["fa", "en"] {
        c.goto(&app.url(&format!("/?lang={lang}"))).await.unwrap();
        c.wait().for_element(Locator::Css("main h1")).await.unwrap();
        save_screenshot(c, &format!("reseller-dashboard-{lang}")).await;
        c.goto(&app.url(&format!("/configs?lang={lang}")))
            .await
            .unwrap();
        let body = c
            .find(Locator::Css("main"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            body.contains("browser customer"),
            "the new config is listed ({lang})"
        );
        save_screenshot(c, &format!("reseller-configs-{lang}")).await;
    }
    browser.client.clone().close().await.unwrap();
}
