//! The end-to-end harness: the real router served on 127.0.0.1:0 over a fresh database
//! (SQLite, or PostgreSQL with TEST_DATABASE_URL), with helpers that act like a user would.
#![allow(dead_code)]

pub mod assert;
pub mod clients;
pub mod rows;
pub mod world;

#[allow(unused_imports)]
pub use assert::*;
pub use clients::{Api, Browser};
#[allow(unused_imports)] // not every test file uses every fixture
pub use world::{Cfg, Shop, World, GIB, MIB, SHOP_PASSWORD};

use db::testing::TestDb;
use reqwest::redirect::Policy;
use serde_json::Value;

pub const SECRET: &str = "test-secret-key-that-is-long-enough-0123456789";
/// The admin most tests sign in as (`TestApp::admin`).
pub const ADMIN_USERNAME: &str = "root";
pub const ADMIN_PASSWORD: &str = "correct-horse";

pub struct TestApp {
    pub base: String,
    pub db: db::Db,
    pub state: web::AppState,
    pub ctx: engine::Ctx,
    worker: Option<tokio::task::JoinHandle<()>>,
    _tdb: TestDb,
}

/// Short waits and no panel rate limit, so tests run fast.
pub fn quick_settings() -> engine::EngineSettings {
    engine::EngineSettings {
        wait_for_panel: std::time::Duration::from_secs(10),
        panel_request_timeout: std::time::Duration::from_secs(2),
        worker_tick: std::time::Duration::from_millis(100),
        default_rate_per_sec: 1000,
        ..Default::default()
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(quick_settings()).await
    }

    pub async fn spawn_with(settings: engine::EngineSettings) -> TestApp {
        Self::spawn_full(settings, web::WebOptions::default(), Default::default()).await
    }

    /// Served with the connection limits of the test's choosing (short timeouts, a small cap).
    pub async fn spawn_limited(limits: web::server::Limits) -> TestApp {
        Self::spawn_full(quick_settings(), web::WebOptions::default(), limits).await
    }

    /// With web options of the test's choosing (a proxy in front, https cookies); the data
    /// directory is always a fresh temporary one.
    pub async fn spawn_behind(options: web::WebOptions) -> TestApp {
        Self::spawn_full(quick_settings(), options, Default::default()).await
    }

    async fn spawn_full(
        settings: engine::EngineSettings,
        options: web::WebOptions,
        limits: web::server::Limits,
    ) -> TestApp {
        let tdb = TestDb::new().await.expect("test database");
        let keys = engine::secrets::Keys::from_secret(SECRET).unwrap();
        let ctx = engine::Ctx::new(tdb.db.clone(), keys, settings);
        let data_dir = std::env::temp_dir().join(format!("vm-web-{}", uuid_like()));
        std::fs::create_dir_all(&data_dir).unwrap();
        let options = web::WebOptions {
            data_dir,
            ..options
        };
        let state = web::AppState::new(ctx.clone(), options);
        let app = web::app(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            web::server::serve(listener, app, limits, std::future::pending()).await;
        });
        TestApp {
            base: format!("http://{addr}"),
            db: tdb.db.clone(),
            state,
            ctx,
            worker: None,
            _tdb: tdb,
        }
    }

    /// Starts the operations worker, as the real server does (tests that want to step
    /// operations by hand leave it off and call `engine::ops::run_due`).
    pub fn start_worker(&mut self) {
        self.worker = Some(engine::ops::spawn_worker(self.ctx.clone()));
    }

    /// A simulated panel of `kind`, registered as a panel row with encrypted credentials.
    pub async fn add_panel(&self, kind: panel_sim::SimKind) -> (i64, panel_sim::Sim) {
        let sim = panel_sim::spawn(kind).await;
        let id = self
            .register_panel(&sim, &format!("{}-{}", kind.as_str(), rand_suffix()))
            .await;
        (id, sim)
    }

    pub async fn register_panel(&self, sim: &panel_sim::Sim, name: &str) -> i64 {
        let keys = &self.ctx.keys;
        let kind = sim.kind().as_str();
        let (user, pass, key) = match sim.kind() {
            panel_sim::SimKind::Eylandoo => (None, None, Some(keys.encrypt(sim.api_key()))),
            _ => (
                Some(sim.admin_username().to_string()),
                Some(keys.encrypt(sim.admin_password())),
                None,
            ),
        };
        // 3x-ui serves subscriptions outside its web base path; the others need no base.
        let settings = match sim.kind() {
            panel_sim::SimKind::Xui => {
                serde_json::json!({ "inbound_ids": [1], "sub_base_url": sim.root_url() })
            }
            // Marzneshin needs the services a new user joins, PasarGuard the groups.
            panel_sim::SimKind::Marzneshin | panel_sim::SimKind::PasarGuard => {
                serde_json::json!({ "service_ids": [1] })
            }
            _ => serde_json::json!({}),
        };
        let mut conn = self.db.acquire().await.unwrap();
        db::panels::create(
            &mut conn,
            db::panels::NewPanel {
                name,
                kind: kind.parse().unwrap(),
                base_url: &sim.base_url(),
                username: user.as_deref(),
                password_enc: pass.as_deref(),
                api_key_enc: key.as_deref(),
                settings: &settings.to_string(),
            },
        )
        .await
        .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A browser: keeps cookies, does not follow redirects (tests look at them).
    pub fn browser(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .build()
            .unwrap()
    }

    pub fn client(&self) -> reqwest::Client {
        no_redirects()
    }

    /// Creates the admin `root` and returns its API client.
    pub async fn admin(&self) -> Api {
        self.create_admin(ADMIN_USERNAME, ADMIN_PASSWORD).await;
        self.api_as(ADMIN_USERNAME, ADMIN_PASSWORD).await
    }

    /// The API as `username` sees it, with a token from the token endpoint.
    pub async fn api_as(&self, username: &str, password: &str) -> Api {
        Api::new(&self.base, Some(self.token(username, password).await))
    }

    /// The API with a token the test holds (revoked, forged, another login's).
    pub fn api_with(&self, token: &str) -> Api {
        Api::new(&self.base, Some(token.to_string()))
    }

    /// The API as a caller with no token at all.
    pub fn anonymous_api(&self) -> Api {
        Api::new(&self.base, None)
    }

    /// A browser that has not signed in (it keeps the cookies it is given).
    pub fn visitor(&self) -> Browser {
        self.visitor_with(self.browser())
    }

    /// `client` (one of `browser()`'s, in whatever state the test left it) as a `Browser`.
    pub fn visitor_with(&self, client: reqwest::Client) -> Browser {
        Browser::new(&self.base, client)
    }

    /// A browser signed in as `username` through the real form.
    pub async fn browser_as(&self, username: &str, password: &str) -> Browser {
        Browser::new(&self.base, self.signed_in_browser(username, password).await)
    }

    /// The admin `root` (already created) signed in.
    pub async fn admin_browser(&self) -> Browser {
        self.browser_as(ADMIN_USERNAME, ADMIN_PASSWORD).await
    }

    pub async fn create_user(
        &self,
        username: &str,
        password: &str,
        role: &str,
        reseller_id: Option<i64>,
    ) -> i64 {
        let hash = web::password::hash(password).unwrap();
        let mut conn = self.db.acquire().await.unwrap();
        db::users::create(
            &mut conn,
            username,
            &hash,
            role.parse().unwrap(),
            reseller_id,
        )
        .await
        .unwrap()
    }

    pub async fn create_admin(&self, username: &str, password: &str) -> i64 {
        self.create_user(username, password, "admin", None).await
    }

    /// A token from `POST /api/v1/auth/token`.
    pub async fn token(&self, username: &str, password: &str) -> String {
        let res = self
            .client()
            .post(self.url("/api/v1/auth/token"))
            .json(&serde_json::json!({ "username": username, "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "token for {username}");
        res.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Signs a browser in through the real form and returns it.
    pub async fn signed_in_browser(&self, username: &str, password: &str) -> reqwest::Client {
        let b = self.browser();
        let res = self.submit_login(&b, username, password).await;
        assert_eq!(res.status(), 303, "sign-in of {username} should redirect");
        b
    }

    pub async fn submit_login(
        &self,
        b: &reqwest::Client,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        let page = self.visitor_with(b.clone()).html("/login").await;
        let csrf = hidden_field(&page, "_csrf").expect("login form has a CSRF field");
        b.post(self.url("/login"))
            .form(&[
                ("_csrf", csrf.as_str()),
                ("username", username),
                ("password", password),
                ("next", "/"),
            ])
            .send()
            .await
            .unwrap()
    }

    /// The session's CSRF token, read from a page like a browser would.
    pub async fn csrf_of(&self, b: &reqwest::Client) -> String {
        self.visitor_with(b.clone()).csrf().await
    }

    /// An API request with a Bearer token: (status, body as JSON, or the text as a string).
    pub async fn api(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut req = self
            .client()
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }

    /// A page as `b` (a signed-in browser) gets it: (status, HTML).
    pub async fn page(&self, b: &reqwest::Client, path: &str) -> (u16, String) {
        let res = b.get(self.url(path)).send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    pub async fn audit_count(&self, action: &str) -> i64 {
        let mut conn = self.db.acquire().await.unwrap();
        db::sqlx::query_scalar("SELECT COUNT(*) FROM audit_logs WHERE action = $1")
            .bind(action)
            .fetch_one(&mut *conn)
            .await
            .unwrap()
    }
}

/// The OpenAPI document the server serves.
pub async fn openapi(app: &TestApp) -> Value {
    app.anonymous_api().ok("/api/v1/openapi.json").await
}

/// A client that follows no redirect: tests look at them.
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

fn uuid_like() -> String {
    format!("{}-{}", std::process::id(), rand_suffix())
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    nanos ^ (N.fetch_add(1, Ordering::Relaxed) << 32)
}
