//! "A panel with a reseller with N configs and this usage", built the way users build it: the
//! admin creates the reseller over the API, the reseller creates its configs, and the traffic is
//! put on the simulated panel. A test states only what is special about its world.

use super::{Api, Browser, TestApp, ADMIN_PASSWORD, ADMIN_USERNAME};
use panel_sim::{Sim, SimKind};
use reqwest::Method;
use serde_json::{json, Value};

pub const GIB: i64 = 1 << 30;
pub const MIB: i64 = 1 << 20;
/// Every reseller the builder makes signs in with this password.
pub const SHOP_PASSWORD: &str = "shop-pass-1";

/// The app with its worker running, the admin `root` and one simulated panel.
pub struct World {
    pub app: TestApp,
    pub admin: Api,
    pub sim: Sim,
    pub panel_id: i64,
}

pub struct WorldBuilder {
    kind: SimKind,
    options: web::WebOptions,
    worker: bool,
}

impl WorldBuilder {
    pub fn panel(mut self, kind: SimKind) -> Self {
        self.kind = kind;
        self
    }

    pub fn options(mut self, options: web::WebOptions) -> Self {
        self.options = options;
        self
    }

    /// Operations stay queued until the test runs them (`engine::ops::run_due`).
    pub fn without_worker(mut self) -> Self {
        self.worker = false;
        self
    }

    pub async fn spawn(self) -> World {
        let mut app = TestApp::spawn_behind(self.options).await;
        if self.worker {
            app.start_worker();
        }
        let admin = app.admin().await;
        let (panel_id, sim) = app.add_panel(self.kind).await;
        World {
            app,
            admin,
            sim,
            panel_id,
        }
    }
}

impl World {
    pub fn builder() -> WorldBuilder {
        WorldBuilder {
            kind: SimKind::Marzban,
            options: web::WebOptions::default(),
            worker: true,
        }
    }

    /// The usual world: a Marzban panel and the worker running.
    pub async fn new() -> World {
        Self::builder().spawn().await
    }

    /// A traffic reseller with login `login`: 100 GiB over 30 days unless told otherwise.
    pub fn reseller<'a>(&'a self, login: &'a str) -> ResellerBuilder<'a> {
        ResellerBuilder {
            world: self,
            body: json!({ "username": login, "password": SHOP_PASSWORD, "kind": "traffic",
                "panel_id": self.panel_id, "traffic_quota_bytes": 100 * GIB, "window_days": 30 }),
            configs: 0,
            usage: 0,
        }
    }

    /// The admin's usage sync, which must succeed; its report.
    pub async fn sync(&self) -> Value {
        self.admin
            .expect(200, Method::POST, "/api/v1/jobs/usage-sync", None)
            .await
    }

    pub async fn admin_browser(&self) -> Browser {
        self.app.browser_as(ADMIN_USERNAME, ADMIN_PASSWORD).await
    }
}

pub struct ResellerBuilder<'a> {
    world: &'a World,
    body: Value,
    configs: usize,
    usage: i64,
}

impl ResellerBuilder<'_> {
    pub fn quota(self, bytes: i64) -> Self {
        self.set("traffic_quota_bytes", json!(bytes))
    }

    /// Any other field of the create request (a prefix, a config limit, a whitelist).
    pub fn set(mut self, field: &str, value: Value) -> Self {
        self.body[field] = value;
        self
    }

    /// `n` configs created by the reseller itself (50 GiB, 30 days each).
    pub fn configs(mut self, n: usize) -> Self {
        self.configs = n;
        self
    }

    /// Traffic each config has used on the panel (not yet synced).
    pub fn usage(mut self, bytes: i64) -> Self {
        self.usage = bytes;
        self
    }

    pub async fn create(self) -> Shop {
        let w = self.world;
        let login = self.body["username"].as_str().unwrap().to_string();
        let created = w
            .admin
            .expect(201, Method::POST, "/api/v1/resellers", Some(self.body))
            .await;
        let api = w.app.api_as(&login, SHOP_PASSWORD).await;
        let mut shop = Shop {
            id: created["id"].as_i64().unwrap(),
            login,
            api,
            created,
            configs: Vec::new(),
        };
        for _ in 0..self.configs {
            let c = shop.config().await;
            if self.usage > 0 {
                w.sim.add_traffic(&c.username, self.usage);
            }
            shop.configs.push(c);
        }
        shop
    }
}

/// A reseller the builder made: its id, its API client and the configs it was given.
pub struct Shop {
    pub id: i64,
    pub login: String,
    pub api: Api,
    /// The admin's create answer.
    pub created: Value,
    pub configs: Vec<Cfg>,
}

#[derive(Clone, Debug)]
pub struct Cfg {
    pub id: i64,
    pub username: String,
}

impl Shop {
    /// One more config, 50 GiB for 30 days, which must be created.
    pub async fn config(&self) -> Cfg {
        let c = self
            .api
            .expect(
                201,
                Method::POST,
                "/api/v1/configs",
                Some(json!({"traffic_limit_bytes": 50 * GIB, "expires_in_days": 30})),
            )
            .await;
        Cfg {
            id: c["id"].as_i64().unwrap(),
            username: c["username"].as_str().unwrap().to_string(),
        }
    }

    pub async fn browser(&self, app: &TestApp) -> Browser {
        app.browser_as(&self.login, SHOP_PASSWORD).await
    }
}
