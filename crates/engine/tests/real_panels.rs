//! The product end to end against the REAL panels (Marzban, Marzneshin, PasarGuard) `../shared/real-panels/start.sh` runs
//! (issue 10 item 2): each scenario is written once over the panel kinds and asserts the panel's
//! own state, read through the panel's API, not our rows; traffic is written into the panel's
//! SQLite file as its usage job would. Without the `REAL_*` variables each test prints why it
//! was skipped (and fails under `CI=true`). Test names carry `real_<kind>::` for `.ci/run`.

mod support;

use domain::status::{ConfigStatus, JobStatus, ResellerStatus, Role};
use engine::ops::Outcome;
use panel_sim::real::{RealKind, RealPanel};
use support::*;

/// One scenario at a time: the real panels are single processes on a shared machine, and
/// parallel scenarios would only measure their queue (and the timeouts it causes).
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Real {
    _turn: tokio::sync::MutexGuard<'static, ()>,
    env: Env,
    real: RealPanel,
    panel: i64,
    /// Bytes written on the panel per config id: what lifetime usage must equal.
    written: std::collections::BTreeMap<i64, i64>,
}

async fn real(kind: RealKind) -> Option<Real> {
    let real = RealPanel::from_env(kind)?;
    let turn = ONE_AT_A_TIME.lock().await;
    // A real panel answers in its own time: the simulator's one-second limits would fail it.
    let env = env_with(engine::EngineSettings {
        wait_for_panel: std::time::Duration::from_secs(30),
        panel_request_timeout: std::time::Duration::from_secs(20),
        ..quick_settings()
    })
    .await;
    let panel = env.register_real(&real).await;
    Some(Real {
        _turn: turn,
        env,
        real,
        panel,
        written: Default::default(),
    })
}

impl Real {
    async fn reseller(&self, quota: i64) -> i64 {
        self.env.reseller(self.panel, quota, None).await
    }

    /// A config created on the real panel through the product's Create operation.
    async fn config(&mut self, reseller: i64, stem: &str) -> (i64, String) {
        let name = self.real.username(stem);
        let id = self.env.config(reseller, self.panel, &name).await;
        self.written.insert(id, 0);
        (id, name)
    }

    async fn traffic(&mut self, id: i64, name: &str, bytes: i64) {
        self.real.add_traffic(name, bytes).await;
        *self.written.entry(id).or_default() += bytes;
    }

    /// The user as the panel's API shows it (None = not there).
    async fn on_panel(&self, name: &str) -> Option<panels::RemoteUser> {
        let client = panels::connect(self.real.panel_config()).unwrap();
        client.get_user(name).await.unwrap()
    }

    async fn user(&self, name: &str) -> panels::RemoteUser {
        self.on_panel(name)
            .await
            .unwrap_or_else(|| panic!("{}: {name} is not on the panel", self.real.kind))
    }

    /// Lifetime usage of every config equals the traffic written on the panel, across resets.
    async fn assert_counted(&self) {
        self.env.sync().await;
        for (id, bytes) in &self.written {
            let c = self.env.get(*id).await;
            assert_eq!(
                c.lifetime_usage_bytes, *bytes,
                "{}: lifetime usage of {}",
                self.real.kind, c.username
            );
        }
    }
}

fn scope() -> engine::configs::Scope {
    engine::configs::Scope::Admin
}

/// Seed 000, one config: a disabled config's usage reset settles its usage and leaves it
/// disabled on the panel (Marzban's reset turns it back on; the product disables it again).
async fn reset_keeps_disabled(kind: RealKind) {
    let Some(mut w) = real(kind).await else {
        return;
    };
    let r = w.reseller(100 * GIB).await;
    let (a, name) = w.config(r, "rkd").await;
    w.traffic(a, &name, 5 * MIB).await;
    w.env.sync().await;
    w.env.disable(a).await;
    assert!(!w.user(&name).await.enabled, "{kind}: disabled before");
    assert_eq!(w.env.reset(a).await, Outcome::Done, "{kind}");
    let u = w.user(&name).await;
    assert_eq!(
        (u.used_bytes, u.enabled),
        (0, false),
        "{kind}: reset and still disabled"
    );
    let c = w.env.get(a).await;
    assert_eq!(c.settled_usage_bytes(), 5 * MIB, "{kind}: settled");
    w.traffic(a, &name, 2 * MIB).await;
    w.assert_counted().await;
}

/// Seed 000, reseller-wide: a suspended reseller's reset leaves every config disabled on the
/// panel, and a later sync does not bring the usage back.
async fn reseller_reset_without_resurrection(kind: RealKind) {
    let Some(mut w) = real(kind).await else {
        return;
    };
    let r = w.reseller(100 * GIB).await;
    let mut names = Vec::new();
    for stem in ["rwa", "rwb"] {
        let (id, name) = w.config(r, stem).await;
        w.traffic(id, &name, 3 * MIB).await;
        names.push(name);
    }
    w.env.sync().await;
    engine::resellers::suspend(
        &w.env.ctx,
        &admin(),
        &Default::default(),
        r,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    w.env.retry_pending().await;
    let job = engine::reset::start_reseller_reset(&w.env.ctx, r, &admin(), &Default::default())
        .await
        .unwrap();
    // A real panel takes its time: a minute at the most.
    let j = w.env.wait_job(job, 600).await;
    assert_eq!(j.status, JobStatus::Done, "{kind}: {}", j.result);
    for n in &names {
        let u = w.user(n).await;
        assert_eq!(
            (u.used_bytes, u.enabled),
            (0, false),
            "{kind}: {n} after the reset"
        );
    }
    w.env.sync().await;
    let quota_used = {
        let rr = w.env.reseller_row(r).await;
        let mut total = 0;
        for id in w.written.keys() {
            total += w.env.get(*id).await.lifetime_usage_bytes;
        }
        total - rr.quota_baseline_bytes
    };
    assert_eq!(quota_used, 0, "{kind}: the usage does not come back");
    w.assert_counted().await;
}

/// Disable, enable, edit limit and expiry, delete: each read back from the panel.
async fn disable_enable_edit_delete(kind: RealKind) {
    let Some(mut w) = real(kind).await else {
        return;
    };
    let r = w.reseller(100 * GIB).await;
    let (a, name) = w.config(r, "life").await;
    w.traffic(a, &name, MIB).await;
    let ctx = &w.env.ctx.clone();
    let now = chrono::Utc::now;
    engine::configs::disable(ctx, &admin(), &Default::default(), scope(), a, now())
        .await
        .unwrap();
    assert!(!w.user(&name).await.enabled, "{kind}: disabled");
    engine::configs::enable(ctx, &admin(), &Default::default(), scope(), a, now())
        .await
        .unwrap();
    assert!(w.user(&name).await.enabled, "{kind}: enabled");
    let patch = engine::configs::ConfigPatch {
        traffic_limit_bytes: Some(20 * GIB),
        expires_in_days: Some(10),
        ..Default::default()
    };
    let done = engine::configs::edit(ctx, &admin(), &Default::default(), scope(), a, patch, now())
        .await
        .unwrap();
    assert_eq!(done.outcome, Outcome::Done, "{kind}: edit");
    let u = w.user(&name).await;
    assert_eq!(u.limit_bytes, Some(20 * GIB), "{kind}: limit");
    assert_eq!(
        u.expires_at.map(|t| t.timestamp()),
        done.config.expires_at,
        "{kind}: expiry"
    );
    w.traffic(a, &name, MIB).await;
    w.env.sync().await;
    // In line with the panel: the sync found nothing to correct.
    assert_eq!(w.env.sync().await.drift, Default::default(), "{kind}");
    engine::configs::delete(ctx, &admin(), &Default::default(), scope(), a, now())
        .await
        .unwrap();
    assert!(w.on_panel(&name).await.is_none(), "{kind}: deleted");
    assert_eq!(w.env.get(a).await.lifetime_usage_bytes, 2 * MIB, "{kind}");
    w.assert_counted().await;
}

/// A traffic reseller over its quota is suspended (its configs disabled on the panel) and comes
/// back, configs enabled on the panel, when the admin adds traffic.
async fn quota_suspends_and_added_traffic_recovers(kind: RealKind) {
    let Some(mut w) = real(kind).await else {
        return;
    };
    let r = w.reseller(100 * MIB).await;
    let (a, name) = w.config(r, "quota").await;
    w.traffic(a, &name, 300 * MIB).await;
    w.env.sync().await;
    w.env.retry_pending().await;
    assert_eq!(
        w.env.reseller_row(r).await.status,
        ResellerStatus::Suspended,
        "{kind}"
    );
    assert!(
        !w.user(&name).await.enabled,
        "{kind}: disabled on the panel"
    );
    engine::resellers::add_traffic(
        &w.env.ctx,
        &admin(),
        &Default::default(),
        r,
        GIB,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    w.env.retry_pending().await;
    assert_eq!(
        w.env.reseller_row(r).await.status,
        ResellerStatus::Active,
        "{kind}"
    );
    assert!(
        w.user(&name).await.enabled,
        "{kind}: enabled again on the panel"
    );
    w.assert_counted().await;
}

/// A config enabled by hand on the panel while ours is disabled is disabled again by the next
/// sync, with a drift_corrected event.
async fn enabled_by_hand_is_disabled_again(kind: RealKind) {
    let Some(mut w) = real(kind).await else {
        return;
    };
    let r = w.reseller(100 * GIB).await;
    let (a, name) = w.config(r, "hand").await;
    w.traffic(a, &name, MIB).await;
    w.env.disable(a).await;
    let client = panels::connect(w.real.panel_config()).unwrap();
    client.enable_user(&name).await.unwrap();
    assert!(w.user(&name).await.enabled, "{kind}: enabled by hand");
    let report = w.env.sync().await;
    assert_eq!(report.drift.corrected, 1, "{kind}: {report:?}");
    w.env.retry_pending().await;
    assert!(
        !w.user(&name).await.enabled,
        "{kind}: disabled again on the panel"
    );
    let mut conn = w.env.conn().await;
    let events = db::configs::events(&mut conn, a).await.unwrap();
    drop(conn);
    assert!(
        events
            .iter()
            .any(|e| e.kind == domain::status::ConfigEventKind::DriftCorrected),
        "{kind}: {events:?}"
    );
    assert_eq!(w.env.get(a).await.status, ConfigStatus::Disabled);
    w.assert_counted().await;
}

/// A config deleted by hand on the panel shows as missing after the next sync; nothing is
/// re-created until the admin asks; its usage stays counted.
async fn deleted_by_hand_shows_missing(kind: RealKind) {
    let Some(mut w) = real(kind).await else {
        return;
    };
    let r = w.reseller(100 * GIB).await;
    let (a, name) = w.config(r, "gone").await;
    w.traffic(a, &name, 4 * MIB).await;
    w.env.sync().await;
    let client = panels::connect(w.real.panel_config()).unwrap();
    client.delete_user(&name).await.unwrap();
    let report = w.env.sync().await;
    assert_eq!(report.drift.missing, 1, "{kind}: {report:?}");
    w.env.retry_pending().await;
    w.env.sync().await;
    w.env.retry_pending().await;
    assert!(
        w.on_panel(&name).await.is_none(),
        "{kind}: not re-created silently"
    );
    let c = w.env.get(a).await;
    assert!(c.missing_on_panel_at.is_some(), "{kind}");
    assert_eq!(c.lifetime_usage_bytes, 4 * MIB, "{kind}: still counted");
    let out = engine::drift::recreate(&w.env.ctx, &admin(), &Default::default(), a)
        .await
        .unwrap();
    assert_eq!(out, Outcome::Done, "{kind}");
    assert!(
        w.on_panel(&name).await.is_some(),
        "{kind}: re-created when asked"
    );
    w.traffic(a, &name, MIB).await;
    w.assert_counted().await;
}

/// A wallet reseller suspended by hourly billing (its configs disabled on the panel) is active
/// again, configs enabled on the panel, once the admin approves its top-up.
async fn wallet_suspended_by_billing_and_reenabled_by_topup(kind: RealKind) {
    let Some(mut w) = real(kind).await else {
        return;
    };
    let now = chrono::Utc::now();
    let r = w
        .env
        .wallet_reseller(w.panel, Wallet::at(1_000, Some(5_000), now))
        .await;
    let (a, name) = w.config(r, "wallet").await;
    w.traffic(a, &name, GIB).await;
    w.env.sync().await;
    let report = engine::billing::run_once(&w.env.ctx, now + chrono::Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(report.resellers_suspended, 1, "{kind}: {report:?}");
    w.env.retry_pending().await;
    assert_eq!(
        w.env.reseller_row(r).await.status,
        ResellerStatus::SuspendedWallet
    );
    assert!(
        !w.user(&name).await.enabled,
        "{kind}: disabled on the panel"
    );

    const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
    let dir = std::env::temp_dir().join(format!("vm-real-{}", engine::secrets::random_token()));
    let reseller = db::audit::Actor::user(Role::Reseller, 2, "shop");
    let topup = engine::topups::submit(
        &w.env.ctx,
        &dir,
        r,
        10_000,
        PNG,
        &reseller,
        &Default::default(),
    )
    .await
    .map_err(|e| format!("{e:?}"))
    .unwrap();
    engine::topups::approve(&w.env.ctx, topup.id, &admin(), &Default::default())
        .await
        .unwrap();
    w.env.retry_pending().await;
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        w.env.reseller_row(r).await.status,
        ResellerStatus::Active,
        "{kind}"
    );
    assert!(
        w.user(&name).await.enabled,
        "{kind}: enabled again on the panel"
    );
    w.assert_counted().await;
}

/// Issue 15: users the panel's admin made there, with traffic already used, imported into a
/// reseller: the panel's owner is read (an import naming another owner refuses them), the
/// configs keep the panel's limit, and only the traffic after the import is counted.
async fn import_counts_only_traffic_after_it(kind: RealKind) {
    let Some(w) = real(kind).await else {
        return;
    };
    let r = w.reseller(100 * GIB).await;
    let client = panels::connect(w.real.panel_config()).unwrap();
    let mut names = Vec::new();
    for stem in ["impa", "impb"] {
        let name = w.real.username(stem);
        client
            .create_user(&panels::NewUser {
                username: name.clone(),
                limit_bytes: 10 * GIB,
                expires_at: Some(chrono::Utc::now() + chrono::Duration::days(30)),
                ..Default::default()
            })
            .await
            .unwrap_or_else(|e| panic!("{kind}: creating {name} on the panel: {e}"));
        w.real.set_used_traffic(&name, 7 * MIB).await;
        names.push(name);
    }
    let owner = w.user(&names[0]).await.owner;
    assert_eq!(
        owner.as_deref(),
        Some("admin"),
        "{kind}: the panel names its admin"
    );
    let named = |owner: &str| engine::import::Selection {
        usernames: Some(names.clone()),
        owner: Some(owner.to_string()),
        ..Default::default()
    };
    let plan = engine::import::plan(&w.env.ctx, w.panel, r, &named("someone-else"))
        .await
        .unwrap();
    assert!(plan.usernames.is_empty(), "{kind}: {plan:?}");
    assert_eq!(plan.refused.len(), 2, "{kind}: {plan:?}");

    let (job, plan) = engine::import::start(
        &w.env.ctx,
        w.panel,
        r,
        &named("admin"),
        false,
        &admin(),
        &Default::default(),
    )
    .await
    .unwrap();
    assert_eq!(plan.usernames.len(), 2, "{kind}");
    let job = w.env.wait_job(job, 300).await;
    assert_eq!(job.status, JobStatus::Done, "{kind}: {}", job.result);
    w.env.sync().await;
    for name in &names {
        let c: db::configs::Config = {
            let mut conn = w.env.conn().await;
            db::q::one(
                &mut conn,
                "SELECT * FROM configs WHERE username = $1",
                (name.as_str(),),
            )
            .await
            .unwrap()
        };
        assert_eq!(
            (c.traffic_limit_bytes, c.lifetime_usage_bytes, c.status),
            (10 * GIB, 0, ConfigStatus::Active),
            "{kind}: {name} imported with nothing of its history counted"
        );
        w.real.add_traffic(name, 3 * MIB).await;
    }
    w.env.sync().await;
    for name in &names {
        let lifetime: i64 = {
            let mut conn = w.env.conn().await;
            db::q::scalar(
                &mut conn,
                "SELECT lifetime_usage_bytes FROM configs WHERE username = $1",
                (name.as_str(),),
            )
            .await
            .unwrap()
        };
        assert_eq!(
            lifetime,
            3 * MIB,
            "{kind}: {name}: exactly the traffic after the import"
        );
    }
    assert_eq!(
        w.env.audit_count("panel_config_attached").await,
        2,
        "{kind}"
    );
}

/// Each scenario once per real panel, as `real_<kind>::<scenario>` (the names `.ci/run` counts).
macro_rules! real_scenarios {
    ($scenarios:tt for $($kind_module:ident => $kind:expr),+ $(,)?) => {
        $( real_scenarios!(@one $kind_module, $kind, $scenarios); )+
    };
    (@one $kind_module:ident, $kind:expr, [$($name:ident),+ $(,)?]) => {
        mod $kind_module {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($kind).await
                }
            )+
        }
    };
}

real_scenarios!(
    [
        reset_keeps_disabled,
        reseller_reset_without_resurrection,
        disable_enable_edit_delete,
        quota_suspends_and_added_traffic_recovers,
        wallet_suspended_by_billing_and_reenabled_by_topup,
        enabled_by_hand_is_disabled_again,
        deleted_by_hand_shows_missing,
        import_counts_only_traffic_after_it,
    ] for
    real_marzban => RealKind::Marzban,
    real_marzneshin => RealKind::Marzneshin,
    real_pasarguard => RealKind::PasarGuard,
);
