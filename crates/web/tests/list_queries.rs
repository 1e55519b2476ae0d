//! Every list route runs a fixed number of SQL statements whatever the number of rows (issue 18):
//! each route is asked with 1 row and with 50, and the statements counted must be equal.
//! The count is per request: a tracing layer counts sqlx's `sqlx::query` events inside the span
//! the request-id middleware opens, so the worker and other requests do not disturb it.

mod common;

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

#[derive(Clone, Default)]
struct Counter(
    Arc<Mutex<HashMap<String, usize>>>,
    Arc<Mutex<HashMap<String, Vec<String>>>>,
);

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
                *self.0.lock().unwrap().entry(rid.clone()).or_default() += 1;
                let mut list = self.1.lock().unwrap();
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

/// The fewest statements of three GETs, and the status: a session or token touched once a
/// while, or a pool connection opened, costs the same whatever the rows, and is left out.
async fn fewest(client: &reqwest::Client, url: &str, auth: Option<&str>) -> (u16, usize) {
    let mut best = (0, usize::MAX);
    for _ in 0..3 {
        let (status, n) = count(client, url, auth).await;
        best = (status, best.1.min(n));
    }
    best
}

/// The statements one GET ran, and its status.
async fn count(client: &reqwest::Client, url: &str, auth: Option<&str>) -> (u16, usize) {
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
    let n = counter().0.lock().unwrap().get(&rid).copied().unwrap_or(0);
    if std::env::var_os("SHOW_STATEMENTS").is_some() {
        println!("{url}: {:#?}", counter().1.lock().unwrap().get(&rid));
    }
    (status, n)
}

/// A reseller (login `shop`, password `shop-pass`) on a panel row nobody calls: listing reads
/// only our database.
async fn reseller(app: &TestApp) -> i64 {
    let mut conn = app.db.acquire().await.unwrap();
    let panel = db::panels::create(
        &mut conn,
        db::panels::NewPanel {
            name: "listed",
            kind: domain::status::PanelKind::Marzban,
            base_url: "http://127.0.0.1:9",
            username: Some("admin"),
            password_enc: None,
            api_key_enc: None,
            settings: "{}",
        },
    )
    .await
    .unwrap();
    let id = db::resellers::create(
        &mut conn,
        db::resellers::NewReseller {
            display_name: "shop",
            kind: domain::status::ResellerKind::Traffic,
            panel_id: panel,
            username_prefix: None,
            allow_custom_names: false,
            config_limit: None,
            service_whitelist: &[],
            node_whitelist: &[],
            traffic_quota_bytes: 100 << 30,
            window_starts_at: None,
            window_ends_at: None,
            wallet_price_per_gb: None,
        },
        0,
    )
    .await
    .unwrap();
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
        let id = db::configs::create(
            &mut conn,
            db::configs::NewConfig {
                reseller_id,
                panel_id: r.panel_id,
                username: None,
                comment: None,
                traffic_limit_bytes: 1 << 30,
                expires_at: None,
                max_clients: None,
                service_ids: &[],
                node_ids: &[],
                inbound_ids: &[],
            },
            |id| format!("listed_{id}"),
            0,
        )
        .await
        .unwrap();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_lists_run_as_many_statements_for_fifty_rows_as_for_one() {
    counter();
    let app = TestApp::spawn().await;
    app.create_admin("root", "root-pass").await;
    let rid = reseller(&app).await;
    let admin = app.token("root", "root-pass").await;
    let shop = app.token("shop", "shop-pass").await;
    let admin_pages = app.signed_in_browser("root", "root-pass").await;
    let shop_pages = app.signed_in_browser("shop", "shop-pass").await;
    let api = app.client();
    let routes: Vec<(&str, String, &reqwest::Client, Option<&str>)> = vec![
        (
            "API reseller configs",
            app.url("/api/v1/configs?per_page=200"),
            &api,
            Some(&shop),
        ),
        (
            "API admin reseller configs",
            app.url(&format!("/api/v1/resellers/{rid}/configs?per_page=200")),
            &api,
            Some(&admin),
        ),
        (
            "page /configs",
            app.url("/configs?per_page=200"),
            &shop_pages,
            None,
        ),
        (
            "page /admin/resellers/{id}",
            app.url(&format!("/admin/resellers/{rid}")),
            &admin_pages,
            None,
        ),
    ];
    add_configs(&app, rid, 1).await;
    let mut one = Vec::new();
    for (name, url, client, auth) in &routes {
        let (status, n) = fewest(client, url, *auth).await;
        assert_eq!(status, 200, "{name}");
        one.push(n);
    }
    add_configs(&app, rid, 49).await;
    for ((name, url, client, auth), n1) in routes.iter().zip(one) {
        let (status, n50) = fewest(client, url, *auth).await;
        assert_eq!(status, 200, "{name}");
        println!("{name}: {n1} statements with 1 config, {n50} with 50");
        assert!(
            n1 > 0,
            "{name}: no statement was counted (is the counter wired?)"
        );
        assert_eq!(n1, n50, "{name}: statements grow with the rows");
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
        let id = db::resellers::create(
            &mut conn,
            db::resellers::NewReseller {
                display_name: "more",
                kind: domain::status::ResellerKind::Traffic,
                panel_id: first.panel_id,
                username_prefix: None,
                allow_custom_names: false,
                config_limit: None,
                service_whitelist: &[],
                node_whitelist: &[],
                traffic_quota_bytes: 1 << 30,
                window_starts_at: None,
                window_ends_at: None,
                wallet_price_per_gb: None,
            },
            0,
        )
        .await
        .unwrap();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reseller_lists_run_as_many_statements_for_fifty_rows_as_for_one() {
    counter();
    let app = TestApp::spawn().await;
    app.create_admin("root", "root-pass").await;
    let rid = reseller(&app).await;
    add_configs(&app, rid, 2).await;
    let admin = app.token("root", "root-pass").await;
    let pages = app.signed_in_browser("root", "root-pass").await;
    let api = app.client();
    let routes: Vec<(&str, String, &reqwest::Client, Option<&str>)> = vec![
        (
            "API resellers",
            app.url("/api/v1/resellers?per_page=200"),
            &api,
            Some(&admin),
        ),
        (
            "page /admin/resellers",
            app.url("/admin/resellers"),
            &pages,
            None,
        ),
    ];
    let mut one = Vec::new();
    for (name, url, client, auth) in &routes {
        let (status, n) = fewest(client, url, *auth).await;
        assert_eq!(status, 200, "{name}");
        one.push(n);
    }
    add_resellers(&app, rid, 49).await;
    for ((name, url, client, auth), n1) in routes.iter().zip(one) {
        let (status, n50) = fewest(client, url, *auth).await;
        assert_eq!(status, 200, "{name}");
        println!("{name}: {n1} statements with 1 reseller, {n50} with 50");
        assert!(n1 > 0, "{name}: no statement was counted");
        assert_eq!(n1, n50, "{name}: statements grow with the rows");
    }
}
