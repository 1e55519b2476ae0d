//! One contract, run against the simulator of every panel kind over real loopback sockets, and its
//! shared cases also against the real panels of `panels.env` (modules `real_<kind>`, skipped with a
//! message when the `REAL_*` variables are absent). `contract!` makes one #[tokio::test] per kind.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeZone, Utc};
use panel_sim::real::{RealKind, RealPanel};
use panel_sim::{Fault, Sim, SimKind, SimOp, SimUser};
use panels::{
    connect, NewUser, PanelClient, PanelConfig, PanelError, PanelKind, RemoteState, RemoteUser,
    UserLimits,
};

const GIB: i64 = 1024 * 1024 * 1024;
const MIB: i64 = 1024 * 1024;

/// Marzneshin's non-default service (PasarGuard's group), 3x-ui's first (vless) inbound,
/// Eylandoo's second node: the seeded defaults differ, so a placement that ignored the settings
/// would show.
const SERVICE: i64 = 2;
const INBOUND: i64 = 1;
const NODE: i64 = 2;

fn panel_kind(kind: SimKind) -> PanelKind {
    match kind {
        SimKind::Marzban => PanelKind::Marzban,
        SimKind::Marzneshin => PanelKind::Marzneshin,
        SimKind::Xui => PanelKind::Xui,
        SimKind::Eylandoo => PanelKind::Eylandoo,
        SimKind::PasarGuard => PanelKind::PasarGuard,
    }
}

fn config(sim: &Sim, kind: SimKind) -> PanelConfig {
    let mut c = PanelConfig::new(panel_kind(kind), sim.base_url());
    c = match kind {
        SimKind::Eylandoo => c.with_api_key(sim.api_key()),
        _ => c.with_login(sim.admin_username(), sim.admin_password()),
    };
    c.settings.service_ids = vec![SERVICE];
    c.settings.inbound_ids = vec![INBOUND];
    c.settings.node_ids = vec![NODE];
    // The 3x-ui subscription server listens at the root, outside the web base path.
    c.settings.sub_base_url = Some(sim.root_url());
    c.connect_timeout = Duration::from_secs(2);
    c.request_timeout = Duration::from_secs(10);
    c
}

fn client(config: PanelConfig) -> Arc<dyn PanelClient> {
    connect(config).expect("adapter builds")
}

async fn start(kind: SimKind) -> (Sim, Arc<dyn PanelClient>) {
    let sim = panel_sim::spawn(kind).await;
    let c = client(config(&sim, kind));
    (sim, c)
}

/// 00:00 Asia/Tehran, `days` from today: how the product stores every expiry.
fn day_end(days: u64) -> DateTime<Utc> {
    let tehran = chrono::FixedOffset::east_opt(12_600).unwrap();
    let today = Utc::now().with_timezone(&tehran).date_naive();
    let d = today.checked_add_days(Days::new(days)).unwrap();
    tehran
        .from_local_datetime(&d.and_time(NaiveTime::MIN))
        .unwrap()
        .with_timezone(&Utc)
}

fn tehran_date(t: DateTime<Utc>) -> NaiveDate {
    (t + chrono::Duration::minutes(210)).date_naive()
}

fn new_user(name: &str) -> NewUser {
    NewUser {
        username: name.to_string(),
        limit_bytes: 10 * GIB,
        expires_at: Some(day_end(30)),
        max_clients: Some(2),
        note: Some("contract test".into()),
        ..NewUser::default()
    }
}

async fn create(c: &Arc<dyn PanelClient>, name: &str) -> RemoteUser {
    c.create_user(&new_user(name)).await.expect("create")
}

fn sim_user(sim: &Sim, name: &str) -> SimUser {
    sim.user(name)
        .unwrap_or_else(|| panic!("{name} missing on the panel"))
}

async fn remote(c: &Arc<dyn PanelClient>, name: &str) -> RemoteUser {
    c.get_user(name)
        .await
        .expect("get")
        .unwrap_or_else(|| panic!("{name} not found"))
}

/// The expiry the panel holds: exact where it stores instants, the Tehran date on Eylandoo.
fn assert_panel_expiry(kind: SimKind, u: &SimUser, want: Option<DateTime<Utc>>) {
    match (kind, want) {
        (SimKind::Eylandoo, Some(t)) => assert_eq!(
            u.expires_at.map(|e| e.date_naive()),
            Some(tehran_date(t)),
            "Eylandoo gets the Tehran date of the day end"
        ),
        // Eylandoo cannot say "never"; it gets a date ten years out.
        (SimKind::Eylandoo, None) => assert!(
            u.expires_at
                .is_some_and(|e| e > Utc::now() + chrono::Duration::days(9 * 365)),
            "{:?}",
            u.expires_at
        ),
        _ => assert_eq!(u.expires_at, want),
    }
}

// ---------------------------------------------------------------------------------------------
// The target of a shared case

/// What a shared case runs against: a simulator, whose own state the case also checks, or a real
/// panel, read only through the adapter (and shared with other runs, so names are unique and
/// other users may be listed).
struct Target {
    kind: PanelKind,
    client: Arc<dyn PanelClient>,
    sim: Option<Sim>,
    real: Option<RealPanel>,
}

impl Target {
    async fn sim(kind: SimKind) -> Target {
        let (sim, client) = start(kind).await;
        Target {
            kind: panel_kind(kind),
            client,
            sim: Some(sim),
            real: None,
        }
    }

    /// None (after printing why) when the panel's variables are absent.
    fn real(kind: RealKind) -> Option<Target> {
        let real = RealPanel::from_env(kind)?;
        Some(Target {
            kind: kind.panel_kind(),
            client: client(real.panel_config()),
            sim: None,
            real: Some(real),
        })
    }

    fn config(&self) -> PanelConfig {
        match (&self.sim, &self.real) {
            (Some(sim), _) => config(sim, sim.kind()),
            (_, Some(real)) => real.panel_config(),
            _ => unreachable!(),
        }
    }

    /// A user name for this case: fixed on a simulator, unique (and deleted afterwards) on a
    /// real panel.
    fn name(&self, stem: &str) -> String {
        match &self.real {
            Some(real) => real.username(stem),
            None => format!("ct_{stem}"),
        }
    }

    async fn add_traffic(&self, name: &str, bytes: i64) {
        match (&self.sim, &self.real) {
            (Some(sim), _) => assert!(sim.add_traffic(name, bytes), "{name} unknown"),
            (_, Some(real)) => real.add_traffic(name, bytes).await,
            _ => unreachable!(),
        }
    }

    /// The panel's listing. The real Marzban answers 500 when it lists while another test's
    /// user is half deleted (its row still there, its proxies gone: "Each user needs at least one
    /// proxy"); the product's sync then skips that run, and here the listing is asked again.
    async fn listing(&self) -> Vec<RemoteUser> {
        let mut tries = 0;
        loop {
            match self.client.list_users().await {
                Ok(users) => return users,
                Err(panels::PanelError::Rejected { status, .. }) if status >= 500 && tries < 5 => {
                    tries += 1;
                    eprintln!("{}: listing answered {status}; asking again", self.kind);
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                Err(e) => panic!("{}: listing: {e}", self.kind),
            }
        }
    }

    fn sim_user(&self, name: &str) -> Option<SimUser> {
        self.sim.as_ref().map(|sim| sim_user(sim, name))
    }

    /// Waits for the panel's review job to mark `name` limited (the simulator's runs at once on
    /// request; Marzban's real one every 10 s, Marzneshin reports it at once).
    async fn limited(&self, name: &str) -> RemoteUser {
        if let Some(sim) = &self.sim {
            sim.run_review();
        }
        let deadline = Instant::now() + Duration::from_secs(45);
        loop {
            let users = self.listing().await;
            let u = users.into_iter().find(|u| u.username == name).unwrap();
            if u.state == RemoteState::Limited || Instant::now() > deadline {
                return u;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Shared cases: the simulators and the real panels

async fn create_places_the_user(t: &Target) {
    let name = t.name("create");
    let created = create(&t.client, &name).await;
    assert_eq!(created.username, name);
    assert_eq!(created.limit_bytes, Some(10 * GIB));
    assert_eq!(created.expires_at, Some(day_end(30)));
    assert!(created.enabled);
    assert_eq!(created.state, RemoteState::Active);
    assert_eq!(created.used_bytes, 0);
    let r = remote(&t.client, &name).await;
    assert_eq!(
        (r.limit_bytes, r.expires_at),
        (Some(10 * GIB), Some(day_end(30)))
    );

    let Some(u) = t.sim_user(&name) else { return };
    let kind = t.sim.as_ref().unwrap().kind();
    assert_eq!(u.limit_bytes, Some(10 * GIB));
    assert_panel_expiry(kind, &u, Some(day_end(30)));
    assert!(u.enabled);
    match kind {
        SimKind::Marzban => {
            // Every inbound the panel lists, not none (Marzban's quirk when `inbounds` is omitted).
            let mut tags = u.inbound_tags.clone();
            tags.sort();
            assert_eq!(tags, ["Trojan TCP", "VLESS TCP", "VLESS WS", "VMess WS"]);
            assert_eq!(u.max_clients, None, "Marzban has no connection limit");
        }
        SimKind::Marzneshin => assert_eq!(u.service_ids, [SERVICE]),
        SimKind::PasarGuard => {
            assert_eq!(u.service_ids, [SERVICE], "the configured group");
            assert_eq!(u.max_clients, None, "v3.1 has no device limit");
        }
        SimKind::Xui => {
            assert_eq!(u.inbound_ids, [INBOUND]);
            assert_eq!(u.max_clients, Some(2), "limitIp");
            assert!(!u.sub_id.is_empty());
        }
        SimKind::Eylandoo => {
            assert_eq!(u.node_ids, [NODE]);
            assert_eq!(u.max_clients, Some(2));
        }
    }
}

async fn create_twice_is_a_plain_rejection(t: &Target) {
    let name = t.name("dup");
    create(&t.client, &name).await;
    let err = t.client.create_user(&new_user(&name)).await.unwrap_err();
    assert!(matches!(err, PanelError::Rejected { .. }), "{err:?}");
    assert!(!err.outcome_unknown(), "the panel clearly said no");
    assert!(!err.is_retryable());
    if let Some(sim) = &t.sim {
        assert_eq!(sim.users().len(), 1);
    }
}

async fn unlimited_and_never(t: &Target) {
    let name = t.name("free");
    let user = NewUser {
        limit_bytes: 0,
        expires_at: None,
        ..new_user(&name)
    };
    let created = t.client.create_user(&user).await.unwrap();
    assert_eq!((created.limit_bytes, created.expires_at), (None, None));
    if let (Some(u), Some(sim)) = (t.sim_user(&name), &t.sim) {
        assert_eq!(u.limit_bytes, None);
        assert_panel_expiry(sim.kind(), &u, None);
    }
    let r = remote(&t.client, &name).await;
    assert_eq!((r.limit_bytes, r.expires_at), (None, None));
}

async fn get_reads_back(t: &Target) {
    let name = t.name("get");
    create(&t.client, &name).await;
    let r = remote(&t.client, &name).await;
    assert_eq!(r.username, name);
    assert_eq!(r.limit_bytes, Some(10 * GIB));
    assert_eq!(r.expires_at, Some(day_end(30)));
    assert!(r.enabled);
    assert_eq!(r.state, RemoteState::Active);
    assert_eq!(t.client.get_user(&t.name("nobody")).await.unwrap(), None);
    // A user the panel holds but we never created is read the same way.
    if let Some(sim) = &t.sim {
        sim.seed_users("ct_seed_", 1, 7 * MIB);
        assert_eq!(remote(&t.client, "ct_seed_0").await.used_bytes, 7 * MIB);
    }
}

async fn list_shows_usage(t: &Target) {
    let (a_name, b_name) = (t.name("a"), t.name("b"));
    let a0 = create(&t.client, &a_name).await;
    create(&t.client, &b_name).await;
    t.add_traffic(&a_name, 5 * MIB).await;
    let users = t.listing().await;
    if t.sim.is_some() {
        assert_eq!(users.len(), 2);
    }
    let a = users.iter().find(|u| u.username == a_name).unwrap();
    let b = users.iter().find(|u| u.username == b_name).unwrap();
    assert_eq!(a.used_bytes, 5 * MIB);
    assert_eq!(b.used_bytes, 0);
    assert_eq!(a.limit_bytes, Some(10 * GIB));
    match t.kind {
        // Eylandoo reports no counter that survives resets.
        PanelKind::Eylandoo => assert_eq!(a.lifetime_used_bytes, None),
        // Relative: a real panel on SQLite may give a new user a deleted one's id and history.
        _ => assert_eq!(
            a.lifetime_used_bytes.unwrap() - a0.lifetime_used_bytes.unwrap_or(0),
            5 * MIB
        ),
    }
    // Usage past the limit shows as limited, on Marzban once its review job has run.
    t.add_traffic(&b_name, 10 * GIB).await;
    let b = t.limited(&b_name).await;
    assert_eq!(b.state, RemoteState::Limited);
    assert!(b.enabled, "limited is not the admin switch");
}

async fn update_limits(t: &Target) {
    let name = t.name("upd");
    create(&t.client, &name).await;
    t.add_traffic(&name, 3 * MIB).await;
    let before = t.sim_user(&name);
    let sub_before = t.client.subscription_url(&name).await.unwrap();

    let limits = UserLimits {
        limit_bytes: Some(20 * GIB),
        expires_at: Some(Some(day_end(60))),
        max_clients: Some(3),
    };
    t.client.update_user(&name, &limits).await.unwrap();
    if let (Some(u), Some(before), Some(sim)) = (t.sim_user(&name), &before, &t.sim) {
        let kind = sim.kind();
        assert_eq!(u.limit_bytes, Some(20 * GIB));
        assert_panel_expiry(kind, &u, Some(day_end(60)));
        match kind {
            SimKind::Xui | SimKind::Eylandoo => assert_eq!(u.max_clients, Some(3)),
            _ => assert_eq!(u.max_clients, None),
        }
        // Nothing else moved; on 3x-ui the whole client was written back.
        assert!(u.enabled);
        assert_eq!(u.used_bytes, 3 * MIB);
        assert_eq!(u.sub_id, before.sub_id);
        assert_eq!(u.inbound_ids, before.inbound_ids);
        assert_eq!(u.service_ids, before.service_ids);
        assert_eq!(u.node_ids, before.node_ids);
        assert_eq!(u.inbound_tags, before.inbound_tags);
    }
    if !matches!(t.kind, PanelKind::Marzban | PanelKind::PasarGuard) {
        // Marzban and PasarGuard sign a fresh token into every URL; the others keep theirs.
        assert_eq!(t.client.subscription_url(&name).await.unwrap(), sub_before);
    }
    let r = remote(&t.client, &name).await;
    assert_eq!(r.limit_bytes, Some(20 * GIB));
    assert_eq!(r.expires_at, Some(day_end(60)));
    assert_eq!(r.used_bytes, 3 * MIB);
    assert!(r.enabled);

    // Unlimited and never.
    let limits = UserLimits {
        limit_bytes: Some(0),
        expires_at: Some(None),
        max_clients: None,
    };
    t.client.update_user(&name, &limits).await.unwrap();
    if let (Some(u), Some(sim)) = (t.sim_user(&name), &t.sim) {
        assert_eq!(u.limit_bytes, None);
        assert_panel_expiry(sim.kind(), &u, None);
    }
    let r = remote(&t.client, &name).await;
    assert_eq!((r.limit_bytes, r.expires_at), (None, None));

    let err = t
        .client
        .update_user(
            &t.name("missing"),
            &UserLimits {
                limit_bytes: Some(GIB),
                ..UserLimits::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, PanelError::NotFound(_)), "{err:?}");
}

/// Only the limit, expiry untouched (Marzneshin answers 500 to a body without an expire field).
async fn update_only_the_limit(t: &Target) {
    let name = t.name("lim");
    create(&t.client, &name).await;
    let limits = UserLimits {
        limit_bytes: Some(5 * GIB),
        ..UserLimits::default()
    };
    t.client.update_user(&name, &limits).await.unwrap();
    if let (Some(u), Some(sim)) = (t.sim_user(&name), &t.sim) {
        assert_eq!(u.limit_bytes, Some(5 * GIB));
        assert_panel_expiry(sim.kind(), &u, Some(day_end(30)));
    }
    let r = remote(&t.client, &name).await;
    assert_eq!(
        (r.limit_bytes, r.expires_at),
        (Some(5 * GIB), Some(day_end(30)))
    );
}

async fn enable_disable_are_idempotent(t: &Target) {
    let name = t.name("sw");
    create(&t.client, &name).await;
    for _ in 0..2 {
        t.client.disable_user(&name).await.unwrap();
        if let Some(u) = t.sim_user(&name) {
            assert!(!u.enabled);
        }
    }
    let r = remote(&t.client, &name).await;
    assert!(!r.enabled);
    assert_eq!(r.state, RemoteState::Disabled);
    for _ in 0..2 {
        t.client.enable_user(&name).await.unwrap();
        if let Some(u) = t.sim_user(&name) {
            assert!(u.enabled);
        }
    }
    let r = remote(&t.client, &name).await;
    assert!(r.enabled);
    assert_eq!(r.state, RemoteState::Active);
    if let Some(sim) = t
        .sim
        .as_ref()
        .filter(|s| matches!(s.kind(), SimKind::Xui | SimKind::Eylandoo))
    {
        // Read-then-write panels skip the write when the state is already right.
        assert_eq!(sim.requests(SimOp::Disable), 1);
        assert_eq!(sim.requests(SimOp::Enable), 1);
    }
    let err = t.client.disable_user(&t.name("missing")).await.unwrap_err();
    assert!(matches!(err, PanelError::NotFound(_)), "{err:?}");
}

async fn reset_zeroes_the_counter(t: &Target) {
    let name = t.name("reset");
    let created = create(&t.client, &name).await;
    t.add_traffic(&name, 9 * MIB).await;
    assert_eq!(remote(&t.client, &name).await.used_bytes, 9 * MIB);
    t.client.reset_usage(&name).await.unwrap();
    if let Some(u) = t.sim_user(&name) {
        assert_eq!(u.used_bytes, 0);
        assert_eq!(u.lifetime_bytes, 9 * MIB);
    }
    let r = remote(&t.client, &name).await;
    assert_eq!(r.used_bytes, 0);
    if t.kind != PanelKind::Eylandoo {
        let since_create =
            r.lifetime_used_bytes.unwrap() - created.lifetime_used_bytes.unwrap_or(0);
        assert_eq!(
            since_create,
            9 * MIB,
            "the lifetime counter keeps the reset usage"
        );
    }
    let err = t.client.reset_usage(&t.name("missing")).await.unwrap_err();
    assert!(matches!(err, PanelError::NotFound(_)), "{err:?}");
}

/// What the panel does with the switch of a disabled user on reset (spec/panels.md §9): Marzban
/// turns it back on, the others leave it off. The adapter reports it as it is; the engine
/// disables it again (its reset test).
async fn reset_of_a_disabled_user(t: &Target) {
    let name = t.name("rdis");
    create(&t.client, &name).await;
    t.add_traffic(&name, 2 * MIB).await;
    t.client.disable_user(&name).await.unwrap();
    t.client.reset_usage(&name).await.unwrap();
    let r = remote(&t.client, &name).await;
    assert_eq!(r.used_bytes, 0);
    let re_enables = t.kind == PanelKind::Marzban;
    assert_eq!(r.enabled, re_enables, "{}", t.kind);
    if let Some(u) = t.sim_user(&name) {
        assert_eq!(u.enabled, re_enables);
    }
    if !re_enables {
        assert_eq!(r.state, RemoteState::Disabled);
    }
}

async fn delete_twice(t: &Target) {
    let (del, keep) = (t.name("del"), t.name("keep"));
    create(&t.client, &del).await;
    create(&t.client, &keep).await;
    t.client.delete_user(&del).await.unwrap();
    if let Some(sim) = &t.sim {
        assert!(sim.user(&del).is_none());
    }
    t.client.delete_user(&del).await.unwrap();
    assert_eq!(t.client.get_user(&del).await.unwrap(), None);
    assert!(
        t.client.get_user(&keep).await.unwrap().is_some(),
        "only the named user goes"
    );
    // The name is free again (Marzneshin deletes softly, and still lets the name be reused).
    create(&t.client, &del).await;
    assert!(t.client.get_user(&del).await.unwrap().is_some());
}

async fn subscription_url_is_absolute_and_serves(t: &Target) {
    let name = t.name("sub");
    let created = create(&t.client, &name).await;
    let url = t.client.subscription_url(&name).await.unwrap();
    let parsed = url::Url::parse(&url).expect("absolute URL");
    assert_eq!(parsed.scheme(), "http");
    assert_eq!(parsed.host_str(), Some("127.0.0.1"));
    let created_url = created.subscription_url.expect("create returns the URL");
    assert!(url::Url::parse(&created_url).is_ok(), "{created_url}");
    // What the end customer does with it: fetch it.
    for u in [url, created_url] {
        let resp = reqwest::get(&u).await.unwrap();
        assert!(resp.status().is_success(), "{u}: {}", resp.status());
        assert!(resp.headers().contains_key("subscription-userinfo"), "{u}");
    }
    if let Some(sim) = &t.sim {
        assert!(sim.requests(SimOp::Subscription) >= 2);
    }
    let err = t
        .client
        .subscription_url(&t.name("missing"))
        .await
        .unwrap_err();
    assert!(matches!(err, PanelError::NotFound(_)), "{err:?}");
}

async fn wrong_credentials_are_auth_errors(t: &Target) {
    let mut cfg = t.config();
    cfg.password = Some("wrong-password".into());
    cfg.api_key = cfg.api_key.map(|_| "wrong".into());
    let c = client(cfg);
    let err = c.test_connection().await.unwrap_err();
    assert!(matches!(err, PanelError::Auth(_)), "{err:?}");
    assert!(!err.is_retryable());
    let name = t.name("x");
    let err = c.create_user(&new_user(&name)).await.unwrap_err();
    assert!(matches!(err, PanelError::Auth(_)), "{err:?}");
    assert_eq!(t.client.get_user(&name).await.unwrap(), None);
}

async fn test_connection_and_choices(t: &Target) {
    let c = &t.client;
    assert_eq!(c.kind(), t.kind);
    let info = c.test_connection().await.unwrap();
    match t.kind {
        PanelKind::Marzban => assert_eq!(info.version.as_deref(), Some("0.8.4")),
        PanelKind::PasarGuard => assert_eq!(info.version.as_deref(), Some("3.1.0")),
        _ => {}
    }
    let ch = c.list_choices().await.unwrap();
    let ids = |v: &[panels::Choice]| v.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
    match (t.kind, t.sim.is_some()) {
        (PanelKind::Marzban, true) => assert!(ids(&ch.inbounds).contains(&"VMess WS".to_string())),
        (PanelKind::Marzban, false) => {
            assert!(
                ids(&ch.inbounds).contains(&"VLESS TCP".to_string()),
                "{ch:?}"
            )
        }
        (PanelKind::Marzneshin, true) => assert_eq!(ids(&ch.services), ["1", "2"]),
        // start.sh's one service; other runs may have added more.
        (PanelKind::Marzneshin, false) => assert!(ids(&ch.services).contains(&"1".to_string())),
        (PanelKind::PasarGuard, true) => assert_eq!(ids(&ch.services), ["1", "2"]),
        // start.sh's `default` group; other runs may have added more.
        (PanelKind::PasarGuard, false) => {
            assert!(ids(&ch.services).contains(&"1".to_string()), "{ch:?}");
            assert!(
                ids(&ch.inbounds).contains(&"Shadowsocks TCP".to_string()),
                "{ch:?}"
            );
        }
        (PanelKind::Xui, _) => assert_eq!(ids(&ch.inbounds), ["1", "2", "3"]),
        (PanelKind::Eylandoo, _) => assert_eq!(ids(&ch.nodes), ["1", "2"]),
    }
}

// ---------------------------------------------------------------------------------------------
// Simulator-only cases: they count requests, inject faults or read the simulator's state

async fn logs_in_again_after_tokens_expire(kind: SimKind) {
    let (sim, c) = start(kind).await;
    create(&c, "ct_auth").await;
    let logins = sim.requests(SimOp::Auth);
    // The cached session is reused, not renewed per call.
    remote(&c, "ct_auth").await;
    c.list_users().await.unwrap();
    assert_eq!(sim.requests(SimOp::Auth), logins);

    sim.expire_tokens();
    c.disable_user("ct_auth").await.unwrap();
    assert!(!sim_user(&sim, "ct_auth").enabled);
    remote(&c, "ct_auth").await;
    match kind {
        SimKind::Eylandoo => assert_eq!(sim.requests(SimOp::Auth), 0, "static key, no login"),
        _ => assert_eq!(
            sim.requests(SimOp::Auth),
            logins + 1,
            "exactly one fresh login"
        ),
    }
}

async fn concurrent_calls_share_one_login(kind: SimKind) {
    let (sim, c) = start(kind).await;
    sim.seed_users("ct_par_", 8, 0);
    let calls = (0..8).map(|i| {
        let c = c.clone();
        async move { c.get_user(&format!("ct_par_{i}")).await }
    });
    for r in futures_join(calls).await {
        assert!(r.unwrap().is_some());
    }
    let expected = if kind == SimKind::Eylandoo { 0 } else { 1 };
    assert_eq!(sim.requests(SimOp::Auth), expected);
}

/// Bulk sync costs ceil(N / page) list requests, exact multiples included.
async fn bulk_listing_request_count(kind: SimKind) {
    let (sim, c) = start(kind).await;
    let expected_page = match kind {
        SimKind::Marzban | SimKind::Marzneshin | SimKind::PasarGuard => 100,
        SimKind::Xui | SimKind::Eylandoo => usize::MAX,
    };
    c.test_connection().await.unwrap(); // log in outside the counted window
    assert_eq!(c.page_size(), expected_page);
    for (n, used) in [(200usize, 1000i64), (250, 1000)] {
        sim.seed_users("ct_bulk_", n, used);
        sim.reset_request_counts();
        let users = c.list_users().await.unwrap();
        assert_eq!(users.len(), n);
        assert!(users.iter().all(|u| u.used_bytes == used));
        let mut names: Vec<&str> = users.iter().map(|u| u.username.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n, "no user listed twice");
        assert_eq!(
            sim.requests(SimOp::List),
            n.div_ceil(expected_page) as u64,
            "N = {n}"
        );
        assert_eq!(sim.requests(SimOp::Auth), 0);
    }
}

// --- faults --------------------------------------------------------------------------------

/// `disable_user` under a fault on its write; the user must still be enabled afterwards, and
/// the same call must work once the fault is gone.
async fn fault_case(kind: SimKind, fault: Fault, check: impl Fn(&PanelError)) {
    let sim = panel_sim::spawn(kind).await;
    let mut cfg = config(&sim, kind);
    cfg.request_timeout = Duration::from_secs(1);
    let c = client(cfg);
    create(&c, "ct_fault").await;

    sim.inject(SimOp::Disable, fault.clone(), None);
    let started = Instant::now();
    let err = c.disable_user("ct_fault").await.unwrap_err();
    check(&err);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "bounded by the time-out"
    );
    assert!(
        err.outcome_unknown(),
        "{err:?} on a mutation leaves the outcome open"
    );
    assert!(err.is_retryable(), "{err:?}");
    assert!(sim_user(&sim, "ct_fault").enabled);

    // Reads fail the same way.
    sim.inject(SimOp::List, fault, None);
    check(&c.list_users().await.unwrap_err());

    sim.clear_faults();
    c.disable_user("ct_fault").await.unwrap();
    assert!(!sim_user(&sim, "ct_fault").enabled);
    assert_eq!(c.list_users().await.unwrap().len(), 1);
}

async fn fault_http500(kind: SimKind) {
    fault_case(kind, Fault::Http500, |e| {
        assert!(
            matches!(e, PanelError::Rejected { status: 500, .. }),
            "{e:?}"
        )
    })
    .await;
}

async fn fault_timeout(kind: SimKind) {
    fault_case(kind, Fault::Timeout, |e| {
        assert!(matches!(e, PanelError::Timeout(_)), "{e:?}")
    })
    .await;
}

async fn fault_garbage(kind: SimKind) {
    fault_case(kind, Fault::Garbage, |e| {
        assert!(matches!(e, PanelError::BadResponse(_)), "{e:?}")
    })
    .await;
}

async fn fault_drop(kind: SimKind) {
    // A cut connection is "sent, no answer": the same class as a time-out.
    fault_case(kind, Fault::Drop, |e| {
        assert!(matches!(e, PanelError::Timeout(_)), "{e:?}")
    })
    .await;
}

async fn fault_slow_but_in_time(kind: SimKind) {
    let (sim, c) = start(kind).await;
    create(&c, "ct_slow").await;
    sim.inject(SimOp::Any, Fault::Slow(Duration::from_millis(300)), None);
    c.disable_user("ct_slow").await.unwrap();
    assert!(!sim_user(&sim, "ct_slow").enabled);
}

/// The product's create path: a time-out leaves the outcome open, so look the name up before
/// trying again; a transient fault (`times = 1`) needs no clearing.
async fn create_timeout_then_lookup(kind: SimKind) {
    let sim = panel_sim::spawn(kind).await;
    let mut cfg = config(&sim, kind);
    cfg.request_timeout = Duration::from_secs(1);
    let c = client(cfg);
    sim.inject(SimOp::Create, Fault::Timeout, Some(1));
    let err = c.create_user(&new_user("ct_ct")).await.unwrap_err();
    assert!(matches!(err, PanelError::Timeout(_)), "{err:?}");
    assert!(err.outcome_unknown());
    assert_eq!(c.get_user("ct_ct").await.unwrap(), None);
    create(&c, "ct_ct").await;
    assert_eq!(sim.users().len(), 1);
}

/// A panel that answers "reset done" and changes nothing: the adapter cannot tell, so it says
/// Ok; the engine confirms every reset by reading the counter again, which shows it.
async fn fault_reset_noop(kind: SimKind) {
    let (sim, c) = start(kind).await;
    create(&c, "ct_noop").await;
    sim.add_traffic("ct_noop", 4 * MIB);
    sim.inject(SimOp::Reset, Fault::ResetNoop, Some(1));
    c.reset_usage("ct_noop").await.unwrap();
    assert_eq!(sim_user(&sim, "ct_noop").used_bytes, 4 * MIB);
    assert_eq!(remote(&c, "ct_noop").await.used_bytes, 4 * MIB);
    c.reset_usage("ct_noop").await.unwrap();
    assert_eq!(remote(&c, "ct_noop").await.used_bytes, 0);
}

async fn unreachable_panel(kind: SimKind) {
    let sim = panel_sim::spawn(kind).await;
    let mut cfg = config(&sim, kind);
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    cfg.base_url = format!("http://127.0.0.1:{port}/xpanel");
    let c = client(cfg);
    let err = c.disable_user("anyone").await.unwrap_err();
    assert!(matches!(err, PanelError::Unreachable(_)), "{err:?}");
    assert!(!err.outcome_unknown(), "nothing reached the panel");
    assert!(err.is_retryable());
}

/// Joins futures without pulling in the futures crate.
async fn futures_join<F: std::future::Future + Send + 'static>(
    fs: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = fs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

macro_rules! contract {
    (shared: [$($case:ident),* $(,)?], sim: [$($sim_case:ident),* $(,)?] $(,)?) => {
        contract!(@sim marzban, Marzban, [$($case),*], [$($sim_case),*]);
        contract!(@sim marzneshin, Marzneshin, [$($case),*], [$($sim_case),*]);
        contract!(@sim xui, Xui, [$($case),*], [$($sim_case),*]);
        contract!(@sim eylandoo, Eylandoo, [$($case),*], [$($sim_case),*]);
        contract!(@sim pasarguard, PasarGuard, [$($case),*], [$($sim_case),*]);
        // CI counts these by the `real_<kind>` in their names.
        contract!(@real real_marzban, Marzban, [$($case),*]);
        contract!(@real real_marzneshin, Marzneshin, [$($case),*]);
        contract!(@real real_pasarguard, PasarGuard, [$($case),*]);
    };
    (@sim $m:ident, $kind:ident, [$($case:ident),*], [$($sim_case:ident),*]) => {
        mod $m {
            $( #[tokio::test] async fn $case() {
                super::$case(&super::Target::sim(panel_sim::SimKind::$kind).await).await
            } )*
            $( #[tokio::test] async fn $sim_case() { super::$sim_case(panel_sim::SimKind::$kind).await } )*
        }
    };
    (@real $m:ident, $kind:ident, [$($case:ident),*]) => {
        mod $m {
            $( #[tokio::test] async fn $case() {
                if let Some(t) = super::Target::real(panel_sim::real::RealKind::$kind) {
                    super::$case(&t).await
                }
            } )*
        }
    };
}

contract!(
    shared: [
        create_places_the_user,
        create_twice_is_a_plain_rejection,
        unlimited_and_never,
        get_reads_back,
        list_shows_usage,
        update_limits,
        update_only_the_limit,
        enable_disable_are_idempotent,
        reset_zeroes_the_counter,
        reset_of_a_disabled_user,
        delete_twice,
        subscription_url_is_absolute_and_serves,
        wrong_credentials_are_auth_errors,
        test_connection_and_choices,
    ],
    sim: [
        logs_in_again_after_tokens_expire,
        concurrent_calls_share_one_login,
        bulk_listing_request_count,
        fault_http500,
        fault_timeout,
        fault_garbage,
        fault_drop,
        fault_slow_but_in_time,
        create_timeout_then_lookup,
        fault_reset_noop,
        unreachable_panel,
    ],
);

// ---------------------------------------------------------------------------------------------
// Kind-specific promises

#[tokio::test]
async fn marzban_inbound_tag_subset() {
    let sim = panel_sim::spawn(SimKind::Marzban).await;
    let mut cfg = config(&sim, SimKind::Marzban);
    cfg.settings.inbound_tags = vec!["VMess WS".into(), "Trojan TCP".into()];
    let c = client(cfg);
    create(&c, "ct_tags").await;
    let mut tags = sim_user(&sim, "ct_tags").inbound_tags;
    tags.sort();
    assert_eq!(tags, ["Trojan TCP", "VMess WS"]);

    let mut cfg = config(&sim, SimKind::Marzban);
    cfg.settings.inbound_tags = vec!["No Such Tag".into()];
    let err = client(cfg)
        .create_user(&new_user("ct_tags2"))
        .await
        .unwrap_err();
    assert!(matches!(err, PanelError::Config(_)), "{err:?}");
    assert!(sim.user("ct_tags2").is_none());
}

/// Marzneshin's services and PasarGuard's groups: required, per-user ones override the settings.
#[tokio::test]
async fn marzneshin_and_pasarguard_need_services_or_groups() {
    for kind in [SimKind::Marzneshin, SimKind::PasarGuard] {
        let sim = panel_sim::spawn(kind).await;
        let mut cfg = config(&sim, kind);
        cfg.settings.service_ids.clear();
        let c = client(cfg);
        let err = c.create_user(&new_user("ct_nosvc")).await.unwrap_err();
        assert!(matches!(err, PanelError::Config(_)), "{kind}: {err:?}");
        let user = NewUser {
            service_ids: vec![1],
            ..new_user("ct_svc")
        };
        c.create_user(&user).await.unwrap();
        assert_eq!(sim_user(&sim, "ct_svc").service_ids, [1], "{kind}");
        assert!(sim.user("ct_nosvc").is_none());
    }
}

/// A group the panel does not have: Marzneshin would drop it silently, PasarGuard answers 404
/// "Group not found", which the adapter reports as a settings problem, not a missing user.
#[tokio::test]
async fn pasarguard_unknown_group_is_a_config_error() {
    let (sim, c) = start(SimKind::PasarGuard).await;
    let user = NewUser {
        service_ids: vec![99],
        ..new_user("ct_nogroup")
    };
    let err = c.create_user(&user).await.unwrap_err();
    assert!(matches!(err, PanelError::Config(_)), "{err:?}");
    assert!(sim.user("ct_nogroup").is_none());
}

/// A panel that reports v5: switches go through `PUT /api/user/{u}/disabled` (v3.1 has no such
/// route, so the v3.1 contract above proves the status route), and an API key needs no login.
#[tokio::test]
async fn pasarguard_v5_switches_by_the_disabled_route_and_takes_an_api_key() {
    let sim = panel_sim::spawn(SimKind::PasarGuard).await;
    sim.set_version("5.2.1");
    let mut cfg = config(&sim, SimKind::PasarGuard);
    cfg.username = None;
    cfg.password = None;
    cfg.api_key = Some(sim.api_key().to_string());
    let c = client(cfg);
    assert_eq!(
        c.test_connection().await.unwrap().version.as_deref(),
        Some("5.2.1")
    );
    create(&c, "ct_v5").await;
    sim.reset_request_counts();
    c.disable_user("ct_v5").await.unwrap();
    assert!(!sim_user(&sim, "ct_v5").enabled);
    c.disable_user("ct_v5").await.unwrap();
    c.enable_user("ct_v5").await.unwrap();
    assert!(sim_user(&sim, "ct_v5").enabled);
    assert_eq!(
        (sim.requests(SimOp::Disable), sim.requests(SimOp::Enable)),
        (2, 1)
    );
    assert_eq!(sim.requests(SimOp::Auth), 0, "the key, never a login");

    // Downgraded under the adapter's feet: the v5 route it read the version for is gone (404),
    // which shows it was the one used; and v3.1 refuses the key (keys came with v5.1).
    sim.set_version("3.1.0");
    let err = c.disable_user("ct_v5").await.unwrap_err();
    assert!(matches!(err, PanelError::NotFound(_)), "{err:?}");
    let err = c.get_user("ct_v5").await.unwrap_err();
    assert!(matches!(err, PanelError::Auth(_)), "{err:?}");
}

#[tokio::test]
async fn xui_trojan_client_keyed_by_password() {
    let (sim, c) = start(SimKind::Xui).await;
    let user = NewUser {
        inbound_ids: vec![3],
        ..new_user("ct_trojan")
    };
    c.create_user(&user).await.unwrap();
    assert_eq!(sim_user(&sim, "ct_trojan").inbound_ids, [3]);
    c.disable_user("ct_trojan").await.unwrap();
    assert!(!sim_user(&sim, "ct_trojan").enabled);
    c.update_user(
        "ct_trojan",
        &UserLimits {
            limit_bytes: Some(GIB),
            ..UserLimits::default()
        },
    )
    .await
    .unwrap();
    let u = sim_user(&sim, "ct_trojan");
    assert_eq!(u.limit_bytes, Some(GIB));
    assert!(!u.enabled, "the full client went back, switch included");
    c.delete_user("ct_trojan").await.unwrap();
    assert!(sim.user("ct_trojan").is_none());
}

#[tokio::test]
async fn xui_subscription_needs_a_sub_base() {
    let sim = panel_sim::spawn(SimKind::Xui).await;
    let mut cfg = config(&sim, SimKind::Xui);
    cfg.settings.sub_base_url = None;
    let c = client(cfg);
    let created = create(&c, "ct_nosub").await;
    assert_eq!(created.subscription_url, None);
    let err = c.subscription_url("ct_nosub").await.unwrap_err();
    assert!(matches!(err, PanelError::Config(_)), "{err:?}");
}

#[tokio::test]
async fn xui_base_path_is_required() {
    let sim = panel_sim::spawn(SimKind::Xui).await;
    let mut cfg = config(&sim, SimKind::Xui);
    cfg.base_url = sim.root_url(); // forgot the web base path
    let err = client(cfg).test_connection().await.unwrap_err();
    assert!(matches!(err, PanelError::Config(_)), "{err:?}");
}

#[tokio::test]
async fn rate_limit_spaces_requests() {
    let sim = panel_sim::spawn(SimKind::Eylandoo).await;
    let mut cfg = config(&sim, SimKind::Eylandoo);
    cfg.settings.rate_limit_per_sec = Some(10);
    let c = client(cfg);
    let started = Instant::now();
    for _ in 0..6 {
        c.get_user("ct_none").await.unwrap();
    }
    // Six starts at 100 ms spacing: at least 500 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(480),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn connect_checks_the_config() {
    let bad = [
        PanelConfig::new(PanelKind::Marzban, "http://h"), // no credentials
        PanelConfig::new(PanelKind::Eylandoo, "http://h").with_login("a", "b"), // needs a key
        PanelConfig::new(PanelKind::Marzneshin, "not a url").with_login("a", "b"),
    ];
    for cfg in bad {
        assert!(matches!(connect(cfg), Err(PanelError::Config(_))));
    }
    let mut cfg = PanelConfig::new(PanelKind::Xui, "https://h/p").with_login("a", "b");
    cfg.settings.sub_base_url = Some("nope".into());
    assert!(matches!(connect(cfg), Err(PanelError::Config(_))));
}
