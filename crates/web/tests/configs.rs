//! A reseller's configs end to end against the panel simulator: each action reaches the panel,
//! the config limit answers 409, bad input answers 422 naming the field, and the access matrix.

mod common;

use common::{assert_error, assert_field_error, Api, TestApp, GIB};
use domain::status::{ConfigStatus, DisabledReason};
use panel_sim::SimKind;
use reqwest::Method;
use serde_json::{json, Value};

/// An admin, a panel of `kind`, and the reseller `shop1` created through the API (with the
/// `extra` fields); returns the reseller's id, its API client, the panel and the admin's client.
/// The worker is left to the test.
async fn setup(app: &TestApp, kind: SimKind, extra: Value) -> (i64, Api, panel_sim::Sim, Api) {
    let admin = app.admin().await;
    let (panel_id, sim) = app.add_panel(kind).await;
    let mut body = json!({ "username": "shop1", "password": "shop-pass-1", "kind": "traffic",
        "panel_id": panel_id, "traffic_quota_bytes": 100 * GIB, "window_days": 30 });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = admin
        .expect(201, Method::POST, "/api/v1/resellers", Some(body))
        .await;
    let token = app.api_as("shop1", "shop-pass-1").await;
    (r["id"].as_i64().unwrap(), token, sim, admin)
}

/// A 1 GiB config of `days` days, as the reseller asks for it: (status, config or error).
async fn new_config(token: &Api, days: i64) -> (u16, Value) {
    token
        .post(
            "/api/v1/configs",
            json!({"traffic_limit_bytes": GIB, "expires_in_days": days}),
        )
        .await
}

#[tokio::test]
async fn every_config_action_reaches_the_panel() {
    let app = TestApp::spawn().await;
    let (_rid, token, sim, _) = setup(&app, SimKind::Marzban, json!({})).await;
    let (s, c) = token
        .post(
            "/api/v1/configs",
            json!({"traffic_limit_bytes": 2 * GIB, "expires_in_days": 30, "comment": "ali"}),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    assert!(
        c["pending_operation"].is_null(),
        "confirmed within the wait: {c}"
    );
    let id = c["id"].as_i64().unwrap();
    let name = c["username"].as_str().unwrap().to_string();
    assert!(
        name.starts_with("resell_") && name.ends_with(&format!("_cfg_{id}")),
        "{name}"
    );
    let user = sim.user(&name).expect("created on the panel");
    assert_eq!(user.limit_bytes, Some(2 * GIB));
    let expected = domain::tehran::days_from_today(chrono::Utc::now(), 30);
    assert_eq!(
        user.expires_at.map(|t| t.timestamp()),
        Some(expected.timestamp())
    );
    assert_eq!(
        c["expires_at"],
        json!(expected.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    );
    assert!(
        c["subscription_url"]
            .as_str()
            .unwrap_or("")
            .starts_with("http"),
        "{c}"
    );

    let (s, c) = token
        .patch(
            &format!("/api/v1/configs/{id}"),
            json!({"traffic_limit_bytes": 5 * GIB}),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["traffic_limit_bytes"], 5 * GIB);
    assert_eq!(sim.user(&name).unwrap().limit_bytes, Some(5 * GIB));

    let (s, c) = token
        .post_empty(&format!("/api/v1/configs/{id}/disable"))
        .await;
    assert_eq!(
        (s, c["status"].as_str(), c["disabled_reason"].as_str()),
        (200, Some("disabled"), Some("manual"))
    );
    assert!(!sim.user(&name).unwrap().enabled);
    let (s, c) = token
        .post_empty(&format!("/api/v1/configs/{id}/enable"))
        .await;
    assert_eq!((s, c["status"].as_str()), (200, Some("active")));
    assert!(sim.user(&name).unwrap().enabled);

    // Traffic used before the delete keeps counting after it.
    sim.add_traffic(&name, 300 << 20);
    let (s, c) = token.delete(&format!("/api/v1/configs/{id}")).await;
    assert_eq!((s, c["status"].as_str()), (200, Some("deleted")), "{c}");
    assert!(sim.user(&name).is_none(), "deleted on the panel");
    assert_eq!(c["lifetime_usage_bytes"], 300 << 20);

    let (s, evs) = token.get(&format!("/api/v1/configs/{id}/events")).await;
    assert_eq!(s, 200);
    let kinds: Vec<&str> = evs
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for k in [
        "created",
        "edited",
        "manual_disabled",
        "manual_enabled",
        "deleted",
    ] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    for a in [
        "config_created",
        "config_edited",
        "config_manual_disabled",
        "config_manual_enabled",
        "config_deleted",
    ] {
        assert_eq!(app.audit_count(a).await, 1, "{a}");
    }
    let mut conn = app.db.acquire().await.unwrap();
    let (actor, meta): (String, String) = db::sqlx::query_as(
        "SELECT actor_name, meta FROM audit_logs WHERE action = 'config_edited'",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(actor, "shop1");
    let meta: Value = serde_json::from_str(&meta).unwrap();
    assert_eq!(
        (
            meta["before"]["traffic_limit_bytes"].as_i64(),
            meta["after"]["traffic_limit_bytes"].as_i64()
        ),
        (Some(2 * GIB), Some(5 * GIB))
    );
}

#[tokio::test]
async fn the_config_limit_answers_409_and_deleted_configs_do_not_count() {
    let app = TestApp::spawn().await;
    let (_rid, token, sim, _) = setup(&app, SimKind::Marzban, json!({"config_limit": 2})).await;
    let body = json!({"traffic_limit_bytes": GIB, "expires_in_days": 7});
    let (_, first) = token.post("/api/v1/configs", body.clone()).await;
    assert_eq!(token.post("/api/v1/configs", body.clone()).await.0, 201);
    assert_error(
        &token.post("/api/v1/configs", body.clone()).await,
        409,
        "config_limit_reached",
    );
    assert_eq!(sim.user_count(), 2, "nothing reached the panel");
    let id = first["id"].as_i64().unwrap();
    token.delete(&format!("/api/v1/configs/{id}")).await;
    assert_eq!(token.post("/api/v1/configs", body).await.0, 201);
}

#[tokio::test]
async fn invalid_input_answers_422_naming_the_field() {
    let app = TestApp::spawn().await;
    let (rid, token, sim, admin) = setup(
        &app,
        SimKind::Marzneshin,
        json!({"service_whitelist": [1], "allow_custom_names": true}),
    )
    .await;
    let cases = [
        (
            json!({"traffic_limit_bytes": GIB / 20, "expires_in_days": 7}),
            "traffic_limit_bytes",
        ),
        (
            json!({"traffic_limit_bytes": GIB, "expires_in_days": 0}),
            "expires_in_days",
        ),
        (
            json!({"traffic_limit_bytes": GIB, "expires_in_days": 7, "custom_name": "Bad-Name"}),
            "custom_name",
        ),
        (
            json!({"traffic_limit_bytes": GIB, "expires_in_days": 7, "prefix": "9lives"}),
            "prefix",
        ),
        (
            json!({"traffic_limit_bytes": GIB, "expires_in_days": 7, "service_ids": [2]}),
            "service_ids",
        ),
        (
            json!({"traffic_limit_bytes": GIB, "expires_in_days": 7, "comment": "x".repeat(201)}),
            "comment",
        ),
    ];
    for (body, field) in cases {
        let (s, e) = token.post("/api/v1/configs", body.clone()).await;
        assert_eq!(s, 422, "{body} → {e}");
        assert!(
            e["error"]["fields"][field].is_string(),
            "{field} named for {body}: {e}"
        );
    }
    assert_eq!(sim.user_count(), 0);
    // 0.1 GB is the smallest limit, and a custom name with a whitelisted service is made as asked.
    let (s, c) = token
        .post(
            "/api/v1/configs",
            json!({"traffic_limit_bytes": 107_374_182, "expires_in_days": 1,
        "custom_name": "ali_home", "service_ids": [1]}),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let u = sim.user("ali_home").expect("custom name on the panel");
    assert_eq!(
        (u.limit_bytes, u.service_ids.clone()),
        (Some(107_374_182), vec![1])
    );
    // The name is taken now, here and on the panel.
    assert_field_error(&token
        .post(
            "/api/v1/configs",
            json!({"traffic_limit_bytes": GIB, "expires_in_days": 1, "custom_name": "ali_home"}),
        )
        .await, "custom_name");

    // Edit: the new limit may not go below what the config already used this cycle.
    let id = c["id"].as_i64().unwrap();
    sim.add_traffic("ali_home", 2 * GIB);
    engine::observe::record(&app.db, id, 2 * GIB, None, chrono::Utc::now().timestamp())
        .await
        .unwrap();
    let (s, e) = token
        .patch(
            &format!("/api/v1/configs/{id}"),
            json!({"traffic_limit_bytes": GIB}),
        )
        .await;
    assert_eq!(
        (s, e["error"]["fields"]["traffic_limit_bytes"].is_string()),
        (422, true),
        "{e}"
    );

    // Without the permission, names are refused.
    let (s, _) = admin
        .patch(
            &format!("/api/v1/resellers/{rid}"),
            json!({"allow_custom_names": false}),
        )
        .await;
    assert_eq!(s, 200);
    assert_field_error(&token
        .post(
            "/api/v1/configs",
            json!({"traffic_limit_bytes": GIB, "expires_in_days": 1, "custom_name": "other_name"}),
        )
        .await, "custom_name");
}

#[tokio::test]
async fn eylandoo_configs_get_nodes_and_max_clients() {
    let app = TestApp::spawn().await;
    let (_rid, token, sim, _) =
        setup(&app, SimKind::Eylandoo, json!({"node_whitelist": [2]})).await;
    let (s, c) = token
        .post(
            "/api/v1/configs",
            json!({"traffic_limit_bytes": 3 * GIB, "expires_in_days": 10,
        "node_ids": [2], "max_clients": 3}),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let u = sim.user(c["username"].as_str().unwrap()).unwrap();
    assert_eq!((u.max_clients, u.node_ids.clone()), (Some(3), vec![2]));
    assert_field_error(
        &token
            .post(
                "/api/v1/configs",
                json!({"traffic_limit_bytes": GIB, "expires_in_days": 1, "node_ids": [1]}),
            )
            .await,
        "node_ids",
    );
}

#[tokio::test]
async fn suspended_resellers_are_blocked_as_the_matrix_says() {
    let app = TestApp::spawn().await;
    let (rid, token, sim, admin) = setup(&app, SimKind::Marzban, json!({})).await;
    let (_, c) = new_config(&token, 5).await;
    let id = c["id"].as_i64().unwrap();
    let name = c["username"].as_str().unwrap().to_string();
    let b = app.browser_as("shop1", "shop-pass-1").await;

    let (s, r) = admin
        .post_empty(&format!("/api/v1/resellers/{rid}/suspend"))
        .await;
    assert_eq!((s, r["status"].as_str()), (200, Some("suspended")));
    let mut ok = false;
    for _ in 0..50 {
        if !sim.user(&name).unwrap().enabled {
            ok = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        engine::ops::run_due(&app.ctx, chrono::Utc::now().timestamp() + 5)
            .await
            .unwrap();
    }
    assert!(ok, "a suspension disables the configs on the panel");
    for (m, path) in [
        (reqwest::Method::GET, "/api/v1/configs".to_string()),
        (reqwest::Method::GET, format!("/api/v1/configs/{id}")),
        (
            reqwest::Method::POST,
            format!("/api/v1/configs/{id}/enable"),
        ),
    ] {
        let (s, e) = token.send(m, &path, None).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (403, Some("reseller_suspended")),
            "{path}"
        );
    }
    assert_error(&new_config(&token, 5).await, 403, "reseller_suspended");
    let (s, me) = token.get("/api/v1/me").await;
    assert_eq!(
        (s, me["status"].as_str()),
        (200, Some("suspended")),
        "/me answers in every status"
    );
    // The dashboard is the suspended reseller's home: it opens and says why; configs do not.
    let res = b.get_raw("/?lang=en").await;
    assert_eq!(res.status(), 200);
    assert!(
        res.text().await.unwrap().contains("suspended"),
        "the page says why"
    );
    assert_eq!(b.get_raw("/configs").await.status(), 403);

    let (s, r) = admin
        .post_empty(&format!("/api/v1/resellers/{rid}/activate"))
        .await;
    assert_eq!((s, r["status"].as_str()), (200, Some("active")));
    let (s, c) = token.get(&format!("/api/v1/configs/{id}")).await;
    assert_eq!(
        (s, c["status"].as_str()),
        (200, Some("active")),
        "activation enables what the suspension disabled"
    );
    assert_eq!(app.audit_count("reseller_suspended").await, 1);
    assert_eq!(app.audit_count("reseller_activated").await, 1);

    // Wallet below its threshold: configs blocked with wallet_suspended, the dashboard sends
    // the reseller to the wallet page.
    let mut conn = app.db.acquire().await.unwrap();
    db::sqlx::query("UPDATE resellers SET kind = 'wallet', status = 'suspended_wallet', suspended_by = 'system' WHERE id = $1")
        .bind(rid).execute(&mut *conn).await.unwrap();
    drop(conn);
    assert_error(&token.get("/api/v1/configs").await, 403, "wallet_suspended");
    assert_error(&new_config(&token, 5).await, 403, "wallet_suspended");
    let res = b.get_raw("/").await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/wallet");
}

#[tokio::test]
async fn a_reseller_cannot_enable_what_the_system_disabled() {
    let app = TestApp::spawn().await;
    let (_rid, token, _sim, _) = setup(&app, SimKind::Marzban, json!({})).await;
    let (_, c) = new_config(&token, 5).await;
    let id = c["id"].as_i64().unwrap();
    let mut conn = app.db.acquire().await.unwrap();
    db::configs::set_status(
        &mut conn,
        id,
        ConfigStatus::Disabled,
        Some(DisabledReason::ResellerQuota),
    )
    .await
    .unwrap();
    drop(conn);
    let (s, e) = token
        .post_empty(&format!("/api/v1/configs/{id}/enable"))
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (409, Some("config_not_enableable")),
        "{e}"
    );
}

#[tokio::test]
async fn a_slow_panel_leaves_the_create_pending_and_the_worker_finishes_it() {
    let mut app = TestApp::spawn_with(engine::EngineSettings {
        wait_for_panel: std::time::Duration::from_millis(300),
        panel_request_timeout: std::time::Duration::from_secs(2),
        worker_tick: std::time::Duration::from_millis(100),
        default_rate_per_sec: 1000,
        ..Default::default()
    })
    .await;
    let (_rid, token, sim, _) = setup(&app, SimKind::Marzban, json!({})).await;
    sim.inject(panel_sim::SimOp::Create, panel_sim::Fault::Http500, Some(1));
    let (s, c) = new_config(&token, 5).await;
    assert_eq!(s, 201, "{c}");
    assert_eq!(c["pending_operation"]["kind"], "create", "{c}");
    let name = c["username"].as_str().unwrap().to_string();
    app.start_worker();
    let mut found = false;
    for _ in 0..100 {
        if sim.user(&name).is_some() {
            found = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(found, "the worker retried the create");
    assert_eq!(sim.users().len(), 1, "never duplicated");
}

#[tokio::test]
async fn json_of_the_wrong_shape_names_the_field() {
    let app = TestApp::spawn().await;
    let (_rid, token, _sim, _) = setup(&app, SimKind::Marzban, json!({})).await;
    let (s, e) = token
        .post(
            "/api/v1/configs",
            json!({"traffic_limit_bytes": "lots", "expires_in_days": 7}),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    assert!(
        e["error"]["fields"]["traffic_limit_bytes"].is_string(),
        "{e}"
    );
    let (s, e) = token
        .post("/api/v1/configs", json!({"traffic_limit_bytes": GIB}))
        .await;
    assert_eq!(s, 422, "{e}");
    assert!(e["error"]["fields"]["expires_in_days"].is_string(), "{e}");
}

/// Figures, not assertions on time: how long a reseller waits for a config to be created and
/// confirmed by a (local, simulated) panel. Run: `cargo test -p web --test configs figures -- --nocapture`.
#[tokio::test]
async fn figures_create_latency() {
    let app = TestApp::spawn().await;
    let (_rid, token, sim, _) = setup(&app, SimKind::Marzneshin, json!({})).await;
    let n = 40;
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = std::time::Instant::now();
        let (s, c) = new_config(&token, 30).await;
        times.push(t.elapsed());
        assert_eq!(s, 201);
        assert!(c["pending_operation"].is_null());
    }
    assert_eq!(sim.user_count(), n, "every create reached the panel once");
    times.sort();
    println!(
        "config create (API → panel confirmed), n={n}: p50 {:?}, p95 {:?}, max {:?}",
        times[n / 2],
        times[n * 95 / 100],
        times[n - 1]
    );
}

/// A reseller with no service or node whitelist may place a config in any of the panel's services
/// (Marzneshin) or nodes (Eylandoo), as in the original; an id the panel does not have is refused.
#[tokio::test]
async fn an_empty_whitelist_allows_any_of_the_panels_services_and_nodes() {
    for (kind, field) in [
        (SimKind::Marzneshin, "service_ids"),
        (SimKind::Eylandoo, "node_ids"),
    ] {
        let app = TestApp::spawn().await;
        let (_rid, token, sim, _) = setup(&app, kind, json!({})).await;
        let (s, c) = token
            .post(
                "/api/v1/configs",
                json!({"traffic_limit_bytes": GIB, "expires_in_days": 7, field: [2]}),
            )
            .await;
        assert_eq!(s, 201, "{kind}: {c}");
        let u = sim
            .user(c["username"].as_str().unwrap())
            .expect("the config on the panel");
        let placed = match kind {
            SimKind::Marzneshin => u.service_ids.clone(),
            _ => u.node_ids.clone(),
        };
        assert_eq!(placed, [2], "{kind}: placed where the reseller asked");

        let (s, e) = token
            .post(
                "/api/v1/configs",
                json!({"traffic_limit_bytes": GIB, "expires_in_days": 7, field: [99]}),
            )
            .await;
        assert_eq!(s, 422, "{kind}: {e}");
        assert!(e["error"]["fields"][field].is_string(), "{kind}: {e}");
        assert_eq!(
            sim.user_count(),
            1,
            "{kind}: nothing made for the unknown id"
        );

        // The form offers every one of the panel's, by name.
        let b = app.browser_as("shop1", "shop-pass-1").await;
        let html = b.html("/configs/new?lang=en").await;
        for id in ["1", "2"] {
            assert!(
                html.contains(&format!("name=\"{field}\" value=\"{id}\"")),
                "{kind}: {id} offered"
            );
        }
    }
}

/// Spec §14: what an admin disables is stored as `admin` and only an admin enables it again;
/// the reseller's own disable stays the reseller's to undo.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_disable_is_not_undone_by_reseller() {
    let mut app = TestApp::spawn().await;
    app.start_worker();
    let (_rid, token, _sim, admin) = setup(&app, SimKind::Marzban, json!({})).await;
    let (s, c) = new_config(&token, 30).await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_i64().unwrap();
    let post = reqwest::Method::POST;
    let (s, v) = admin
        .send(post.clone(), &format!("/api/v1/configs/{id}/disable"), None)
        .await;
    assert_eq!(s, 200, "{v}");
    let mut conn = app.db.acquire().await.unwrap();
    let row = db::configs::get(&mut conn, id).await.unwrap().unwrap();
    drop(conn);
    assert_eq!(row.disabled_reason, Some(DisabledReason::Admin));
    let (s, v) = token
        .send(post.clone(), &format!("/api/v1/configs/{id}/enable"), None)
        .await;
    assert_eq!(
        s, 409,
        "the reseller must not undo the admin's disable: {v}"
    );
    let (s, v) = admin
        .send(post.clone(), &format!("/api/v1/configs/{id}/enable"), None)
        .await;
    assert_eq!(s, 200, "{v}");
    // The reseller's own disable is still its own to undo.
    let (s, _) = token
        .send(post.clone(), &format!("/api/v1/configs/{id}/disable"), None)
        .await;
    assert_eq!(s, 200);
    let (s, v) = token
        .send(post, &format!("/api/v1/configs/{id}/enable"), None)
        .await;
    assert_eq!(s, 200, "{v}");
    let mut conn = app.db.acquire().await.unwrap();
    let row = db::configs::get(&mut conn, id).await.unwrap().unwrap();
    assert_eq!(row.status, ConfigStatus::Active);
}

#[tokio::test]
async fn expiry_cap_cannot_be_bypassed_by_patch() {
    let app = TestApp::spawn().await;
    let (_, token, _sim, _) = setup(&app, SimKind::Marzban, json!({})).await;
    let (s, c) = new_config(&token, 7).await;
    assert_eq!(s, 201, "{c}");
    let path = format!("/api/v1/configs/{}", c["id"]);
    let (s, e) = token
        .patch(&path, json!({"expires_at": "9999-12-31T23:59:59Z"}))
        .await;
    assert_eq!(s, 422, "an expiry 8,000 years away is refused: {e}");
    assert!(e["error"]["fields"]["expires_at"].is_string(), "{e}");
    let (_, now) = token.get(&path).await;
    assert_eq!(now["expires_at"], c["expires_at"], "nothing changed");
    // Within the 3,650-day cap a date still goes through.
    let in_a_year = (chrono::Utc::now() + chrono::Duration::days(365)).to_rfc3339();
    let (s, e) = token.patch(&path, json!({ "expires_at": in_a_year })).await;
    assert_eq!(s, 200, "{e}");
}

/// Issue 11: an admin who disabled one config by hand, then suspended and re-activated its
/// reseller, finds that config still disabled; only what the suspension disabled comes back,
/// in the database and on the panel.
#[tokio::test]
async fn reseller_activation_keeps_the_admins_own_disables() {
    let app = TestApp::spawn().await;
    let (rid, token, sim, admin) = setup(&app, SimKind::Marzban, json!({})).await;
    let mut made = Vec::new();
    for _ in 0..2 {
        let (s, c) = new_config(&token, 30).await;
        assert_eq!(s, 201, "{c}");
        made.push((
            c["id"].as_i64().unwrap(),
            c["username"].as_str().unwrap().to_string(),
        ));
    }
    let [(own, own_name), (held, held_name)] = [made[0].clone(), made[1].clone()];
    let post = reqwest::Method::POST;
    for path in [
        format!("/api/v1/configs/{own}/disable"),
        format!("/api/v1/resellers/{rid}/suspend"),
        format!("/api/v1/resellers/{rid}/activate"),
    ] {
        let (s, v) = admin.send(post.clone(), &path, None).await;
        assert_eq!(s, 200, "{path}: {v}");
    }
    // Let the durable operations reach the panel.
    for _ in 0..5 {
        engine::ops::run_due(&app.ctx, chrono::Utc::now().timestamp() + 5)
            .await
            .unwrap();
    }
    let mut conn = app.db.acquire().await.unwrap();
    let own_row = db::configs::get(&mut conn, own).await.unwrap().unwrap();
    let held_row = db::configs::get(&mut conn, held).await.unwrap().unwrap();
    drop(conn);
    assert_eq!(
        (own_row.status, own_row.disabled_reason),
        (ConfigStatus::Disabled, Some(DisabledReason::Admin)),
        "the admin's own disable outlives the suspension"
    );
    assert_eq!(
        (held_row.status, held_row.disabled_reason),
        (ConfigStatus::Active, None),
        "what the suspension disabled comes back"
    );
    assert!(
        !sim.user(&own_name).unwrap().enabled,
        "still off on the panel"
    );
    assert!(
        sim.user(&held_name).unwrap().enabled,
        "back on on the panel"
    );
    // And the reseller still may not undo the admin's disable.
    let (s, v) = token
        .send(post, &format!("/api/v1/configs/{own}/enable"), None)
        .await;
    assert_eq!(s, 409, "{v}");
}
