//! Shared set-up for the engine's tests and the sync benchmark: a fresh database, a `Ctx`,
//! simulated panels registered as panel rows, resellers and configs created for real, and
//! `given`, the builder a test starts from when it needs only a panel, a reseller and configs.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use db::audit::Actor;
use db::testing::TestDb;
use domain::status::{JobStatus, LedgerKind, ResellerKind, Role};
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
    Env {
        ctx: ctx_on(&tdb.db, settings),
        tdb,
    }
}

/// A `Ctx` on `db` with the tests' key: a second instance on the same database is another one.
pub fn ctx_on(db: &db::Db, settings: engine::EngineSettings) -> Ctx {
    let keys = engine::secrets::Keys::from_secret(SECRET).unwrap();
    Ctx::new(db.clone(), keys, settings)
}

/// The admin the tests act as.
pub fn admin() -> Actor {
    Actor::user(Role::Admin, 1, "boss")
}

/// A wallet reseller's start: its opening balance (the first ledger row, none when 0), its
/// price, when its row was created and when its wallet started (the first snapshot's hour).
pub struct Wallet {
    pub opening: i64,
    pub price_per_gb: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
}

impl Wallet {
    /// Created and started at `at`, as the reseller screens do.
    pub fn at(opening: i64, price_per_gb: Option<i64>, at: DateTime<Utc>) -> Wallet {
        Wallet {
            opening,
            price_per_gb,
            created_at: at,
            started_at: at,
        }
    }
}

/// A reseller with no prefix, limit, whitelist or window start: what every test leaves alone.
fn new_reseller<'a>(
    kind: ResellerKind,
    panel_id: i64,
    name: &'a str,
) -> db::resellers::NewReseller<'a> {
    db::resellers::NewReseller {
        display_name: name,
        kind,
        panel_id,
        username_prefix: None,
        allow_custom_names: false,
        config_limit: None,
        service_whitelist: &[],
        node_whitelist: &[],
        traffic_quota_bytes: 0,
        window_starts_at: None,
        window_ends_at: None,
        wallet_price_per_gb: None,
    }
}

/// The row of a config with no comment, expiry, client limit or ids.
async fn insert_config(
    conn: &mut db::Conn,
    reseller_id: i64,
    panel_id: i64,
    username: &str,
    traffic_limit_bytes: i64,
) -> i64 {
    db::configs::create(
        conn,
        db::configs::NewConfig {
            reseller_id,
            panel_id,
            username: Some(username),
            comment: None,
            traffic_limit_bytes,
            expires_at: None,
            max_clients: None,
            service_ids: &[],
            node_ids: &[],
            inbound_ids: &[],
        },
        |_| unreachable!(),
        Utc::now().timestamp(),
    )
    .await
    .unwrap()
}

impl Env {
    pub async fn conn(&self) -> sqlx::pool::PoolConnection<sqlx::Any> {
        self.ctx.db.acquire().await.unwrap()
    }

    /// Closes the pool inside the test's runtime: connections go back to the pool through
    /// tasks on this runtime, which cannot run while `TestDb`'s drop blocks it (a hang on
    /// PostgreSQL).
    pub async fn close(&self) {
        self.ctx.db.close().await;
    }

    /// A simulated panel registered as a panel row.
    pub async fn panel(&self, kind: SimKind) -> (i64, Sim) {
        let sim = panel_sim::spawn(kind).await;
        let id = self.register(&sim).await;
        (id, sim)
    }

    /// A panel row no request ever reaches (billing and the ledger need no panel).
    pub async fn dummy_panel(&self) -> i64 {
        let name = format!("p-{}", engine::secrets::random_token());
        let mut conn = self.conn().await;
        let p = db::panels::NewPanel {
            name: &name,
            kind: domain::status::PanelKind::Marzban,
            base_url: "http://127.0.0.1:9",
            username: None,
            password_enc: None,
            api_key_enc: None,
            settings: "{}",
        };
        db::panels::create(&mut conn, p).await.unwrap()
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

    /// A traffic reseller with its quota and, if given, the end of its window.
    pub async fn reseller(&self, panel_id: i64, quota: i64, window_ends_at: Option<i64>) -> i64 {
        let mut conn = self.conn().await;
        let r = db::resellers::NewReseller {
            traffic_quota_bytes: quota,
            window_ends_at,
            ..new_reseller(ResellerKind::Traffic, panel_id, "r")
        };
        db::resellers::create(&mut conn, r, Utc::now().timestamp())
            .await
            .unwrap()
    }

    /// A wallet reseller as the reseller screens make one: the row, its opening balance on the
    /// ledger and its wallet start, in one transaction.
    pub async fn wallet_reseller(&self, panel_id: i64, w: Wallet) -> i64 {
        let mut tx = self.ctx.db.begin_write().await.unwrap();
        let r = db::resellers::NewReseller {
            wallet_price_per_gb: w.price_per_gb,
            ..new_reseller(ResellerKind::Wallet, panel_id, "wallet shop")
        };
        let id = db::resellers::create(&mut tx, r, w.created_at.timestamp())
            .await
            .unwrap();
        if w.opening != 0 {
            let key = format!("opening:{id}");
            let kind = LedgerKind::OpeningBalance;
            engine::wallet::post_entry(&mut tx, id, kind, w.opening, &key, None, None, None)
                .await
                .unwrap()
                .unwrap();
        }
        engine::wallet::start_wallet(&mut tx, id, w.started_at)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        id
    }

    /// Only the config's row, with that traffic limit (no operation, nothing on the panel).
    pub async fn config_row(&self, reseller_id: i64, panel_id: i64, name: &str, limit: i64) -> i64 {
        let mut conn = self.conn().await;
        insert_config(&mut conn, reseller_id, panel_id, name, limit).await
    }

    /// A config (100 GiB) created on the panel through the durable Create operation.
    pub async fn config(&self, reseller_id: i64, panel_id: i64, username: &str) -> i64 {
        let now = Utc::now().timestamp();
        let mut tx = self.ctx.db.begin_write().await.unwrap();
        let id = insert_config(&mut tx, reseller_id, panel_id, username, 100 * GIB).await;
        let op = ops::enqueue_for(&mut tx, panel_id, id, OpKind::Create, now)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let out = ops::run_now(&self.ctx, op, std::time::Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(out, ops::Outcome::Done, "create of {username}");
        id
    }

    /// Queues an operation on a config in its own transaction (as an action would), returning
    /// its id; nothing runs it.
    pub async fn enqueue(&self, panel_id: i64, config_id: i64, kind: OpKind) -> i64 {
        let now = Utc::now().timestamp();
        let mut tx = self.ctx.db.begin_write().await.unwrap();
        let op = ops::enqueue_for(&mut tx, panel_id, config_id, kind, now)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        op
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
        engine::sync::run_once(&self.ctx, Utc::now()).await.unwrap()
    }

    /// What the worker would do later: retry every pending operation now.
    pub async fn retry_pending(&self) {
        let far = Utc::now().timestamp() + 86_400 * 365;
        engine::ops::run_due(&self.ctx, far).await.unwrap();
    }

    /// The admin disables a config (the admin's reason), as the pages do.
    pub async fn disable(&self, id: i64) {
        let scope = engine::configs::Scope::Admin;
        let origin = Default::default();
        engine::configs::disable(&self.ctx, &admin(), &origin, scope, id, Utc::now())
            .await
            .unwrap();
    }

    /// The admin resets a config's usage; how its panel operation ended.
    pub async fn reset(&self, id: i64) -> ops::Outcome {
        engine::reset::reset_config(&self.ctx, id, &admin(), &Default::default())
            .await
            .unwrap()
            .outcome
    }

    /// A job once it is done or failed, polled every 100 ms `tries` times at the most.
    pub async fn wait_job(&self, job: i64, tries: u32) -> db::jobs::Job {
        for _ in 0..tries {
            let mut conn = self.conn().await;
            let j = db::jobs::get(&mut conn, job).await.unwrap().unwrap();
            if j.status == JobStatus::Done || j.status == JobStatus::Failed {
                return j;
            }
            drop(conn);
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("job {job} did not finish");
    }

    /// A number a query with one bound id answers (a count, a cast sum).
    pub async fn scalar(&self, sql: &str, id: i64) -> i64 {
        let mut conn = self.conn().await;
        sqlx::query_scalar(sql)
            .bind(id)
            .fetch_one(&mut *conn)
            .await
            .unwrap()
    }

    pub async fn audit_count(&self, action: &str) -> i64 {
        let mut conn = self.conn().await;
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_logs WHERE action = $1")
            .bind(action)
            .fetch_one(&mut *conn)
            .await
            .unwrap()
    }

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

/// What a test starts from, stated only where it is special: a simulated panel of `kind` with
/// one traffic reseller (100 GiB, no window) and its configs, each created on the panel, then
/// the traffic the panel counts for them (nothing synced yet).
pub fn given(kind: SimKind) -> Given<0> {
    Given {
        kind,
        settings: quick_settings(),
        quota: 100 * GIB,
        window_ends_at: None,
        configs: [],
        traffic: Vec::new(),
    }
}

pub struct Given<const N: usize> {
    kind: SimKind,
    settings: engine::EngineSettings,
    quota: i64,
    window_ends_at: Option<i64>,
    configs: [&'static str; N],
    traffic: Vec<(&'static str, i64)>,
}

impl<const N: usize> Given<N> {
    pub fn settings(self, settings: engine::EngineSettings) -> Self {
        Given { settings, ..self }
    }

    pub fn quota(self, quota: i64) -> Self {
        Given { quota, ..self }
    }

    pub fn window_ends_at(self, at: i64) -> Self {
        Given {
            window_ends_at: Some(at),
            ..self
        }
    }

    /// The reseller's configs by username, created in this order.
    pub fn configs<const M: usize>(self, configs: [&'static str; M]) -> Given<M> {
        let Given {
            kind,
            settings,
            quota,
            window_ends_at,
            traffic,
            ..
        } = self;
        Given {
            kind,
            settings,
            quota,
            window_ends_at,
            configs,
            traffic,
        }
    }

    /// Traffic the panel counts for a user once the configs exist.
    pub fn traffic(mut self, username: &'static str, bytes: i64) -> Self {
        self.traffic.push((username, bytes));
        self
    }

    pub async fn start(self) -> Scene<N> {
        let env = env_with(self.settings).await;
        let (panel, sim) = env.panel(self.kind).await;
        let reseller = env.reseller(panel, self.quota, self.window_ends_at).await;
        let mut configs = [0; N];
        for (id, name) in configs.iter_mut().zip(self.configs) {
            *id = env.config(reseller, panel, name).await;
        }
        for (name, bytes) in self.traffic {
            sim.add_traffic(name, bytes);
        }
        Scene {
            env,
            panel,
            sim,
            reseller,
            configs,
        }
    }
}

/// What `given(..).start()` made: the rows' ids, the simulator and the environment.
pub struct Scene<const N: usize> {
    pub env: Env,
    pub panel: i64,
    pub sim: Sim,
    pub reseller: i64,
    pub configs: [i64; N],
}
