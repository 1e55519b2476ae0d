//! Durable remote operations end to end against the simulators: creates reach every panel,
//! failures (500, time-out, garbage, dropped connection) leave them pending with their errors
//! until the fault clears, unknown outcomes never duplicate a user, pending work survives a
//! restart, the per-panel rate limit holds, and the admin lists, retries and cancels them.

// Multi-threaded: dropping a PostgreSQL test database blocks one thread while the pool
// closes its connections, whose sockets the runtime's other thread must keep driving.

mod common;

use common::rows::{self, ConfigRow, ResellerRow};
use common::{assert_error, TestApp, GIB};
use db::operations::Operation;
use domain::status::{ConfigEventKind, OpStatus};
use engine::ops::{self, Outcome};
use panel_sim::{Fault, Sim, SimKind, SimOp};
use serde_json::json;
use std::time::Duration;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Expiry in 30 days, at 00:00 Tehran as the product stores it.
fn expiry() -> i64 {
    domain::tehran::days_from_today(chrono::Utc::now(), 30).timestamp()
}

/// A reseller on `panel_id` with one config named `username` (5 GiB, 30 days), and its create
/// operation queued in the same transaction. Returns (config id, operation id).
async fn queued_create(app: &TestApp, panel_id: i64, username: &str) -> (i64, i64) {
    let t = now();
    let mut tx = app.db.begin_write().await.unwrap();
    let reseller = ResellerRow {
        window: Some((t, t + 30 * 86400)),
        created_at: t,
        ..ResellerRow::traffic("shop", panel_id)
    }
    .insert(&mut tx)
    .await;
    let config = ConfigRow {
        limit: 5 * GIB,
        expires_at: Some(expiry()),
        service_ids: &[1],
        inbound_ids: &[1],
        created_at: t,
        ..ConfigRow::named(reseller, panel_id, username)
    }
    .insert(&mut tx)
    .await;
    let op = rows::queue_create(&mut tx, panel_id, config, t).await;
    tx.commit().await.unwrap();
    (config, op)
}

async fn op(app: &TestApp, id: i64) -> Operation {
    let mut conn = app.db.acquire().await.unwrap();
    db::operations::get(&mut conn, id).await.unwrap().unwrap()
}

async fn attempts(app: &TestApp, id: i64) -> Vec<db::operations::Attempt> {
    let mut conn = app.db.acquire().await.unwrap();
    db::operations::attempts(&mut conn, id).await.unwrap()
}

async fn panel(app: &TestApp, id: i64) -> db::panels::Panel {
    let mut conn = app.db.acquire().await.unwrap();
    db::panels::get(&mut conn, id).await.unwrap().unwrap()
}

async fn config(app: &TestApp, id: i64) -> db::configs::Config {
    let mut conn = app.db.acquire().await.unwrap();
    db::configs::get(&mut conn, id).await.unwrap().unwrap()
}

fn users_named(sim: &Sim, username: &str) -> usize {
    sim.users()
        .iter()
        .filter(|u| u.username.eq_ignore_ascii_case(username))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_reaches_every_panel_with_its_limit_and_expiry() {
    let app = TestApp::spawn().await;
    for kind in SimKind::ALL {
        let (panel_id, sim) = app.add_panel(kind).await;
        let username = format!("c_{}", kind.as_str());
        let (config_id, op_id) = queued_create(&app, panel_id, &username).await;
        let outcome = ops::run_now(&app.ctx, op_id, Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::Done, "{kind}");
        let user = sim
            .user(&username)
            .unwrap_or_else(|| panic!("{kind}: no user"));
        assert_eq!(user.limit_bytes, Some(5 * GIB), "{kind}");
        if kind == SimKind::Eylandoo {
            // Eylandoo takes a date only: the Tehran date of the expiry.
            let want = domain::tehran::tehran_date(db::time::from_ts(expiry()));
            assert_eq!(
                user.expires_at.map(|e| e.date_naive()),
                Some(want),
                "{kind}"
            );
        } else {
            assert_eq!(
                user.expires_at.map(|e| e.timestamp()),
                Some(expiry()),
                "{kind}"
            );
        }
        let o = op(&app, op_id).await;
        assert_eq!((o.status.as_str(), o.attempts), ("done", 1), "{kind}");
        let c = config(&app, config_id).await;
        assert!(c.remote_confirmed, "{kind}");
        assert!(
            c.subscription_url
                .as_deref()
                .is_some_and(|u| u.starts_with("http")),
            "{kind}: {:?}",
            c.subscription_url
        );
        let p = panel(&app, panel_id).await;
        assert!(p.last_success_at.is_some() && p.consecutive_failures == 0);
    }
}

/// A panel failing with `fault` on every request: the operation stays pending with each attempt
/// and the error kept and the panel's health showing it; once the fault clears it completes.
async fn fails_then_completes(fault: Fault) {
    let app = TestApp::spawn().await;
    for kind in SimKind::ALL {
        let (panel_id, sim) = app.add_panel(kind).await;
        let username = format!("f_{}", kind.as_str());
        let (config_id, op_id) = queued_create(&app, panel_id, &username).await;
        sim.inject(SimOp::Any, fault.clone(), None);

        assert_eq!(ops::run_due(&app.ctx, now()).await.unwrap(), 1, "{kind}");
        let o = op(&app, op_id).await;
        assert_eq!(o.status, OpStatus::Pending, "{kind} {fault:?}");
        assert_eq!(o.attempts, 1);
        let error = o.last_error.clone().unwrap_or_default();
        assert!(!error.is_empty(), "{kind} {fault:?}");
        let log = attempts(&app, op_id).await;
        assert_eq!(log.len(), 1);
        assert_eq!(
            (log[0].ok, log[0].error.as_deref()),
            (false, Some(error.as_str()))
        );
        // The next try waits for the back-off instead of hammering the panel.
        assert!(o.next_attempt_at > log[0].finished_at, "{kind}");
        let p = panel(&app, panel_id).await;
        assert!(p.consecutive_failures >= 1, "{kind} {fault:?}");
        assert!(p.last_error.is_some());
        assert!(!config(&app, config_id).await.remote_confirmed);
        assert_eq!(
            users_named(&sim, &username),
            0,
            "{kind}: created despite {fault:?}"
        );

        sim.clear_faults();
        assert_eq!(ops::run_due(&app.ctx, now() + 3600).await.unwrap(), 1);
        let o = op(&app, op_id).await;
        assert_eq!(
            o.status,
            OpStatus::Done,
            "{kind} {fault:?}: {:?}",
            o.last_error
        );
        assert_eq!(o.attempts, 2);
        assert_eq!(users_named(&sim, &username), 1, "{kind}");
        let log = attempts(&app, op_id).await;
        assert_eq!((log.len(), log[1].ok), (2, true));
        assert!(config(&app, config_id).await.remote_confirmed);
        let p = panel(&app, panel_id).await;
        assert_eq!(p.consecutive_failures, 0, "{kind}: health recovers");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panel_answering_500_leaves_operations_pending_until_it_recovers() {
    fails_then_completes(Fault::Http500).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panel_that_times_out_leaves_operations_pending_until_it_recovers() {
    fails_then_completes(Fault::Timeout).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panel_answering_garbage_leaves_operations_pending_until_it_recovers() {
    fails_then_completes(Fault::Garbage).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panel_dropping_connections_leaves_operations_pending_until_it_recovers() {
    fails_then_completes(Fault::Drop).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_outcome_is_unknown_never_makes_two_users() {
    let app = TestApp::spawn().await;
    // The create times out (2 s in tests). Either the panel never applied it, or it did and
    // only the answer was lost: the simulator drops a request whose client went away, so the
    // second case is staged by creating the user on the panel behind our back.
    for applied in [false, true] {
        for kind in SimKind::ALL {
            let (panel_id, sim) = app.add_panel(kind).await;
            let username = format!("u_{}_{}", kind.as_str(), applied as u8);
            let (_, op_id) = queued_create(&app, panel_id, &username).await;
            sim.inject(SimOp::Create, Fault::Timeout, Some(1));
            assert_eq!(ops::run_due(&app.ctx, now()).await.unwrap(), 1);
            let o = op(&app, op_id).await;
            assert_eq!((o.status.as_str(), o.attempts), ("pending", 1), "{kind}");
            assert!(o.last_error.is_some());
            if applied {
                let client = app.ctx.registry.handle(panel_id).await.unwrap().client;
                client
                    .create_user(&panels::NewUser {
                        username: username.clone(),
                        limit_bytes: 5 * GIB,
                        service_ids: vec![1],
                        inbound_ids: vec![1],
                        ..Default::default()
                    })
                    .await
                    .unwrap();
            }
            let creates_before = sim.requests(SimOp::Create);
            // 3x-ui finds a client through the inbound list; the others read the user.
            let lookups = || sim.requests(SimOp::Get) + sim.requests(SimOp::List);
            let lookups_before = lookups();

            assert_eq!(ops::run_due(&app.ctx, now() + 3600).await.unwrap(), 1);
            let o = op(&app, op_id).await;
            assert_eq!(
                o.status,
                OpStatus::Done,
                "{kind} applied={applied}: {:?}",
                o.last_error
            );
            assert_eq!(users_named(&sim, &username), 1, "{kind} applied={applied}");
            // The retry looked the username up first, and created only when it was absent.
            assert!(lookups() > lookups_before, "{kind}");
            let expected_creates = if applied { 0 } else { 1 };
            assert_eq!(
                sim.requests(SimOp::Create) - creates_before,
                expected_creates,
                "{kind} applied={applied}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_operations_survive_a_restart() {
    let app = TestApp::spawn().await;
    let (p1, s1) = app.add_panel(SimKind::Marzban).await;
    let (p2, s2) = app.add_panel(SimKind::Xui).await;
    let (_, a) = queued_create(&app, p1, "r_a").await;
    let (_, b) = queued_create(&app, p2, "r_b").await;
    let (_, c) = queued_create(&app, p1, "r_c").await;
    // "a" and "b" failed once before the process stopped; "c" was in flight (leased) when it died.
    s1.inject(SimOp::Any, Fault::Http500, None);
    s2.inject(SimOp::Any, Fault::Http500, None);
    for id in [a, b] {
        ops::run_now(&app.ctx, id, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(op(&app, id).await.status, OpStatus::Pending);
    }
    let t = now();
    {
        let mut conn = app.db.acquire().await.unwrap();
        assert!(
            db::operations::claim(&mut conn, c, &app.ctx.instance_id, t, 120)
                .await
                .unwrap()
        );
    }
    s1.clear_faults();
    s2.clear_faults();

    // A new process: a fresh engine context over the same database.
    let keys = engine::secrets::Keys::from_secret(common::SECRET).unwrap();
    let restarted = engine::Ctx::new(app.db.clone(), keys, app.ctx.settings.clone());
    assert_ne!(restarted.instance_id, app.ctx.instance_id);
    assert_eq!(ops::run_due(&restarted, t + 10).await.unwrap(), 2);
    assert_eq!(op(&app, a).await.status, OpStatus::Done);
    assert_eq!(op(&app, b).await.status, OpStatus::Done);
    // The dead process's lease runs out, then its operation is taken over.
    assert_eq!(op(&app, c).await.status, OpStatus::Pending);
    assert_eq!(ops::run_due(&restarted, t + 121).await.unwrap(), 1);
    assert_eq!(op(&app, c).await.status, OpStatus::Done);
    assert!(s1.user("r_a").is_some() && s2.user("r_b").is_some() && s1.user("r_c").is_some());

    // And with the worker running, as the real server does after a restart.
    let (_, d) = queued_create(&app, p2, "r_d").await;
    let worker = ops::spawn_worker(restarted.clone());
    let mut waited = 0;
    while op(&app, d).await.status != OpStatus::Done && waited < 100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    worker.abort();
    assert_eq!(op(&app, d).await.status, OpStatus::Done);
    assert!(s2.user("r_d").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_panel_rate_limit_spaces_operations() {
    let app = TestApp::spawn().await;
    let (panel_id, sim) = app.add_panel(SimKind::Eylandoo).await;
    let row = panel(&app, panel_id).await;
    {
        let mut conn = app.db.acquire().await.unwrap();
        db::panels::update(
            &mut conn,
            panel_id,
            db::panels::NewPanel {
                name: &row.name,
                kind: row.kind,
                base_url: &row.base_url,
                username: row.username.as_deref(),
                password_enc: row.password_enc.as_deref(),
                api_key_enc: row.api_key_enc.as_deref(),
                settings: &json!({ "rate_limit_per_sec": 3 }).to_string(),
            },
            true,
        )
        .await
        .unwrap();
    }
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(queued_create(&app, panel_id, &format!("rl_{i}")).await.1);
    }
    let started = std::time::Instant::now();
    assert_eq!(ops::run_due(&app.ctx, now()).await.unwrap(), 7);
    let took = started.elapsed();
    let mut starts = Vec::new();
    for id in &ids {
        assert_eq!(op(&app, *id).await.status, OpStatus::Done);
        starts.extend(attempts(&app, *id).await.iter().map(|a| a.started_at));
    }
    let span = starts.iter().max().unwrap() - starts.iter().min().unwrap();
    println!("7 operations at 3/s: attempts started over {span} s, the pass took {took:?}");
    assert!(span >= 2, "attempt starts span {span} s: {starts:?}");
    assert_eq!(sim.user_count(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_lists_retries_and_cancels_operations_through_the_api() {
    let app = TestApp::spawn().await;
    let token = app.admin().await;
    let (panel_id, sim) = app.add_panel(SimKind::Marzneshin).await;
    let (_, a) = queued_create(&app, panel_id, "api_a").await;
    let (config_b, b) = queued_create(&app, panel_id, "api_b").await;
    sim.inject(SimOp::Any, Fault::Http500, None);
    assert_eq!(ops::run_due(&app.ctx, now()).await.unwrap(), 2);

    let (status, list) = token.get("/api/v1/operations?status=pending").await;
    assert_eq!(status, 200);
    assert_eq!(list["total"], 2);
    assert_eq!(list["items"][0]["status"], "pending");
    assert!(list["items"][0]["last_error"].is_string());
    assert_eq!(
        token.get("/api/v1/operations?status=done").await.1["total"],
        0
    );
    assert_eq!(token.get("/api/v1/operations?status=bogus").await.0, 422);
    let (_, one) = token.get(&format!("/api/v1/operations/{a}")).await;
    assert_eq!(one["attempts"], 1);
    assert_eq!(one["attempt_log"][0]["ok"], false);
    assert!(one["attempt_log"][0]["error"].is_string());

    // Retry now while the panel still fails: one more attempt, still pending.
    let (status, retried) = token
        .post_empty(&format!("/api/v1/operations/{a}/retry"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (retried["status"].as_str(), retried["attempts"].as_i64()),
        (Some("pending"), Some(2))
    );
    // Retry now once it recovered: done at once, no waiting for the back-off.
    sim.clear_faults();
    let (status, retried) = token
        .post_empty(&format!("/api/v1/operations/{a}/retry"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(retried["status"], "done", "{retried}");
    assert_eq!(retried["attempt_log"].as_array().unwrap().len(), 3);
    assert!(sim.user("api_a").is_some());

    let (status, cancelled) = token
        .post_empty(&format!("/api/v1/operations/{b}/cancel"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(ops::run_due(&app.ctx, now() + 3600).await.unwrap(), 0);
    assert!(
        sim.user("api_b").is_none(),
        "a cancelled create is never sent"
    );
    // Finished operations cannot be cancelled; cancelled ones cannot be retried.
    assert_error(
        &token
            .post_empty(&format!("/api/v1/operations/{a}/cancel"))
            .await,
        409,
        "operation_not_pending",
    );
    assert_error(
        &token
            .post_empty(&format!("/api/v1/operations/{b}/retry"))
            .await,
        409,
        "operation_not_retryable",
    );
    assert_eq!(
        token.post_empty("/api/v1/operations/9999/retry").await.0,
        404
    );

    assert_eq!(app.audit_count("operation_retried").await, 2);
    assert_eq!(app.audit_count("operation_cancelled").await, 1);
    let mut conn = app.db.acquire().await.unwrap();
    let events = db::configs::events(&mut conn, config_b).await.unwrap();
    assert!(events
        .iter()
        .any(|e| e.kind == ConfigEventKind::OperationCancelled));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operations_pages_list_retry_and_cancel_in_both_languages() {
    let app = TestApp::spawn().await;
    app.create_admin("root", "correct-horse").await;
    let b = app.admin_browser().await;
    let (panel_id, sim) = app.add_panel(SimKind::Marzban).await;
    let (_, a) = queued_create(&app, panel_id, "pg_a").await;
    let (_, bb) = queued_create(&app, panel_id, "pg_b").await;
    sim.inject(SimOp::Any, Fault::Http500, None);
    ops::run_due(&app.ctx, now()).await.unwrap();

    let (_, dash) = b.get("/?lang=en").await;
    let pending = dash.split("id=\"pending-operations\"").nth(1).unwrap();
    assert!(
        pending.contains("Pending operations") && pending.contains(">2<"),
        "{pending}"
    );
    let (_, dash) = b.get("/?lang=fa").await;
    assert!(dash.contains("عملیات در انتظار") && dash.contains(">۲<"));

    for (lang, pending_word) in [("en", "Pending"), ("fa", "در انتظار")] {
        let (status, html) = b
            .get(&format!("/admin/operations?status=pending&lang={lang}"))
            .await;
        assert_eq!(status, 200, "{lang}");
        assert!(html.contains(pending_word));
        assert!(html.contains(&format!("action=\"/admin/operations/{a}/retry\"")));
        assert!(html.contains(&format!("action=\"/admin/operations/{bb}/cancel\"")));
        assert!(html.contains("HTTP 500"), "{lang}: the error is shown");
        let (status, detail) = b.get(&format!("/admin/operations/{a}?lang={lang}")).await;
        assert_eq!(status, 200);
        assert!(detail.contains("HTTP 500"));
    }
    assert_eq!(b.get("/admin/operations?status=nope").await.0, 400);

    sim.clear_faults();
    let res = b.submit(&format!("/admin/operations/{a}/retry"), &[]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(op(&app, a).await.status, OpStatus::Done);
    let (_, detail) = b.get(&format!("/admin/operations/{a}?lang=en")).await;
    assert!(detail.contains("Done"));
    let res = b
        .submit(&format!("/admin/operations/{bb}/cancel"), &[])
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(op(&app, bb).await.status, OpStatus::Cancelled);
    let (_, html) = b.get("/admin/operations?status=pending&lang=en").await;
    assert!(html.contains("No operations."));
    // Without the CSRF token nothing happens.
    let res = b
        .submit_raw(
            &format!("/admin/operations/{a}/retry"),
            &[("_csrf", "forged")],
        )
        .await;
    assert_eq!(res.status(), 403);

    app.create_user("shop1", "reseller-pass", "reseller", None)
        .await;
    let r = app.browser_as("shop1", "reseller-pass").await;
    assert_eq!(r.get("/admin/operations").await.0, 403);
    assert_eq!(r.get(&format!("/admin/operations/{a}")).await.0, 403);
}
