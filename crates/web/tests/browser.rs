//! Browser tests: headless Chromium driven over WebDriver against the real server, measuring what
//! a person sees (rendered bar widths and heights, labels on a phone, the order a Persian reader
//! meets a number and its currency), not only the markup. Skipped (with a notice) where Chromium is
//! not installed, unless VPNMARKET_BROWSER_TESTS=1 (CI) makes its absence a failure. Screenshots of
//! every page, desktop and phone, fa and en, go to `test-artifacts/screenshots/`; each page's cold
//! weight and request count is printed and written to `test-artifacts/page-weights.txt`.
//!
//! The browser reaches the server as `http://vpnmarket.test:PORT` (Chromium's resolver maps the
//! name to loopback): a plain-http origin that is not localhost, so not a secure context, like the
//! README's `http://IP:8080`. That is where copying to the clipboard needs its fallback.

mod common;

use base64::Engine as _;
use common::TestApp;
use domain::status::ResellerKind;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

const HOST: &str = "vpnmarket.test";
const GIB: i64 = domain::units::GIB;

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
    let caps: serde_json::Map<String, Value> = serde_json::from_value(json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--disable-quic", "--window-size=1280,1000",
                     "--hide-scrollbars", "--lang=en-US",
                     &format!("--host-resolver-rules=MAP {HOST} 127.0.0.1")]
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
            Ok(client) => {
                // Record CSP violations from the first byte of every document (a listener added
                // after load would miss the ones raised while parsing).
                cdp(
                    &client,
                    "Page.addScriptToEvaluateOnNewDocument",
                    json!({"source": "window.__csp=[];document.addEventListener('securitypolicyviolation',function(e){window.__csp.push(e.violatedDirective+' '+e.blockedURI)});"}),
                )
                .await;
                return Some(Browser { client, driver });
            }
            Err(e) => last_err = Some(e),
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("could not connect to chromedriver: {last_err:?}");
}

/// A Chrome DevTools command through chromedriver (emulation, full-page screenshots, cache).
#[derive(Debug)]
struct Cdp {
    cmd: String,
    params: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"cmd": self.cmd, "params": self.params}).to_string()),
        )
    }
}

async fn cdp(c: &Client, cmd: &str, params: Value) -> Value {
    c.issue_cmd(Cdp {
        cmd: cmd.to_string(),
        params,
    })
    .await
    .unwrap_or_else(|e| panic!("CDP {cmd}: {e:?}"))
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Screen {
    Desktop,
    Phone,
}

impl Screen {
    fn name(self) -> &'static str {
        match self {
            Screen::Desktop => "desktop",
            Screen::Phone => "phone",
        }
    }
}

fn metrics(s: Screen) -> (i64, i64, bool) {
    match s {
        Screen::Desktop => (1280, 800, false),
        Screen::Phone => (390, 844, true),
    }
}

async fn set_screen(c: &Client, s: Screen) {
    let (w, h, mobile) = metrics(s);
    cdp(
        c,
        "Emulation.setDeviceMetricsOverride",
        json!({"width": w, "height": h, "deviceScaleFactor": 1, "mobile": mobile}),
    )
    .await;
}

pub fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../test-artifacts/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The whole page as a PNG (up to 5000 px tall), saved under `name`: the viewport is made as
/// tall as the page for the capture, then put back.
async fn save_screenshot(c: &Client, screen: Screen, name: &str) -> Vec<u8> {
    let height = js(c, "document.documentElement.scrollHeight")
        .await
        .as_f64()
        .unwrap_or(800.0)
        .min(5000.0);
    let (w, h, mobile) = metrics(screen);
    cdp(
        c,
        "Emulation.setDeviceMetricsOverride",
        json!({"width": w, "height": height.max(h as f64) as i64, "deviceScaleFactor": 1, "mobile": mobile}),
    )
    .await;
    let shot = cdp(c, "Page.captureScreenshot", json!({"format": "png"})).await;
    set_screen(c, screen).await;
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().unwrap())
        .unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    std::fs::write(screenshot_dir().join(format!("{name}.png")), &png).unwrap();
    png
}

fn origin(app: &TestApp) -> String {
    let port = app.base.rsplit(':').next().unwrap();
    format!("http://{HOST}:{port}")
}

async fn sign_in(c: &Client, app: &TestApp, username: &str, password: &str) {
    c.delete_all_cookies().await.ok();
    c.goto(&format!("{}/login", origin(app))).await.unwrap();
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

/// What one page shows, read in the page after its fonts loaded.
const PAGE_INFO: &str = r#"
return document.fonts.ready.then(function () {
  var nav = performance.getEntriesByType('navigation')[0] || {};
  var header = document.querySelector('header.topbar');
  var unlabeled = [];
  document.querySelectorAll('table.table:not(.kv) td').forEach(function (td) {
    if (td.classList.contains('row-actions') || td.classList.contains('empty-row')) return;
    if (!td.offsetParent) return;
    var text = td.innerText.trim();
    if (!text) return;
    var before = getComputedStyle(td, '::before').content;
    var stacked = getComputedStyle(td).display !== 'table-cell';
    if (stacked && (!before || before === 'none' || before === 'normal' || before === '""')) {
      unlabeled.push(text.slice(0, 40));
    }
  });
  var links = [];
  document.querySelectorAll('a[href]').forEach(function (a) { links.push(a.getAttribute('href')); });
  return {
    status: nav.responseStatus || 0,
    text: document.body.innerText,
    csp: window.__csp || [],
    headerHeight: header ? header.getBoundingClientRect().height : 0,
    viewport: window.innerHeight,
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    unlabeled: unlabeled,
    links: links,
    dir: document.documentElement.dir,
    title: document.title
  };
});
"#;

/// A page's cold weight: every byte and request a first visit with an empty cache costs.
const WEIGHT: &str = r#"
return document.fonts.ready.then(function () {
  return new Promise(function (done) { setTimeout(done, 150); });
}).then(function () {
  var nav = performance.getEntriesByType('navigation')[0];
  var res = performance.getEntriesByType('resource');
  var bytes = nav.transferSize, requests = 1;
  res.forEach(function (r) { bytes += r.transferSize; requests += 1; });
  var icon = document.querySelector('link[rel=icon]');
  if (!icon) return {bytes: bytes, requests: requests};
  return fetch(icon.href, {cache: 'no-store'}).then(function (r) { return r.blob(); }).then(function (b) {
    return {bytes: bytes + b.size + 250, requests: requests + 1};
  });
});
"#;

#[derive(Debug)]
struct PageInfo {
    status: i64,
    text: String,
    csp: Vec<String>,
    header_height: f64,
    viewport: f64,
    overflow: f64,
    unlabeled: Vec<String>,
    links: Vec<String>,
    dir: String,
}

async fn visit(c: &Client, url: &str) -> PageInfo {
    c.goto(url).await.unwrap();
    let v = c.execute(PAGE_INFO, vec![]).await.unwrap();
    let strings = |k: &str| -> Vec<String> {
        v[k].as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    PageInfo {
        status: v["status"].as_i64().unwrap_or(0),
        text: v["text"].as_str().unwrap_or_default().to_string(),
        csp: strings("csp"),
        header_height: v["headerHeight"].as_f64().unwrap_or(0.0),
        viewport: v["viewport"].as_f64().unwrap_or(0.0),
        overflow: v["overflow"].as_f64().unwrap_or(0.0),
        unlabeled: strings("unlabeled"),
        links: strings("links"),
        dir: v["dir"].as_str().unwrap_or_default().to_string(),
    }
}

/// The codes that must never reach a page as text: every code the translations know about
/// (events, audit actions, reasons, stored values) that a developer would recognise.
fn raw_codes() -> Vec<String> {
    let mut codes = BTreeSet::new();
    for key in web::i18n::keys() {
        for prefix in [
            "events.",
            "audit.actions.",
            "audit.reasons.",
            "audit.values.",
            "audit.fields.",
        ] {
            if let Some(code) = key.strip_prefix(prefix) {
                if code.contains('_') {
                    codes.insert(code.to_string());
                }
            }
        }
    }
    codes.into_iter().collect()
}

/// Problems a person would notice in a page's visible text.
fn text_problems(text: &str, keys: &[&str], codes: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let words: BTreeSet<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .map(|w| w.trim_matches('.'))
        .filter(|w| !w.is_empty())
        .collect();
    for k in keys {
        if k.contains('.') && words.contains(k) {
            out.push(format!("untranslated key {k}"));
        }
    }
    for code in codes {
        if words.contains(code.as_str()) {
            out.push(format!("raw code {code}"));
        }
    }
    // Any snake_case word of letters only is a code nobody translated yet.
    for w in &words {
        let parts: Vec<&str> = w.split('_').collect();
        if parts.len() > 1
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        {
            out.push(format!("snake_case code {w}"));
        }
    }
    if text.contains("{\"") || text.contains("\":{") {
        out.push("a JSON blob".into());
    }
    if text.to_lowercase().contains("os error") {
        out.push("an OS error".into());
    }
    out
}

/// A page address with ids replaced, so a crawl visits each kind of page a bounded number of times.
fn pattern(path: &str) -> String {
    let (p, q) = path.split_once('?').unwrap_or((path, ""));
    let p: Vec<String> = p
        .split('/')
        .map(|s| {
            if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
                "{id}".to_string()
            } else {
                s.to_string()
            }
        })
        .collect();
    let q: Vec<&str> = q
        .split('&')
        .filter_map(|kv| kv.split('=').next())
        .filter(|k| !k.is_empty())
        .collect();
    format!("{}?{}", p.join("/"), q.join("&"))
}

fn crawlable(href: &str) -> Option<String> {
    let href = href.split('#').next()?;
    if !href.starts_with('/')
        || href.starts_with("//")
        || href.starts_with("/assets/")
        || href.starts_with("/favicon")
        || href.contains(".csv")
        || href.contains("/receipt")
        || href.contains("lang=")
        || href == "/logout"
    {
        return None;
    }
    Some(href.to_string())
}

/// One role's pages, found from its navigation, each checked in both languages and on both
/// screens. Returns (page, problems) and the pages' cold weights.
struct Crawl<'a> {
    c: &'a Client,
    app: &'a TestApp,
    keys: Vec<&'static str>,
    codes: Vec<String>,
    problems: Vec<String>,
    weights: BTreeMap<String, (i64, i64)>,
    pages: usize,
}

impl Crawl<'_> {
    async fn role(&mut self, role: &str, start: &str, limit: usize) {
        let base = origin(self.app);
        let mut queue = VecDeque::from([start.to_string()]);
        let mut seen = BTreeSet::new();
        let mut per_pattern: HashMap<String, usize> = HashMap::new();
        let mut visited = 0;
        while let Some(path) = queue.pop_front() {
            if visited >= limit || !seen.insert(path.clone()) {
                continue;
            }
            let n = per_pattern.entry(pattern(&path)).or_default();
            *n += 1;
            if *n > 2 {
                continue;
            }
            visited += 1;
            let slug = format!(
                "{role}-{}",
                path.trim_matches('/')
                    .replace(['/', '?', '=', '&'], "_")
                    .trim_matches('_')
            );
            let slug = if slug.ends_with('-') {
                format!("{slug}dashboard")
            } else {
                slug
            };
            for lang in ["fa", "en"] {
                // The choice is remembered in a cookie, so the crawl's own links keep it.
                let sep = if path.contains('?') { '&' } else { '?' };
                let url = format!("{base}{path}{sep}lang={lang}");
                for screen in [Screen::Desktop, Screen::Phone] {
                    set_screen(self.c, screen).await;
                    let info = visit(self.c, &url).await;
                    self.check(
                        &format!("{role} {path} {lang} {}", screen.name()),
                        &info,
                        lang,
                        screen,
                    );
                    save_screenshot(self.c, screen, &format!("{slug}-{lang}-{}", screen.name()))
                        .await;
                    if lang == "fa" && screen == Screen::Desktop {
                        for href in &info.links {
                            if let Some(h) = crawlable(href) {
                                queue.push_back(h);
                            }
                        }
                    }
                }
            }
            // Cold: nothing cached, the way a first visit on a slow link pays for the page.
            set_screen(self.c, Screen::Desktop).await;
            cdp(self.c, "Network.enable", json!({})).await;
            cdp(self.c, "Network.clearBrowserCache", json!({})).await;
            self.c.goto(&format!("{base}{path}")).await.unwrap();
            let w = self.c.execute(WEIGHT, vec![]).await.unwrap();
            let (bytes, requests) = (
                w["bytes"].as_i64().unwrap_or(0),
                w["requests"].as_i64().unwrap_or(0),
            );
            self.weights
                .insert(format!("{role} {path}"), (bytes, requests));
            if bytes > 200 * 1024 || requests > 8 {
                self.problems.push(format!(
                    "{role} {path}: {bytes} bytes in {requests} requests cold (budget 200 KB, 8)"
                ));
            }
        }
        self.pages += visited;
    }

    fn check(&mut self, what: &str, info: &PageInfo, lang: &str, screen: Screen) {
        let mut p = Vec::new();
        if info.status >= 400 || info.status == 0 {
            p.push(format!("HTTP {}", info.status));
        }
        if !info.csp.is_empty() {
            p.push(format!("CSP violations {:?}", info.csp));
        }
        let want_dir = if lang == "fa" { "rtl" } else { "ltr" };
        if info.dir != want_dir {
            p.push(format!("dir={} (wanted {want_dir})", info.dir));
        }
        p.extend(text_problems(&info.text, &self.keys, &self.codes));
        if screen == Screen::Phone {
            if info.header_height > info.viewport * 0.2 {
                p.push(format!(
                    "navigation takes {} of {} px",
                    info.header_height, info.viewport
                ));
            }
            if !info.unlabeled.is_empty() {
                p.push(format!("unlabeled stacked values {:?}", info.unlabeled));
            }
            if info.overflow > 1.0 {
                p.push(format!("page is {} px wider than the phone", info.overflow));
            }
        }
        for problem in p {
            self.problems.push(format!("{what}: {problem}"));
        }
    }
}

/// A realistic day: a traffic reseller with customers (one out of data), a wallet reseller with
/// a statement and a pending top-up, a reseller whose quota ran out, a panel that is down with a
/// failing operation, and thirty days of traffic for the charts.
struct Scenario {
    app: TestApp,
    _sim: panel_sim::Sim,
    traffic_id: i64,
    full_config: i64,
}

async fn reseller(
    app: &TestApp,
    panel_id: i64,
    username: &str,
    kind: ResellerKind,
    quota_gb: i64,
) -> i64 {
    let traffic = kind == ResellerKind::Traffic;
    engine::resellers::create(
        &app.ctx,
        &db::audit::Actor::system(),
        &db::audit::Origin::default(),
        engine::resellers::NewReseller {
            username: username.into(),
            password_hash: web::password::hash("reseller-pass").unwrap(),
            display_name: Some(username.into()),
            kind: kind.to_string(),
            panel_id,
            config_limit: Some(20),
            traffic_quota_bytes: traffic.then_some(quota_gb * GIB),
            window_days: traffic.then_some(30),
            wallet_balance: (!traffic).then_some(20_000),
            wallet_price_per_gb: (!traffic).then_some(5_000),
            ..Default::default()
        },
        chrono::Utc::now(),
    )
    .await
    .unwrap_or_else(|e| panic!("reseller {username}: {e:?}"))
    .id
}

async fn config(
    app: &TestApp,
    reseller_id: i64,
    owner: &str,
    gb: i64,
    comment: &str,
) -> (i64, String) {
    let done = engine::configs::create(
        &app.ctx,
        &db::audit::Actor::user(domain::status::Role::Reseller, reseller_id, owner),
        &db::audit::Origin::default(),
        reseller_id,
        engine::configs::NewConfig {
            traffic_limit_bytes: gb * GIB,
            expires_in_days: 30,
            comment: Some(comment.into()),
            ..Default::default()
        },
        chrono::Utc::now(),
    )
    .await
    .unwrap_or_else(|e| panic!("config: {e:?}"));
    (done.config.id, done.config.username)
}

async fn scenario(receipt: &[u8]) -> Scenario {
    let app = TestApp::spawn().await;
    app.create_admin("root", "correct-horse").await;
    let (panel_id, sim) = app.add_panel(panel_sim::SimKind::Marzban).await;
    let traffic_id = reseller(&app, panel_id, "shop-traffic", ResellerKind::Traffic, 20).await;
    let wallet_id = reseller(&app, panel_id, "shop-wallet", ResellerKind::Wallet, 0).await;
    let empty_id = reseller(&app, panel_id, "shop-empty", ResellerKind::Traffic, 1).await;
    let (full_config, full_name) =
        config(&app, traffic_id, "shop-traffic", 1, "Reza, office").await;
    let (_, half) = config(&app, traffic_id, "shop-traffic", 4, "Sara").await;
    config(&app, traffic_id, "shop-traffic", 10, "new customer").await;
    let (_, w1) = config(&app, wallet_id, "shop-wallet", 5, "Ali").await;
    let (_, e1) = config(&app, empty_id, "shop-empty", 5, "Mina").await;
    // Traffic on the panel: one customer past its 1 GB, one at half of 4 GB.
    sim.add_traffic(&full_name, GIB + GIB / 5);
    sim.add_traffic(&half, 2 * GIB);
    sim.add_traffic(&w1, 3 * GIB / 2);
    sim.add_traffic(&e1, GIB * 2);
    let now = chrono::Utc::now();
    engine::sync::run_once(&app.ctx, now).await.unwrap();
    engine::billing::run_once(&app.ctx, now).await.unwrap();
    engine::ops::run_due(&app.ctx, now.timestamp())
        .await
        .unwrap();
    // Thirty days of hourly traffic for the traffic reseller's charts.
    {
        let mut conn = app.db.acquire().await.unwrap();
        let this_hour = domain::tehran::hour_start(now);
        for h in 1..(24 * 30) {
            let bytes = ((h * 37) % 11 + 1) * (GIB / 40);
            db::usage_hourly::add(
                &mut conn,
                traffic_id,
                (this_hour - chrono::Duration::hours(h)).timestamp(),
                bytes,
            )
            .await
            .unwrap();
        }
    }
    // A top-up waiting for the admin, with a real image as its receipt.
    engine::topups::submit(
        &app.ctx,
        &app.state.options.data_dir,
        wallet_id,
        50_000,
        receipt,
        &db::audit::Actor::user(domain::status::Role::Reseller, wallet_id, "shop-wallet"),
        &db::audit::Origin::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("top-up: {e:?}"));
    // A panel that is down, with a reseller whose new config cannot reach it.
    let down = {
        let mut conn = app.db.acquire().await.unwrap();
        let key = app.ctx.keys.encrypt("pw");
        db::panels::create(
            &mut conn,
            db::panels::NewPanel {
                name: "office panel",
                kind: domain::status::PanelKind::Marzban,
                base_url: "http://127.0.0.1:9",
                username: Some("admin"),
                password_enc: Some(&key),
                api_key_enc: None,
                settings: "{}",
            },
        )
        .await
        .unwrap()
    };
    let stuck = reseller(&app, down, "shop-stuck", ResellerKind::Traffic, 5).await;
    config(&app, stuck, "shop-stuck", 2, "waiting").await;
    engine::sync::run_once(&app.ctx, chrono::Utc::now())
        .await
        .unwrap();
    // Where resellers pay.
    {
        let mut conn = app.db.acquire().await.unwrap();
        let b = app.db.backend();
        for (k, v) in [
            ("payment_card_number", "6037 9911 2345 6789"),
            ("payment_card_holder", "Sara Ahmadi"),
            ("payment_bank", "Melli"),
        ] {
            db::settings::set(&mut conn, b, k, v).await.unwrap();
        }
    }
    Scenario {
        app,
        _sim: sim,
        traffic_id,
        full_config,
    }
}

#[tokio::test]
async fn every_page_of_every_role_reads_right_in_a_real_browser() {
    let Some(browser) = start_browser().await else {
        return;
    };
    let c = &browser.client;
    // A real PNG for the receipt: the browser's own picture of a page.
    c.goto("data:text/html,<h1>Receipt 50,000</h1>")
        .await
        .unwrap();
    let receipt = c.screenshot().await.unwrap();
    let s = scenario(&receipt).await;
    let app = &s.app;
    let started = std::time::Instant::now();
    let mut crawl = Crawl {
        c,
        app,
        keys: web::i18n::keys(),
        codes: raw_codes(),
        problems: Vec::new(),
        weights: BTreeMap::new(),
        pages: 0,
    };
    sign_in(c, app, "root", "correct-horse").await;
    crawl.role("admin", "/", 40).await;
    // Pages the admin's menu leads to that a crawl of links alone would not open.
    for path in [
        "/admin/panels/new",
        "/admin/resellers/new",
        "/admin/resellers/abc",
        "/admin/operations?page=abc",
    ] {
        crawl_one(&mut crawl, "admin", path).await;
    }
    sign_in(c, app, "shop-traffic", "reseller-pass").await;
    crawl.role("traffic", "/", 12).await;
    crawl_one(&mut crawl, "traffic", "/configs/new").await;
    sign_in(c, app, "shop-wallet", "reseller-pass").await;
    crawl.role("wallet", "/", 12).await;
    sign_in(c, app, "shop-empty", "reseller-pass").await;
    crawl.role("suspended", "/", 4).await;
    sign_in(c, app, "shop-traffic", "reseller-pass").await;
    c.delete_all_cookies().await.unwrap();
    crawl.role("signed-out", "/login", 1).await;

    let mut report = String::from("page\tbytes\trequests\n");
    for (page, (bytes, requests)) in &crawl.weights {
        report.push_str(&format!("{page}\t{bytes}\t{requests}\n"));
    }
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../test-artifacts/page-weights.txt");
    std::fs::write(&path, &report).unwrap();
    println!("cold page weights (also in {}):\n{report}", path.display());
    println!(
        "crawled {} pages x 2 languages x 2 screens in {:.0} s",
        crawl.pages,
        started.elapsed().as_secs_f64()
    );
    assert!(
        crawl.pages >= 20,
        "the crawl found only {} pages",
        crawl.pages
    );
    assert!(
        crawl.problems.is_empty(),
        "{} problems:\n{}",
        crawl.problems.len(),
        crawl.problems.join("\n")
    );
    let _ = (s.traffic_id, s.full_config);
    browser.client.clone().close().await.unwrap();
}

/// A page the crawl should see even if no link leads there (error pages keep the layout: a
/// bad address must still be a proper page, with the navigation, at 404 or 400).
async fn crawl_one(crawl: &mut Crawl<'_>, role: &str, path: &str) {
    let base = origin(crawl.app);
    let expect_error = path.contains("abc");
    for lang in ["fa", "en"] {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = format!("{base}{path}{sep}lang={lang}");
        for screen in [Screen::Desktop, Screen::Phone] {
            set_screen(crawl.c, screen).await;
            let mut info = visit(crawl.c, &url).await;
            let slug = format!(
                "{role}-{}-{lang}-{}",
                path.trim_matches('/').replace(['/', '?', '=', '&'], "_"),
                screen.name()
            );
            save_screenshot(crawl.c, screen, &slug).await;
            if expect_error {
                if !(400..500).contains(&info.status) {
                    crawl
                        .problems
                        .push(format!("{path}: HTTP {} for a bad address", info.status));
                }
                if !info.links.iter().any(|l| l == "/admin/resellers") {
                    crawl
                        .problems
                        .push(format!("{path}: the error page lost the navigation"));
                }
                info.status = 200;
            }
            crawl.check(
                &format!("{role} {path} {lang} {}", screen.name()),
                &info,
                lang,
                screen,
            );
        }
    }
    crawl.pages += 1;
}

/// Reads `expr` (a JSON-returning expression) in the page.
async fn js(c: &Client, expr: &str) -> Value {
    c.execute(&format!("return ({expr});"), vec![])
        .await
        .unwrap()
}

#[tokio::test]
async fn bars_charts_copy_and_numbers_are_what_a_person_sees() {
    let Some(browser) = start_browser().await else {
        return;
    };
    let c = &browser.client;
    c.goto("data:text/html,<h1>Receipt</h1>").await.unwrap();
    let receipt = c.screenshot().await.unwrap();
    let s = scenario(&receipt).await;
    let app = &s.app;
    let base = origin(app);
    set_screen(c, Screen::Desktop).await;
    sign_in(c, app, "shop-traffic", "reseller-pass").await;

    // Usage bars: the fill's rendered width is the used share, within 3 points, in both
    // directions (from the right in Persian).
    let rows = {
        let mut conn = app.db.acquire().await.unwrap();
        db::configs::list_for_reseller(&mut conn, s.traffic_id, &Default::default(), 50, 0)
            .await
            .unwrap()
            .0
    };
    for lang in ["fa", "en"] {
        c.goto(&format!("{base}/configs?lang={lang}"))
            .await
            .unwrap();
        for cfg in &rows {
            let expected =
                (cfg.usage_bytes as f64 / cfg.traffic_limit_bytes as f64 * 100.0).min(100.0);
            let m = js(c, &format!(
                "(function(){{var a=[...document.querySelectorAll('#configs-table a')].find(x=>x.textContent.trim()=={:?});
                 var svg=a.closest('tr').querySelector('svg.meter'); var r=svg.getBoundingClientRect();
                 var f=svg.querySelector('rect.fill').getBoundingClientRect();
                 return {{share: f.width/r.width*100, fromRight: Math.abs(f.right-r.right), fromLeft: Math.abs(f.left-r.left)}};}})()",
                cfg.username
            )).await;
            let share = m["share"].as_f64().unwrap();
            assert!(
                (share - expected).abs() <= 3.0,
                "{lang} {}: bar {share:.1}% for {expected:.1}% used",
                cfg.username
            );
            let anchored = if lang == "fa" {
                &m["fromRight"]
            } else {
                &m["fromLeft"]
            };
            assert!(
                anchored.as_f64().unwrap() < 1.0,
                "{lang}: the bar starts at the reading side: {m}"
            );
        }
        // The customer out of data is not shown as active.
        let badge = js(c, &format!(
            "[...document.querySelectorAll('#configs-table tr')].find(r=>r.querySelector('a[href=\"/configs/{}\"]')).querySelector('.badge').className",
            s.full_config
        )).await;
        assert!(
            badge.as_str().unwrap().contains("badge-danger"),
            "{lang}: {badge}"
        );
    }

    // Chart bars: each bar's rendered height is its value on the chart's own axis.
    for lang in ["fa", "en"] {
        c.goto(&format!("{base}/usage?lang={lang}")).await.unwrap();
        let bars = js(c, "[...document.querySelectorAll('svg.chart.bars')].map(svg=>{var k=svg.getBoundingClientRect().height/260;
            return [...svg.querySelectorAll('rect.col')].map(r=>[+r.dataset.value,+r.dataset.max,r.getBoundingClientRect().height,k]);})").await;
        let charts = bars.as_array().unwrap();
        assert_eq!(charts.len(), 2, "{lang}: the per-day and per-hour charts");
        for chart in charts {
            let bars = chart.as_array().unwrap();
            assert!(bars.iter().filter(|b| b[0].as_f64().unwrap() > 0.0).count() >= 10);
            for b in bars {
                let (v, max, h, k) = (
                    b[0].as_f64().unwrap(),
                    b[1].as_f64().unwrap(),
                    b[2].as_f64().unwrap(),
                    b[3].as_f64().unwrap(),
                );
                let want = v / max * (260.0 - 14.0 - 30.0) * k;
                assert!(
                    (h - want).abs() <= 1.5,
                    "{lang}: a bar of {v} drawn {h:.1} px, expected {want:.1}"
                );
            }
        }
        let ticks = js(
            c,
            "[...document.querySelectorAll('svg.chart text.tick')].map(t=>t.textContent)",
        )
        .await;
        assert!(
            ticks.as_array().unwrap().len() >= 12,
            "{lang}: values on the axes: {ticks}"
        );
    }

    // The fa balance reads number then تومان (the number on the right), and a debit's minus
    // sign sits left of its digits.
    sign_in(c, app, "shop-wallet", "reseller-pass").await;
    for path in ["/", "/wallet"] {
        c.goto(&format!("{base}{path}?lang=fa")).await.unwrap();
        let order = js(c, "(function(){var el=document.getElementById('wallet-balance');
            var t=el.firstChild; var i=t.textContent.indexOf('تومان');
            var num=document.createRange(); num.setStart(t,0); num.setEnd(t,Math.max(1,i-1));
            var cur=document.createRange(); cur.setStart(t,i); cur.setEnd(t,i+5);
            return {num: num.getBoundingClientRect().left, cur: cur.getBoundingClientRect().right, text: t.textContent};})()").await;
        assert!(
            order["num"].as_f64().unwrap() >= order["cur"].as_f64().unwrap() - 1.0,
            "{path}: the Persian balance must read number then تومان: {order}"
        );
    }
    let minus = js(c, "(function(){var td=document.querySelector('td.negative'); var t=td.firstChild; var s=t.textContent;
        var m=s.indexOf('-'); var d=s.search(/[۰-۹]/);
        var a=document.createRange(); a.setStart(t,m); a.setEnd(t,m+1);
        var b=document.createRange(); b.setStart(t,d); b.setEnd(t,d+1);
        return {minus: a.getBoundingClientRect().left, digit: b.getBoundingClientRect().left, text: s};})()").await;
    assert!(
        minus["minus"].as_f64().unwrap() < minus["digit"].as_f64().unwrap(),
        "a negative amount keeps its sign on the left: {minus}"
    );

    // Copy on a plain-http origin that is not localhost: the link lands on the clipboard, or
    // at least is selected, and the person is told which.
    sign_in(c, app, "shop-traffic", "reseller-pass").await;
    c.goto(&format!("{base}/configs/{}?lang=en", s.full_config))
        .await
        .unwrap();
    assert_eq!(
        js(c, "window.isSecureContext").await,
        json!(false),
        "the test origin is not a secure context"
    );
    let url = js(c, "document.getElementById('sub-url').value").await;
    c.find(Locator::Css("#copy-sub"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let state = js(c, "(function(){var i=document.getElementById('sub-url'); var t=document.getElementById('toast');
        return {state: document.getElementById('copy-sub').dataset.state, toast: t.hidden ? '' : t.textContent,
                selected: document.activeElement===i && i.selectionStart===0 && i.selectionEnd===i.value.length};})()").await;
    assert!(
        !state["toast"].as_str().unwrap().is_empty(),
        "visible feedback: {state}"
    );
    assert!(
        state["state"] == "copied" || state["selected"] == true,
        "copied, or selected for the person to copy: {state}"
    );
    if state["state"] == "copied" {
        // Paste what was copied into a fresh field: the clipboard holds the link.
        js(c, "(function(){var t=document.createElement('textarea');t.id='paste';document.body.appendChild(t);t.focus();return 1;})()").await;
        let field = c.find(Locator::Css("#paste")).await.unwrap();
        field
            .send_keys(&format!("{}v", fantoccini::key::Key::Control))
            .await
            .unwrap();
        let pasted = js(c, "document.getElementById('paste').value").await;
        assert_eq!(pasted, url, "the clipboard holds the subscription link");
    }
    save_screenshot(c, Screen::Desktop, "copy-feedback-en-desktop").await;

    // A bad form keeps what was typed and names every problem at once.
    sign_in(c, app, "root", "correct-horse").await;
    c.goto(&format!("{base}/admin/resellers/new?lang=en"))
        .await
        .unwrap();
    let form = c.form(Locator::Css("#reseller-form")).await.unwrap();
    form.set_by_name("username", "a").await.unwrap();
    form.set_by_name("quota_gb", "ten").await.unwrap();
    form.set_by_name("config_limit", "-1").await.unwrap();
    // Past the browser's own `required` check: the server must name everything itself.
    form.submit_direct().await.unwrap();
    c.wait()
        .for_element(Locator::Css("#form-errors"))
        .await
        .unwrap();
    let errors = js(c, "[...document.querySelectorAll('.field-error')].length").await;
    assert!(
        errors.as_i64().unwrap() >= 4,
        "username, password, quota and limit: {errors}"
    );
    let kept = js(c, "document.querySelector('input[name=quota_gb]').value").await;
    assert_eq!(kept, json!("ten"));
    save_screenshot(c, Screen::Desktop, "admin-reseller-form-errors-en-desktop").await;
    browser.client.clone().close().await.unwrap();
}

#[tokio::test]
async fn a_reseller_creates_a_config_in_the_browser_and_finds_its_qr_code() {
    let Some(browser) = start_browser().await else {
        return;
    };
    let mut app = TestApp::spawn().await;
    app.start_worker();
    let (panel_id, sim) = app.add_panel(panel_sim::SimKind::Marzban).await;
    reseller(&app, panel_id, "shop1", ResellerKind::Traffic, 50).await;
    let c = &browser.client;
    set_screen(c, Screen::Desktop).await;
    sign_in(c, &app, "shop1", "reseller-pass").await;

    c.goto(&format!("{}/configs/new?lang=en", origin(&app)))
        .await
        .unwrap();
    let form = c.form(Locator::Css("#new-config-form")).await.unwrap();
    form.set_by_name("traffic_limit_gb", "2.5").await.unwrap();
    form.set_by_name("expires_in_days", "30").await.unwrap();
    form.set_by_name("comment", "browser customer")
        .await
        .unwrap();
    form.submit().await.unwrap();
    // The config page shows the subscription URL and its QR code, and says it was created.
    let qr = c.wait().for_element(Locator::Css("#qr svg")).await.unwrap();
    assert!(qr.html(false).await.unwrap().contains("<svg"));
    let flash = c
        .find(Locator::Css("#flash"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(flash.contains("created"), "{flash}");
    let on_panel = sim.users();
    assert_eq!(on_panel.len(), 1, "the config reached the panel");
    assert_eq!(
        on_panel[0].limit_bytes,
        Some(domain::units::parse_gb("2.5").unwrap())
    );
    // The message is shown once: a reload has none.
    c.refresh().await.unwrap();
    assert!(
        c.find(Locator::Css("#flash")).await.is_err(),
        "a flash is shown once"
    );
    browser.client.clone().close().await.unwrap();
}
