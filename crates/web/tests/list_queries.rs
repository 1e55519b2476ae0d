//! Every list route runs a fixed number of SQL statements whatever the number of rows (issue 18):
//! each route is asked with 1 row and with 50, and the statements counted must be equal.
//! The count is per request: a tracing layer counts sqlx's `sqlx::query` events inside the span
//! the request-id middleware opens, so the worker and other requests do not disturb it.

mod common;

use common::rows::{self, ConfigRow, ResellerRow};
use common::TestApp;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;

/// The request id a span was opened for.
struct RequestId(String);

/// The statements run under each request id, by their summaries.
#[derive(Clone, Default)]
struct Counter(Arc<Mutex<HashMap<String, Vec<String>>>>);

struct Summary(String);

impl Visit for Summary {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "summary" || field.name() == "message" {
            self.0.push_str(&format!("{value:?} "));
        }
    }
}

struct FindId(Option<String>);

impl Visit for FindId {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "request_id" {
            self.0 = Some(value.to_string());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "request_id" {
            self.0 = Some(format!("{value:?}").trim_matches('"').to_string());
        }
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Counter {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut v = FindId(None);
        attrs.record(&mut v);
        if let (Some(rid), Some(span)) = (v.0, ctx.span(id)) {
            span.extensions_mut().insert(RequestId(rid));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let Some(scope) = ctx.event_scope(event) else {
            return;
        };
        let mut m = Summary(String::new());
        event.record(&mut m);
        // A new pool connection's set-up (SQLite's PRAGMAs) belongs to the pool, not the route.
        if m.0.trim_start_matches('"').starts_with("PRAGMA") {
            return;
        }
        for span in scope.from_root() {
            if let Some(RequestId(rid)) = span.extensions().get::<RequestId>() {
                let mut list = self.0.lock().unwrap();
                list.entry(rid.clone()).or_default().push(m.0);
                return;
            }
        }
    }
}

fn counter() -> &'static Counter {
    static C: OnceLock<Counter> = OnceLock::new();
    C.get_or_init(|| {
        let c = Counter::default();
        tracing_subscriber::registry().with(c.clone()).init();
        c
    })
}

/// The statements of the median of five GETs by their number, and the status: a session or
/// token touched once a while, or a pool connection opened, adds a statement to one GET, and the
/// last statement's log event sometimes arrives after its request's span has closed, which takes
/// one away; neither depends on the rows, and the median leaves both out.
async fn typical(client: &reqwest::Client, url: &str, auth: Option<&str>) -> (u16, Vec<String>) {
    let mut runs = Vec::new();
    let mut status = 0;
    for _ in 0..5 {
        let (s, statements) = count(client, url, auth).await;
        status = s;
        runs.push(statements);
    }
    runs.sort_by_key(Vec::len);
    (status, runs.swap_remove(2))
}

/// The statements one GET ran, and its status.
async fn count(client: &reqwest::Client, url: &str, auth: Option<&str>) -> (u16, Vec<String>) {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let rid = format!("count-{}-{n}", std::process::id());
    let mut req = client.get(url).header("x-request-id", &rid);
    if let Some(t) = auth {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    res.bytes().await.unwrap();
    let statements = counter().0.lock().unwrap().remove(&rid).unwrap_or_default();
    (status, statements)
}

/// A reseller row of `kind` on `panel_id` (a wallet one at 5,000 toman a GB), without a login.
async fn reseller_row(
    conn: &mut db::Conn,
    name: &str,
    kind: domain::status::ResellerKind,
    panel_id: i64,
) -> i64 {
    let row = match kind {
        domain::status::ResellerKind::Wallet => ResellerRow::wallet(name, panel_id, 5_000),
        _ => ResellerRow::traffic(name, panel_id),
    };
    ResellerRow {
        created_at: 0,
        ..row
    }
    .insert(conn)
    .await
}

/// A reseller (login `shop`, password `shop-pass`) on a panel row nobody calls: listing reads
/// only our database.
async fn reseller(app: &TestApp) -> i64 {
    let mut conn = app.db.acquire().await.unwrap();
    let panel = rows::unreachable_panel(&mut conn, "listed", Some("admin")).await;
    let id = reseller_row(
        &mut conn,
        "shop",
        domain::status::ResellerKind::Traffic,
        panel,
    )
    .await;
    drop(conn);
    app.create_user("shop", "shop-pass", "reseller", Some(id))
        .await;
    id
}

/// `n` more configs of the reseller, each with a pending panel operation (what lists show).
async fn add_configs(app: &TestApp, reseller_id: i64, n: usize) {
    let mut conn = app.db.acquire().await.unwrap();
    let r = db::resellers::get(&mut conn, reseller_id)
        .await
        .unwrap()
        .unwrap();
    for _ in 0..n {
        let id = ConfigRow {
            limit: 1 << 30,
            created_at: 0,
            ..ConfigRow::unnamed(reseller_id, r.panel_id)
        }
        .insert_as(&mut conn, |id| format!("listed_{id}"))
        .await;
        db::operations::insert(
            &mut conn,
            r.panel_id,
            Some(id),
            None,
            domain::status::OpKind::Create,
            &serde_json::json!({}),
            0,
        )
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn the_configs_page_honours_per_page() {
    let app = TestApp::spawn().await;
    let rid = reseller(&app).await;
    add_configs(&app, rid, 7).await;
    let b = app.signed_in_browser("shop", "shop-pass").await;
    let rows = |html: &str| html.matches("listed_").count();
    let page = |q: &'static str| {
        let b = b.clone();
        let url = app.url(&format!("/configs{q}"));
        async move { b.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let all = page("").await;
    let three = page("?per_page=3").await;
    let second = page("?per_page=3&page=3").await;
    assert!(rows(&all) >= 7, "25 a page by default shows all seven");
    assert_eq!(
        rows(&three) * 7,
        rows(&all) * 3,
        "three of seven on the first page"
    );
    assert_eq!(
        rows(&second) * 7,
        rows(&all),
        "one left on the third page of three"
    );
    assert!(three.contains("per_page=3"), "page links keep per_page");
}

/// `n` more traffic resellers, each with a login and a config, on the first reseller's panel.
async fn add_resellers(app: &TestApp, like: i64, n: usize) {
    let mut conn = app.db.acquire().await.unwrap();
    let first = db::resellers::get(&mut conn, like).await.unwrap().unwrap();
    for _ in 0..n {
        let id = reseller_row(
            &mut conn,
            "more",
            domain::status::ResellerKind::Traffic,
            first.panel_id,
        )
        .await;
        let hash = "not-a-real-hash";
        db::users::create(
            &mut conn,
            &format!("more-{id}"),
            hash,
            domain::status::Role::Reseller,
            Some(id),
        )
        .await
        .unwrap();
    }
    drop(conn);
}

/// A wallet reseller (login `wal`, password `wal-pass`) with one config and its wallet started.
async fn wallet_reseller(app: &TestApp, panel_id: i64) -> (i64, i64) {
    let mut conn = app.db.acquire().await.unwrap();
    let id = reseller_row(
        &mut conn,
        "wal",
        domain::status::ResellerKind::Wallet,
        panel_id,
    )
    .await;
    engine::wallet::start_wallet(&mut conn, id, chrono::Utc::now())
        .await
        .unwrap();
    drop(conn);
    app.create_user("wal", "wal-pass", "reseller", Some(id))
        .await;
    add_configs(app, id, 1).await;
    let mut conn = app.db.acquire().await.unwrap();
    let config = db::configs::all_of_reseller(&mut conn, id).await.unwrap()[0].id;
    (id, config)
}

/// `n` more of every row a list shows: resellers, panels, operations (with their configs), audit entries
/// and ledger rows (admin credits), top-ups, config events, reset jobs and API tokens.
async fn grow(app: &TestApp, traffic: i64, wallet: i64, config: i64, root: i64, n: usize) {
    const PNG: &[u8] = &[
        0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 1, 2, 3,
    ];
    let admin = db::audit::Actor {
        kind: domain::status::ActorType::Admin,
        id: Some(root),
        name: "root".into(),
    };
    let origin = db::audit::Origin::default();
    add_configs(app, wallet, n).await;
    add_resellers(app, traffic, n).await;
    for i in 0..n {
        let mut conn = app.db.acquire().await.unwrap();
        db::panels::create(
            &mut conn,
            db::panels::NewPanel {
                name: &format!("more-{i}-{}", chrono::Utc::now().timestamp_micros()),
                kind: domain::status::PanelKind::Marzneshin,
                base_url: "http://127.0.0.1:9",
                username: Some("admin"),
                password_enc: None,
                api_key_enc: None,
                settings: "{}",
            },
        )
        .await
        .unwrap();
        db::configs::add_event(
            &mut conn,
            config,
            domain::status::ConfigEventKind::Created,
            "wal",
            Some(true),
            None,
            serde_json::json!({}),
        )
        .await
        .unwrap();
        db::jobs::create(
            &mut conn,
            domain::status::JobKind::ResellerUsageReset,
            Some(wallet),
            Some(root),
            0,
        )
        .await
        .unwrap();
        db::tokens::create_api_token(
            &mut conn,
            db::tokens::NewApiToken {
                user_id: root,
                name: &format!("t{i}"),
                token_hash: &format!("h{i}-{n}"),
                scope: domain::status::TokenScope::Full,
                expires_at: None,
            },
        )
        .await
        .unwrap();
        drop(conn);
        engine::wallet::adjust(&app.ctx, wallet, 1_000, "credit", &admin, &origin)
            .await
            .unwrap();
        engine::topups::submit(
            &app.ctx,
            &app.state.options.data_dir,
            wallet,
            100_000,
            PNG,
            &db::audit::Actor {
                kind: domain::status::ActorType::Reseller,
                id: None,
                name: "wal".into(),
            },
            &origin,
        )
        .await
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_list_route_runs_as_many_statements_for_fifty_rows_as_for_one() {
    counter();
    let app = TestApp::spawn().await;
    let root = app.create_admin("root", "root-pass").await;
    let traffic = reseller(&app).await;
    let panel = {
        let mut conn = app.db.acquire().await.unwrap();
        db::resellers::get(&mut conn, traffic)
            .await
            .unwrap()
            .unwrap()
            .panel_id
    };
    let (wallet, config) = wallet_reseller(&app, panel).await;
    let admin = app.token("root", "root-pass").await;
    let wal = app.token("wal", "wal-pass").await;
    let admin_pages = app.signed_in_browser("root", "root-pass").await;
    let wal_pages = app.signed_in_browser("wal", "wal-pass").await;
    let api = app.client();
    let as_admin = (&api, Some(admin.as_str()));
    let as_wal = (&api, Some(wal.as_str()));
    let admin_page = (&admin_pages, None);
    let wal_page = (&wal_pages, None);
    let routes: Vec<(String, (&reqwest::Client, Option<&str>))> = [
        ("/api/v1/panels", as_admin),
        ("/api/v1/operations?per_page=200", as_admin),
        ("/api/v1/audit-logs?per_page=200", as_admin),
        ("/api/v1/topups?per_page=200", as_admin),
        ("/api/v1/tokens", as_admin),
        ("/api/v1/resellers?per_page=200", as_admin),
        (
            &format!("/api/v1/resellers/{wallet}/configs?per_page=200"),
            as_admin,
        ),
        ("/api/v1/me", as_wal),
        ("/api/v1/wallet", as_wal),
        ("/api/v1/wallet/ledger?per_page=200", as_wal),
        ("/api/v1/configs?per_page=200", as_wal),
        (&format!("/api/v1/configs/{config}/events"), as_wal),
        ("/", admin_page),
        ("/admin/panels", admin_page),
        ("/admin/operations", admin_page),
        ("/admin/audit", admin_page),
        ("/admin/audit.csv", admin_page),
        ("/admin/topups", admin_page),
        ("/admin/sync", admin_page),
        ("/admin/reports", admin_page),
        ("/admin/resellers", admin_page),
        (&format!("/admin/resellers/{wallet}"), admin_page),
        (&format!("/admin/resellers/{wallet}/wallet"), admin_page),
        (&format!("/admin/resellers/{wallet}/usage"), admin_page),
        (&format!("/configs/{config}"), admin_page),
        ("/tokens", admin_page),
        ("/", wal_page),
        ("/configs", wal_page),
        (&format!("/configs/{config}"), wal_page),
        ("/wallet", wal_page),
        ("/wallet/statement.csv", wal_page),
        ("/usage", wal_page),
        ("/tokens", wal_page),
    ]
    .into_iter()
    .map(|(path, caller)| (path.to_string(), caller))
    .collect();
    grow(&app, traffic, wallet, config, root, 1).await;
    let mut one = Vec::new();
    for (path, (client, auth)) in &routes {
        let (status, statements) = typical(client, &app.url(path), *auth).await;
        assert_eq!(status, 200, "{path}");
        one.push(statements);
    }
    grow(&app, traffic, wallet, config, root, 49).await;
    let mut grew = Vec::new();
    for ((path, (client, auth)), s1) in routes.iter().zip(one) {
        let (status, s50) = typical(client, &app.url(path), *auth).await;
        assert_eq!(status, 200, "{path}");
        println!(
            "{path}: {} statements with 1 of each row, {} with 50",
            s1.len(),
            s50.len()
        );
        assert!(!s1.is_empty(), "{path}: no statement was counted");
        if s1.len() != s50.len() {
            grew.push(format!("{path}: {s1:#?} → {s50:#?}"));
        }
    }
    assert!(grew.is_empty(), "statements grow with the rows: {grew:#?}");
}
