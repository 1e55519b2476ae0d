//! Shared set-up for the engine's metering tests and the sync benchmark: a fresh database, a
//! `Ctx`, simulated panels registered as panel rows, resellers and configs created for real.
#![allow(dead_code)]

use db::testing::TestDb;
use domain::status::ResellerKind;
use engine::ops::{self, OpKind};
use engine::Ctx;
use panel_sim::{Sim, SimKind};

pub const SECRET: &str = "test-secret-key-that-is-long-enough-0123456789";
pub const GIB: i64 = 1 << 30;
pub const MIB: i64 = 1 << 20;

pub struct Env {
    pub ctx: Ctx,
    pub tdb: TestDb,
}

pub fn quick_settings() -> engine::EngineSettings {
    engine::EngineSettings {
        wait_for_panel: std::time::Duration::from_secs(5),
        panel_request_timeout: std::time::Duration::from_secs(1),
        worker_tick: std::time::Duration::from_millis(100),
        default_rate_per_sec: 1000,
        default_concurrency: 16,
        ..Default::default()
    }
}

pub async fn env() -> Env {
    env_with(quick_settings()).await
}

pub async fn env_with(settings: engine::EngineSettings) -> Env {
    let tdb = TestDb::new().await.expect("test database");
    let keys = engine::secrets::Keys::from_secret(SECRET).unwrap();
    Env {
        ctx: Ctx::new(tdb.db.clone(), keys, settings),
        tdb,
    }
}

impl Env {
    pub async fn conn(&self) -> sqlx::pool::PoolConnection<sqlx::Any> {
        self.ctx.db.acquire().await.unwrap()
    }

    /// A simulated panel registered as a panel row.
    pub async fn panel(&self, kind: SimKind) -> (i64, Sim) {
        let sim = panel_sim::spawn(kind).await;
        let id = self.register(&sim).await;
        (id, sim)
    }

    pub async fn register(&self, sim: &Sim) -> i64 {
        let keys = &self.ctx.keys;
        let (user, pass, key) = match sim.kind() {
            SimKind::Eylandoo => (None, None, Some(keys.encrypt(sim.api_key()))),
            _ => (
                Some(sim.admin_username().to_string()),
                Some(keys.encrypt(sim.admin_password())),
                None,
            ),
        };
        let settings = match sim.kind() {
            SimKind::Xui => {
                serde_json::json!({ "inbound_ids": [1], "sub_base_url": sim.root_url() })
            }
            SimKind::Marzneshin => serde_json::json!({ "service_ids": [1] }),
            _ => serde_json::json!({}),
        };
        let mut conn = self.conn().await;
        db::panels::create(
            &mut conn,
            db::panels::NewPanel {
                name: &format!("{}-{}", sim.kind().as_str(), sim.local_addr().port()),
                kind: sim.kind().as_str().parse().unwrap(),
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

    pub async fn reseller(&self, panel_id: i64, quota: i64, window_ends_at: Option<i64>) -> i64 {
        let mut conn = self.conn().await;
        db::resellers::create(
            &mut conn,
            db::resellers::NewReseller {
                display_name: "r",
                kind: ResellerKind::Traffic,
                panel_id,
                username_prefix: None,
                allow_custom_names: false,
                config_limit: None,
                service_whitelist: &[],
                node_whitelist: &[],
                traffic_quota_bytes: quota,
                window_starts_at: None,
                window_ends_at,
                wallet_price_per_gb: None,
            },
            chrono::Utc::now().timestamp(),
        )
        .await
        .unwrap()
    }

    /// A config created on the panel through the durable Create operation.
    pub async fn config(&self, reseller_id: i64, panel_id: i64, username: &str) -> i64 {
        let now = chrono::Utc::now().timestamp();
        let mut tx = self.ctx.db.begin_write().await.unwrap();
        let id = db::configs::create(
            &mut tx,
            db::configs::NewConfig {
                reseller_id,
                panel_id,
                username: Some(username),
                comment: None,
                traffic_limit_bytes: 100 * GIB,
                expires_at: None,
                max_clients: None,
                service_ids: &[],
                node_ids: &[],
                inbound_ids: &[],
            },
            |_| unreachable!(),
            now,
        )
        .await
        .unwrap();
        let op = ops::enqueue(
            &mut tx,
            panel_id,
            id,
            None,
            OpKind::Create,
            serde_json::json!({}),
            now,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let out = ops::run_now(&self.ctx, op, std::time::Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(out, ops::Outcome::Done, "create of {username}");
        id
    }

    pub async fn get(&self, config_id: i64) -> db::configs::Config {
        let mut conn = self.conn().await;
        db::configs::get(&mut conn, config_id)
            .await
            .unwrap()
            .unwrap()
    }

    pub async fn reseller_row(&self, id: i64) -> db::resellers::Reseller {
        let mut conn = self.conn().await;
        db::resellers::get(&mut conn, id).await.unwrap().unwrap()
    }

    pub async fn sync(&self) -> engine::sync::SyncReport {
        engine::sync::run_once(&self.ctx, chrono::Utc::now())
            .await
            .unwrap()
    }

    /// What the worker would do later: retry every pending operation now.
    pub async fn retry_pending(&self) {
        let far = chrono::Utc::now().timestamp() + 86_400 * 365;
        engine::ops::run_due(&self.ctx, far).await.unwrap();
    }

    pub async fn audit_count(&self, action: &str) -> i64 {
        let mut conn = self.conn().await;
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_logs WHERE action = $1")
            .bind(action)
            .fetch_one(&mut *conn)
            .await
            .unwrap()
    }
}

impl Env {
    /// A real panel of `../shared/real-panels` registered as a panel row (its admin login and
    /// its service ids, as `panel_sim::real` gives them).
    pub async fn register_real(&self, real: &panel_sim::real::RealPanel) -> i64 {
        let settings = serde_json::to_string(&real.settings()).unwrap();
        let mut conn = self.conn().await;
        db::panels::create(
            &mut conn,
            db::panels::NewPanel {
                name: &format!("real-{}", real.kind),
                kind: real.kind.as_str().parse().unwrap(),
                base_url: &real.url,
                username: Some(&real.username),
                password_enc: Some(&self.ctx.keys.encrypt(&real.password)),
                api_key_enc: None,
                settings: &settings,
            },
        )
        .await
        .unwrap()
    }
}
