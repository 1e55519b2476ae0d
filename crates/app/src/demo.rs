//! `vpnmarket demo`: the product with a fresh SQLite database, one simulated panel of each kind,
//! a traffic and a wallet reseller per pair of panels with configs, traffic that grows by itself,
//! and jobs run faster (sync every 10 s; one billing "hour" per real minute) so a newcomer can
//! watch metering, enforcement and billing within minutes. Nothing here touches a real panel.

use crate::config::Config;
use crate::serve::{open_engine, run_server, Announce};
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use db::audit::{Actor, Origin};
use domain::status::{ResellerKind, Role};
use panel_sim::{Sim, SimKind};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub const DEMO_PASSWORD: &str = "demo-pass";

/// The demo's clock for billing: an hour passes every real minute.
fn accelerated_clock(start: DateTime<Utc>) -> engine::scheduler::Clock {
    let origin = std::time::Instant::now();
    Arc::new(move || {
        start + chrono::Duration::milliseconds(origin.elapsed().as_millis() as i64 * 60)
    })
}

pub async fn run(mut config: Config, dir: Option<PathBuf>) -> Result<()> {
    let dir = dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("vpnmarket-demo-{}", std::process::id()))
    });
    // A fresh database every time: the demo's story starts at zero.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    config.data_dir = dir;
    config.database_url = String::new();
    let ctx = open_engine(&mut config).await?;
    let listener = crate::serve::bind(&config).await?;
    engine::ops::spawn_worker(ctx.clone());

    let mut sims = Vec::new();
    for kind in SimKind::ALL {
        sims.push(panel_sim::spawn(kind).await);
    }
    let mut panel_ids = Vec::new();
    for sim in &sims {
        panel_ids.push(register_panel(&ctx, sim).await?);
    }
    let admin_hash = web::password::hash_async(DEMO_PASSWORD.to_string()).await?;
    let mut conn = ctx.db.acquire().await?;
    db::users::create(&mut conn, "admin", &admin_hash, Role::Admin, None).await?;
    drop(conn);

    let system = Actor::system();
    let origin = Origin::default();
    let now = Utc::now();
    let plans = [
        ("traffic-shop", ResellerKind::Traffic, panel_ids[0], 4),
        ("wallet-shop", ResellerKind::Wallet, panel_ids[1], 3),
        ("traffic-xui", ResellerKind::Traffic, panel_ids[2], 2),
        ("wallet-eylandoo", ResellerKind::Wallet, panel_ids[3], 2),
        ("traffic-pasarguard", ResellerKind::Traffic, panel_ids[4], 2),
    ];
    for (name, kind, panel_id, configs) in plans {
        let hash = web::password::hash_async(DEMO_PASSWORD.to_string()).await?;
        let reseller = engine::resellers::create(
            &ctx,
            &system,
            &origin,
            engine::resellers::NewReseller {
                username: name.into(),
                password_hash: hash,
                display_name: Some(name.into()),
                kind: kind.to_string(),
                panel_id,
                config_limit: Some(20),
                // Small terms so enforcement and suspension show within a few minutes.
                traffic_quota_bytes: (kind == ResellerKind::Traffic)
                    .then_some(3 * domain::units::GIB),
                window_days: (kind == ResellerKind::Traffic).then_some(30),
                wallet_balance: (kind == ResellerKind::Wallet).then_some(20_000),
                wallet_price_per_gb: (kind == ResellerKind::Wallet).then_some(5_000),
                ..Default::default()
            },
            now,
        )
        .await
        .map_err(|e| anyhow::anyhow!("creating demo reseller {name}: {e:?}"))?;
        let actor = Actor::user(Role::Reseller, reseller.id, name);
        for i in 0..configs {
            engine::configs::create(
                &ctx,
                &actor,
                &origin,
                reseller.id,
                engine::configs::NewConfig {
                    traffic_limit_bytes: (5 + i) * domain::units::GIB,
                    expires_in_days: 30,
                    comment: Some(format!("customer {}", i + 1)),
                    ..Default::default()
                },
                now,
            )
            .await
            .map_err(|e| anyhow::anyhow!("creating a demo config for {name}: {e:?}"))?;
        }
    }

    tokio::spawn(grow_traffic(sims.clone()));
    let schedule = engine::scheduler::Schedule {
        sync_every: Duration::from_secs(10),
        billing_every: Duration::from_secs(5),
        billing_clock: accelerated_clock(now),
    };
    let lines = vec![
        "demo mode: 5 simulated panels (Marzban, Marzneshin, 3x-ui, Eylandoo, PasarGuard); traffic grows every 5 s;".to_string(),
        "  usage syncs every 10 s; wallet billing runs one \"hour\" per real minute".to_string(),
        format!("  sign in as admin / {DEMO_PASSWORD}"),
        format!("  resellers: traffic-shop, wallet-shop, traffic-xui, wallet-eylandoo, traffic-pasarguard (password {DEMO_PASSWORD})"),
        format!("  data: {}", config.data_dir.display()),
    ];
    run_server(
        ctx,
        listener,
        &config,
        Announce::Lines(lines),
        Some(schedule),
    )
    .await
}

async fn register_panel(ctx: &engine::Ctx, sim: &Sim) -> Result<i64> {
    let kind = sim.kind();
    let (user, pass, key) = match kind {
        SimKind::Eylandoo => (None, None, Some(ctx.keys.encrypt(sim.api_key()))),
        _ => (
            Some(sim.admin_username().to_string()),
            Some(ctx.keys.encrypt(sim.admin_password())),
            None,
        ),
    };
    let settings = match kind {
        SimKind::Xui => serde_json::json!({ "inbound_ids": [1], "sub_base_url": sim.root_url() }),
        // Marzneshin's services and PasarGuard's groups for new users.
        SimKind::Marzneshin | SimKind::PasarGuard => serde_json::json!({ "service_ids": [1] }),
        _ => serde_json::json!({}),
    };
    let mut conn = ctx.db.acquire().await?;
    Ok(db::panels::create(
        &mut conn,
        db::panels::NewPanel {
            name: &format!("demo {}", kind.as_str()),
            kind: kind.as_str().parse()?,
            base_url: &sim.base_url(),
            username: user.as_deref(),
            password_enc: pass.as_deref(),
            api_key_enc: key.as_deref(),
            settings: &settings.to_string(),
        },
    )
    .await?)
}

/// Whether a simulated customer can still move traffic, as a real panel decides: enabled, within
/// its data limit and before its expiry. Disabled, limited and expired users stay still, so
/// enforcement visibly stops them.
fn can_use_traffic(u: &panel_sim::SimUser, now: DateTime<Utc>) -> bool {
    u.enabled
        && u.limit_bytes.is_none_or(|l| u.used_bytes < l)
        && u.expires_at.is_none_or(|e| e > now)
}

/// Every 5 s each live user on each panel uses 10–60 MiB, differently per user.
async fn grow_traffic(sims: Vec<Sim>) {
    let mut tick: u64 = 0;
    loop {
        tokio::time::sleep(Duration::from_secs(5)).await;
        tick += 1;
        let now = Utc::now();
        for sim in &sims {
            for (i, u) in sim.users().iter().enumerate() {
                if !can_use_traffic(u, now) {
                    continue;
                }
                let mib = 10 + ((tick * 7 + i as u64 * 13) % 51) as i64;
                sim.add_traffic(&u.username, mib << 20);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(
        enabled: bool,
        used: i64,
        limit: Option<i64>,
        expires_in_h: Option<i64>,
    ) -> panel_sim::SimUser {
        panel_sim::SimUser {
            username: "u".into(),
            used_bytes: used,
            lifetime_bytes: used,
            limit_bytes: limit,
            expires_at: expires_in_h.map(|h| Utc::now() + chrono::Duration::hours(h)),
            enabled,
            max_clients: None,
            service_ids: vec![],
            inbound_ids: vec![],
            inbound_tags: vec![],
            node_ids: vec![],
            sub_id: String::new(),
        }
    }

    #[test]
    fn only_live_users_grow_in_the_demo() {
        let now = Utc::now();
        assert!(can_use_traffic(&user(true, 1, Some(10), Some(1)), now));
        assert!(can_use_traffic(&user(true, 1, None, None), now));
        assert!(
            !can_use_traffic(&user(false, 1, Some(10), Some(1)), now),
            "disabled"
        );
        assert!(
            !can_use_traffic(&user(true, 10, Some(10), None), now),
            "limited"
        );
        assert!(
            !can_use_traffic(&user(true, 1, None, Some(-1)), now),
            "expired"
        );
    }
}
